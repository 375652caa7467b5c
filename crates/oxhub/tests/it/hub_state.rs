//! The stateful parts of the hub API through the real binary: server records and activity,
//! sharing, runtime services, roles and encrypted auth_state, the proxy endpoints against a
//! real `oxhub proxy`, shutdown, and errors raised outside the handlers.

use crate::api::{test_db_url, user_token, Hub};
use serde_json::{json, Value};

const CRYPT_KEY: &str = "6a1d3c0e9b8f7a6d5c4b3a29181706f5e4d3c2b1a09f8e7d6c5b4a3928170605";

fn config(extra: &str) -> String {
    format!(
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.authenticator_class = 'null'\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\n\
         c.JupyterHub.allow_named_servers = True\nc.JupyterHub.named_server_limit_per_user = 2\n\
         c.Authenticator.admin_users = {{'admin'}}\nc.Authenticator.allowed_users = {{'alice', 'bob', 'carol'}}\n{extra}"
    )
}

pub fn start(extra: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, Hub, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jupyterhub_config.py"), config(extra)).unwrap();
    let hub = Hub::start_with(dir.path(), env);
    let admin = user_token(dir.path(), "admin");
    (dir, hub, admin)
}

pub fn call(hub: &Hub, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, _, reply) = hub.call(method, path, Some(token), body.as_deref(), &[]);
    (status, reply)
}

#[test]
fn server_records_and_activity() {
    let (dir, hub, admin) = start("", &[]);
    let a = admin.as_str();
    // The default server exists, stopped; named servers are defined with PUT.
    let (status, s) = call(&hub, "GET", "/hub/api/users/alice/server", a, None);
    assert_eq!(status, 200);
    assert_eq!(
        (
            &s["name"],
            &s["stopped"],
            &s["ready"],
            &s["url"],
            &s["full_name"]
        ),
        (
            &json!(""),
            &json!(true),
            &json!(false),
            &json!("/user/alice/"),
            &json!("alice/")
        )
    );
    let (status, s) = call(
        &hub,
        "PUT",
        "/hub/api/users/alice/servers/gpu",
        a,
        Some(json!({"display_name": "GPU box", "user_options": {"size": "l"}})),
    );
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        (&s["display_name"], &s["user_options"], &s["progress_url"]),
        (
            &json!("GPU box"),
            &json!({"size": "l"}),
            &json!("/hub/api/users/alice/servers/gpu/progress")
        )
    );
    assert_eq!(
        call(&hub, "PUT", "/hub/api/users/alice/servers/gpu", a, None).0,
        409
    );
    assert_eq!(
        call(
            &hub,
            "PUT",
            "/hub/api/users/alice/servers/Bad_Name",
            a,
            None
        )
        .0,
        400
    );
    assert_eq!(
        call(&hub, "PUT", "/hub/api/users/alice/servers/two", a, None).0,
        201
    );
    let (status, e) = call(&hub, "PUT", "/hub/api/users/alice/servers/three", a, None);
    assert_eq!(status, 400, "named_server_limit_per_user = 2: {e}");
    // Stopped servers are not in the user model unless asked for.
    let (_, u) = call(&hub, "GET", "/hub/api/users/alice", a, None);
    assert_eq!(u["servers"], json!({}));
    assert_eq!(u["server"], Value::Null);
    let (_, u) = call(
        &hub,
        "GET",
        "/hub/api/users/alice?include_stopped_servers",
        a,
        None,
    );
    let mut names: Vec<&String> = u["servers"].as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, ["", "gpu", "two"]);
    // Rename and relabel a stopped server; the old name is gone.
    let (status, s) = call(
        &hub,
        "PATCH",
        "/hub/api/users/alice/servers/two",
        a,
        Some(json!({"name": "second", "display_name": "Second one"})),
    );
    assert_eq!((status, &s["name"]), (200, &json!("second")), "{s}");
    assert_eq!(
        call(&hub, "GET", "/hub/api/users/alice/servers/two", a, None).0,
        404
    );
    assert_eq!(
        call(
            &hub,
            "PATCH",
            "/hub/api/users/alice/servers/second",
            a,
            Some(json!({"name": "gpu"}))
        )
        .0,
        409
    );
    assert_eq!(
        call(
            &hub,
            "PATCH",
            "/hub/api/users/alice/servers/second",
            a,
            Some(json!({"color": "red"}))
        )
        .0,
        400
    );
    // Activity: stored forward only, validated before anything is written.
    let (status, e) = call(
        &hub,
        "POST",
        "/hub/api/users/alice/activity",
        a,
        Some(
            json!({"last_activity": "2024-05-01T12:00:00Z", "servers": {"nope": {"last_activity": "2024-05-01T12:00:00Z"}}}),
        ),
    );
    assert_eq!(status, 400, "{e}");
    let (_, u) = call(&hub, "GET", "/hub/api/users/alice", a, None);
    assert_eq!(
        u["last_activity"],
        Value::Null,
        "nothing stored from a refused request"
    );
    for (ts, want) in [
        ("2024-05-01T14:00:00+02:00", 200),
        ("2024-04-01T00:00:00Z", 200),
        ("3024-01-01T00:00:00Z", 400),
        ("not a date", 400),
    ] {
        let body = json!({"last_activity": ts, "servers": {"gpu": {"last_activity": ts}}});
        let (status, e) = call(&hub, "POST", "/hub/api/users/alice/activity", a, Some(body));
        assert_eq!(status, want, "{ts}: {e}");
    }
    let (_, u) = call(
        &hub,
        "GET",
        "/hub/api/users/alice?include_stopped_servers=1",
        a,
        None,
    );
    assert_eq!(
        u["last_activity"],
        json!("2024-05-01T12:00:00Z"),
        "never backwards"
    );
    assert_eq!(
        u["servers"]["gpu"]["last_activity"],
        json!("2024-05-01T12:00:00Z")
    );
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/users/alice/activity",
            a,
            Some(json!({}))
        )
        .0,
        400
    );
    // A user token may report its own activity but not another's.
    let alice = user_token(dir.path(), "alice");
    let body = json!({"last_activity": "2024-05-02T00:00:00Z"});
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/users/alice/activity",
            &alice,
            Some(body.clone())
        )
        .0,
        200
    );
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/users/bob/activity",
            &alice,
            Some(body)
        )
        .0,
        404
    );
    // state= filters: no server is running.
    for (state, n) in [("active", 0), ("ready", 0), ("inactive", 4)] {
        let (status, list) = call(
            &hub,
            "GET",
            &format!("/hub/api/users?state={state}"),
            a,
            None,
        );
        assert_eq!(
            (status, list.as_array().map(Vec::len)),
            (200, Some(n)),
            "{state}"
        );
    }
    // Removing a named server; the default server cannot be removed.
    assert_eq!(
        call(
            &hub,
            "DELETE",
            "/hub/api/users/alice/servers/second",
            a,
            Some(json!({"remove": true}))
        )
        .0,
        204
    );
    assert_eq!(
        call(&hub, "GET", "/hub/api/users/alice/servers/second", a, None).0,
        404
    );
    assert_eq!(
        call(
            &hub,
            "DELETE",
            "/hub/api/users/alice/server",
            a,
            Some(json!({"remove": true}))
        )
        .0,
        400
    );
    hub.stop();
}

