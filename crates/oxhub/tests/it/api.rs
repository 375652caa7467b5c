//! The hub's REST API, through the real `oxhub` binary on a loopback port: authentication,
//! the 403-vs-404 rule, field filtering by scopes, users, pagination, start-up state.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

const SERVICE_TOKEN: &str = "service-token-0123456789";
const ADMIN_SERVICE_TOKEN: &str = "admin-service-token-0123456789";

const CONFIG: &str = r#"
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = 0
c.JupyterHub.authenticator_class = 'null'
c.JupyterHub.db_url = 'sqlite:///hub.sqlite'
c.ConfigurableHTTPProxy.should_start = False
c.Authenticator.admin_users = {'admin'}
c.Authenticator.allowed_users = {'alice', 'bob'}
c.JupyterHub.services = [
    {'name': 'culler', 'api_token': 'service-token-0123456789'},
    {'name': 'ops', 'api_token': 'admin-service-token-0123456789', 'admin': True},
]
c.JupyterHub.load_roles = [
    {'name': 'culler', 'scopes': ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'], 'services': ['culler']},
]
"#;

pub struct Hub {
    child: Child,
    pub port: u16,
    /// Everything the hub wrote to stderr so far.
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Hub {
    pub fn start(dir: &Path) -> Hub {
        Hub::start_with(dir, &[])
    }

    /// Start the hub in `dir` (its `jupyterhub_config.py`) with extra environment. With
    /// `OXHUB_TEST_API_ON_POSTGRES=1` and `OXHUB_TEST_POSTGRES_URL` set, the hub runs on a fresh
    /// PostgreSQL database instead of the config's SQLite file (CLI overrides the file).
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Hub {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxhub"));
        cmd.current_dir(dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(url) = test_db_url(dir) {
            cmd.arg(format!("--JupyterHub.db_url={url}"));
        }
        let (child, line, log) =
            crate::spawn_logged(&mut cmd, "hub listening on http://127.0.0.1:");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .expect("port");
        Hub { child, port, log }
    }

    /// The hub's log once it contains `needle` (it is read by another thread, so a line the
    /// hub just wrote may not be in yet), or as it is after two seconds.
    pub fn log_containing(&self, needle: &str) -> String {
        let mut log = String::new();
        for _ in 0..50 {
            log = self.log.lock().unwrap().clone();
            if log.contains(needle) {
                break;
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        log
    }

    /// One request; returns status, the head (lower-cased) and the body parsed as JSON (or null).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> (u16, String, serde_json::Value) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let body = body.unwrap_or("");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: hub.test:8000\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        if let Some(t) = token {
            head.push_str(&format!("Authorization: token {t}\r\n"));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (
            status,
            head.to_ascii_lowercase(),
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let (status, _, body) = self.call("GET", path, token, None, &[]);
        (status, body)
    }

    /// Wait up to `limit` for the hub to exit by itself; true if it exited successfully.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "hub exit: {status:?}");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The PostgreSQL database of the hub in `dir`, created on first use, when the API suite runs
/// on PostgreSQL; `None` on SQLite.
pub fn test_db_url(dir: &Path) -> Option<String> {
    if std::env::var("OXHUB_TEST_API_ON_POSTGRES").ok().as_deref() != Some("1") {
        return None;
    }
    let marker = dir.join(".test-db-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    let server = std::env::var("OXHUB_TEST_POSTGRES_URL")
        .expect("OXHUB_TEST_API_ON_POSTGRES=1 needs OXHUB_TEST_POSTGRES_URL");
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let db = format!(
        "oxhub_api_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let admin = oxhub_store::Store::connect(&server).await.unwrap();
        admin
            .raw_execute(&format!("DROP DATABASE IF EXISTS {db}"))
            .await
            .unwrap();
        admin
            .raw_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        admin.close().await;
    });
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    let url = format!("{base}/{db}");
    std::fs::write(&marker, &url).unwrap();
    Some(url)
}

pub fn user_token(dir: &Path, user: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxhub"));
    cmd.args(["token", user]).current_dir(dir);
    if let Some(url) = test_db_url(dir) {
        cmd.arg(format!("--db={url}"));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn setup() -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jupyterhub_config.py"), CONFIG).unwrap();
    let hub = Hub::start(dir.path());
    (dir, hub)
}

#[test]
fn api_root_health_headers_and_errors() {
    let (_dir, hub) = setup();
    let (status, head, body) = hub.call("GET", "/hub/api/", None, None, &[]);
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"version": "6.1.1"}))
    );
    assert!(head.contains("x-jupyterhub-version: 6.1.1"), "{head}");
    assert!(head.contains("access-control-allow-origin: *"));
    assert!(head.contains("default-src 'none'"));
    assert_eq!(hub.get("/hub/api", None).0, 200);
    assert_eq!(hub.get("/hub/health", None).0, 200);
    // No credentials: 403 (never 401) with JupyterHub's error body; bad tokens the same.
    for token in [None, Some("not-a-token"), Some(&"x".repeat(200)[..])] {
        let (status, body) = hub.get("/hub/api/users", token);
        assert_eq!((status, body["status"].as_i64()), (403, Some(403)));
        assert_eq!(body["message"], "Missing or invalid credentials.");
    }
    let (status, head, body) = hub.call(
        "GET",
        "/hub/api/no/such/thing",
        Some(ADMIN_SERVICE_TOKEN),
        None,
        &[],
    );
    assert_eq!((status, body["status"].as_i64()), (404, Some(404)));
    assert!(head.contains("x-jupyterhub-version: 6.1.1"));
    hub.stop();
}

#[test]
fn scopes_decide_access_and_fields() {
    let (dir, hub) = setup();
    // The culler's role: list users, see activity, nothing else about them.
    let (status, users) = hub.get("/hub/api/users", Some(SERVICE_TOKEN));
    assert_eq!(status, 200);
    let alice = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "alice")
        .unwrap()
        .clone();
    let mut keys: Vec<_> = alice.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "admin",
            "kind",
            "last_activity",
            "name",
            "servers",
            "user_info"
        ]
    );
    assert_eq!(hub.get("/hub/api/info", Some(SERVICE_TOKEN)).0, 403);
    let (status, body) = hub
        .call(
            "DELETE",
            "/hub/api/users/alice",
            Some(SERVICE_TOKEN),
            None,
            &[],
        )
        .into_status_body();
    assert_eq!(status, 403);
    assert!(body["message"].as_str().unwrap().contains("delete:users"));
    // GET /user shows the credential's expanded scopes.
    let (status, me) = hub.get("/hub/api/user", Some(SERVICE_TOKEN));
    assert_eq!(
        (status, me["kind"].as_str(), me["name"].as_str()),
        (200, Some("service"), Some("culler"))
    );
    let scopes: Vec<&str> = me["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(
        scopes.contains(&"list:users") && scopes.contains(&"read:users:name"),
        "{scopes:?}"
    );

    // A user's token: their own model in full, others hidden (404), listing refused (403).
    let alice_token = user_token(dir.path(), "alice");
    let (status, me) = hub.get("/hub/api/users/alice", Some(&alice_token));
    assert_eq!(
        (status, me["name"].as_str(), me["roles"].clone()),
        (200, Some("alice"), serde_json::json!(["user"]))
    );
    let (status, body) = hub.get("/hub/api/users/bob", Some(&alice_token));
    assert_eq!(
        status, 404,
        "another user's model is hidden, not refused: {body}"
    );
    assert_eq!(hub.get("/hub/api/users/nobody", Some(&alice_token)).0, 404);
    assert_eq!(hub.get("/hub/api/users", Some(&alice_token)).0, 403);
    let (status, me) = hub.get("/hub/api/user", Some(&alice_token));
    assert_eq!((status, me["name"].as_str()), (200, Some("alice")));
    assert!(me["token_id"].as_str().unwrap().starts_with('a'));
    hub.stop();
}

