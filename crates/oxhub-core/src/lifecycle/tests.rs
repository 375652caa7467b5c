//! The server lifecycle against test spawners: every way a backend can behave, and what the
//! hub records and answers for each.

use super::Started;
use crate::error::HubError;
use crate::stopping::Stopped;
use crate::testing::{self, Behaviour, TestAuthenticator, TestSpawner};
use crate::Hub;
use oxhub_plugin::auth::Authenticated;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

async fn setup(behaviour: Behaviour) -> (Arc<Hub>, Arc<TestSpawner>, crate::Identity) {
    let mut config = testing::config();
    config.spawner.env_keep.push("KEPT".into());
    config.spawner.notebook_dir = "~/work/{username}".into();
    setup_with(config, behaviour).await
}

async fn setup_with(
    config: oxhub_config::HubConfig,
    behaviour: Behaviour,
) -> (Arc<Hub>, Arc<TestSpawner>, crate::Identity) {
    let spawner = TestSpawner::new(behaviour);
    let hub = testing::hub(
        config,
        Box::<TestAuthenticator>::default(),
        Arc::clone(&spawner) as _,
    )
    .await;
    hub.create_user_unchecked("alice", false).await.unwrap();
    let admin = testing::identity(&hub, "admin").await;
    (hub, spawner, admin)
}

async fn row(hub: &Hub) -> oxhub_store::ServerRow {
    hub.store.server("alice", "").await.unwrap().unwrap()
}

#[tokio::test]
async fn an_instant_spawner_is_ready_and_recorded() {
    let (hub, spawner, admin) = setup(Behaviour::Instant).await;
    let started = hub.start_server(&admin, "alice", "", None).await.unwrap();
    assert_eq!(started, Started::Ready);
    let r = row(&hub).await;
    assert!(
        r.ready && r.started.is_some() && r.pending.is_none(),
        "{r:?}"
    );
    assert!(r.url.as_deref().unwrap().starts_with("http://127.0.0.1:"));
    // The state is the spawner's, with the spawn's nonce kept beside it.
    let req = spawner.last_request();
    assert_eq!(r.state["nonce"], json!(req.spawn_id));
    assert!(r.state["id"].is_u64());
    // What the spawner was asked: port 0 (its choice), `~` left to it, the protocol's
    // environment, env_keep from the hub's environment, no service URL (the spawner's).
    assert_eq!(req.port, 0);
    assert_eq!(req.notebook_dir, "~/work/alice");
    assert_eq!(req.service_prefix, "/user/alice/");
    assert_eq!(
        req.env_var("JUPYTERHUB_SERVICE_PREFIX"),
        Some("/user/alice/")
    );
    assert_eq!(req.env_var("JUPYTERHUB_USER"), Some("alice"));
    assert_eq!(
        req.env_var("JUPYTERHUB_CLIENT_ID"),
        Some("jupyterhub-user-alice")
    );
    assert_eq!(req.env_var("KEPT"), Some("from the hub"));
    assert_eq!(req.env_var("JUPYTERHUB_SERVICE_URL"), None);
    let token = req.env_var("JUPYTERHUB_API_TOKEN").unwrap();
    let server = hub.authenticate(token).await.unwrap().unwrap();
    assert_eq!(server.subject.name(), "alice");
    let progress = hub.spawn_progress("alice", "").unwrap();
    assert_eq!(progress.outcome().unwrap()["ready"], json!(true));
    // Starting a running server is refused.
    let again = hub
        .start_server(&admin, "alice", "", None)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already running"), "{again}");

    assert_eq!(
        hub.stop_server(&admin, "alice", "").await.unwrap(),
        Stopped::Done
    );
    let r = row(&hub).await;
    assert!(r.started.is_none() && r.url.is_none() && !r.ready, "{r:?}");
    assert_eq!(spawner.stops.lock().unwrap().len(), 1);
    // The server's token went with its OAuth client.
    assert!(hub.authenticate(token).await.unwrap().is_none());
}

#[tokio::test]
async fn a_slow_spawner_answers_pending_and_reports_progress() {
    let (hub, _spawner, admin) = setup(Behaviour::Slow(Duration::from_millis(2500))).await;
    let started = hub.start_server(&admin, "alice", "", None).await.unwrap();
    assert_eq!(started, Started::Pending);
    assert_eq!(row(&hub).await.pending.as_deref(), Some("spawn"));
    // A second start while pending joins the first.
    assert_eq!(
        hub.start_server(&admin, "alice", "", None).await.unwrap(),
        Started::Pending
    );
    let progress = hub.spawn_progress("alice", "").unwrap();
    for _ in 0..100 {
        if progress.finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = progress.events_from(0);
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"queued at the test backend"),
        "{messages:?}"
    );
    assert_eq!(progress.outcome().unwrap()["ready"], json!(true));
    assert!(row(&hub).await.ready);
}

