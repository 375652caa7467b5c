//! Regression tests for defects found by running JupyterHub material against oxhub and by a
//! bad-input probe: who is an admin, 403 versus 404 on creation, privilege escalation through
//! group membership, extreme integers, deleting users with running servers, and users never
//! seen without their default role. Each failed before its fix. (Runs on PostgreSQL too: the
//! module name matches the `api::` filter of scripts/test.sh.)

use crate::api::{user_token, Hub};
use crate::hub_state::call;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SVC: &str = "svc-token-0123456789abcdef";
const LESSER: &str = "lesser-token-0123456789abcdef";
const GROUPADMIN: &str = "groupadmin-token-0123456789";

fn start(extra: &str) -> (tempfile::TempDir, Hub, String) {
    crate::hub_state::start(extra, &[])
}

/// Issue 10 item 4: holding the admin role (through load_roles, for a service; through a
/// group, for a user) makes an admin, as in JupyterHub's role assignment at start-up; a
/// service with admin:users but without the admin role still cannot make admins
/// (GHSA-9x4q-3gxw-849f).
#[test]
fn the_admin_role_makes_an_admin() {
    let extra = format!(
        "c.JupyterHub.services = [{{'name': 'svc', 'api_token': '{SVC}'}}, {{'name': 'lesser', 'api_token': '{LESSER}'}}]\n\
         c.JupyterHub.load_groups = {{'wheel': {{'users': ['bob']}}}}\n\
         c.JupyterHub.load_roles = [{{'name': 'admin', 'services': ['svc'], 'groups': ['wheel']}},\n\
           {{'name': 'lesser', 'scopes': ['admin:users'], 'services': ['lesser']}}]\n"
    );
    let (dir, hub, admin) = start(&extra);
    let (status, me) = call(&hub, "GET", "/hub/api/user", SVC, None);
    assert_eq!((status, &me["admin"]), (200, &json!(true)), "{me}");
    let (_, services) = call(&hub, "GET", "/hub/api/services", &admin, None);
    assert_eq!(services["svc"]["admin"], json!(true), "{services}");
    assert_eq!(services["lesser"]["admin"], json!(false), "{services}");
    let (status, body) = call(
        &hub,
        "POST",
        "/hub/api/users/made-by-svc",
        SVC,
        Some(json!({"admin": true})),
    );
    assert_eq!((status, &body["admin"]), (201, &json!(true)), "{body}");
    let (status, body) = call(
        &hub,
        "PATCH",
        "/hub/api/users/alice",
        SVC,
        Some(json!({"admin": true})),
    );
    assert_eq!((status, &body["admin"]), (200, &json!(true)), "{body}");
    // The rule of GHSA-9x4q-3gxw-849f stays.
    let (status, body) = call(
        &hub,
        "POST",
        "/hub/api/users/made-by-lesser",
        LESSER,
        Some(json!({"admin": true})),
    );
    assert_eq!(status, 403, "{body}");
    // bob holds the admin role through the group: an admin too.
    let bob = user_token(dir.path(), "bob");
    let (_, me) = call(&hub, "GET", "/hub/api/user", &bob, None);
    assert_eq!(me["admin"], json!(true), "{me}");
    let (status, body) = call(
        &hub,
        "POST",
        "/hub/api/users/made-by-bob",
        &bob,
        Some(json!({"admin": true})),
    );
    assert_eq!(status, 201, "{body}");
}

/// Issue 10 item 6: a filtered admin:users that cannot see the name answers 404, before the
/// "already exists" check (which would tell the caller the name exists).
#[test]
fn filtered_admin_users_cannot_see_other_names() {
    let extra = format!(
        "c.JupyterHub.services = [{{'name': 'groupadmin', 'api_token': '{GROUPADMIN}'}}]\n\
         c.JupyterHub.load_groups = {{'g': {{'users': ['alice']}}}}\n\
         c.JupyterHub.load_roles = [{{'name': 'ga', 'scopes': ['admin:users!group=g'], 'services': ['groupadmin']}}]\n"
    );
    let (_dir, hub, admin) = start(&extra);
    for name in ["newcomer", "bob", "alice"] {
        let (status, body) = call(
            &hub,
            "POST",
            &format!("/hub/api/users/{name}"),
            GROUPADMIN,
            None,
        );
        let want = if name == "alice" { 409 } else { 404 };
        assert_eq!(status, want, "{name}: {body}");
    }
    let (status, _) = call(&hub, "GET", "/hub/api/users/newcomer", &admin, None);
    assert_eq!(status, 404, "nothing was created");
}

