//! The login pipeline's knobs against the real binary: `post_auth_hook` as a command,
//! `enable_auth_state` without a key, and `delete_invalid_users` at start-up.

use crate::api::Hub;
use crate::pages::{hub, Browser, ADMIN_TOKEN};

#[test]
fn post_auth_hook_sees_the_model_and_may_change_or_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let hook = dir.path().join("hook.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\nmodel=$(cat)\ncase \"$model\" in\n  *'\"name\":\"mallory\"'*) echo 'not mallory' >&2; exit 1;;\n  *'\"name\":\"boss'*) echo '{\"admin\": true, \"groups\": [\"bosses\"], \"roles\": [{\"name\": \"reader\", \"description\": \"reads users\", \"scopes\": [\"read:users\"]}]}';;\nesac\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&hook)
        .status()
        .unwrap();
    let (d, hub) = hub(&format!(
        "c.Authenticator.post_auth_hook = ['{}']\nc.Authenticator.manage_groups = True\nc.Authenticator.manage_roles = True\n",
        hook.display()
    ));
    assert_eq!(Browser::default().login(&hub, "alice", None).status, 302);
    assert_eq!(Browser::default().login(&hub, "bossy", None).status, 302);
    assert_eq!(Browser::default().login(&hub, "mallory", None).status, 403);
    let (_, bossy) = hub.get("/hub/api/users/bossy", Some(ADMIN_TOKEN));
    assert_eq!(bossy["admin"], true, "{bossy}");
    assert_eq!(bossy["groups"], serde_json::json!(["bosses"]));
    // manage_roles: the role is created with its scopes and is bossy's, with user and admin.
    let mut roles: Vec<String> = bossy["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    roles.sort();
    assert_eq!(roles, ["admin", "reader", "user"], "{bossy}");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT scopes FROM roles WHERE name = 'reader'\").fetchone()[0])",
        ])
        .arg(d.path().join("hub.sqlite"))
        .output()
        .unwrap();
    assert_eq!(crate::stdout(&out).trim(), r#"["read:users"]"#);
    let (_, alice) = hub.get("/hub/api/users/alice", Some(ADMIN_TOKEN));
    assert_eq!(alice["admin"], false, "{alice}");
    let (status, _) = hub.get("/hub/api/users/mallory", Some(ADMIN_TOKEN));
    assert_eq!(status, 404);
    assert!(hub
        .log_containing("not mallory")
        .contains("post_auth_hook refused the login"));
}

#[test]
fn auth_state_without_a_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.ConfigurableHTTPProxy.should_start = False\n\
         c.JupyterHub.authenticator_class = 'dummy'\nc.Authenticator.enable_auth_state = True\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .current_dir(dir.path())
        .env_remove("JUPYTERHUB_CRYPT_KEY")
        .env_remove("OXHUB_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = crate::stderr(&out);
    assert!(
        err.contains("enable_auth_state is on, but auth_state encryption is not available"),
        "{err}"
    );
}

#[test]
fn invalid_users_in_the_database_stop_start_up_unless_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let base = format!(
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\n\
         c.ConfigurableHTTPProxy.should_start = False\nc.JupyterHub.authenticator_class = 'null'\n\
         c.Authenticator.admin_users = {{'admin'}}\nc.JupyterHub.api_tokens = {{'{ADMIN_TOKEN}': 'admin'}}\n"
    );
    let config = dir.path().join("jupyterhub_config.py");
    std::fs::write(&config, &base).unwrap();
    let hub = Hub::start(dir.path());
    let (status, _, _) = hub.call("POST", "/hub/api/users/x-9", Some(ADMIN_TOKEN), None, &[]);
    assert_eq!(status, 201);
    hub.stop();
    // The pattern now refuses x-9 (and admin must still match).
    std::fs::write(
        &config,
        format!("{base}c.Authenticator.username_pattern = '^[a-z]+$'\n"),
    )
    .unwrap();
    let out = crate::oxhub(dir.path(), &[]);
    assert!(!out.status.success());
    let err = crate::stderr(&out);
    assert!(
        err.contains("\"x-9\" in the database is not a valid username")
            && err.contains("delete_invalid_users"),
        "{err}"
    );
    std::fs::write(
        &config,
        format!("{base}c.Authenticator.username_pattern = '^[a-z]+$'\nc.Authenticator.delete_invalid_users = True\n"),
    )
    .unwrap();
    let hub = Hub::start(dir.path());
    assert!(hub
        .log_containing("Deleting invalid user")
        .contains("\"x-9\""));
    let (status, _) = hub.get("/hub/api/users/x-9", Some(ADMIN_TOKEN));
    assert_eq!(status, 404);
    let (status, _) = hub.get("/hub/api/users/admin", Some(ADMIN_TOKEN));
    assert_eq!(status, 200);
}

#[test]
fn manage_roles_refuses_load_roles_that_assign_users() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.ConfigurableHTTPProxy.should_start = False\n\
         c.JupyterHub.authenticator_class = 'dummy'\nc.Authenticator.manage_roles = True\n\
         c.JupyterHub.load_roles = [{'name': 'r', 'scopes': ['read:users'], 'users': ['alice']}]\n",
    )
    .unwrap();
    let out = crate::oxhub(dir.path(), &[]);
    assert!(!out.status.success());
    let err = crate::stderr(&out);
    assert!(
        err.contains("assigns users or groups, but Authenticator.manage_roles is on"),
        "{err}"
    );
}
