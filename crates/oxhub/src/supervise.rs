//! The proxy as the hub's child process (`Proxy.should_start`): started at hub start-up (or an
//! already running one with our token reused: a hub that crashed left it, and the token it
//! generated is kept beside the pid file), restarted and re-routed if it dies, stopped at
//! shutdown (`cleanup_proxy`). A stale proxy that does not take our token is stopped through
//! its pid file.

use oxhub_core::Hub;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

pub struct ProxyChild {
    program: String,
    args: Vec<String>,
    token: String,
    child: Mutex<Option<Child>>,
    /// A proxy an earlier hub started and this one reuses (found through the pid file): not
    /// our child, so it is watched and stopped by pid.
    adopted: std::sync::Mutex<Option<i32>>,
    pid_file: String,
}

/// The state letter of `/proc/<pid>/stat`, if there is such a process (a zombie is `Z`).
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn running(pid: i32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// The pid in a proxy pid file, if that process runs and is a proxy (so a recycled pid is
/// never signalled).
fn proxy_pid(pid_file: &str) -> Option<i32> {
    if pid_file.is_empty() {
        return None;
    }
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let is_proxy = String::from_utf8_lossy(&cmdline).contains("proxy");
    (pid > 1 && running(pid) && is_proxy).then_some(pid)
}

/// Stop a leftover proxy by pid: TERM, then KILL after 5 s.
async fn terminate(pid: i32) {
    for (signal, wait_ms) in [(libc::SIGTERM, 5000), (libc::SIGKILL, 2000)] {
        // SAFETY: kill only sends a signal; the pid was checked to be a running proxy.
        unsafe {
            libc::kill(pid, signal);
        }
        for _ in 0..wait_ms / 100 {
            if !running(pid) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Where the hub keeps a proxy token it generated, so a hub restarted after a crash can
/// reuse the proxy it left running: beside the proxy's pid file, mode 0600.
pub fn token_file(pid_file: &str) -> Option<std::path::PathBuf> {
    (!pid_file.is_empty()).then(|| std::path::PathBuf::from(format!("{pid_file}.token")))
}

/// The token saved by an earlier hub, if the file is private to us.
pub fn saved_token(pid_file: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = token_file(pid_file)?;
    let meta = std::fs::metadata(&path).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "ignoring {}: readable by others (chmod 600 it)",
            path.display()
        );
        return None;
    }
    let token = std::fs::read_to_string(&path).ok()?.trim().to_owned();
    (!token.is_empty()).then_some(token)
}

/// Save a generated proxy token (mode 0600) for the next start.
pub fn save_token(pid_file: &str, token: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let Some(path) = token_file(pid_file) else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(token.as_bytes()));
    if let Err(e) = written {
        tracing::warn!("cannot save the proxy token to {}: {e}", path.display());
    }
}

/// `http://host:port/...` → (host, port).
fn host_port(url: &str, default_port: u16) -> Option<(String, u16)> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, port) = v6.split_once(']')?;
        let port = port
            .strip_prefix(':')
            .map_or(Some(default_port), |p| p.parse().ok())?;
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((authority.to_owned(), default_port)),
    }
}

