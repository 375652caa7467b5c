//! The config corpus: realistic files the evaluator must accept (snapshotted as the values set,
//! the warnings, and the typed config), and files it must refuse at a given line and column.
//!
//! A file's environment is pinned by header lines: `# env: NAME=value ...` gives the variables,
//! `# paths: /some/file=file /some/dir=dir` the paths that exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxhub_config::pyconfig::{evaluate, FixedEnv, PathKind};
use oxhub_config::raw::RawConfig;
use oxhub_config::{resolve, ErrorKind, HubConfig};
use std::path::Path;

fn env_for(src: &str) -> FixedEnv {
    let mut env = FixedEnv::default();
    for line in src.lines() {
        if let Some(vars) = line.strip_prefix("# env:") {
            for pair in vars.split_whitespace() {
                if let Some((k, v)) = pair.split_once('=') {
                    env = env.with_var(k, v);
                }
            }
        }
        if let Some(paths) = line.strip_prefix("# paths:") {
            for pair in paths.split_whitespace() {
                if let Some((p, kind)) = pair.split_once('=') {
                    env = env.with_path(
                        p,
                        if kind == "dir" {
                            PathKind::Dir
                        } else {
                            PathKind::File
                        },
                    );
                }
            }
        }
    }
    env
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    out.sort();
    out
}

#[test]
fn corpus_is_big_enough() {
    assert!(
        files("corpus").len() >= 20,
        "the corpus should hold at least 20 files"
    );
    assert!(
        files("rejects").len() >= 15,
        "the reject corpus should hold at least 15 files"
    );
}

#[test]
fn corpus_files_are_accepted() {
    insta::glob!("corpus/*.py", |path| {
        let src = std::fs::read_to_string(path).unwrap();
        let file = name(path);
        let mut raw = RawConfig::default();
        evaluate(&file, &src, &env_for(&src), &mut raw).unwrap_or_else(|e| panic!("{e}"));
        let eff = resolve(&raw, false).unwrap_or_else(|e| panic!("{e}"));
        let typed = HubConfig::from_effective(&eff).unwrap_or_else(|e| panic!("{e}"));
        let set: serde_json::Map<String, serde_json::Value> = eff
            .set_values()
            .map(|(class, trait_name, value, origin)| {
                let at = match origin {
                    oxhub_config::Origin::File { at } => format!("{}:{}", at.line, at.col),
                    other => other.to_string(),
                };
                (
                    format!("{class}.{trait_name} @{at}"),
                    oxhub_config::generate::redacted(class, trait_name, value),
                )
            })
            .collect();
        let snapshot = serde_json::json!({
            "warnings": eff.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "set": set,
            "typed": typed,
        });
        insta::assert_json_snapshot!(snapshot);
    });
}

#[test]
fn rejected_files_fail_at_the_right_place() {
    for path in files("rejects") {
        let src = std::fs::read_to_string(&path).unwrap();
        let file = name(&path);
        let expect = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{file}: no `# expect:` line"));
        let mut parts = expect.splitn(3, ' ');
        let (pos, kind, word) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or(""),
        );
        let (line, col) = pos.split_once(':').unwrap();
        let kind = match kind {
            "unsupported" => ErrorKind::Unsupported,
            "runtime" => ErrorKind::Runtime,
            "syntax" => ErrorKind::Syntax,
            other => panic!("{file}: unknown kind {other}"),
        };
        let mut raw = RawConfig::default();
        let err = evaluate(&file, &src, &env_for(&src), &mut raw).expect_err(&file);
        let at = err
            .at
            .clone()
            .unwrap_or_else(|| panic!("{file}: error has no location: {err}"));
        assert_eq!(
            (err.kind, at.line, at.col),
            (kind, line.parse().unwrap(), col.parse().unwrap()),
            "{file}: {err}"
        );
        assert_eq!(at.file, file);
        assert!(
            err.to_string().contains(word),
            "{file}: {err} does not mention {word:?}"
        );
        if kind == ErrorKind::Unsupported {
            assert!(
                err.hint.is_some(),
                "{file}: a refusal says what to write instead"
            );
        }
    }
}
