//! GHSA-p43p-whwx-q52h: a huge user-supplied name must not flood logs or responses, at the
//! login form (the advisory's case) and in the API, which takes names too.

use crate::api::{user_token, Hub};

#[test]
fn huge_names_get_short_errors_and_short_logs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\nc.Authenticator.admin_users = {'admin'}\n",
    )
    .unwrap();
    let hub = Hub::start(dir.path());
    let admin = user_token(dir.path(), "admin");
    let huge = "Q".repeat(500_000);
    let before = hub.log.lock().unwrap().len();
    let started = std::time::Instant::now();
    for (method, path, body) in [
        (
            "POST",
            "/hub/api/users".to_owned(),
            format!(r#"{{"usernames": ["{huge}"]}}"#),
        ),
        (
            "POST",
            format!("/hub/api/users/{}", &huge[..60_000]),
            String::new(),
        ),
        (
            "PATCH",
            "/hub/api/users/admin".to_owned(),
            format!(r#"{{"name": "{huge}"}}"#),
        ),
    ] {
        let (status, _, reply) = hub.call(method, &path, Some(&admin), Some(&body), &[]);
        assert!(
            (400..500).contains(&status),
            "{method} {}: {status}",
            &path[..path.len().min(20)]
        );
        let message = reply["message"].as_str().unwrap_or("");
        assert!(
            message.len() < 1024,
            "{method}: a {} byte message",
            message.len()
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let grown = hub.log.lock().unwrap().len() - before;
    assert!(grown < 4096, "the log grew by {grown} bytes");
    hub.stop();
}

#[test]
fn a_huge_login_name_is_refused_quickly_with_short_logs() {
    let (_dir, hub) = crate::pages::hub("");
    let mut b = crate::pages::Browser::default();
    let page = b.get(&hub, "/hub/login");
    let xsrf = crate::pages::Browser::form_xsrf(&page);
    let before = hub.log.lock().unwrap().len();
    let started = std::time::Instant::now();
    // Past the body limit: refused before parsing.
    let huge = "Q".repeat(10_000_000);
    let r = b.send(
        &hub,
        "POST",
        "/hub/login",
        Some(&format!(
            "_xsrf={}&username={huge}&password=x",
            crate::pages::encode(&xsrf)
        )),
        &[],
    );
    assert!((400..500).contains(&r.status), "{}", r.status);
    // Under the limit: an invalid name, refused; the page does not echo it whole.
    let big = "Q".repeat(500_000);
    let r = b.send(
        &hub,
        "POST",
        "/hub/login",
        Some(&format!(
            "_xsrf={}&username={big}&password={}",
            crate::pages::encode(&xsrf),
            crate::pages::PASSWORD
        )),
        &[],
    );
    assert_eq!(r.status, 403);
    assert!(r.body.len() < 20_000, "a {} byte page", r.body.len());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let grown = hub.log.lock().unwrap().len() - before;
    assert!(grown < 4096, "the log grew by {grown} bytes");
    hub.stop();
}
