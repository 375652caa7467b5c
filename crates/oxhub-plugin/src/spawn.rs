//! The spawner contract: how one single-user server is started, watched and stopped.
//!
//! The lifecycle around a spawn (the server's token and OAuth client, the environment of the
//! single-user protocol, hooks, timeouts, the readiness check, the proxy route, the records)
//! is the core's. A spawner only runs the server somewhere and says where it listens.

use crate::BoxFuture;
use serde_json::Value;

/// Resource limits and guarantees (`Spawner.mem_limit`, ...), for spawners that enforce them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// Bytes.
    pub mem_limit: Option<i64>,
    pub mem_guarantee: Option<i64>,
    /// CPUs.
    pub cpu_limit: Option<f64>,
    pub cpu_guarantee: Option<f64>,
}

/// Everything a spawner needs to run one server.
#[derive(Debug, Clone, PartialEq)]
pub struct SpawnRequest {
    pub user: String,
    /// `""` for the default server.
    pub server: String,
    /// Unique per spawn. A spawner records it where it can find the server again (a process
    /// environment, a job name, a label): the hub may die before [`Started::state`] is stored,
    /// and then stops the server with the state `{"nonce": spawn_id}` only.
    pub spawn_id: String,
    /// `Spawner.cmd` with `{username}` expanded.
    pub cmd: Vec<String>,
    /// `Spawner.args`, expanded the same way.
    pub args: Vec<String>,
    /// The environment the hub computed (the single-user protocol, `env_keep`,
    /// `Spawner.environment`). The spawner adds its own underneath (`HOME`, `USER`, `SHELL`)
    /// and sets `JUPYTERHUB_SERVICE_URL` once it knows where the server listens
    /// ([`SpawnRequest::service_url`]).
    pub env: Vec<(String, String)>,
    /// `Spawner.notebook_dir` with `{username}` expanded; a leading `~` is the spawner's to
    /// expand, since only it knows the home directory. Empty: the home directory.
    pub notebook_dir: String,
    pub user_options: Value,
    pub resources: Resources,
    /// `Spawner.ip`; empty for loopback.
    pub ip: String,
    /// `Spawner.port`; 0 means the spawner chooses.
    pub port: u16,
    /// The server's URL prefix (`/user/alice/`), the path of `JUPYTERHUB_SERVICE_URL`.
    pub service_prefix: String,
    /// What the chosen `profile_list` entry sets (its `kubespawner_override` merged with its
    /// options') beyond what the hub applied itself (`cmd`, `args`, `default_url`,
    /// `notebook_dir`, resources): a spawner reads the traits it knows (an `image`, a
    /// `node_selector`) and ignores the rest. `environment` is applied to `env` and also kept
    /// here, for spawners that build the environment themselves (KubeSpawner).
    pub overrides: serde_json::Map<String, Value>,
}

/// The variable a spawner sets to tell the server where it listens.
pub const SERVICE_URL_VAR: &str = "JUPYTERHUB_SERVICE_URL";

impl SpawnRequest {
    /// `JUPYTERHUB_SERVICE_URL` for a server binding `ip:port`: the server binds what this
    /// names, so a wildcard address stays one (IPv6 in brackets; empty means loopback).
    pub fn service_url(&self, ip: &str, port: u16) -> String {
        let host = match ip {
            "" => "127.0.0.1".to_owned(),
            ip if ip.contains(':') && !ip.starts_with('[') => format!("[{ip}]"),
            ip => ip.to_owned(),
        };
        format!("http://{host}:{port}{}", self.service_prefix)
    }

    /// The value of a variable of [`SpawnRequest::env`].
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Set a variable, replacing any earlier value.
    pub fn set_env(&mut self, key: &str, value: String) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value));
    }
}

/// Where the hub connects to a server bound to `ip`: a wildcard address becomes loopback,
/// IPv6 addresses go in brackets.
pub fn connect_host(ip: &str) -> String {
    match ip {
        "" | "0.0.0.0" => "127.0.0.1".to_owned(),
        "::" => "[::1]".to_owned(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_owned(),
    }
}

/// A started server: where the proxy should send its requests, and what to remember about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// `http://host:port` (no path).
    pub url: String,
    /// Spawner state, stored with the server and handed to `poll` and `stop`, also after a
    /// hub restart.
    pub state: Value,
}

/// Whether a server still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    /// Exited (with the exit code when known).
    Exited(Option<i32>),
}

/// What a spawner can tell the hub, and ask it, while a start is under way.
pub trait ProgressSink: Send + Sync {
    /// `percent` between the hub's own steps (10 = started, 50 = process up).
    fn progress(&self, percent: u8, message: &str);

    /// A message that leaves the progress bar where it is ("Pending in queue...").
    fn message(&self, message: &str) {
        let _ = message;
    }

