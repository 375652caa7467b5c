//! The store's behaviour, run against a temp-file SQLite database and a real PostgreSQL server
//! (`OXHUB_TEST_POSTGRES_URL`, e.g. `postgresql://postgres@127.0.0.1:55432/postgres`; the suite
//! creates and drops a database of its own there). Under CI the PostgreSQL run is required.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxhub_store::{
    MemberKind, NewToken, Owner, ServerState, ServerUpdate, ShareTarget, Store, StoreError,
    UserQuery, UserSort,
};
use serde_json::json;

async fn suite(store: &Store) {
    // Migrations are idempotent.
    let latest = oxhub_store::migrations::STEPS.len() as i64;
    assert_eq!(store.migrate().await.unwrap(), latest);
    assert_eq!(store.schema_version().await.unwrap(), latest);

    // Users.
    let alice = store
        .create_user("alice", false, "c-alice", 1_000, &[])
        .await
        .unwrap();
    assert_eq!(
        (
            alice.name.as_str(),
            alice.admin,
            alice.created,
            alice.last_activity
        ),
        ("alice", false, 1_000, None)
    );
    assert!(matches!(
        store.create_user("alice", true, "c-other", 1, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    for name in ["bob", "carol", "dave_x", "d%ve", "émile"] {
        store
            .create_user(name, false, &format!("c-{name}"), 2_000, &[])
            .await
            .unwrap();
    }
    let (page, total) = store
        .users(&UserQuery {
            offset: 1,
            limit: 2,
            name_filter: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 6);
    assert_eq!(
        page.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["bob", "carol"]
    );
    let (page, total) = store
        .users(&UserQuery {
            offset: 0,
            limit: 10,
            name_filter: Some("%".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (total, page.len(), page[0].name.as_str()),
        (1, 1, "d%ve"),
        "LIKE wildcards in filters are literal"
    );
    let (_, total) = store
        .users(&UserQuery {
            offset: 0,
            limit: 10,
            name_filter: Some("_".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 1);
    let (_, total) = store
        .users(&UserQuery {
            offset: 0,
            limit: 10,
            name_filter: Some("ÉMI".to_lowercase()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 1, "the filter ignores case");
    store.set_admin("bob", true).await.unwrap();
    assert!(store.user("bob").await.unwrap().unwrap().admin);
    assert!(matches!(
        store.set_admin("nobody", true).await,
        Err(StoreError::NotFound)
    ));
    store.touch_user("alice", 5_000).await.unwrap();
    store.touch_user("alice", 4_000).await.unwrap();
    assert_eq!(
        store.user("alice").await.unwrap().unwrap().last_activity,
        Some(5_000),
        "activity only moves forward"
    );
    store
        .set_auth_state("alice", Some(b"\x00encrypted\xff"))
        .await
        .unwrap();
    assert_eq!(
        store
            .user("alice")
            .await
            .unwrap()
            .unwrap()
            .auth_state
            .as_deref(),
        Some(&b"\x00encrypted\xff"[..])
    );

    // Groups, all-or-nothing membership.
    let g = store
        .create_group("staff", &json!({"lab": "x"}))
        .await
        .unwrap();
    assert_eq!(g.properties, json!({"lab": "x"}));
    assert!(matches!(
        store.create_group("staff", &json!({})).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .add_group_members("staff", &["alice".into(), "bob".into()])
        .await
        .unwrap();
    store
        .add_group_members("staff", &["alice".into()])
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_group_members("staff", &["carol".into(), "ghost".into()])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.group_members("staff").await.unwrap(),
        ["alice", "bob"],
        "no partial write"
    );
    assert_eq!(store.user_groups("alice").await.unwrap(), ["staff"]);
    store
        .set_group_properties("staff", &json!({"n": 1}))
        .await
        .unwrap();
    assert_eq!(
        store.group("staff").await.unwrap().unwrap().properties,
        json!({"n": 1})
    );
    store
        .remove_group_members("staff", &["bob".into()])
        .await
        .unwrap();
    assert_eq!(store.group_members("staff").await.unwrap(), ["alice"]);

    // Roles: authoritative membership, roles through groups.
    store
        .upsert_role("user", "default", &["self".into()])
        .await
        .unwrap();
    let r = store
        .upsert_role(
            "culler",
            "idle culler",
            &["list:users".into(), "delete:servers".into()],
        )
        .await
        .unwrap();
    assert_eq!(r.scopes, ["list:users", "delete:servers"]);
    store
        .upsert_role("culler", "idle culler v2", &["list:users".into()])
        .await
        .unwrap();
    assert_eq!(
        store
            .roles()
            .await
            .unwrap()
            .iter()
            .find(|r| r.name == "culler")
            .unwrap()
            .description,
        "idle culler v2"
    );
    store.upsert_service("cull", false, true).await.unwrap();
    store
        .set_role_members("culler", MemberKind::Service, &["cull".into()])
        .await
        .unwrap();
    store
        .set_role_members("user", MemberKind::User, &["alice".into(), "bob".into()])
        .await
        .unwrap();
    store
        .set_role_members("user", MemberKind::User, &["bob".into(), "carol".into()])
        .await
        .unwrap();
    assert_eq!(
        store.role_members("user", MemberKind::User).await.unwrap(),
        ["bob", "carol"]
    );
    assert!(matches!(
        store
            .set_role_members("user", MemberKind::User, &["ghost".into()])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.role_members("user", MemberKind::User).await.unwrap(),
        ["bob", "carol"],
        "no partial write"
    );
    store
        .upsert_role("staff-role", "", &["read:hub".into()])
        .await
        .unwrap();
    store
        .set_role_members("staff-role", MemberKind::Group, &["staff".into()])
        .await
        .unwrap();
    store
        .grant_role("user", MemberKind::User, "alice")
        .await
        .unwrap();
    store
        .grant_role("user", MemberKind::User, "alice")
        .await
        .unwrap();
    let names: Vec<_> = store
        .user_roles("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["staff-role", "user"]);
    // The batched forms the user list uses.
    let groups = store
        .groups_of_users(&["alice", "bob", "nobody"])
        .await
        .unwrap();
    assert_eq!(
        (
            groups["alice"].clone(),
            groups["bob"].clone(),
            groups["nobody"].clone()
        ),
        (vec!["staff".to_owned()], vec![], vec![])
    );
    let roles = store.role_names_of_users(&["alice", "bob"]).await.unwrap();
    assert_eq!(roles["alice"], ["staff-role", "user"]);
    assert_eq!(roles["bob"], ["user"]);
    assert!(store.groups_of_users(&[]).await.unwrap().is_empty());

    // Tokens: stored by hash, looked up by prefix, expiry honoured, owners of both kinds.
    let t = store
        .insert_token(
            &NewToken {
                prefix: "abcd".into(),
                hash: "hash-1".into(),
                owner: Owner::User("alice".into()),
                scopes: vec!["read:users!user=alice".into()],
                note: "test".into(),
                expires_at: Some(10_000),
                session_id: Some("sess-1".into()),
                oauth_client: None,
            },
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        (t.owner.clone(), t.scopes.clone(), t.created),
        (
            Owner::User("alice".into()),
            vec!["read:users!user=alice".to_owned()],
            1_000
        )
    );
    let svc_token = NewToken {
        prefix: "abcd".into(),
        hash: "hash-2".into(),
        owner: Owner::Service("cull".into()),
        scopes: vec![],
        note: String::new(),
        expires_at: None,
        session_id: None,
        oauth_client: None,
    };
    store.insert_token(&svc_token, 1_000).await.unwrap();
    assert!(matches!(
        store.insert_token(&svc_token, 1_000).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .insert_token(
                &NewToken {
                    hash: "h3".into(),
                    owner: Owner::User("ghost".into()),
                    ..svc_token.clone()
                },
                1
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.tokens_by_prefix("abcd", 5_000).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.tokens_by_prefix("abcd", 10_000).await.unwrap().len(),
        1,
        "expired tokens never match"
    );
    store.touch_token(t.id, 3_000).await.unwrap();
    assert_eq!(
        store.tokens_of(&Owner::User("alice".into())).await.unwrap()[0].last_activity,
        Some(3_000)
    );
    assert_eq!(store.purge_expired_tokens(20_000).await.unwrap(), 1);
    assert_eq!(store.delete_session_tokens("sess-1").await.unwrap(), 0);

    // Rename keeps everything attached; deleting cascades.
    store
        .insert_token(
            &NewToken {
                hash: "hash-4".into(),
                owner: Owner::User("alice".into()),
                ..svc_token.clone()
            },
            1,
        )
        .await
        .unwrap();
    assert!(matches!(
        store.rename_user("alice", "bob").await,
        Err(StoreError::Conflict(_))
    ));
    store.rename_user("alice", "alicia").await.unwrap();
    assert_eq!(store.user_groups("alicia").await.unwrap(), ["staff"]);
    assert_eq!(
        store
            .tokens_of(&Owner::User("alicia".into()))
            .await
            .unwrap()
            .len(),
        1
    );
    store.delete_user("alicia").await.unwrap();
    assert!(store.user("alicia").await.unwrap().is_none());
    assert!(store.group_members("staff").await.unwrap().is_empty());
    assert_eq!(
        store.tokens_by_prefix("abcd", 0).await.unwrap().len(),
        1,
        "only the service's token is left"
    );
    assert!(matches!(
        store.delete_user("alicia").await,
        Err(StoreError::NotFound)
    ));
    servers_and_shares(store).await;
    store.delete_service("cull").await.unwrap();
    assert!(store.tokens_by_prefix("abcd", 0).await.unwrap().is_empty());
    store.delete_group("staff").await.unwrap();
    store.delete_role("staff-role").await.unwrap();
    assert_eq!(store.roles().await.unwrap().len(), 2);
}

#[tokio::test]
async fn sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite:///{}",
        dir.path().join("jupyterhub.sqlite").display()
    );
    let store = Store::open(&url).await.unwrap();
    suite(&store).await;
    // The file persists across reopening.
    drop(store);
    let again = Store::open(&url).await.unwrap();
    assert_eq!(
        again
            .users(&UserQuery {
                offset: 0,
                limit: 100,
                name_filter: None,
                ..Default::default()
            })
            .await
            .unwrap()
            .1,
        5
    );
}

#[tokio::test]
async fn sqlite_memory() {
    let store = Store::open("sqlite:///:memory:").await.unwrap();
    suite(&store).await;
}

#[tokio::test]
async fn postgres() {
    let Ok(server) = std::env::var("OXHUB_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the store suite on PostgreSQL: set OXHUB_TEST_POSTGRES_URL"
        );
        eprintln!("OXHUB_TEST_POSTGRES_URL not set: PostgreSQL run skipped");
        return;
    };
    let db = format!("oxhub_test_{}", std::process::id());
    let admin = Store::connect(&server).await.unwrap();
    admin
        .raw_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    admin
        .raw_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    let store = Store::open(&format!("{base}/{db}")).await.unwrap();
    suite(&store).await;
    store.close().await;
    // A closed connection's server process may still be exiting: FORCE does not wait on it.
    admin
        .raw_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await
        .unwrap();
}

/// Servers, the `state=` filters, shares (direct and through groups) and share codes.
async fn servers_and_shares(store: &Store) {
    let g0 = store.generation();
    let default = store.ensure_server("bob", "").await.unwrap();
    assert!(store.generation() > g0, "writes move the generation");
    assert!(!default.active() && default.display_name.is_empty());
    assert_eq!(store.ensure_server("bob", "").await.unwrap().id, default.id);
    store
        .create_server("bob", "gpu", "GPU box", &json!({"size": "l"}))
        .await
        .unwrap();
    assert!(matches!(
        store.create_server("bob", "gpu", "x", &json!({})).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_server("nobody", "x", "x", &json!({})).await,
        Err(StoreError::NotFound)
    ));
    let names = |q: UserQuery| async move {
        store
            .users(&q)
            .await
            .unwrap()
            .0
            .into_iter()
            .map(|u| u.name)
            .collect::<Vec<_>>()
    };
    let q = |state| UserQuery {
        offset: 0,
        limit: 100,
        state: Some(state),
        ..Default::default()
    };
    assert!(names(q(ServerState::Active)).await.is_empty());
    let g1 = store.generation();
    store
        .update_server(
            "bob",
            "gpu",
            &ServerUpdate {
                pending: Some(Some("spawn".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names(q(ServerState::Active)).await, ["bob"]);
    assert!(names(q(ServerState::Ready)).await.is_empty());
    assert!(!names(q(ServerState::Inactive))
        .await
        .contains(&"bob".to_owned()));
    let up = store
        .update_server(
            "bob",
            "gpu",
            &ServerUpdate {
                pending: Some(None),
                ready: Some(true),
                started: Some(Some(5_000)),
                url: Some(Some("http://127.0.0.1:9999".into())),
                state: Some(json!({"pid": 42})),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(store.generation() > g1);
    assert_eq!(
        (
            up.ready,
            up.started,
            up.state.clone(),
            up.user_options.clone()
        ),
        (true, Some(5_000), json!({"pid": 42}), json!({"size": "l"}))
    );
    assert_eq!(names(q(ServerState::Ready)).await, ["bob"]);
    assert_eq!(store.active_servers().await.unwrap().len(), 1);
    store.touch_server("bob", "gpu", 9_000).await.unwrap();
    store.touch_server("bob", "gpu", 8_000).await.unwrap();
    assert_eq!(
        store
            .server("bob", "gpu")
            .await
            .unwrap()
            .unwrap()
            .last_activity,
        Some(9_000),
        "activity never moves backwards"
    );
    let by_user = store.servers_of_users(&["bob", "carol"]).await.unwrap();
    assert_eq!(by_user["bob"].len(), 2);
    assert!(!by_user.contains_key("carol"));
    assert!(matches!(
        store
            .update_server(
                "bob",
                "nope",
                &ServerUpdate {
                    ready: Some(true),
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));

    // Sorting: last_activity with NULLs last ascending, first descending.
    store.touch_user("carol", 7_000).await.unwrap();
    store.touch_user("bob", 3_000).await.unwrap();
    let sorted = |sort| UserQuery {
        offset: 0,
        limit: 100,
        sort,
        ..Default::default()
    };
    let asc = names(sorted(UserSort::LastActivity(false))).await;
    assert_eq!(&asc[..2], ["bob", "carol"]);
    let desc = names(sorted(UserSort::LastActivity(true))).await;
    assert_eq!(&desc[desc.len() - 2..], ["carol", "bob"]);

    // Shares: direct, through a group, merge, partial and full revoke.
    store.create_group("readers", &json!({})).await.unwrap();
    store
        .add_group_members("readers", &["carol".into()])
        .await
        .unwrap();
    let carol = ShareTarget::User("carol".into());
    let readers = ShareTarget::Group("readers".into());
    let a = vec!["access:servers!server=bob/gpu".to_owned()];
    let b = vec!["read:servers!server=bob/gpu".to_owned()];
    let s = store
        .grant_share("bob", "gpu", &carol, &a, 10)
        .await
        .unwrap();
    assert_eq!(
        (s.owner.as_str(), s.server.as_str(), s.server_ready),
        ("bob", "gpu", true)
    );
    let s = store
        .grant_share("bob", "gpu", &carol, &b, 11)
        .await
        .unwrap();
    assert_eq!(
        s.scopes.len(),
        2,
        "granting again adds scopes to the same share"
    );
    assert_eq!(s.created, 10);
    store
        .grant_share("bob", "", &readers, &a, 12)
        .await
        .unwrap();
    assert!(matches!(
        store
            .grant_share("bob", "gpu", &ShareTarget::User("ghost".into()), &a, 1)
            .await,
        Err(StoreError::NotFound)
    ));
    let (received, total) = store
        .shares(oxhub_store::ShareFilter::Receiver("carol"), 0, 10)
        .await
        .unwrap();
    assert_eq!(
        (received.len(), total),
        (2, 2),
        "direct and through the group"
    );
    let (owned, _) = store
        .shares(oxhub_store::ShareFilter::Server("bob", "gpu"), 0, 10)
        .await
        .unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(store.share_scopes_of_user("carol").await.unwrap().len(), 2);
    let left = store
        .revoke_share("bob", "gpu", &carol, Some(&b))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.scopes, a);
    assert!(store
        .revoke_share("bob", "gpu", &carol, None)
        .await
        .unwrap()
        .is_none());

    // Share codes: listed until they expire, redeemed into a share, deleted.
    let code = store
        .insert_share_code("bob", "gpu", "wxyz", "hash-1", &a, 100, 1_000)
        .await
        .unwrap();
    assert_eq!(code.exchange_count, 0);
    assert_eq!(
        store.share_codes("bob", None, 500, 0, 10).await.unwrap().1,
        1
    );
    assert_eq!(
        store
            .share_codes("bob", Some("gpu"), 500, 0, 10)
            .await
            .unwrap()
            .1,
        1
    );
    assert_eq!(
        store
            .share_codes("bob", Some(""), 500, 0, 10)
            .await
            .unwrap()
            .1,
        0
    );
    assert_eq!(
        store
            .share_codes("bob", None, 1_000, 0, 10)
            .await
            .unwrap()
            .1,
        0,
        "expired"
    );
    assert_eq!(
        store
            .share_codes_by_prefix("wxyz", 500)
            .await
            .unwrap()
            .len(),
        1
    );
    let share = store
        .exchange_share_code(code.id, "dave_x", 600)
        .await
        .unwrap();
    assert_eq!(share.target, ShareTarget::User("dave_x".into()));
    let again = store.share_codes_by_prefix("wxyz", 700).await.unwrap();
    assert_eq!(
        (again[0].exchange_count, again[0].last_exchanged_at),
        (1, Some(600))
    );
    assert_eq!(
        store
            .delete_share_codes("bob", "gpu", Some(code.id + 1000))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.delete_share_codes("bob", "gpu", None).await.unwrap(),
        1
    );

    // Renaming and deleting servers; deleting takes their shares along.
    store.rename_server("bob", "gpu", "gpu2").await.unwrap();
    assert!(store.server("bob", "gpu").await.unwrap().is_none());
    store.delete_server("bob", "gpu2").await.unwrap();
    assert!(store
        .share_scopes_of_user("dave_x")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.share_scopes_of_user("carol").await.unwrap(),
        a,
        "the group share of bob's default server is left"
    );
    store.delete_group("readers").await.unwrap();
    assert!(store
        .share_scopes_of_user("carol")
        .await
        .unwrap()
        .is_empty());
    store.delete_server("bob", "").await.unwrap();
}
