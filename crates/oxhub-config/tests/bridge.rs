//! The Python bridge, with a real python3: a file the native evaluator refuses (a helper
//! function, a file read) is run in Python and its plain values imported with their lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxhub_config::pyconfig::ProcessEnv;
use oxhub_config::{load, ErrorKind, LoadOptions, SourceKind, Value};
use std::fs;

fn python_available() -> bool {
    if oxhub_config::bridge::Python::discover().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("OXHUB_SKIP_BRIDGE_TESTS").is_some(),
        "python3 is needed for the bridge tests (set OXHUB_SKIP_BRIDGE_TESTS to skip)"
    );
    false
}

#[test]
fn helper_function_and_file_read() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("admins.txt"), "alice\n\nbob\n").unwrap();
    let file = dir.path().join("jupyterhub_config.py");
    fs::write(
        &file,
        r#"import os
from oauthenticator.generic import GenericOAuthenticator

c = get_config()

def read_list(name):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, name)) as f:
        return [line.strip() for line in f if line.strip()]

c.JupyterHub.authenticator_class = GenericOAuthenticator
c.Authenticator.admin_users = set(read_list("admins.txt"))
c.JupyterHub.services.append({"name": "culler", "command": ["python3", "-m", "jupyterhub_idle_culler"]})
c.Spawner.environment["GREETING"] = "hi"
c.JupyterHub.port = 8123
"#,
    )
    .unwrap();
    let loaded = load(
        &LoadOptions {
            config_file: Some(file),
            ..LoadOptions::default()
        },
        &ProcessEnv,
    )
    .unwrap();
    assert_eq!(loaded.sources[0].kind, SourceKind::PythonBridge);
    assert!(loaded.sources[0]
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("def"));
    let cfg = &loaded.config;
    assert_eq!(cfg.authenticator.class, "GenericOAuthenticator");
    assert_eq!(
        cfg.authenticator.admin_users,
        vec!["alice".to_owned(), "bob".to_owned()]
    );
    assert_eq!(cfg.hub.port, 8123);
    assert_eq!(
        cfg.spawner.environment,
        Value::Dict(vec![(
            Value::Str("GREETING".into()),
            Value::Str("hi".into())
        )])
    );
    assert_eq!(cfg.hub.services.len(), 1);
    let port = loaded.effective.get("JupyterHub", "port").unwrap();
    assert_eq!(
        port.origin.to_string(),
        format!("{}:15:1", loaded.sources[0].file)
    );
}

#[test]
fn callables_are_refused_with_the_declarative_alternative() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.py");
    fs::write(&file, "c = get_config()\n\nasync def hook(spawner):\n    pass\n\nc.Spawner.pre_spawn_hook = hook\n").unwrap();
    let e = load(
        &LoadOptions {
            config_file: Some(file),
            ..LoadOptions::default()
        },
        &ProcessEnv,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.at.as_ref().map(|a| a.line), Some(6));
    let text = e.to_string();
    assert!(text.contains("`hook`, defined at line 3"), "{text}");
    assert!(text.contains("give a command instead"), "{text}");
}

#[test]
fn python_errors_are_located() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.py");
    fs::write(&file, "c = get_config()\ndef f():\n    return 1\nc.JupyterHub.port = 8000\nimport no_such_module_here\n").unwrap();
    let e = load(
        &LoadOptions {
            config_file: Some(file),
            ..LoadOptions::default()
        },
        &ProcessEnv,
    )
    .unwrap_err();
    assert_eq!(e.at.as_ref().map(|a| a.line), Some(5), "{e}");
    assert!(e.to_string().contains("ModuleNotFoundError"), "{e}");
}

#[test]
fn without_python_the_native_refusal_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.py");
    fs::write(&file, "c.JupyterHub.port = 1\ndef f():\n    pass\n").unwrap();
    let e = load(
        &LoadOptions {
            config_file: Some(file),
            no_bridge: true,
            ..LoadOptions::default()
        },
        &ProcessEnv,
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.at.as_ref().map(|a| (a.line, a.col))),
        (ErrorKind::Unsupported, Some((2, 1)))
    );
    assert!(
        e.to_string().contains("the Python bridge is turned off"),
        "{e}"
    );
}
