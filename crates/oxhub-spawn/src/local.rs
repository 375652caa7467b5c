//! `LocalProcessSpawner` (as the system user of the same name; setuid, setgid and groups when
//! the hub runs as root, else only for the hub's own user) and `SimpleLocalProcessSpawner` (as
//! the hub's user, with a home directory per user from `home_dir_template`).
//!
//! Both run the server in its own process group, so a stop reaches every process it started,
//! and keep pid + start time as the spawner state, so a restarted hub finds the process again
//! and never mistakes a recycled pid for it. The spawn nonce goes in the process environment
//! ([`NONCE_VAR`]) for the case where the hub dies before it records the pid.

use crate::process::{
    account, free_port, pids_with_nonce, proc_stat, signal_group, signal_process,
    supplementary_groups, NONCE_VAR,
};
use oxhub_model::names::clip;
use oxhub_plugin::spawn::{
    connect_host, ProgressSink, SpawnError, SpawnRequest, Spawner, Started, Status, SERVICE_URL_VAR,
};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
enum Mode {
    /// Run as the system user of the same name (setuid when the hub is root).
    System,
    /// Run as the hub's own user with `HOME` from the template.
    Simple {
        home_dir_template: String,
        shell: String,
    },
}

/// Both local spawners; they differ only in whose process it is and where home is.
pub struct LocalProcess {
    mode: Mode,
    term_timeout: Duration,
    /// Exit codes of the children this hub started, reaped by a waiter task per child.
    exited: Arc<Mutex<HashMap<u32, Option<i32>>>>,
}

impl LocalProcess {
    /// `LocalProcessSpawner`: TERM, then KILL after `term_timeout`.
    pub fn system(term_timeout: Duration) -> LocalProcess {
        LocalProcess::new(Mode::System, term_timeout)
    }

    /// `SimpleLocalProcessSpawner`: `home_dir_template` with `{username}`; `shell` is the
    /// server's `SHELL`.
    pub fn simple(
        home_dir_template: String,
        shell: String,
        term_timeout: Duration,
    ) -> LocalProcess {
        LocalProcess::new(
            Mode::Simple {
                home_dir_template,
                shell,
            },
            term_timeout,
        )
    }