trait StatusBody {
    fn into_status_body(self) -> (u16, serde_json::Value);
}
impl StatusBody for (u16, String, serde_json::Value) {
    fn into_status_body(self) -> (u16, serde_json::Value) {
        (self.0, self.2)
    }
}

#[test]
fn users_are_created_listed_paginated_and_deleted() {
    let (dir, hub) = setup();
    let admin = user_token(dir.path(), "admin");
    let t = Some(admin.as_str());
    let (status, _, created) = hub.call(
        "POST",
        "/hub/api/users",
        t,
        Some(r#"{"usernames": ["carol", "dave", "alice"]}"#),
        &[],
    );
    assert_eq!(status, 201);
    let names: Vec<_> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["carol", "dave"], "existing users are skipped");
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users",
            t,
            Some(r#"{"usernames": ["carol"]}"#),
            &[]
        )
        .0,
        409
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users",
            t,
            Some(r#"{"usernames": ["bad/name"]}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users",
            t,
            Some(r#"{"usernames": []}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users",
            t,
            Some(r#"{"usernames": ["x"], "extra": 1}"#),
            &[]
        )
        .0,
        400
    );
    let (status, _, body) = hub.call("POST", "/hub/api/users", t, Some("{not json"), &[]);
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid JSON in body of request"))
    );
    assert_eq!(hub.call("POST", "/hub/api/users/erin", t, None, &[]).0, 201);
    assert_eq!(hub.call("POST", "/hub/api/users/erin", t, None, &[]).0, 409);
    // A non-admin service may not create admins.
    let (status, _, _) = hub.call(
        "POST",
        "/hub/api/users",
        Some(SERVICE_TOKEN),
        Some(r#"{"usernames": ["frank"], "admin": true}"#),
        &[],
    );
    assert_eq!(status, 403);

    // Pagination: a bare list without the Accept header; the wrapper with an absolute next URL.
    let (status, list) = hub.get("/hub/api/users", t);
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(6)));
    let (status, _, page) = hub.call(
        "GET",
        "/hub/api/users?limit=2&offset=1&name_filter=",
        t,
        None,
        &[("Accept", "application/jupyterhub-pagination+json")],
    );
    assert_eq!(status, 200);
    assert_eq!(page["_pagination"]["total"], 6);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        page["_pagination"]["next"]["url"],
        "http://hub.test:8000/hub/api/users?name_filter=&offset=3&limit=2"
    );
    assert_eq!(hub.get("/hub/api/users?limit=two", t).0, 400);
    assert_eq!(hub.get("/hub/api/users?state=sleeping", t).0, 400);
    assert_eq!(
        hub.get("/hub/api/users?state=active", t).1,
        serde_json::json!([])
    );
    let (_, filtered) = hub.get("/hub/api/users?name_filter=ar", t);
    assert_eq!(
        filtered
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["carol"]
    );

    // Deleting.
    assert_eq!(
        hub.call("DELETE", "/hub/api/users/carol", t, None, &[]).0,
        204
    );
    assert_eq!(
        hub.call("DELETE", "/hub/api/users/carol", t, None, &[]).0,
        404
    );
    assert_eq!(
        hub.call("DELETE", "/hub/api/users/admin", t, None, &[]).0,
        400,
        "cannot delete yourself"
    );
    hub.stop();
}