    /// A whole event of the progress stream: `progress` and `message` as above plus keys the
    /// stream passes through to the browser (KubeSpawner's `raw_event`, the pod's Event).
    fn event(&self, event: Value) {
        let message = event.get("message").and_then(Value::as_str).unwrap_or("");
        match event.get("progress").and_then(Value::as_u64) {
            Some(p) => self.progress(u8::try_from(p.min(99)).unwrap_or(99), message),
            None => self.message(message),
        }
    }

    /// State the spawner has before `start` returns (a batch job's id): the hub records it at
    /// once, so a start that times out, or a hub that dies meanwhile, can still stop what
    /// was created. [`Started::state`] replaces it.
    fn checkpoint(&self, state: &Value) {
        let _ = state;
    }

    /// The port the server reported to the hub itself (`POST /hub/api/batchspawner` with
    /// its own token), for servers that pick their port where they run. Resolves once one
    /// arrives; never, for a hub that takes no reports.
    fn reported_port(&self) -> BoxFuture<'_, u16> {
        Box::pin(std::future::pending())
    }
}

/// A sink that drops every event.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn progress(&self, _: u8, _: &str) {}
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The request cannot work (no such system user, an empty `cmd`, a limit the backend
    /// refuses): 400, and the spawn fails with this message.
    #[error("{0}")]
    Invalid(String),
    /// The backend cannot be reached or failed (the batch system, the cluster API): 503.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else; logged, never shown.
    #[error("{0}")]
    Internal(String),
}

pub trait Spawner: Send + Sync {
    /// The configured class this implements (`LocalProcessSpawner`, ...).
    fn class(&self) -> &str;

    /// Start the server; return once it runs (not necessarily answers: the hub waits for that).
    fn start<'a>(
        &'a self,
        request: &'a SpawnRequest,
        progress: &'a dyn ProgressSink,
    ) -> BoxFuture<'a, Result<Started, SpawnError>>;

    /// Whether the server of this state still runs. An error means "cannot tell now" (the
    /// backend is down): the hub keeps the server and asks again later.
    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<Status, SpawnError>>;

    /// Stop the server and wait until it is gone. Called also with a state holding only the
    /// spawn's `nonce`, and for servers already gone (then it succeeds).
    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<(), SpawnError>>;

    /// What `start` would create for this request, as JSON, without creating anything
    /// (`oxhub spawner-dry-run`): a batch script and its submit command, a pod manifest, a
    /// container's create body.
    fn dry_run(&self, request: &SpawnRequest) -> Result<Value, SpawnError>;

    /// Release what a server keeps while stopped (KubeSpawner's PVC), once the user or the
    /// named server is deleted; `state` is the server's last recorded state.
    fn delete_forever<'a>(
        &'a self,
        user: &'a str,
        server: &'a str,
        state: &'a Value,
    ) -> BoxFuture<'a, Result<(), SpawnError>> {
        let _ = (user, server, state);
        Box::pin(async { Ok(()) })
    }

    /// Refuse a request before anything starts (an image the user may not choose): the
    /// caller gets the error (`Invalid` is a 400) and no spawn begins. The request carries a
    /// placeholder where the server's token goes.
    fn check(&self, request: &SpawnRequest) -> Result<(), SpawnError> {
        let _ = request;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SpawnRequest {
        SpawnRequest {
            user: "alice".into(),
            server: String::new(),
            spawn_id: "n".into(),
            cmd: vec!["jupyterhub-singleuser".into()],
            args: Vec::new(),
            env: vec![("A".into(), "1".into())],
            notebook_dir: String::new(),
            user_options: Value::Null,
            resources: Resources::default(),
            ip: String::new(),
            port: 0,
            service_prefix: "/user/alice/".into(),
            overrides: serde_json::Map::new(),
        }
    }

    #[test]
    fn service_url_keeps_the_bind_address_and_brackets_ipv6() {
        let r = request();
        assert_eq!(
            r.service_url("127.0.0.1", 9000),
            "http://127.0.0.1:9000/user/alice/"
        );
        assert_eq!(r.service_url("::1", 9000), "http://[::1]:9000/user/alice/");
        assert_eq!(r.service_url("0.0.0.0", 1), "http://0.0.0.0:1/user/alice/");
        assert_eq!(r.service_url("", 1), "http://127.0.0.1:1/user/alice/");
    }

    #[test]
    fn connect_host_maps_wildcards_to_loopback() {
        assert_eq!(connect_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(connect_host(""), "127.0.0.1");
        assert_eq!(connect_host("::"), "[::1]");
        assert_eq!(connect_host("fe80::1"), "[fe80::1]");
        assert_eq!(connect_host("10.0.0.5"), "10.0.0.5");
    }

    #[test]
    fn set_env_replaces() {
        let mut r = request();
        r.set_env("A", "2".into());
        r.set_env("B", "3".into());
        assert_eq!(r.env_var("A"), Some("2"));
        assert_eq!(r.env.len(), 2);
    }
}
