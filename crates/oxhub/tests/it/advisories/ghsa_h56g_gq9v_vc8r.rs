//! GHSA-h56g-gq9v-vc8r (jupyter_server): a 500 from the API must not carry internals (the
//! advisory's tracebacks); with GHSA-p737-p57g-4cpr and GHSA-c3mw-737p-c7g2 (secrets from the
//! request in logs on failure): the failing request's token, cookie and `Referer` token never
//! reach the log.

use crate::api::{test_db_url, user_token, Hub};

#[test]
fn internal_errors_are_generic_and_log_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.authenticator_class = 'null'\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\nc.Authenticator.admin_users = {'admin'}\n",
    )
    .unwrap();
    let hub = Hub::start(dir.path());
    if test_db_url(dir.path()).is_some() {
        return; // the fault is injected into the SQLite file
    }
    let admin = user_token(dir.path(), "admin");
    assert_eq!(
        hub.call("POST", "/hub/api/groups/broken", Some(&admin), None, &[])
            .0,
        201
    );
    // A fault we cannot cause through the API: a corrupt row, written behind the hub's back.
    let db = dir.path().join("hub.sqlite");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE groups SET properties = '{not json' WHERE name = 'broken'\"); c.commit()")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let referer_secret = "referer-secret-0123456789abcdef";
    let cookie_secret = "cookie-secret-0123456789abcdef";
    let (status, head, body) = hub.call(
        "GET",
        "/hub/api/groups/broken",
        Some(&admin),
        None,
        &[
            (
                "Referer",
                &format!("http://hub.test/x?token={referer_secret}"),
            ),
            ("Cookie", &format!("jupyterhub-hub-login={cookie_secret}")),
        ],
    );
    assert_eq!(status, 500);
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(
        body,
        serde_json::json!({"status": 500, "message": "Internal Server Error"}),
        "no internals in the body"
    );
    let log = hub.log_containing("internal error");
    assert!(
        log.contains("internal error"),
        "the cause is logged for the operator: {log}"
    );
    for secret in [admin.as_str(), referer_secret, cookie_secret] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    hub.stop();
}