impl ProxyChild {
    pub async fn start(
        hub: &Arc<Hub>,
        api_url: &str,
        token: &str,
        hub_url: &str,
    ) -> Result<Arc<ProxyChild>, String> {
        let proxy = hub.proxy.as_deref().ok_or("no proxy client")?;
        let h = &hub.config.hub;
        let (api_ip, api_port) = host_port(api_url, 8001)
            .ok_or_else(|| format!("cannot parse the proxy api_url {api_url:?}"))?;
        // `ip`/`port` win when set (JupyterHub derives bind_url from them); else bind_url.
        let (ip, port) = if !h.ip.is_empty() || h.port != 8000 || h.bind_url.is_empty() {
            (h.ip.clone(), h.port)
        } else {
            host_port(&h.bind_url, 8000)
                .ok_or_else(|| format!("cannot parse bind_url {:?}", h.bind_url))?
        };
        let command = &hub.config.proxy.command;
        let (program, mut args) = if command.is_empty() || command == &["configurable-http-proxy"] {
            let me = std::env::current_exe()
                .map_err(|e| format!("cannot find the oxhub binary: {e}"))?;
            (me.display().to_string(), vec!["proxy".to_owned()])
        } else {
            (command[0].clone(), command[1..].to_vec())
        };
        args.extend([
            "--ip".into(),
            ip.clone(),
            "--port".into(),
            port.to_string(),
            "--api-ip".into(),
            api_ip,
            "--api-port".into(),
            api_port.to_string(),
            "--default-target".into(),
            hub_url.to_owned(),
            "--error-target".into(),
            format!("{hub_url}{}hub/error", h.base_url),
        ]);
        if !hub.config.proxy.pid_file.is_empty() {
            args.extend(["--pid-file".into(), hub.config.proxy.pid_file.clone()]);
        }
        if hub.config.proxy.debug {
            args.extend(["--log-level".into(), "debug".into()]);
        }
        let pid_file = hub.config.proxy.pid_file.clone();
        let me = ProxyChild {
            program,
            args,
            token: token.to_owned(),
            child: Mutex::new(None),
            adopted: std::sync::Mutex::new(None),
            pid_file: pid_file.clone(),
        };
        if proxy.routes().await.is_ok() {
            // A proxy answering with our token: an earlier hub's (the hub crashed, the proxy
            // did not), or one started by hand. Reuse it; users' connections stay open.
            let pid = proxy_pid(&pid_file);
            tracing::info!(
                "Using the proxy already running at {api_url}{}",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            );
            if let Ok(mut adopted) = me.adopted.lock() {
                *adopted = pid;
            }
            return Ok(Arc::new(me));
        }
        // A proxy left by an earlier run that does not take our token holds the ports: stop
        // it through its pid file, as JupyterHub does, and start afresh.
        if let Some(pid) = proxy_pid(&pid_file) {
            tracing::warn!("Stopping the proxy left running at pid {pid} ({pid_file})");
            terminate(pid).await;
        }
        me.spawn().await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if proxy.routes().await.is_ok() {
                break;
            }
            if let Some(status) = me.exited().await {
                return Err(format!(
                    "the proxy exited at start-up ({status}); is port {port} or {api_port} already in use?"
                ));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("the proxy did not answer at {api_url} within 15 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::info!(
            "Proxy started; public on {}:{port}, API at {api_url}",
            if ip.is_empty() { "*" } else { &ip }
        );
        Ok(Arc::new(me))
    }

    async fn spawn(&self) -> Result<(), String> {
        let child = Command::new(&self.program)
            .args(&self.args)
            .env("CONFIGPROXY_AUTH_TOKEN", &self.token)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| format!("cannot start the proxy ({}): {e}", self.program))?;
        *self.child.lock().await = Some(child);
        Ok(())
    }

    /// The exit status if our child (or the proxy we adopted) is gone.
    async fn exited(&self) -> Option<String> {
        let adopted = self.adopted.lock().ok().and_then(|a| *a);
        if let Some(pid) = adopted {
            if running(pid) {
                return None;
            }
            if let Ok(mut a) = self.adopted.lock() {
                *a = None;
            }
            return Some(format!("the proxy at pid {pid} is gone"));
        }
        let mut guard = self.child.lock().await;
        let child = guard.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// Every `check_running_interval`: a proxy that died is started again and given every
    /// route back. Runs until the hub shuts down.
    pub async fn watch(self: Arc<Self>, hub: Arc<Hub>) {
        let every = Duration::from_secs(
            u64::try_from(hub.config.proxy.check_running_interval.max(1)).unwrap_or(5),
        );
        let mut stop = hub.shutdown.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let Some(status) = self.exited().await else {
                continue;
            };
            tracing::error!("The proxy exited ({status}); restarting it");
            if let Err(e) = self.spawn().await {
                tracing::error!("{e}");
                continue;
            }
            // Give it a moment to listen, then restore the routing table.
            for _ in 0..100 {
                if hub.check_routes(None).await.is_ok() {
                    tracing::info!("Proxy restarted and its routes restored");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    pub async fn stop(&self) {
        if let Some(path) = token_file(&self.pid_file) {
            let _ = std::fs::remove_file(path);
        }
        let adopted = self.adopted.lock().ok().and_then(|mut a| a.take());
        if let Some(pid) = adopted {
            if running(pid) {
                terminate(pid).await;
            }
            return;
        }
        let Some(mut child) = self.child.lock().await.take() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill only sends a signal to the process we started.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}
