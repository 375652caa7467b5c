//! generate-config writes a file the evaluator reads back to the same (default) config, and
//! uncommenting every assignment in it changes nothing either.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxhub_config::pyconfig::{evaluate, FixedEnv};
use oxhub_config::raw::RawConfig;
use oxhub_config::{generate, resolve, HubConfig};

fn config_of(src: &str) -> (RawConfig, HubConfig) {
    let mut raw = RawConfig::default();
    evaluate("generated.py", src, &FixedEnv::default(), &mut raw).unwrap_or_else(|e| panic!("{e}"));
    let eff = resolve(&raw, true).unwrap_or_else(|e| panic!("{e}"));
    (
        raw,
        HubConfig::from_effective(&eff).unwrap_or_else(|e| panic!("{e}")),
    )
}

#[test]
fn generated_file_reads_back_to_the_defaults() {
    let text = generate::config_file();
    let (raw, cfg) = config_of(&text);
    assert!(raw.is_empty());
    assert_eq!(cfg, HubConfig::defaults().unwrap());
}

#[test]
fn uncommented_defaults_are_the_same_config() {
    let text = generate::config_file();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# c.") {
            Some(rest) if !rest.trim_end().ends_with('=') => format!("c.{rest}\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    let (raw, cfg) = config_of(&uncommented);
    assert!(raw.len() > 200, "only {} assignments", raw.len());
    assert_eq!(cfg, HubConfig::defaults().unwrap());
}