#[test]
fn sharing_and_share_codes() {
    let (dir, hub, admin) = start("", &[]);
    let a = admin.as_str();
    let alice = user_token(dir.path(), "alice");
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/groups/readers",
            a,
            Some(json!({"users": ["carol"]}))
        )
        .0,
        201
    );
    // Users cannot share by default (the `user` role has no `shares`): an admin shares for alice.
    let share_body = json!({"user": "bob"});
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/shares/alice/",
            &alice,
            Some(share_body.clone())
        )
        .0,
        403
    );
    let (status, share) = call(&hub, "POST", "/hub/api/shares/alice/", a, Some(share_body));
    assert_eq!(status, 200, "{share}");
    assert_eq!(
        share,
        json!({
            "server": {"user": {"name": "alice"}, "name": "", "url": "/user/alice/", "full_url": null, "ready": false},
            "scopes": ["access:servers!server=alice/"],
            "user": {"name": "bob"}, "group": null, "kind": "user",
            "created_at": share["created_at"].clone(),
        })
    );
    // Scopes are filtered to the server; another filter or an unknown scope is refused.
    for (body, want) in [
        (json!({"group": "readers", "scopes": ["read:servers"]}), 200),
        (
            json!({"group": "readers", "scopes": ["read:servers!user=alice"]}),
            400,
        ),
        (json!({"user": "bob", "scopes": ["no:such:scope"]}), 400),
        (json!({"user": "bob", "group": "readers"}), 400),
        (json!({"user": "ghost"}), 400),
        (json!({"user": "bob", "extra": 1}), 400),
    ] {
        let (status, e) = call(
            &hub,
            "POST",
            "/hub/api/shares/alice/",
            a,
            Some(body.clone()),
        );
        assert_eq!(status, want, "{body}: {e}");
    }
    // Bob's token now reaches alice's server through the share (scopes checked per request).
    let bob = user_token(dir.path(), "bob");
    let (_, me) = call(&hub, "GET", "/hub/api/user", &bob, None);
    assert!(
        me["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("access:servers!server=alice/")),
        "{me}"
    );
    // Lists: always the pagination wrapper.
    let (status, list) = call(&hub, "GET", "/hub/api/shares/alice", a, None);
    assert_eq!(
        (status, list["_pagination"]["total"].clone()),
        (200, json!(2))
    );
    let (_, carol_shares) = call(&hub, "GET", "/hub/api/users/carol/shared", a, None);
    assert_eq!(
        carol_shares["items"][0]["group"],
        json!({"name": "readers"})
    );
    let (status, _) = call(&hub, "GET", "/hub/api/users/bob/shared/alice/", &bob, None);
    assert_eq!(status, 200, "a user reads the shares they received");
    // Partial revoke, then revoking the rest deletes the share.
    let (status, left) = call(
        &hub,
        "PATCH",
        "/hub/api/shares/alice/",
        a,
        Some(json!({"group": "readers", "scopes": ["read:servers"]})),
    );
    assert_eq!((status, left), (200, json!({})));
    // Bob revokes his own share.
    assert_eq!(
        call(
            &hub,
            "DELETE",
            "/hub/api/users/bob/shared/alice/",
            &bob,
            None
        )
        .0,
        204
    );
    let (_, me) = call(&hub, "GET", "/hub/api/user", &bob, None);
    assert!(!me["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("access:servers!server=alice/")));
    // Share codes: shown once, listed without the code, deleted by id.
    let (status, code) = call(
        &hub,
        "POST",
        "/hub/api/share-codes/alice/",
        a,
        Some(json!({"expires_in": 3600})),
    );
    assert_eq!(status, 200, "{code}");
    let secret = code["code"].as_str().unwrap();
    assert!(code["accept_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("accept-share?code={secret}")));
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/share-codes/alice/",
            a,
            Some(json!({"expires_in": 5}))
        )
        .0,
        400
    );
    let (_, codes) = call(&hub, "GET", "/hub/api/share-codes/alice", a, None);
    assert_eq!(codes["_pagination"]["total"], json!(1));
    assert!(
        codes["items"][0].get("code").is_none(),
        "the code is never shown again"
    );
    let id = code["id"].as_str().unwrap();
    assert_eq!(
        call(
            &hub,
            "DELETE",
            "/hub/api/share-codes/alice/?id=sc_999999",
            a,
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(
            &hub,
            "DELETE",
            &format!("/hub/api/share-codes/alice/?id={id}"),
            a,
            None
        )
        .0,
        204
    );
    assert_eq!(call(&hub, "GET", "/hub/api/shares/nobody", a, None).0, 404);
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/shares/alice",
            a,
            Some(json!({"user": "bob"}))
        )
        .0,
        405
    );
    // Codes are stored hashed.
    hub.stop();
    if test_db_url(dir.path()).is_none() {
        let db = std::fs::read(dir.path().join("hub.sqlite")).unwrap();
        let wal = std::fs::read(dir.path().join("hub.sqlite-wal")).unwrap_or_default();
        for bytes in [db, wal] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
}

#[test]
fn roles_auth_state_and_runtime_services() {
    let (dir, hub, admin) = start(
        "c.Authenticator.enable_auth_state = True\n",
        &[("JUPYTERHUB_CRYPT_KEY", CRYPT_KEY)],
    );
    let a = admin.as_str();
    let state = json!({"access_token": "very-secret-upstream-token"});
    let (status, u) = call(
        &hub,
        "PATCH",
        "/hub/api/users/alice",
        a,
        Some(json!({"auth_state": state, "roles": ["user", "admin"]})),
    );
    assert_eq!(status, 200, "{u}");
    assert_eq!(
        (&u["auth_state"], &u["admin"]),
        (&state, &json!(true)),
        "roles sync the admin flag"
    );
    let (_, u) = call(&hub, "GET", "/hub/api/users/alice", a, None);
    assert_eq!(u["auth_state"], state);
    // Nothing is written when any part of a PATCH is wrong.
    let (status, _) = call(
        &hub,
        "PATCH",
        "/hub/api/users/bob",
        a,
        Some(json!({"name": "robert", "groups": ["no-such-group"]})),
    );
    assert_eq!(status, 400);
    assert_eq!(
        call(&hub, "GET", "/hub/api/users/bob", a, None).0,
        200,
        "not renamed"
    );
    assert_eq!(
        call(
            &hub,
            "PATCH",
            "/hub/api/users/bob",
            a,
            Some(json!({"roles": ["no-such-role"]}))
        )
        .0,
        400
    );
    // Runtime services: added with a token, usable at once, deleted; config services stay.
    let (status, s) = call(
        &hub,
        "POST",
        "/hub/api/services/grader",
        a,
        Some(
            json!({"url": "http://127.0.0.1:9", "api_token": "grader-token-0123456789", "info": {"v": 1}}),
        ),
    );
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        (&s["url"], &s["prefix"], &s["info"]),
        (
            &json!("http://127.0.0.1:9"),
            &json!("/services/grader/"),
            &json!({"v": 1})
        )
    );
    let (status, me) = call(
        &hub,
        "GET",
        "/hub/api/user",
        "grader-token-0123456789",
        None,
    );
    assert_eq!((status, &me["kind"]), (200, &json!("service")));
    assert_eq!(
        call(&hub, "POST", "/hub/api/services/grader", a, None).0,
        409
    );
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/services/x",
            a,
            Some(json!({"command": ["sleep"]}))
        )
        .0,
        400
    );
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/services/y",
            a,
            Some(json!({"url": 5}))
        )
        .0,
        400
    );
    assert_eq!(
        call(&hub, "DELETE", "/hub/api/services/grader", a, None).0,
        200
    );
    assert_eq!(
        call(
            &hub,
            "GET",
            "/hub/api/user",
            "grader-token-0123456789",
            None
        )
        .0,
        403
    );
    hub.stop();
    if test_db_url(dir.path()).is_none() {
        let db = std::fs::read(dir.path().join("hub.sqlite")).unwrap();
        let wal = std::fs::read(dir.path().join("hub.sqlite-wal")).unwrap_or_default();
        for bytes in [db, wal] {
            assert!(
                !bytes.windows(11).any(|w| w == b"very-secret"),
                "auth_state is encrypted at rest"
            );
        }
    }
    // Without a key, auth_state cannot be stored and the request says why.
    let (_dir, hub, admin) = start("", &[]);
    let (status, e) = call(
        &hub,
        "PATCH",
        "/hub/api/users/alice",
        &admin,
        Some(json!({"auth_state": {"x": 1}})),
    );
    assert_eq!(status, 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("JUPYTERHUB_CRYPT_KEY"),
        "{e}"
    );
    hub.stop();
}