/// Issue 17 item 1: admin:users alone cannot put a user into a group whose roles grant more
/// than the caller holds, nor change memberships without the groups scope for each group.
#[test]
fn group_membership_is_no_way_around_scopes() {
    let extra = format!(
        "c.JupyterHub.services = [{{'name': 'lesser', 'api_token': '{LESSER}'}}, {{'name': 'groupadmin', 'api_token': '{GROUPADMIN}'}}]\n\
         c.JupyterHub.load_groups = {{'power': {{'users': []}}, 'plain': {{'users': []}}}}\n\
         c.JupyterHub.load_roles = [\n\
           {{'name': 'power-role', 'scopes': ['admin:groups', 'admin:servers', 'proxy'], 'groups': ['power']}},\n\
           {{'name': 'lesser', 'scopes': ['admin:users'], 'services': ['lesser']}},\n\
           {{'name': 'ga', 'scopes': ['admin:users', 'groups'], 'services': ['groupadmin']}}]\n"
    );
    let (dir, hub, admin) = start(&extra);
    let patch = |token: &str, groups: Value| {
        call(
            &hub,
            "PATCH",
            "/hub/api/users/carol",
            token,
            Some(json!({ "groups": groups })),
        )
    };
    // No groups scope at all: refused for any group.
    let (status, body) = patch(LESSER, json!(["power"]));
    assert_eq!(status, 403, "{body}");
    let (status, body) = patch(LESSER, json!(["plain"]));
    assert_eq!(status, 403, "{body}");
    // The groups scope, but the group's roles grant more than the caller holds.
    let (status, body) = patch(GROUPADMIN, json!(["power"]));
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap_or("").contains("power"),
        "{body}"
    );
    let (status, body) = call(
        &hub,
        "POST",
        "/hub/api/groups/power/users",
        GROUPADMIN,
        Some(json!({"users": ["carol"]})),
    );
    assert_eq!(status, 403, "{body}");
    // A group whose roles grant nothing beyond the caller's: fine.
    let (status, body) = patch(GROUPADMIN, json!(["plain"]));
    assert_eq!(status, 200, "{body}");
    // carol holds none of power's scopes.
    let carol = user_token(dir.path(), "carol");
    let (_, me) = call(&hub, "GET", "/hub/api/user", &carol, None);
    let scopes = me["scopes"].to_string();
    assert!(
        !scopes.contains("admin:groups") && !scopes.contains("proxy"),
        "{scopes}"
    );
    // An admin may.
    let (status, body) = patch(&admin, json!(["power", "plain"]));
    assert_eq!(status, 200, "{body}");
    // Removing needs the groups scope too.
    let (status, body) = patch(LESSER, json!([]));
    assert_eq!(status, 403, "{body}");
}

/// Issue 17 item 2: integers from requests are range-checked; nothing panics.
#[test]
fn extreme_integers_get_a_clear_400() {
    let (_dir, hub, admin) = start("");
    for path in ["/hub/api/users", "/hub/api/groups", "/hub/api/proxy"] {
        for offset in ["9223372036854775807", "-9223372036854775808", "1e3"] {
            let (status, head, body) = hub.call(
                "GET",
                &format!("{path}?offset={offset}"),
                Some(&admin),
                None,
                &[("Accept", "application/jupyterhub-pagination+json")],
            );
            assert_eq!(status, 400, "{path} offset={offset}: {head} {body}");
            assert_eq!(body["status"], json!(400), "{body}");
        }
        let (status, _, body) = hub.call(
            "GET",
            &format!("{path}?limit=9223372036854775807"),
            Some(&admin),
            None,
            &[("Accept", "application/jupyterhub-pagination+json")],
        );
        assert!(status == 400 || status == 200, "{path}: {status} {body}");
    }
    for expires_in in [json!(i64::MAX), json!(-1), json!(i64::MIN), json!(1e300)] {
        let (status, body) = call(
            &hub,
            "POST",
            "/hub/api/users/alice/tokens",
            &admin,
            Some(json!({ "expires_in": expires_in })),
        );
        assert_eq!(status, 400, "expires_in={expires_in}: {body}");
    }
    let (status, body) = call(
        &hub,
        "POST",
        "/hub/api/users/alice/tokens",
        &admin,
        Some(json!({"expires_in": 3600})),
    );
    assert_eq!(status, 201, "{body}");
    // The hub is still answering.
    assert_eq!(call(&hub, "GET", "/hub/api/user", &admin, None).0, 200);
}

