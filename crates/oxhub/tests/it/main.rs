//! The one integration test binary: runs the real `oxhub` executable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod advisories;
mod api;
mod config;
mod hub_state;
mod kube;
mod login_knobs;
mod native;
mod page_views;
mod pages;
mod pam;
mod proxy;
mod robust_api;
mod spawners;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Held by the tests that push hundreds of megabytes through a proxy and by the tests that
/// time a proxy's answers, so the ones never skew the others on a 2-core machine.
pub static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Take [`HEAVY`] (a test that panicked while holding it does not poison the others).
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Run `oxhub` with `args` in `dir`, with a clean environment for the config.
pub fn oxhub(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .args(args)
        .current_dir(dir)
        .env_remove("OXHUB_LOG")
        .env_remove("JPY_COOKIE_SECRET")
        .output()
        .expect("run oxhub")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run `oxhub show-config` and parse its JSON, asserting success.
pub fn show_config(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["show-config"];
    all.extend_from_slice(args);
    let out = oxhub(dir, &all);
    assert!(out.status.success(), "show-config failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("show-config prints JSON")
}

/// Spawn `cmd` with stderr piped, wait for the first stderr line containing `marker`, and keep
/// draining stderr in the background (so the child never blocks on a full pipe).
pub fn spawn_until(cmd: &mut Command, marker: &'static str) -> (Child, String) {
    let (child, line, _) = spawn_logged(cmd, marker);
    (child, line)
}

/// Like [`spawn_until`], also keeping every stderr line for the test to read.
pub fn spawn_logged(
    cmd: &mut Command,
    marker: &'static str,
) -> (Child, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let keep = std::sync::Arc::clone(&log);
    let mut child = cmd
        .env_remove("OXHUB_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut l) = keep.lock() {
                l.push_str(&line);
                l.push('\n');
            }
            if line.contains(marker) {
                if let Some(t) = tx.take() {
                    let _ = t.send(line);
                }
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("no {marker:?} line"));
    (child, line, log)
}
