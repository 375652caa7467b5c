//! The local machine's processes and accounts, as the local spawners need them: the passwd
//! and group databases, `/proc/<pid>/stat`, process-group signals, free ports, and finding a
//! process by the spawn nonce in its environment.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable carrying a spawn's nonce, by which a process whose pid was never
/// recorded (the hub died at that moment) is found again.
pub const NONCE_VAR: &str = "OXHUB_SPAWN_NONCE";

/// Processes whose environment holds `NONCE_VAR=<nonce>` (readable for our own processes,
/// or all of them as root).
pub(crate) fn pids_with_nonce(nonce: &str) -> Vec<u32> {
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

/// A system account, from the passwd database.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

pub(crate) fn account(name: &str) -> Option<Account> {
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
pub(crate) fn supplementary_groups(user: &str, primary: u32) -> Vec<u32> {
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
pub(crate) fn proc_stat(pid: u32) -> Option<(u64, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; fields follow the last ')'.
    let rest = text.get(text.rfind(')')? + 2..)?;
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

/// Send `signal` to the process `pid` alone.
pub(crate) fn signal_process(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        if pid > 1 {
            // SAFETY: kill only sends a signal; a stale pid yields ESRCH.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

/// A free TCP port on `ip` (bound and released; the server binds it next). Ports handed out
/// in the last minute are not handed out again: under many concurrent spawns the kernel
/// otherwise returns a port another server has not bound yet.
pub(crate) fn free_port(ip: &str) -> Result<u16, String> {
    static RECENT: Mutex<VecDeque<(Instant, u16)>> = Mutex::new(VecDeque::new());
    let ip = match ip {
        "" | "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        other => other,
    };
    let mut recent = RECENT
        .lock()
        .map_err(|_| "port table poisoned".to_owned())?;
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
            .map_err(|e| format!("no free port on {ip}: {e}"))?;
        if !recent.iter().any(|(_, p)| *p == port) {
            recent.push_back((Instant::now(), port));
            return Ok(port);
        }
    }
    Err(format!("no fresh free port on {ip}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_not_handed_out_twice() {
        let a = free_port("127.0.0.1").unwrap();
        let b = free_port("").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn our_own_stat_is_readable() {
        let (start, zombie) = proc_stat(std::process::id()).unwrap();
        assert!(start > 0);
        assert!(!zombie);
    }
}
