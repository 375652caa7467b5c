//! GHSA-p43p-whwx-q52h: a huge user-supplied name must not flood logs or responses, at the
//! login form (the advisory's case) and in the API, which takes names too.

use crate::api::{user_token, Hub};

#[test]
fn huge_names_get_short_errors_and_short_logs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.authenticator_class = 'null'\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\nc.Authenticator.admin_users = {'admin'}\n",
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// POST `size` bytes to `port` (Content-Length, or chunked), reading the answer while the
/// upload goes on; the status and how long the answer took.
fn upload(port: u16, size: usize, chunked: bool) -> (u16, std::time::Duration) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {size}")
    };
    let head = format!("POST /hub/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let started = std::time::Instant::now();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < size {
            let n = chunk.len().min(size - sent);
            let ok = if chunked {
                w.write_all(format!("{n:x}\r\n").as_bytes())
                    .and_then(|()| w.write_all(&chunk[..n]))
                    .and_then(|()| w.write_all(b"\r\n"))
            } else {
                w.write_all(&chunk[..n])
            };
            if ok.is_err() {
                return;
            }
            sent += n;
        }
        if chunked {
            let _ = w.write_all(b"0\r\n\r\n");
        }
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let took = started.elapsed();
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    let status = String::from_utf8_lossy(&out)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, took)
}

/// Issue 10 item 7: through the hub's own proxy, a 1, 10 or 100 MB login POST gets a quick
/// 4xx (403 for a form under the limit without `_xsrf`, as JupyterHub; 413 over it), never
/// the proxy's 503, and the log stays short.
#[test]
fn huge_login_bodies_through_the_proxy_are_refused_within_a_second() {
    let _heavy = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let public = free_port();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        format!(
            "c.JupyterHub.ip = '127.0.0.1'\nc.JupyterHub.port = {public}\nc.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\n\
             c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{}'\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\n\
             c.JupyterHub.authenticator_class = 'dummy'\n",
            free_port()
        ),
    )
    .unwrap();
    let hub = Hub::start(dir.path());
    let before = hub.log.lock().unwrap().len();
    for (mb, chunked, want) in [
        (1, false, 403),
        (10, false, 413),
        (100, false, 413),
        (10, true, 413),
        (100, true, 413),
    ] {
        let (status, took) = upload(public, mb * 1024 * 1024, chunked);
        assert_eq!(status, want, "{mb} MB (chunked: {chunked})");
        assert!(
            took < std::time::Duration::from_secs(1),
            "{mb} MB (chunked: {chunked}) answered after {took:?}"
        );
    }
    let grown = hub.log.lock().unwrap().len() - before;
    assert!(grown < 4096, "the log grew by {grown} bytes");
    hub.stop();
}