    fn new(mode: Mode, term_timeout: Duration) -> LocalProcess {
        LocalProcess {
            mode,
            term_timeout,
            exited: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The user's home directory, as this spawner sets `HOME`.
    pub fn home_of(&self, user: &str) -> Option<String> {
        match &self.mode {
            Mode::System => account(user).map(|a| a.home),
            Mode::Simple {
                home_dir_template, ..
            } => Some(home_dir_template.replace("{username}", user)),
        }
    }

    fn state_pid(state: &Value) -> Option<(u32, Option<u64>)> {
        let pid = u32::try_from(state.get("pid")?.as_u64()?).ok()?;
        Some((pid, state.get("start_time").and_then(Value::as_u64)))
    }

    fn status_of(&self, state: &Value) -> Status {
        let Some((pid, start)) = Self::state_pid(state) else {
            return Status::Exited(None);
        };
        if let Ok(exited) = self.exited.lock() {
            if let Some(code) = exited.get(&pid) {
                return Status::Exited(*code);
            }
        }
        match proc_stat(pid) {
            Some((_, true)) | None => Status::Exited(None),
            // A different start time: the pid was recycled by an unrelated process.
            Some((started, false)) if start.is_some_and(|s| s != started) => Status::Exited(None),
            Some(_) => Status::Running,
        }
    }

    async fn start_inner(&self, request: &SpawnRequest) -> Result<Started, SpawnError> {
        use std::os::unix::process::CommandExt;
        let mut argv = request.cmd.iter().chain(&request.args);
        let program = argv
            .next()
            .ok_or_else(|| SpawnError::Invalid("Spawner.cmd is empty".into()))?;
        let mut cmd = std::process::Command::new(program);
        cmd.args(argv);
        cmd.env_clear();
        let home = self.home_of(&request.user).unwrap_or_else(|| "/".into());
        let mut env: Vec<(String, String)> = vec![
            ("USER".into(), request.user.clone()),
            ("HOME".into(), home.clone()),
        ];
        match &self.mode {
            Mode::System => {
                let acct = account(&request.user).ok_or_else(|| {
                    SpawnError::Invalid(format!(
                        "No system user {} to run the server as (LocalProcessSpawner spawns as the system user of the same name)",
                        clip(&request.user)
                    ))
                })?;
                env.push(("SHELL".into(), acct.shell.clone()));
                // SAFETY: geteuid has no preconditions.
                let euid = unsafe { libc::geteuid() };
                if euid == 0 {
                    let groups = supplementary_groups(&request.user, acct.gid);
                    let (uid, gid) = (acct.uid, acct.gid);
                    // SAFETY: only async-signal-safe calls between fork and exec.
                    unsafe {
                        cmd.pre_exec(move || {
                            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                                || libc::setgid(gid) != 0
                                || libc::setuid(uid) != 0
                            {
                                return Err(std::io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                } else if euid != acct.uid {
                    return Err(SpawnError::Invalid(format!(
                        "cannot start a server as {}: the hub is not running as root (use SimpleLocalProcessSpawner to run servers as the hub's user)",
                        clip(&request.user)
                    )));
                }
            }
            Mode::Simple { shell, .. } => {
                std::fs::create_dir_all(&home).map_err(|e| {
                    SpawnError::Internal(format!("cannot create home directory {home}: {e}"))
                })?;
                env.push(("SHELL".into(), shell.clone()));
            }
        }
        let port = match request.port {
            0 => free_port(&request.ip).map_err(SpawnError::Internal)?,
            port => port,
        };
        let host = connect_host(&request.ip);
        env.extend(request.env.iter().cloned());
        // `Spawner.environment` may set the service URL itself; the nonce is the hub's.
        if request.env_var(SERVICE_URL_VAR).is_none() {
            env.push((
                SERVICE_URL_VAR.into(),
                request.service_url(&request.ip, port),
            ));
        }
        env.retain(|(k, _)| k != NONCE_VAR);
        env.push((NONCE_VAR.into(), request.spawn_id.clone()));
        cmd.envs(env);
        let cwd = match request.notebook_dir.as_str() {
            "" => home,
            dir => match dir.strip_prefix('~') {
                Some(rest) => format!("{home}{rest}"),
                None => dir.to_owned(),
            },
        };
        cmd.current_dir(&cwd);
        cmd.process_group(0);
        cmd.stdin(std::process::Stdio::null());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| SpawnError::Invalid(format!("cannot run {}: {e}", clip(program))))?;
        let pid = child
            .id()
            .ok_or_else(|| SpawnError::Internal("spawned process has no pid".into()))?;
        let start_time = proc_stat(pid).map(|(s, _)| s);
        let exited = Arc::clone(&self.exited);
        if let Ok(mut map) = exited.lock() {
            map.remove(&pid);
        }
        tokio::spawn(async move {
            let code = child.wait().await.ok().and_then(|s| s.code());
            if let Ok(mut map) = exited.lock() {
                map.insert(pid, code);
            }
        });
        Ok(Started {
            url: format!("http://{host}:{port}"),
            state: json!({ "pid": pid, "start_time": start_time, "nonce": request.spawn_id }),
        })
    }

    async fn stop_inner(&self, state: &Value) {
        let Some((pid, _)) = Self::state_pid(state) else {
            // Started but never recorded: find its processes by the nonce.
            if let Some(nonce) = state.get("nonce").and_then(Value::as_str) {
                for pid in pids_with_nonce(nonce) {
                    tracing::warn!("stopping unrecorded server process {pid}");
                    signal_group(pid, libc::SIGKILL);
                    // The process may have no group of its own.
                    signal_process(pid, libc::SIGKILL);
                }
            }
            return;
        };
        if self.status_of(state) != Status::Running {
            // The leader is gone; its group may not be.
            signal_group(pid, libc::SIGKILL);
            return;
        }
        signal_group(pid, libc::SIGTERM);
        let deadline = tokio::time::Instant::now() + self.term_timeout;
        while tokio::time::Instant::now() < deadline {
            if self.status_of(state) != Status::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Whatever the leader did, no process of the group may outlive the stop.
        signal_group(pid, libc::SIGKILL);
        for _ in 0..100 {
            if self.status_of(state) != Status::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Spawner for LocalProcess {
    fn class(&self) -> &str {
        match self.mode {
            Mode::System => "LocalProcessSpawner",
            Mode::Simple { .. } => "SimpleLocalProcessSpawner",
        }
    }

    fn start<'a>(
        &'a self,
        request: &'a SpawnRequest,
        _progress: &'a dyn ProgressSink,
    ) -> BoxFuture<'a, Result<Started, SpawnError>> {
        Box::pin(self.start_inner(request))
    }

    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<Status, SpawnError>> {
        Box::pin(async move { Ok(self.status_of(state)) })
    }

    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<(), SpawnError>> {
        Box::pin(async move {
            self.stop_inner(state).await;
            Ok(())
        })
    }

    fn dry_run(&self, request: &SpawnRequest) -> Result<Value, SpawnError> {
        let home = self.home_of(&request.user).ok_or_else(|| {
            SpawnError::Invalid(format!("No system user {}", clip(&request.user)))
        })?;
        let shell = match &self.mode {
            Mode::System => account(&request.user).map(|a| a.shell).unwrap_or_default(),
            Mode::Simple { shell, .. } => shell.clone(),
        };
        let mut env = serde_json::Map::new();
        for (k, v) in [
            ("USER", request.user.as_str()),
            ("HOME", &home),
            ("SHELL", &shell),
        ] {
            env.insert(k.into(), v.into());
        }
        for (k, v) in &request.env {
            env.insert(k.clone(), v.clone().into());
        }
        if request.env_var(SERVICE_URL_VAR).is_none() {
            // Port 0: chosen free at start.
            env.insert(
                SERVICE_URL_VAR.into(),
                request.service_url(&request.ip, request.port).into(),
            );
        }
        env.insert(NONCE_VAR.into(), request.spawn_id.clone().into());
        let cwd = match request.notebook_dir.strip_prefix('~') {
            _ if request.notebook_dir.is_empty() => home.clone(),
            Some(rest) => format!("{home}{rest}"),
            None => request.notebook_dir.clone(),
        };
        let argv: Vec<&String> = request.cmd.iter().chain(&request.args).collect();
        Ok(json!({
            "spawner": self.class(),
            "user": request.user,
            "argv": argv,
            "cwd": cwd,
            "environment": env,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxhub_plugin::spawn::{NoProgress, Resources};

    fn simple(dir: &std::path::Path) -> LocalProcess {
        LocalProcess::simple(
            format!("{}/{{username}}", dir.display()),
            "/bin/sh".into(),
            Duration::from_secs(2),
        )
    }

    fn request(cmd: &[&str]) -> SpawnRequest {
        SpawnRequest {
            user: "alice".into(),
            server: String::new(),
            spawn_id: "nonce-1".into(),
            cmd: cmd.iter().map(|s| (*s).to_owned()).collect(),
            args: Vec::new(),
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            notebook_dir: String::new(),
            user_options: Value::Null,
            resources: Resources::default(),
            ip: "127.0.0.1".into(),
            port: 0,
            service_prefix: "/user/alice/".into(),
            overrides: serde_json::Map::new(),
        }
    }

    async fn wait_for_file(path: &std::path::Path) -> String {
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(path) {
                if text.ends_with('\n') {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{} never appeared", path.display());
    }

    #[tokio::test]
    async fn stop_reaches_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        // The leader ignores TERM and starts a grandchild that also ignores it.
        let started = sp
            .start(
                &request(&[
                    "sh",
                    "-c",
                    "trap '' TERM; sh -c \"trap '' TERM; echo \\$\\$ > grandchild; sleep 60\" & sleep 60",
                ]),
                &NoProgress,
            )
            .await
            .unwrap();
        assert_eq!(sp.poll(&started.state).await, Ok(Status::Running));
        let text = wait_for_file(&dir.path().join("alice/grandchild")).await;
        let grandchild: u32 = text.trim().parse().unwrap();
        sp.stop(&started.state).await.unwrap();
        assert!(matches!(
            sp.poll(&started.state).await,
            Ok(Status::Exited(_))
        ));
        // The grandchild is not our child: it is gone or a zombie awaiting its reaper.
        for _ in 0..100 {
            match proc_stat(grandchild) {
                None | Some((_, true)) => return,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("grandchild {grandchild} survived the stop");
    }

    #[tokio::test]
    async fn a_recycled_pid_is_not_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        let started = sp
            .start(&request(&["sleep", "60"]), &NoProgress)
            .await
            .unwrap();
        let mut forged = started.state.clone();
        forged["start_time"] = json!(1);
        assert!(matches!(sp.poll(&forged).await, Ok(Status::Exited(_))));
        assert_eq!(sp.poll(&started.state).await, Ok(Status::Running));
        sp.stop(&started.state).await.unwrap();
        assert!(matches!(
            sp.poll(&started.state).await,
            Ok(Status::Exited(_))
        ));
    }

    #[tokio::test]
    async fn a_missing_command_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        let err = sp
            .start(
                &request(&["/nonexistent/jupyterhub-singleuser"]),
                &NoProgress,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SpawnError::Invalid(m) if m.contains("cannot run")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn port_zero_is_chosen_and_told_to_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        let mut req = request(&[
            "sh",
            "-c",
            "echo \"$JUPYTERHUB_SERVICE_URL $OXHUB_SPAWN_NONCE $HOME $PWD\" > seen; sleep 60",
        ]);
        req.notebook_dir = "~/work".into();
        std::fs::create_dir_all(dir.path().join("alice/work")).unwrap();
        let started = sp.start(&req, &NoProgress).await.unwrap();
        let port: u16 = started.url.rsplit(':').next().unwrap().parse().unwrap();
        assert_ne!(port, 0);
        let seen = wait_for_file(&dir.path().join("alice/work/seen")).await;
        let home = dir.path().join("alice").display().to_string();
        assert_eq!(
            seen.trim(),
            format!("http://127.0.0.1:{port}/user/alice/ nonce-1 {home} {home}/work")
        );
        assert_eq!(started.state["nonce"], "nonce-1");
        sp.stop(&started.state).await.unwrap();
    }

    #[tokio::test]
    async fn an_unrecorded_spawn_is_stopped_by_its_nonce() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        let mut req = request(&["sleep", "60"]);
        req.spawn_id = format!("nonce-{}", std::process::id());
        let started = sp.start(&req, &NoProgress).await.unwrap();
        sp.stop(&json!({ "nonce": req.spawn_id })).await.unwrap();
        for _ in 0..100 {
            if sp.poll(&started.state).await != Ok(Status::Running) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the process found by its nonce survived");
    }

    #[tokio::test]
    async fn system_mode_refuses_a_user_that_does_not_exist() {
        let sp = LocalProcess::system(Duration::from_secs(1));
        let mut req = request(&["sleep", "1"]);
        req.user = "no-such-user-oxhub".into();
        let err = sp.start(&req, &NoProgress).await.unwrap_err();
        assert!(
            matches!(&err, SpawnError::Invalid(m) if m.contains("No system user")),
            "{err}"
        );
        assert_eq!(sp.class(), "LocalProcessSpawner");
    }
}
