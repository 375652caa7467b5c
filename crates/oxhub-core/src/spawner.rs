//! Spawners: how a single-user server process is started, watched and stopped. The lifecycle
//! around it (tokens, OAuth client, proxy route, progress) is `lifecycle.rs`; a spawner only
//! runs processes.
//!
//! Built in: `LocalProcessSpawner` (as the system user when the hub runs as root, else only for
//! the hub's own user) and `SimpleLocalProcessSpawner` (as the hub's user, with a home directory
//! per user from `home_dir_template`). Both run the server in its own process group, so a stop
//! reaches every process it started, and record pid + start time as the spawner state so a
//! restarted hub finds the process again (and never mistakes a recycled pid for it).

use crate::auth::BoxFuture;
use crate::error::HubError;
use oxhub_config::HubConfig;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The environment variable carrying a spawn's nonce, by which a process whose pid was never
/// recorded (the hub died at that moment) is found again.
pub const NONCE_VAR: &str = "OXHUB_SPAWN_NONCE";

/// Processes whose environment holds `NONCE_VAR=<nonce>` (readable for our own processes,
/// or all of them as root).
fn pids_with_nonce(nonce: &str) -> Vec<u32> {
    let needle = format!("{NONCE_VAR}={nonce}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
        })
        .collect()
}

/// Everything a spawner needs to launch one server.
#[derive(Debug, Clone)]
pub struct Launch {
    pub user: String,
    pub server: String,
    /// The command and its arguments, `{username}` already expanded.
    pub cmd: Vec<String>,
    /// The environment the hub computed (singleuser-protocol.md §1); the spawner adds its own
    /// (HOME, USER, SHELL) underneath, and `Spawner.environment` was applied last by the caller.
    pub env: Vec<(String, String)>,
    pub ip: String,
    pub port: u16,
    /// Working directory (notebook_dir), expanded; empty for the home directory.
    pub cwd: String,
}

/// A started process: where it listens and what to remember about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// `http://ip:port` (no path).
    pub url: String,
    /// Spawner state, stored with the server (`{"pid": .., "start_time": ..}`).
    pub state: Value,
}

/// Whether a recorded server process still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    /// Exited (with the exit code when known).
    Exited(Option<i32>),
}

pub trait Spawner: Send + Sync {
    fn start<'a>(&'a self, launch: &'a Launch) -> BoxFuture<'a, Result<Started, HubError>>;
    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Status>;
    /// Stop the server (TERM, then KILL after `term_timeout`), waiting until it is gone.
    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, ()>;
    /// The user's home directory as this spawner sets `HOME` (for `{username}` expansion in
    /// paths and for the environment).
    fn home_of(&self, user: &str) -> Option<String>;
    fn class(&self) -> &str;
}

/// The spawner named by the configuration.
pub fn from_config(config: &HubConfig) -> Result<Arc<dyn Spawner>, HubError> {
    let s = &config.spawner;
    let int = |key: &str, default: i64| {
        s.extra
            .get(key)
            .and_then(|v| v.to_json().as_i64())
            .unwrap_or(default)
    };
    let term_timeout = Duration::from_secs(u64::try_from(int("term_timeout", 5)).unwrap_or(5));
    match s.class.as_str() {
        "SimpleLocalProcessSpawner" => {
            let template = s
                .extra
                .get("home_dir_template")
                .and_then(|v| v.to_json().as_str().map(str::to_owned))
                .unwrap_or_else(|| "/tmp/{username}".into());
            Ok(Arc::new(LocalProcess::new(
                Mode::Simple {
                    home_dir_template: template,
                },
                term_timeout,
            )))
        }
        "LocalProcessSpawner" => Ok(Arc::new(LocalProcess::new(Mode::System, term_timeout))),
        other => Err(HubError::Invalid(format!(
            "spawner_class {other:?} is not available in this build of oxhub (available: localprocess, simple)"
        ))),
    }
}

#[derive(Debug, Clone)]
enum Mode {
    /// Run as the system user of the same name (setuid when the hub is root).
    System,
    /// Run as the hub's own user with `HOME` from the template.
    Simple { home_dir_template: String },
}

/// Both local spawners; they differ only in whose process it is and where home is.
pub struct LocalProcess {
    mode: Mode,
    term_timeout: Duration,
    /// Exit codes of the children this hub started, reaped by a waiter task per child.
    exited: Arc<Mutex<HashMap<u32, Option<i32>>>>,
}

