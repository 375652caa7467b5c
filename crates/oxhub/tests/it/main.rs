//! The one integration test binary: runs the real `oxhub` executable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod api;
mod config;
mod proxy;

use std::path::Path;
use std::process::{Command, Output};

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