#[test]
fn proxy_endpoints_drive_a_real_proxy_and_shutdown_stops_the_hub() {
    let proxy = crate::proxy::ProxyProcess::start(&[]);
    let extra = format!(
        "c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{}'\nc.ConfigurableHTTPProxy.auth_token = 'robustness-token'\n\
         c.JupyterHub.services = [{{'name': 'dash', 'url': 'http://127.0.0.1:9'}}]\n",
        proxy.api_port
    );
    let (_dir, mut hub, admin) = start(&extra, &[]);
    let a = admin.as_str();
    // The hub's routes were added at start-up; a route that is not the hub's is left alone,
    // and POST /proxy puts back a hub route that went missing.
    proxy.add_route("/other", "http://127.0.0.1:9");
    let (status, routes) = call(&hub, "GET", "/hub/api/proxy", a, None);
    assert_eq!(status, 200);
    assert_eq!(routes.as_object().unwrap().len(), 2, "{routes}");
    assert_eq!(proxy.delete_route("/services/dash/"), 204);
    assert_eq!(call(&hub, "POST", "/hub/api/proxy", a, None).0, 200);
    let (_, routes) = call(&hub, "GET", "/hub/api/proxy", a, None);
    let specs: Vec<&String> = routes.as_object().unwrap().keys().collect();
    assert_eq!(specs, ["/", "/services/dash/"], "{routes}");
    assert_eq!(
        routes["/services/dash/"]["target"],
        json!("http://127.0.0.1:9")
    );
    let accept = [("Accept", "application/jupyterhub-pagination+json")];
    let (_, _, page) = hub.call("GET", "/hub/api/proxy?limit=1", Some(a), None, &accept);
    assert_eq!(page["_pagination"]["total"], json!(2));
    // PATCH validates, then re-targets.
    assert_eq!(
        call(&hub, "PATCH", "/hub/api/proxy", a, Some(json!({}))).0,
        400
    );
    assert_eq!(
        call(
            &hub,
            "PATCH",
            "/hub/api/proxy",
            a,
            Some(json!({"api_url": "ftp://x"}))
        )
        .0,
        400
    );
    // A proxy that is gone is a clear 502, not a hang.
    let (status, e) = call(
        &hub,
        "PATCH",
        "/hub/api/proxy",
        a,
        Some(json!({"api_url": "http://127.0.0.1:9"})),
    );
    assert_eq!(status, 502, "{e}");
    // Non-JSON errors from outside the handlers become JSON; OPTIONS is answered.
    let big = format!("{{\"usernames\": [\"{}\"]}}", "x".repeat(3 * 1024 * 1024));
    let (status, _, body) = hub.call("POST", "/hub/api/users", Some(a), Some(&big), &[]);
    assert_eq!((status, &body["status"]), (413, &json!(413)));
    let (status, _, _) = hub.call("OPTIONS", "/hub/api/users", None, None, &[]);
    assert_eq!(status, 200);
    let (status, _, body) = hub.call("PUT", "/hub/api/users", Some(a), None, &[]);
    assert_eq!((status, &body["status"]), (405, &json!(405)));
    // Shutdown: 202, then the process exits cleanly on its own.
    let alice = user_token(_dir.path(), "alice");
    assert_eq!(call(&hub, "POST", "/hub/api/shutdown", &alice, None).0, 403);
    assert_eq!(
        call(
            &hub,
            "POST",
            "/hub/api/shutdown",
            a,
            Some(json!({"proxy": "yes"}))
        )
        .0,
        400
    );
    let (status, body) = call(&hub, "POST", "/hub/api/shutdown", a, None);
    assert_eq!(
        (status, body),
        (202, json!({"message": "Shutting down Hub"}))
    );
    assert!(
        hub.wait_exit(std::time::Duration::from_secs(10)),
        "the hub exits after /shutdown"
    );
}

