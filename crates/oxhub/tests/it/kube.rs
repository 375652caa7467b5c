//! KubeSpawner's objects, field by field: `oxhub spawner-dry-run` for every configuration in
//! tests/kube/configs against what the real KubeSpawner 7.1.0 builds for it
//! (tests/kube/golden, made by tests/kube/golden.py, which CI re-runs with `--check`).
//! The values of `JUPYTERHUB_*` / `JPY_*` variables are the hub's (URLs, tokens) and only
//! their names are compared; every other field, and the order of the other variables, is.

use crate::{oxhub, stderr, stdout};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn kube_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/kube")
}

fn hub_var(name: &str) -> bool {
    name.starts_with("JUPYTERHUB_") || name.starts_with("JPY_")
}

/// The pod with each container's environment split into the hub's variable names (a sorted
/// list) and the other variables in order.
fn normalized(mut pod: Value) -> Value {
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in containers {
            let Some(env) = c.get("env").and_then(Value::as_array).cloned() else {
                continue;
            };
            let name = |v: &Value| v["name"].as_str().unwrap_or("").to_owned();
            let mut hub: Vec<String> = env.iter().map(name).filter(|n| hub_var(n)).collect();
            hub.sort();
            let other: Vec<Value> = env.iter().filter(|v| !hub_var(&name(v))).cloned().collect();
            c["env"] = json!({"hub variables": hub, "others": other});
        }
    }
    pod
}

/// Where two JSON values differ, as `path: ours != KubeSpawner's` lines.
fn diff(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&p, x, y, out),
                    (Some(x), None) => out.push(format!("{p}: {x} only in oxhub's")),
                    (None, Some(y)) => out.push(format!("{p}: {y} only in KubeSpawner's")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Number(a), Value::Number(b))
            if a.as_f64() == b.as_f64() && a.is_f64() == b.is_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} != {b}")),
    }
}

#[test]
fn dry_run_objects_match_kubespawner_7_1_0_for_every_golden_configuration() {
    let golden_dir = kube_dir().join("golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&golden_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "golden files: {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let stem = file.file_stem().unwrap().to_str().unwrap().to_owned();
        let golden: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let config =
            std::fs::read_to_string(kube_dir().join("configs").join(format!("{stem}.py"))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jupyterhub_config.py"), config).unwrap();
        let options = golden["user_options"].to_string();
        let out = oxhub(
            dir.path(),
            &[
                "spawner-dry-run",
                "--user",
                golden["user"].as_str().unwrap(),
                "--server",
                golden["server"].as_str().unwrap(),
                "--user-options",
                &options,
            ],
        );
        if !out.status.success() {
            problems.push(format!("{stem}: dry run failed: {}", stderr(&out)));
            continue;
        }
        let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let ours = &printed["spawner"];
        let mut found = Vec::new();
        diff(
            "namespace",
            &ours["namespace"],
            &golden["namespace"],
            &mut found,
        );
        diff(
            "namespace_manifest",
            &ours["namespace_manifest"],
            &golden["namespace_manifest"],
            &mut found,
        );
        diff(
            "pod",
            &normalized(ours["pod"].clone()),
            &normalized(golden["pod"].clone()),
            &mut found,
        );
        diff("pvc", &ours["pvc"], &golden["pvc"], &mut found);
        let service = ours["service"]
            .to_string()
            .replace("<the pod's uid, known once it is created>", "pod-uid");
        diff(
            "service",
            &serde_json::from_str(&service).unwrap(),
            &golden["service"],
            &mut found,
        );
        problems.extend(found.into_iter().map(|f| format!("{stem}: {f}")));
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
