//! Test doubles for the core's own tests: a hub on an in-memory database with injected
//! plug-ins, spawners that behave in each way a real backend can (answer at once, take their
//! time, never answer, fail to start, crash, fail to stop, lose track), and an authenticator
//! that says what it is told to.

use crate::hub::{Hub, Parts};
use crate::identity::Identity;
use oxhub_config::HubConfig;
use oxhub_plugin::auth::{AuthError, Authenticated, Authenticator, LoginRequest};
use oxhub_plugin::spawn::{ProgressSink, SpawnError, SpawnRequest, Spawner, Started, Status};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a [`TestSpawner`] behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Starts a server that answers every request with 200.
    Instant,
    /// Like `Instant`, after this long (and one progress event).
    Slow(Duration),
    /// Says it started, but nothing ever answers at the URL.
    NeverReady,
    /// `start` fails: the request cannot work.
    FailStart,
    /// `start` fails: the backend is down.
    BackendDown,
    /// Starts, then the process exits with status 3 before answering.
    CrashAfterStart,
    /// Like a batch job: checkpoints `{"job_id": "job-<n>"}`, then waits for the server to
    /// report its port (recorded in `reported`) and serves.
    Queued,
}

/// A spawner whose servers are tiny in-process HTTP listeners, recording what it was asked.
pub struct TestSpawner {
    pub behaviour: Mutex<Behaviour>,
    /// `stop` fails while this is set.
    pub stop_fails: AtomicBool,
    /// `poll` fails while this is set.
    pub poll_fails: AtomicBool,
    pub requests: Mutex<Vec<SpawnRequest>>,
    pub stops: Mutex<Vec<Value>>,
    /// The port a [`Behaviour::Queued`] server reported.
    pub reported: Mutex<Option<u16>>,
    /// Running servers by id: their listener tasks.
    running: Mutex<HashMap<u64, tokio::task::JoinHandle<()>>>,
    next: AtomicUsize,
}

impl TestSpawner {
    pub fn new(behaviour: Behaviour) -> Arc<TestSpawner> {
        Arc::new(TestSpawner {
            behaviour: Mutex::new(behaviour),
            stop_fails: AtomicBool::new(false),
            poll_fails: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            stops: Mutex::new(Vec::new()),
            reported: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(1),
        })
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn last_request(&self) -> SpawnRequest {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }

    /// Make a running server's process "exit" (its listener goes away).
    pub fn crash(&self, state: &Value) {
        if let Some(task) = state_id(state).and_then(|id| self.running.lock().unwrap().remove(&id))
        {
            task.abort();
        }
    }

    async fn serve_200() -> (String, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 2048];
                    let _ = conn.read(&mut buf).await;
                    let _ = conn
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        (url, task)
    }
}

fn state_id(state: &Value) -> Option<u64> {
    state.get("id").and_then(Value::as_u64)
}

impl Spawner for TestSpawner {
    fn class(&self) -> &str {
        "TestSpawner"
    }

    fn start<'a>(
        &'a self,
        request: &'a SpawnRequest,
        progress: &'a dyn ProgressSink,
    ) -> BoxFuture<'a, Result<Started, SpawnError>> {
        Box::pin(async move {
            self.requests.lock().unwrap().push(request.clone());
            let behaviour = *self.behaviour.lock().unwrap();
            let id = self.next.fetch_add(1, Ordering::Relaxed) as u64;
            let state = json!({ "id": id });
            match behaviour {
                Behaviour::FailStart => Err(SpawnError::Invalid("no capacity for alice".into())),
                Behaviour::BackendDown => {
                    Err(SpawnError::Unavailable("the batch system is down".into()))
                }
                Behaviour::NeverReady => Ok(Started {
                    // Nothing listens on the discard port of loopback here.
                    url: "http://127.0.0.1:9".into(),
                    state,
                }),
                Behaviour::CrashAfterStart => Ok(Started {
                    url: "http://127.0.0.1:9".into(),
                    state: json!({ "id": id, "crashed": true }),
                }),
                Behaviour::Queued => {
                    let job = json!({ "job_id": format!("job-{id}") });
                    progress.checkpoint(&job);
                    progress.message("pending in the test queue");
                    let port = progress.reported_port().await;
                    *self.reported.lock().unwrap() = Some(port);
                    let (url, task) = Self::serve_200().await;
                    self.running.lock().unwrap().insert(id, task);
                    Ok(Started {
                        url,
                        state: json!({ "id": id, "job_id": format!("job-{id}") }),
                    })
                }
                Behaviour::Instant | Behaviour::Slow(_) => {
                    if let Behaviour::Slow(d) = behaviour {
                        progress.progress(30, "queued at the test backend");
                        tokio::time::sleep(d).await;
                    }
                    let (url, task) = Self::serve_200().await;
                    self.running.lock().unwrap().insert(id, task);
                    Ok(Started { url, state })
                }
            }
        })
    }

    fn dry_run(&self, request: &SpawnRequest) -> Result<Value, SpawnError> {
        Ok(json!({ "spawner": "TestSpawner", "user": request.user, "cmd": request.cmd }))
    }

    /// Refuses options asking for `{"image": "forbidden"}`, as DockerSpawner refuses an
    /// image outside `allowed_images`.
    fn check(&self, request: &SpawnRequest) -> Result<(), SpawnError> {
        match request.user_options.get("image").and_then(Value::as_str) {
            Some("forbidden") => Err(SpawnError::Invalid("image forbidden is not allowed".into())),
            _ => Ok(()),
        }
    }

    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<Status, SpawnError>> {
        Box::pin(async move {
            if self.poll_fails.load(Ordering::Relaxed) {
                return Err(SpawnError::Unavailable("cannot reach the backend".into()));
            }
            if state.get("crashed").is_some() {
                return Ok(Status::Exited(Some(3)));
            }
            let running =
                state_id(state).is_some_and(|id| self.running.lock().unwrap().contains_key(&id));
            let never_ready = *self.behaviour.lock().unwrap() == Behaviour::NeverReady;
            Ok(if running || (never_ready && state_id(state).is_some()) {
                Status::Running
            } else {
                Status::Exited(None)
            })
        })
    }

    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<(), SpawnError>> {
        Box::pin(async move {
            self.stops.lock().unwrap().push(state.clone());
            if self.stop_fails.load(Ordering::Relaxed) {
                return Err(SpawnError::Unavailable(
                    "the backend refused to stop it".into(),
                ));
            }
            self.crash(state);
            Ok(())
        })
    }
}