#[tokio::test]
async fn a_server_that_never_answers_fails_after_http_timeout_and_is_stopped() {
    let (hub, spawner, admin) = setup(Behaviour::NeverReady).await;
    let err = hub
        .start_server(&admin, "alice", "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HubError::SpawnFailed(m) if m.contains("http_timeout")),
        "{err}"
    );
    let r = row(&hub).await;
    assert!(
        r.started.is_none() && r.pending.is_none() && r.url.is_none(),
        "{r:?}"
    );
    // What was started was stopped again.
    assert_eq!(spawner.stops.lock().unwrap().len(), 1);
    let outcome = hub.spawn_progress("alice", "").unwrap().outcome().unwrap();
    assert_eq!(outcome["failed"], json!(true));
}

#[tokio::test]
async fn a_failing_start_says_why_and_the_user_can_try_again() {
    let (hub, spawner, admin) = setup(Behaviour::FailStart).await;
    let err = hub
        .start_server(&admin, "alice", "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HubError::SpawnFailed(m) if m.contains("no capacity")),
        "{err}"
    );
    assert!(row(&hub).await.pending.is_none());
    spawner.set(Behaviour::Instant);
    assert_eq!(
        hub.start_server(&admin, "alice", "", None).await.unwrap(),
        Started::Ready
    );
}

#[tokio::test]
async fn a_backend_outage_at_start_is_unavailable() {
    let (hub, _spawner, admin) = setup(Behaviour::BackendDown).await;
    let err = hub
        .start_server(&admin, "alice", "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HubError::Outage(m) if m.contains("batch system")),
        "{err}"
    );
    assert!(row(&hub).await.pending.is_none());
}

#[tokio::test]
async fn a_server_that_exits_before_answering_fails_with_its_status() {
    let (hub, _spawner, admin) = setup(Behaviour::CrashAfterStart).await;
    let err = hub
        .start_server(&admin, "alice", "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HubError::SpawnFailed(m) if m.contains("exited with status 3")),
        "{err}"
    );
}

#[tokio::test]
async fn polling_removes_a_server_that_crashed_and_keeps_one_it_cannot_see() {
    let (hub, spawner, admin) = setup(Behaviour::Instant).await;
    hub.start_server(&admin, "alice", "", None).await.unwrap();
    // The backend cannot be reached: the server is kept.
    spawner.poll_fails.store(true, Ordering::Relaxed);
    assert_eq!(hub.poll_servers().await.unwrap(), 0);
    assert!(row(&hub).await.ready);
    spawner.poll_fails.store(false, Ordering::Relaxed);
    assert_eq!(hub.poll_servers().await.unwrap(), 0);
    spawner.crash(&row(&hub).await.state);
    assert_eq!(hub.poll_servers().await.unwrap(), 1);
    let r = row(&hub).await;
    assert!(r.started.is_none() && !r.ready, "{r:?}");
}

#[tokio::test]
async fn a_failing_stop_keeps_the_server_recorded_and_a_later_stop_succeeds() {
    let (hub, spawner, admin) = setup(Behaviour::Instant).await;
    hub.start_server(&admin, "alice", "", None).await.unwrap();
    spawner.stop_fails.store(true, Ordering::Relaxed);
    let err = hub.stop_server(&admin, "alice", "").await.unwrap_err();
    assert!(
        matches!(&err, HubError::Outage(m) if m.contains("refused")),
        "{err}"
    );
    let r = row(&hub).await;
    assert!(
        r.started.is_some() && r.pending.is_none() && r.ready,
        "{r:?}"
    );
    spawner.stop_fails.store(false, Ordering::Relaxed);
    assert_eq!(
        hub.stop_server(&admin, "alice", "").await.unwrap(),
        Stopped::Done
    );
    assert!(row(&hub).await.started.is_none());
}