/// Renames, deletes, re-creations and group changes of the same users from 8 threads at once
/// (bounded: 40 rounds each): every answer is a JSON 2xx/4xx, never 5xx, and afterwards the
/// group lists only users that exist.
#[test]
fn concurrent_renames_and_deletes_answer_4xx_never_5xx() {
    let (_dir, hub, admin) = start("", &[]);
    let hub = std::sync::Arc::new(hub);
    let a = std::sync::Arc::new(admin);
    assert_eq!(call(&hub, "POST", "/hub/api/groups/team", &a, None).0, 201);
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for t in 0..8u32 {
        let (hub, a, statuses) = (hub.clone(), a.clone(), statuses.clone());
        threads.push(std::thread::spawn(move || {
            let (x, y) = (format!("u{}", t % 4), format!("v{}", t % 4));
            for round in 0..40u32 {
                let (method, path, body) = match (round + t) % 5 {
                    0 => ("POST", format!("/hub/api/users/{x}"), None),
                    1 => (
                        "PATCH",
                        format!("/hub/api/users/{x}"),
                        Some(json!({"name": y})),
                    ),
                    2 => (
                        "PATCH",
                        format!("/hub/api/users/{y}"),
                        Some(json!({"name": x})),
                    ),
                    3 => (
                        "POST",
                        "/hub/api/groups/team/users".to_owned(),
                        Some(json!({"users": [x.clone()]})),
                    ),
                    _ => (
                        "DELETE",
                        format!("/hub/api/users/{}", if round % 2 == 0 { &x } else { &y }),
                        None,
                    ),
                };
                let (status, body) = call(&hub, method, &path, &a, body);
                statuses.lock().unwrap().push((method, path, status, body));
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    for (method, path, status, body) in statuses.iter() {
        assert!(
            (200..500).contains(status) && *status != 0,
            "{method} {path}: {status} {body}"
        );
        if *status >= 400 {
            assert_eq!(
                body["status"],
                json!(status),
                "{method} {path}: not JupyterHub's error body: {body}"
            );
        }
    }
    // No half-applied change: group memberships point only at users that exist, and every
    // listed user can be read by name.
    let (_, users) = call(&hub, "GET", "/hub/api/users", &a, None);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    for n in &names {
        let (status, user) = call(&hub, "GET", &format!("/hub/api/users/{n}"), &a, None);
        assert_eq!(status, 200, "{n}");
        // The default role is assigned in the creating transaction: never a user without it.
        assert!(
            user["roles"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("user"))),
            "{n} has no user role: {user}"
        );
    }
    let (_, group) = call(&hub, "GET", "/hub/api/groups/team", &a, None);
    for member in group["users"].as_array().unwrap() {
        assert!(
            names.contains(&member.as_str().unwrap()),
            "member {member} of team does not exist: {names:?}"
        );
    }
}