/// An authenticator that accepts the users it was given, with the model it was given, and
/// passes `auth_state["token"]` into the server's environment before a spawn.
#[derive(Default, Clone)]
pub struct TestAuthenticator {
    /// Shared by clones, so a test keeps a handle on the one it gave the hub.
    pub users: Arc<Mutex<BTreeMap<String, Authenticated>>>,
    pub allow_all_by_default: bool,
    /// Names the backend's own allow rule admits (as `allowed_groups` would).
    pub backend_allows: Vec<String>,
    /// When set, `add_user` refuses every other name (as a `Local*` authenticator does for
    /// names without a system account).
    pub system_users: Option<Vec<String>>,
}

impl TestAuthenticator {
    pub fn accept(&self, login: &str, model: Authenticated) {
        self.users.lock().unwrap().insert(login.to_owned(), model);
    }
}

impl Authenticator for TestAuthenticator {
    fn class(&self) -> &str {
        "TestAuthenticator"
    }

    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(async move {
            if request.field("password") == "down" {
                return Err(AuthError::Unavailable("the directory is down".into()));
            }
            Ok(self
                .users
                .lock()
                .unwrap()
                .get(request.field("username"))
                .cloned())
        })
    }

    fn pre_spawn<'a>(
        &'a self,
        auth_state: Option<&'a Value>,
        request: &'a mut SpawnRequest,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            if let Some(token) = auth_state
                .and_then(|s| s.get("token"))
                .and_then(Value::as_str)
            {
                request.set_env("UPSTREAM_TOKEN", token.to_owned());
            }
            Ok(())
        })
    }

    fn check_allowed<'a>(
        &'a self,
        name: &'a str,
        _model: &'a Authenticated,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move { Ok(self.backend_allows.iter().any(|n| n == name)) })
    }

    fn add_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            match &self.system_users {
                Some(known) if !known.iter().any(|n| n == name) => Err(AuthError::Invalid(
                    format!("User {name} does not exist on the system"),
                )),
                _ => Ok(()),
            }
        })
    }

    fn allow_all_by_default(&self) -> bool {
        self.allow_all_by_default
    }
}

/// A Fernet key (32 zero bytes, URL-safe base64) for `auth_state` tests.
pub const CRYPT_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// The configuration tests start from: an in-memory database, a fixed cookie secret, short
/// timeouts, `admin` as the one admin.
pub fn config() -> HubConfig {
    let mut c = HubConfig::defaults().unwrap();
    c.hub.db_url = "sqlite:///:memory:".into();
    c.hub.cookie_secret = Some(vec![7; 32]);
    c.authenticator.admin_users = vec!["admin".into()];
    c.spawner.http_timeout = 1;
    c.spawner.start_timeout = 5;
    c.crypt_keys = vec![CRYPT_KEY.into()];
    c
}

/// A hub with these plug-ins and its start-up state applied.
pub async fn hub(
    config: HubConfig,
    authenticator: Box<dyn Authenticator>,
    spawner: Arc<dyn Spawner>,
) -> Arc<Hub> {
    let store = oxhub_store::Store::open(&config.hub.db_url).await.unwrap();
    let parts = Parts {
        authenticator,
        spawner,
        proxy: None,
        environment: BTreeMap::from([("KEPT".to_owned(), "from the hub".to_owned())]),
    };
    let hub = Hub::new(config, store, parts).unwrap();
    crate::startup::apply(&hub).await.unwrap();
    Arc::new(hub)
}

/// The identity of a new token of `user` (all of the user's scopes).
pub async fn identity(hub: &Hub, user: &str) -> Identity {
    let token = hub
        .mint_token(
            oxhub_store::Owner::User(user.to_owned()),
            Vec::new(),
            "test",
            None,
        )
        .await
        .unwrap();
    hub.authenticate(&token).await.unwrap().unwrap()
}