#[tokio::test]
async fn after_a_restart_live_servers_are_kept_and_unfinished_spawns_stopped_by_nonce() {
    let (hub, spawner, admin) = setup(Behaviour::Instant).await;
    hub.start_server(&admin, "alice", "", None).await.unwrap();
    // bob's spawn was cut off by a hub crash: only the nonce was recorded.
    hub.create_user_unchecked("bob", false).await.unwrap();
    hub.store.ensure_server("bob", "").await.unwrap();
    hub.store
        .update_server(
            "bob",
            "",
            &oxhub_store::ServerUpdate {
                pending: Some(Some("spawn".into())),
                state: Some(json!({ "nonce": "n-bob" })),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hub.resume_servers().await.unwrap(), (1, 1));
    assert!(spawner
        .stops
        .lock()
        .unwrap()
        .contains(&json!({ "nonce": "n-bob" })));
    let bob = hub.store.server("bob", "").await.unwrap().unwrap();
    assert!(bob.pending.is_none() && bob.started.is_none(), "{bob:?}");
    assert!(row(&hub).await.ready);
}

#[tokio::test]
async fn the_authenticator_adds_to_the_spawn_from_auth_state() {
    let mut config = testing::config();
    config.authenticator.enable_auth_state = true;
    let spawner = TestSpawner::new(Behaviour::Instant);
    let auth = TestAuthenticator {
        allow_all_by_default: true,
        ..TestAuthenticator::default()
    };
    auth.accept(
        "alice",
        Authenticated {
            auth_state: Some(json!({ "token": "upstream-secret" })),
            roles: None,
            ..Authenticated::named("alice")
        },
    );
    let hub = testing::hub(config, Box::new(auth), Arc::clone(&spawner) as _).await;
    let request = oxhub_plugin::auth::LoginRequest::password("alice", "");
    hub.login(&request, "session-1", None)
        .await
        .unwrap()
        .unwrap();
    let admin = testing::identity(&hub, "admin").await;
    hub.start_server(&admin, "alice", "", None).await.unwrap();
    assert_eq!(
        spawner.last_request().env_var("UPSTREAM_TOKEN"),
        Some("upstream-secret")
    );
}

#[tokio::test]
async fn the_concurrent_spawn_limit_refuses_with_retry_after() {
    let mut config = testing::config();
    config.hub.concurrent_spawn_limit = 1;
    let (hub, _spawner, admin) =
        setup_with(config, Behaviour::Slow(Duration::from_millis(2500))).await;
    hub.create_user_unchecked("bob", false).await.unwrap();
    assert_eq!(
        hub.start_server(&admin, "alice", "", None).await.unwrap(),
        Started::Pending
    );
    let err = hub.start_server(&admin, "bob", "", None).await.unwrap_err();
    assert!(matches!(err, HubError::Busy(_, 30)), "{err}");
}

#[tokio::test]
async fn a_checkpointed_job_is_recorded_at_once_and_cancelled_at_start_timeout() {
    let mut config = testing::config();
    config.spawner.start_timeout = 1;
    let (hub, spawner, admin) = setup_with(config, Behaviour::Queued).await;
    let starting = {
        let (hub, admin) = (Arc::clone(&hub), admin.clone());
        tokio::spawn(async move { hub.start_server(&admin, "alice", "", None).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = row(&hub).await;
    assert_eq!(r.state["job_id"], json!("job-1"), "{r:?}");
    assert!(r.state["nonce"].is_string(), "the nonce stays beside it");
    let err = starting.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, HubError::SpawnFailed(m) if m.contains("start_timeout")),
        "{err}"
    );
    let stops = spawner.stops.lock().unwrap().clone();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0]["job_id"], json!("job-1"), "the job is cancelled");
    let events = hub.spawn_progress("alice", "").unwrap().events_from(0);
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "pending in the test queue" && e.get("progress").is_none()),
        "{events:?}"
    );
}

#[tokio::test]
async fn only_the_starting_servers_own_token_reports_its_port() {
    let (hub, spawner, admin) = setup(Behaviour::Queued).await;
    let starting = {
        let (hub, admin) = (Arc::clone(&hub), admin.clone());
        tokio::spawn(async move { hub.start_server(&admin, "alice", "", None).await })
    };
    let token = loop {
        if let Some(req) = spawner.requests.lock().unwrap().last() {
            break req.env_var("JUPYTERHUB_API_TOKEN").unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let server = hub.authenticate(&token).await.unwrap().unwrap();
    let body = |v: serde_json::Value| v.as_object().unwrap().clone();
    for bad in [
        json!({"port": 0}),
        json!({"port": 65536}),
        json!({"port": "80"}),
        json!({}),
    ] {
        assert!(
            matches!(
                hub.report_server_port(&server, &body(bad.clone())),
                Err(HubError::Invalid(_))
            ),
            "{bad}"
        );
    }
    let err = hub
        .report_server_port(&server, &body(json!({"port": 8888, "ip": "10.1.1.1"})))
        .unwrap_err();
    assert!(err.to_string().contains("only the port"), "{err}");
    assert!(matches!(
        hub.report_server_port(&admin, &body(json!({"port": 8888}))),
        Err(HubError::Invalid(_))
    ));
    hub.report_server_port(&server, &body(json!({"port": 8888})))
        .unwrap();
    assert_eq!(starting.await.unwrap().unwrap(), Started::Ready);
    assert_eq!(*spawner.reported.lock().unwrap(), Some(8888));
    assert!(
        hub.report_server_port(&server, &body(json!({"port": 8888})))
            .is_err(),
        "a started server reports nothing more"
    );
}

#[tokio::test]
async fn options_the_spawner_refuses_are_a_400_before_anything_starts() {
    let (hub, spawner, admin) = setup(Behaviour::Instant).await;
    let err = hub
        .start_server(&admin, "alice", "", Some(json!({"image": "forbidden"})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HubError::Invalid(m) if m.contains("forbidden is not allowed")),
        "{err:?}"
    );
    assert!(
        spawner.requests.lock().unwrap().is_empty(),
        "the spawner never started"
    );
    let r = row(&hub).await;
    assert!(r.started.is_none() && r.pending.is_none(), "{r:?}");
    // Options it takes start as usual.
    let started = hub
        .start_server(&admin, "alice", "", Some(json!({"image": "fine"})))
        .await
        .unwrap();
    assert_eq!(started, Started::Ready);
}