/// A system account, from the passwd database.
#[derive(Debug, Clone)]
struct Account {
    uid: u32,
    gid: u32,
    home: String,
    shell: String,
}

fn account(name: &str) -> Option<Account> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && f[0] == name).then(|| Account {
            uid: f[2].parse().unwrap_or(u32::MAX),
            gid: f[3].parse().unwrap_or(u32::MAX),
            home: f[5].to_owned(),
            shell: f[6].to_owned(),
        })
    })
}

/// The supplementary groups of `user` from /etc/group.
fn supplementary_groups(user: &str, primary: u32) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string("/etc/group") else {
        return vec![primary];
    };
    let mut out = vec![primary];
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[3].split(',').any(|m| m == user) {
            if let Ok(gid) = f[2].parse() {
                out.push(gid);
            }
        }
    }
    out
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks), and whether it is a zombie.
fn proc_stat(pid: u32) -> Option<(u64, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?;
    let start: u64 = fields.get(19)?.parse().ok()?;
    Some((start, *state == "Z" || *state == "X"))
}

/// Send `signal` to the process group led by `pid` (never to group 0 or 1).
pub(crate) fn signal_group(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        if pid > 1 {
            // SAFETY: killpg only sends a signal; a stale group id yields ESRCH.
            unsafe {
                libc::killpg(pid, signal);
            }
        }
    }
}

/// A free TCP port on `ip` (bound and released; the server binds it next). Ports handed out
/// in the last minute are not handed out again: under many concurrent spawns the kernel
/// otherwise returns a port another server has not bound yet.
pub fn free_port(ip: &str) -> Result<u16, HubError> {
    use std::collections::VecDeque;
    use std::time::Instant;
    static RECENT: Mutex<VecDeque<(Instant, u16)>> = Mutex::new(VecDeque::new());
    let ip = if ip.is_empty() || ip == "0.0.0.0" {
        "127.0.0.1"
    } else {
        ip
    };
    let mut recent = RECENT
        .lock()
        .map_err(|_| HubError::Internal("port table poisoned".into()))?;
    while recent
        .front()
        .is_some_and(|(t, _)| t.elapsed() > Duration::from_secs(60))
    {
        recent.pop_front();
    }
    for _ in 0..64 {
        let port = std::net::TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| HubError::Internal(format!("no free port on {ip}: {e}")))?;
        if !recent.iter().any(|(_, p)| *p == port) {
            recent.push_back((Instant::now(), port));
            return Ok(port);
        }
    }
    Err(HubError::Internal(format!("no fresh free port on {ip}")))
}

impl LocalProcess {
    fn new(mode: Mode, term_timeout: Duration) -> LocalProcess {
        LocalProcess {
            mode,
            term_timeout,
            exited: Arc::new(Mutex::new(HashMap::new())),
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
            Some((started, false)) => {
                if start.is_some_and(|s| s != started) {
                    // The pid was recycled by an unrelated process.
                    Status::Exited(None)
                } else {
                    Status::Running
                }
            }
        }
    }

    async fn start_inner(&self, launch: &Launch) -> Result<Started, HubError> {
        use std::os::unix::process::CommandExt;
        let (program, args) = launch
            .cmd
            .split_first()
            .ok_or_else(|| HubError::Invalid("Spawner.cmd is empty".into()))?;
        let mut cmd = std::process::Command::new(program);
        cmd.args(args);
        cmd.env_clear();
        let home = self.home_of(&launch.user).unwrap_or_else(|| "/".into());
        let mut env: Vec<(String, String)> = vec![
            ("USER".into(), launch.user.clone()),
            ("HOME".into(), home.clone()),
        ];
        match &self.mode {
            Mode::System => {
                let acct = account(&launch.user).ok_or_else(|| {
                    HubError::Invalid(format!(
                        "No system user {} to run the server as (LocalProcessSpawner spawns as the system user of the same name)",
                        crate::error::clip(&launch.user)
                    ))
                })?;
                env.push(("SHELL".into(), acct.shell.clone()));
                // SAFETY: geteuid has no preconditions.
                let euid = unsafe { libc::geteuid() };
                if euid == 0 {
                    let groups = supplementary_groups(&launch.user, acct.gid);
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
                    return Err(HubError::Invalid(format!(
                        "cannot start a server as {}: the hub is not running as root (use SimpleLocalProcessSpawner to run servers as the hub's user)",
                        crate::error::clip(&launch.user)
                    )));
                }
            }
            Mode::Simple { .. } => {
                std::fs::create_dir_all(&home).map_err(|e| {
                    HubError::Internal(format!("cannot create home directory {home}: {e}"))
                })?;
                env.push((
                    "SHELL".into(),
                    std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()),
                ));
            }
        }
        env.extend(launch.env.iter().cloned());
        cmd.envs(env);
        let cwd = if launch.cwd.is_empty() {
            home
        } else {
            launch.cwd.clone()
        };
        cmd.current_dir(&cwd);
        cmd.process_group(0);
        cmd.stdin(std::process::Stdio::null());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| {
                HubError::Invalid(format!("cannot run {}: {e}", crate::error::clip(program)))
            })?;
        let pid = child
            .id()
            .ok_or_else(|| HubError::Internal("spawned process has no pid".into()))?;
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
        let host = if launch.ip.contains(':') {
            format!("[{}]", launch.ip)
        } else if launch.ip.is_empty() || launch.ip == "0.0.0.0" {
            "127.0.0.1".to_owned()
        } else {
            launch.ip.clone()
        };
        Ok(Started {
            url: format!("http://{host}:{}", launch.port),
            state: json!({ "pid": pid, "start_time": start_time }),
        })
    }
}