fn proc_alive(pid: i64) -> bool {
    // A zombie is not alive (PID 1 here may not reap).
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().chars().next())
        })
        .flatten()
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// Issue 17 item 3: deleting a user stops every server of theirs and removes its route; a
/// server deleted with `remove` is stopped before its record goes.
#[test]
fn deleting_a_user_stops_their_servers() {
    let proxy = crate::proxy::ProxyProcess::start(&[]);
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/tiny_server.py");
    let homes = tempfile::tempdir().unwrap();
    let extra = format!(
        "c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{}'\nc.ConfigurableHTTPProxy.auth_token = 'robustness-token'\n\
         c.JupyterHub.spawner_class = 'simple'\nc.SimpleLocalProcessSpawner.home_dir_template = '{}/{{username}}'\n\
         c.Spawner.cmd = ['python3', '{tiny}']\n",
        proxy.api_port,
        homes.path().display()
    );
    let (_dir, hub, admin) = start(&extra);
    let a = admin.as_str();
    let mut pids = Vec::new();
    for path in [
        "/hub/api/users/alice/server",
        "/hub/api/users/alice/servers/gpu",
        "/hub/api/users/bob/servers/lab",
    ] {
        let (status, body) = call(&hub, "POST", path, a, None);
        assert!(status == 201 || status == 202, "{path}: {status} {body}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, alice) = call(&hub, "GET", "/hub/api/users/alice", a, None);
        let (_, bob) = call(&hub, "GET", "/hub/api/users/bob", a, None);
        let ready = |u: &Value, s: &str| u["servers"][s]["ready"] == json!(true);
        if ready(&alice, "") && ready(&alice, "gpu") && ready(&bob, "lab") {
            for (u, s) in [(&alice, ""), (&alice, "gpu"), (&bob, "lab")] {
                pids.push(u["servers"][s]["state"]["pid"].as_i64());
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "servers never became ready: {alice} {bob}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        pids.iter().all(Option::is_some),
        "no pids in the models: {pids:?}"
    );
    let (_, routes) = call(&hub, "GET", "/hub/api/proxy", a, None);
    assert!(routes.get("/user/alice/gpu/").is_some(), "{routes}");
    let (status, body) = call(&hub, "DELETE", "/hub/api/users/alice", a, None);
    assert_eq!(status, 204, "{body}");
    let (_, routes) = call(&hub, "GET", "/hub/api/proxy", a, None);
    assert!(
        routes.get("/user/alice/").is_none() && routes.get("/user/alice/gpu/").is_none(),
        "alice's routes stayed: {routes}"
    );
    assert!(routes.get("/user/bob/lab/").is_some(), "{routes}");
    for pid in pids.iter().take(2).flatten() {
        assert!(!proc_alive(*pid), "alice's server {pid} still runs");
    }
    // A named server deleted with ?remove=true: stopped, route gone, record gone.
    let (status, body) = call(
        &hub,
        "DELETE",
        "/hub/api/users/bob/servers/lab?remove=true",
        a,
        None,
    );
    assert_eq!(status, 204, "{body}");
    let (_, routes) = call(&hub, "GET", "/hub/api/proxy", a, None);
    assert!(routes.get("/user/bob/lab/").is_none(), "{routes}");
    if let Some(Some(pid)) = pids.get(2) {
        assert!(!proc_alive(*pid), "bob's server {pid} still runs");
    }
    let (status, _) = call(&hub, "GET", "/hub/api/users/bob/servers/lab", a, None);
    assert_eq!(status, 404);
}

/// Issue 10 item 9: the icon browsers ask for on every page is served, and a clean stop
/// checkpoints SQLite's write-ahead log (no `-wal`/`-shm` files left beside the database).
#[test]
fn favicon_is_served_and_a_clean_stop_leaves_no_wal_files() {
    let (dir, hub, _admin) = start("");
    for path in ["/hub/favicon.ico", "/hub/static/favicon.svg"] {
        let (status, head, _) = hub.call("GET", path, None, None, &[]);
        assert_eq!(status, 200, "{path}");
        assert!(head.contains("content-type: image/svg+xml"), "{head}");
    }
    let on_sqlite = crate::api::test_db_url(dir.path()).is_none();
    let log = std::sync::Arc::clone(&hub.log);
    hub.stop();
    if on_sqlite {
        for leftover in ["hub.sqlite-wal", "hub.sqlite-shm"] {
            assert!(
                !dir.path().join(leftover).exists(),
                "{leftover} left after a clean stop: {}",
                log.lock().unwrap()
            );
        }
        assert!(dir.path().join("hub.sqlite").exists());
    }
}