#[test]
fn start_up_state_is_idempotent_across_restarts() {
    let (dir, hub) = setup();
    let admin = user_token(dir.path(), "admin");
    assert_eq!(
        hub.call("POST", "/hub/api/users/zoe", Some(&admin), None, &[])
            .0,
        201
    );
    hub.stop();
    let hub = Hub::start(dir.path());
    let (status, list) = hub.get("/hub/api/users", Some(ADMIN_SERVICE_TOKEN));
    assert_eq!(status, 200);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["admin", "alice", "bob", "zoe"]);
    assert_eq!(
        hub.get("/hub/api/users/zoe", Some(&admin)).0,
        200,
        "tokens survive restarts"
    );
    hub.stop();
    if test_db_url(dir.path()).is_some() {
        return; // the file checks below are about SQLite
    }
    // Tokens are stored only as hashes.
    let db = std::fs::read(dir.path().join("hub.sqlite")).unwrap();
    let wal = std::fs::read(dir.path().join("hub.sqlite-wal")).unwrap_or_default();
    for secret in [SERVICE_TOKEN, ADMIN_SERVICE_TOKEN, admin.as_str()] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} stored in clear"
        );
        assert!(
            !wal.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} stored in clear (WAL)"
        );
    }
}

#[test]
fn token_and_upgrade_db_chores() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jupyterhub_config.py"), CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .args(["token", "nobody"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such user: nobody"));
    let token = user_token(dir.path(), "alice");
    assert_eq!(token.len(), 32);
    let out = Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .arg("upgrade-db")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let backups = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bak"))
        .count();
    assert_eq!(backups, 1, "upgrade-db backs up the SQLite file first");
}