impl Spawner for LocalProcess {
    fn start<'a>(&'a self, launch: &'a Launch) -> BoxFuture<'a, Result<Started, HubError>> {
        Box::pin(self.start_inner(launch))
    }

    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Status> {
        Box::pin(async move { self.status_of(state) })
    }

    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some((pid, _)) = Self::state_pid(state) else {
                // Started but never recorded: find its processes by the nonce.
                if let Some(nonce) = state.get("nonce").and_then(Value::as_str) {
                    for pid in pids_with_nonce(nonce) {
                        tracing::warn!("stopping unrecorded server process {pid}");
                        signal_group(pid, libc::SIGKILL);
                        if let Ok(p) = i32::try_from(pid) {
                            // SAFETY: only sends a signal; the process may have no group of its own.
                            unsafe {
                                libc::kill(p, libc::SIGKILL);
                            }
                        }
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
        })
    }

    fn home_of(&self, user: &str) -> Option<String> {
        match &self.mode {
            Mode::System => account(user).map(|a| a.home),
            Mode::Simple { home_dir_template } => {
                Some(home_dir_template.replace("{username}", user))
            }
        }
    }

    fn class(&self) -> &str {
        match self.mode {
            Mode::System => "LocalProcessSpawner",
            Mode::Simple { .. } => "SimpleLocalProcessSpawner",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(dir: &std::path::Path) -> LocalProcess {
        LocalProcess::new(
            Mode::Simple {
                home_dir_template: format!("{}/{{username}}", dir.display()),
            },
            Duration::from_secs(2),
        )
    }

    fn launch(cmd: &[&str]) -> Launch {
        Launch {
            user: "alice".into(),
            server: String::new(),
            cmd: cmd.iter().map(|s| (*s).to_owned()).collect(),
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            ip: "127.0.0.1".into(),
            port: 1,
            cwd: String::new(),
        }
    }

    #[tokio::test]
    async fn stop_reaches_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        // The leader ignores TERM and starts a grandchild that also ignores it.
        let started = sp
            .start(&launch(&[
                "sh",
                "-c",
                "trap '' TERM; sh -c \"trap '' TERM; echo \\$\\$ > grandchild; sleep 60\" & sleep 60",
            ]))
            .await
            .unwrap();
        assert_eq!(sp.poll(&started.state).await, Status::Running);
        let file = dir.path().join("alice/grandchild");
        let mut grandchild = None;
        for _ in 0..100 {
            if let Some(pid) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
            {
                grandchild = Some(pid);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let grandchild = grandchild.expect("grandchild started");
        sp.stop(&started.state).await;
        assert!(matches!(sp.poll(&started.state).await, Status::Exited(_)));
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
        let started = sp.start(&launch(&["sleep", "60"])).await.unwrap();
        let mut forged = started.state.clone();
        forged["start_time"] = json!(1);
        assert!(matches!(sp.poll(&forged).await, Status::Exited(_)));
        assert_eq!(sp.poll(&started.state).await, Status::Running);
        sp.stop(&started.state).await;
        assert!(matches!(sp.poll(&started.state).await, Status::Exited(_)));
    }

    #[tokio::test]
    async fn a_missing_command_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let sp = simple(dir.path());
        let err = sp
            .start(&launch(&["/nonexistent/jupyterhub-singleuser"]))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot run"), "{err}");
    }
}