#[test]
fn groups_crud_membership_and_scopes() {
    let (dir, hub) = setup();
    let admin = user_token(dir.path(), "admin");
    let t = Some(admin.as_str());
    let (status, _, created) = hub.call(
        "POST",
        "/hub/api/groups",
        t,
        Some(r#"{"groups": ["staff", "students"], "users": ["alice"]}"#),
        &[],
    );
    assert_eq!(status, 201);
    assert_eq!(
        created[0],
        serde_json::json!({"kind": "group", "name": "staff", "properties": {}, "users": ["alice"], "roles": []})
    );
    // All or none: one existing group → 409 and nothing created; an unknown user → 400.
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/groups",
            t,
            Some(r#"{"groups": ["new1", "staff"]}"#),
            &[]
        )
        .0,
        409
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/groups",
            t,
            Some(r#"{"groups": ["new2"], "users": ["ghost"]}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(hub.get("/hub/api/groups/new1", t).0, 404);
    assert_eq!(hub.get("/hub/api/groups/new2", t).0, 404);
    assert_eq!(
        hub.call("POST", "/hub/api/groups/solo", t, None, &[]).0,
        201
    );
    assert_eq!(
        hub.call("POST", "/hub/api/groups/solo", t, None, &[]).0,
        409
    );

    let (status, _, g) = hub.call(
        "POST",
        "/hub/api/groups/staff/users",
        t,
        Some(r#"{"users": ["bob"]}"#),
        &[],
    );
    assert_eq!(
        (status, g["users"].clone()),
        (200, serde_json::json!(["alice", "bob"]))
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/groups/staff/users",
            t,
            Some(r#"{"users": ["ghost"]}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/groups/nope/users",
            t,
            Some(r#"{"users": ["bob"]}"#),
            &[]
        )
        .0,
        404
    );
    let (status, _, g) = hub.call(
        "DELETE",
        "/hub/api/groups/staff/users",
        t,
        Some(r#"{"users": ["alice"]}"#),
        &[],
    );
    assert_eq!(
        (status, g["users"].clone()),
        (200, serde_json::json!(["bob"]))
    );
    let (status, _, g) = hub.call(
        "PUT",
        "/hub/api/groups/staff/properties",
        t,
        Some(r#"{"course": "intro"}"#),
        &[],
    );
    assert_eq!(
        (status, g["properties"].clone()),
        (200, serde_json::json!({"course": "intro"}))
    );
    assert_eq!(
        hub.call(
            "PUT",
            "/hub/api/groups/staff/properties",
            t,
            Some("[1]"),
            &[]
        )
        .0,
        400
    );
    let (_, user) = hub.get("/hub/api/users/bob", t);
    assert_eq!(user["groups"], serde_json::json!(["staff"]));

    // Listing: everything for the admin; a plain user sees none of it.
    let (status, list) = hub.get("/hub/api/groups", t);
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(3)));
    let bob = user_token(dir.path(), "bob");
    assert_eq!(hub.get("/hub/api/groups", Some(&bob)).0, 403);
    assert_eq!(hub.get("/hub/api/groups/staff", Some(&bob)).0, 403);
    assert_eq!(
        hub.call("DELETE", "/hub/api/groups/staff", Some(&bob), None, &[])
            .0,
        403
    );

    assert_eq!(
        hub.call("DELETE", "/hub/api/groups/staff", t, None, &[]).0,
        204
    );
    assert_eq!(
        hub.call("DELETE", "/hub/api/groups/staff", t, None, &[]).0,
        404
    );
    let (_, user) = hub.get("/hub/api/users/bob", t);
    assert_eq!(user["groups"], serde_json::json!([]));
    hub.stop();
}

#[test]
fn tokens_are_issued_within_the_owners_scopes() {
    let (dir, hub) = setup();
    let alice = user_token(dir.path(), "alice");
    let a = Some(alice.as_str());
    // A token with fewer scopes than its owner, and its model.
    let (status, _, t) = hub.call(
        "POST",
        "/hub/api/users/alice/tokens",
        a,
        Some(r#"{"scopes": ["read:users!user=alice"], "note": "ro", "expires_in": 3600}"#),
        &[],
    );
    assert_eq!(status, 201, "{t}");
    let secret = t["token"].as_str().unwrap().to_owned();
    assert_eq!(
        (t["kind"].as_str(), t["user"].as_str(), t["note"].as_str()),
        (Some("api_token"), Some("alice"), Some("ro"))
    );
    assert!(t["expires_at"].is_string());
    let scopes: Vec<&str> = t["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(
        scopes.contains(&"read:users!user=alice")
            && !scopes.iter().any(|s| s.starts_with("tokens")),
        "{scopes:?}"
    );
    // It reads alice but cannot make tokens (no `tokens` scope): 403 with JupyterHub's message.
    assert_eq!(hub.get("/hub/api/users/alice", Some(&secret)).0, 200);
    let (status, _, body) = hub.call(
        "POST",
        "/hub/api/users/alice/tokens",
        Some(&secret),
        None,
        &[],
    );
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "User alice not found or no permissions to generate tokens"
    );
    // Escalation is refused: alice does not hold admin:users.
    let (status, _, body) = hub.call(
        "POST",
        "/hub/api/users/alice/tokens",
        a,
        Some(r#"{"scopes": ["admin:users"]}"#),
        &[],
    );
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not held by user alice"),
        "{body}"
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users/alice/tokens",
            a,
            Some(r#"{"scopes": ["no:such:scope"]}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users/alice/tokens",
            a,
            Some(r#"{"scopes": [], "roles": ["user"]}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users/alice/tokens",
            a,
            Some(r#"{"expires_in": "soon"}"#),
            &[]
        )
        .0,
        400
    );
    // Another user's tokens are hidden.
    assert_eq!(hub.get("/hub/api/users/bob/tokens", a).0, 404);
    assert_eq!(
        hub.call("POST", "/hub/api/users/bob/tokens", a, None, &[])
            .0,
        403
    );
    // List, get, delete; a deleted token stops working at once.
    let (status, list) = hub.get("/hub/api/users/alice/tokens", a);
    assert_eq!(status, 200);
    let ids: Vec<String> = list["api_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        list["api_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none()),
        "secrets are never listed"
    );
    let ro_id = t["id"].as_str().unwrap();
    assert_eq!(
        hub.get(&format!("/hub/api/users/alice/tokens/{ro_id}"), a)
            .1["note"],
        "ro"
    );
    assert_eq!(hub.get("/hub/api/users/alice/tokens/a999999", a).0, 404);
    assert_eq!(hub.get("/hub/api/users/alice/tokens/garbage", a).0, 404);
    assert_eq!(
        hub.call(
            "DELETE",
            &format!("/hub/api/users/alice/tokens/{ro_id}"),
            a,
            None,
            &[]
        )
        .0,
        204
    );
    assert_eq!(hub.get("/hub/api/users/alice", Some(&secret)).0, 403);
    // An admin service issues a token on a user's behalf; the note says so.
    let (status, _, t) = hub.call(
        "POST",
        "/hub/api/users/bob/tokens",
        Some(ADMIN_SERVICE_TOKEN),
        None,
        &[],
    );
    assert_eq!(
        (status, t["note"].as_str()),
        (201, Some("Requested via api by service ops"))
    );
    hub.stop();
}

#[test]
fn services_are_an_object_keyed_by_name() {
    let (dir, hub) = setup();
    let admin = user_token(dir.path(), "admin");
    let (status, services) = hub.get("/hub/api/services", Some(&admin));
    assert_eq!(status, 200);
    let obj = services
        .as_object()
        .expect("an object keyed by name, not a list");
    let mut names: Vec<_> = obj.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["culler", "ops"]);
    assert_eq!(obj["ops"]["admin"], true);
    assert_eq!(obj["culler"]["roles"], serde_json::json!(["culler"]));
    assert_eq!(obj["culler"]["prefix"], "", "no url: not proxied");
    let (status, one) = hub.get("/hub/api/services/culler", Some(&admin));
    assert_eq!(
        (status, one["kind"].as_str(), one["name"].as_str()),
        (200, Some("service"), Some("culler"))
    );
    assert_eq!(hub.get("/hub/api/services/nope", Some(&admin)).0, 404);
    // A plain user may not list services.
    let alice = user_token(dir.path(), "alice");
    assert_eq!(hub.get("/hub/api/services", Some(&alice)).0, 403);
    hub.stop();
}

#[test]
fn patch_renames_and_sets_admin_by_admins_only() {
    let (dir, hub) = setup();
    let admin = user_token(dir.path(), "admin");
    let t = Some(admin.as_str());
    let bob_token = user_token(dir.path(), "bob");
    assert_eq!(hub.call("POST", "/hub/api/groups/g1", t, None, &[]).0, 201);
    let (status, _, user) = hub.call(
        "PATCH",
        "/hub/api/users/bob",
        t,
        Some(r#"{"name": "robert", "groups": ["g1"]}"#),
        &[],
    );
    assert_eq!(
        (status, user["name"].as_str(), user["groups"].clone()),
        (200, Some("robert"), serde_json::json!(["g1"]))
    );
    assert_eq!(hub.get("/hub/api/users/bob", t).0, 404);
    assert_eq!(
        hub.get("/hub/api/users/robert", Some(&bob_token)).0,
        200,
        "tokens follow a rename"
    );
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/robert",
            t,
            Some(r#"{"name": "alice"}"#),
            &[]
        )
        .0,
        400,
        "name taken"
    );
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/robert",
            t,
            Some(r#"{"name": "bad/name"}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/robert",
            t,
            Some(r#"{"groups": ["nope"]}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/robert",
            t,
            Some(r#"{"shoe_size": 9}"#),
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/nobody",
            t,
            Some(r#"{"admin": true}"#),
            &[]
        )
        .0,
        404
    );
    let (status, _, user) = hub.call(
        "PATCH",
        "/hub/api/users/robert",
        t,
        Some(r#"{"admin": true}"#),
        &[],
    );
    assert_eq!(
        (status, user["admin"].clone(), user["roles"].clone()),
        (
            200,
            serde_json::json!(true),
            serde_json::json!(["admin", "user"])
        )
    );
    let (status, _, user) = hub.call(
        "PATCH",
        "/hub/api/users/robert",
        t,
        Some(r#"{"admin": false}"#),
        &[],
    );
    assert_eq!(
        (status, user["admin"].clone(), user["roles"].clone()),
        (200, serde_json::json!(false), serde_json::json!(["user"]))
    );
    hub.stop();
}

/// Scope × endpoint: each service holds one role; each row is one request and the status the
/// scope rules give it (allowed, 403 refused, 404 hidden).
#[test]
fn scope_endpoint_table() {
    let dir = tempfile::tempdir().unwrap();
    let roles: &[(&str, &[&str])] = &[
        ("s-none", &[]),
        ("s-list", &["list:users"]),
        ("s-read-alice", &["read:users!user=alice"]),
        ("s-admin-users", &["admin:users"]),
        ("s-read-hub", &["read:hub"]),
        ("s-tokens-alice", &["tokens!user=alice"]),
        ("s-groups", &["admin:groups"]),
        ("s-services", &["list:services"]),
        ("s-servers-alice", &["servers!user=alice"]),
        ("s-read-servers", &["read:servers"]),
        ("s-activity-alice", &["users:activity!user=alice"]),
        ("s-shares-alice", &["shares!user=alice", "read:users:name"]),
        (
            "s-read-shares",
            &["read:shares", "read:users:shares", "read:groups:shares"],
        ),
        ("s-proxy", &["proxy"]),
        ("s-admin-services", &["admin:services"]),
        ("s-shutdown-less", &["admin:users", "admin:groups"]),
    ];
    let services: Vec<String> = roles
        .iter()
        .map(|(n, _)| format!("{{'name': '{n}', 'api_token': '{n}-token-0123456789'}}"))
        .collect();
    let load_roles: Vec<String> = roles
        .iter()
        .filter(|(_, scopes)| !scopes.is_empty())
        .map(|(n, scopes)| format!("{{'name': '{n}', 'scopes': {scopes:?}, 'services': ['{n}']}}"))
        .collect();
    let config = format!(
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.authenticator_class = 'null'\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\n\
         c.JupyterHub.allow_named_servers = True\nc.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:9'\n\
         c.Authenticator.allowed_users = {{'alice', 'bob'}}\nc.JupyterHub.services = [{}]\n\
         c.JupyterHub.load_groups = {{'power': {{'users': []}}}}\n\
         c.JupyterHub.load_roles = [{}, {{'name': 'power-role', 'scopes': ['admin:groups', 'admin:servers', 'proxy'], 'groups': ['power']}}]\n",
        services.join(", "),
        load_roles.join(", ")
    );
    std::fs::write(dir.path().join("jupyterhub_config.py"), config).unwrap();
    let hub = Hub::start(dir.path());
    let table: &[(&str, &str, &str, u16)] = &[
        ("s-none", "GET", "/hub/api/user", 200),
        ("s-none", "GET", "/hub/api/info", 403),
        ("s-read-hub", "GET", "/hub/api/info", 200),
        ("s-none", "GET", "/hub/api/users", 403),
        ("s-list", "GET", "/hub/api/users", 200),
        ("s-read-alice", "GET", "/hub/api/users", 403),
        ("s-admin-users", "GET", "/hub/api/users", 200),
        ("s-none", "GET", "/hub/api/users/alice", 403),
        ("s-list", "GET", "/hub/api/users/alice", 200),
        ("s-read-alice", "GET", "/hub/api/users/alice", 200),
        ("s-read-alice", "GET", "/hub/api/users/bob", 404),
        ("s-tokens-alice", "GET", "/hub/api/users/alice", 403),
        ("s-admin-users", "GET", "/hub/api/users/bob", 200),
        ("s-list", "POST", "/hub/api/users/new1", 403),
        ("s-admin-users", "POST", "/hub/api/users/new2", 201),
        ("s-read-alice", "DELETE", "/hub/api/users/bob", 403),
        ("s-list", "PATCH", "/hub/api/users/bob", 403),
        // Group membership is no way around scopes: admin:users alone cannot put a user into
        // a group whose roles grant more (the body is {"groups": ["power"]}).
        ("s-admin-users", "PATCH", "/hub/api/users/bob#groups", 403),
        ("s-shutdown-less", "PATCH", "/hub/api/users/bob#groups", 403),
        ("s-tokens-alice", "GET", "/hub/api/users/alice/tokens", 200),
        ("s-tokens-alice", "GET", "/hub/api/users/bob/tokens", 404),
        ("s-admin-users", "GET", "/hub/api/users/alice/tokens", 403),
        ("s-read-alice", "GET", "/hub/api/users/alice/tokens", 403),
        ("s-none", "GET", "/hub/api/groups", 403),
        ("s-list", "GET", "/hub/api/groups", 403),
        ("s-groups", "GET", "/hub/api/groups", 200),
        ("s-groups", "POST", "/hub/api/groups/g1", 201),
        ("s-list", "POST", "/hub/api/groups/g2", 403),
        ("s-groups", "GET", "/hub/api/groups/g1", 200),
        ("s-none", "GET", "/hub/api/services", 403),
        ("s-services", "GET", "/hub/api/services", 200),
        ("s-services", "GET", "/hub/api/services/s-none", 200),
        ("s-list", "GET", "/hub/api/services/s-none", 403),
        // Servers: the user filter holds for a server of that user; others are hidden.
        ("s-servers-alice", "GET", "/hub/api/users/alice/server", 200),
        (
            "s-servers-alice",
            "PUT",
            "/hub/api/users/alice/servers/lab",
            201,
        ),
        (
            "s-servers-alice",
            "GET",
            "/hub/api/users/alice/servers/lab",
            200,
        ),
        ("s-servers-alice", "GET", "/hub/api/users/bob/server", 404),
        (
            "s-servers-alice",
            "PUT",
            "/hub/api/users/bob/servers/lab",
            404,
        ),
        ("s-read-servers", "GET", "/hub/api/users/bob/server", 200),
        (
            "s-read-servers",
            "PUT",
            "/hub/api/users/bob/servers/lab",
            403,
        ),
        ("s-list", "GET", "/hub/api/users/alice/server", 403),
        (
            "s-read-servers",
            "DELETE",
            "/hub/api/users/alice/servers/lab",
            403,
        ),
        (
            "s-servers-alice",
            "DELETE",
            "/hub/api/users/alice/servers/lab",
            204,
        ),
        // Activity.
        (
            "s-activity-alice",
            "POST",
            "/hub/api/users/alice/activity",
            200,
        ),
        (
            "s-activity-alice",
            "POST",
            "/hub/api/users/bob/activity",
            404,
        ),
        ("s-read-alice", "POST", "/hub/api/users/alice/activity", 403),
        // Shares.
        ("s-shares-alice", "POST", "/hub/api/shares/alice/", 200),
        ("s-shares-alice", "POST", "/hub/api/shares/bob/", 404),
        ("s-read-shares", "POST", "/hub/api/shares/alice/", 403),
        ("s-read-shares", "GET", "/hub/api/shares/alice", 200),
        ("s-shares-alice", "GET", "/hub/api/shares/alice", 200),
        ("s-shares-alice", "GET", "/hub/api/shares/bob", 404),
        ("s-list", "GET", "/hub/api/shares/alice", 403),
        ("s-read-shares", "GET", "/hub/api/users/bob/shared", 200),
        ("s-list", "GET", "/hub/api/users/bob/shared", 403),
        ("s-shares-alice", "POST", "/hub/api/share-codes/alice/", 200),
        ("s-read-shares", "POST", "/hub/api/share-codes/alice/", 403),
        ("s-read-shares", "GET", "/hub/api/share-codes/alice", 200),
        ("s-shares-alice", "DELETE", "/hub/api/shares/alice/", 204),
        // Proxy, shutdown, runtime services.
        ("s-proxy", "GET", "/hub/api/proxy", 502),
        ("s-admin-users", "GET", "/hub/api/proxy", 403),
        ("s-admin-users", "POST", "/hub/api/proxy", 403),
        ("s-shutdown-less", "POST", "/hub/api/shutdown", 403),
        ("s-admin-services", "POST", "/hub/api/services/extra", 201),
        ("s-services", "POST", "/hub/api/services/extra2", 403),
        ("s-services", "DELETE", "/hub/api/services/extra", 403),
        ("s-admin-services", "DELETE", "/hub/api/services/extra", 200),
        (
            "s-admin-services",
            "DELETE",
            "/hub/api/services/s-none",
            405,
        ),
    ];
    let mut failures = Vec::new();
    for (service, method, path, want) in table {
        let token = format!("{service}-token-0123456789");
        let (path, groups) = match path.strip_suffix("#groups") {
            Some(p) => (p, true),
            None => (*path, false),
        };
        let body = match (*method, path) {
            ("PATCH", _) if groups => Some(r#"{"groups": ["power"]}"#),
            ("PATCH", _) => Some(r#"{"admin": false}"#),
            (_, p) if p.ends_with("/activity") => {
                Some(r#"{"last_activity": "2024-05-01T12:00:00Z"}"#)
            }
            ("POST", p) if p.starts_with("/hub/api/shares/") => Some(r#"{"user": "bob"}"#),
            _ => None,
        };
        let (got, _, reply) = hub.call(method, path, Some(&token), body, &[]);
        if got != *want {
            failures.push(format!(
                "{service} {method} {path}: got {got}, want {want} ({reply})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    hub.stop();
}
