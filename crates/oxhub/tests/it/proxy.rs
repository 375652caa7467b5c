//! `oxhub proxy` under bad clients and bad backends: every failure gets a prompt, correct
//! answer, everyone else keeps being served, and no file descriptor is leaked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const TOKEN: &str = "robustness-token";

/// A running `oxhub proxy` on ephemeral loopback ports; killed on drop.
pub struct ProxyProcess {
    child: Child,
    pub port: u16,
    pub api_port: u16,
}

impl ProxyProcess {
    pub fn start(extra: &[&str]) -> ProxyProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxhub"));
        cmd.args([
            "proxy",
            "--ip",
            "127.0.0.1",
            "--port",
            "0",
            "--api-ip",
            "127.0.0.1",
            "--api-port",
            "0",
        ])
        .args(extra)
        .env("CONFIGPROXY_AUTH_TOKEN", TOKEN);
        let (child, line) = crate::spawn_until(&mut cmd, "listening on ");
        let ports: Vec<u16> = line
            .split("127.0.0.1:")
            .skip(1)
            .filter_map(|p| p.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect();
        let [port, api_port, ..] = ports[..] else {
            panic!("no ports in {line:?}")
        };
        ProxyProcess {
            child,
            port,
            api_port,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn add_route(&self, path: &str, target: &str) {
        let body = format!(r#"{{"target": "{target}"}}"#);
        let (status, _) = request(
            self.api_port,
            "POST",
            &format!("/api/routes{path}"),
            &[("Authorization", &format!("token {TOKEN}"))],
            body.as_bytes(),
        );
        assert_eq!(status, 201);
    }

    pub fn delete_route(&self, path: &str) -> u16 {
        request(
            self.api_port,
            "DELETE",
            &format!("/api/routes{path}"),
            &[("Authorization", &format!("token {TOKEN}"))],
            b"",
        )
        .0
    }

    /// The open-descriptor count once closed connections are cleaned up: polls for up to 10 s
    /// until it is at most `limit` (a loaded machine closes sockets late), then returns it.
    pub fn settled_fds(&self, limit: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n = self.fds();
            if n <= limit || Instant::now() > deadline {
                return n;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the proxy's descriptors point at, and the proxy's TCP connection states, for
    /// failure messages.
    pub fn fd_report(&self) -> String {
        let mut out = Vec::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", self.pid())) {
            for e in dir.filter_map(Result::ok) {
                out.push(
                    std::fs::read_link(e.path())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                );
            }
        }
        out.sort();
        let tcp =
            std::fs::read_to_string(format!("/proc/{}/net/tcp", self.pid())).unwrap_or_default();
        format!("{out:?}\n{tcp}")
    }

    /// Open file descriptors of the proxy process.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[allow(dead_code)]
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    pub fn alive(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => false,
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and body.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_response(&out)
}

fn parse_response(raw: &[u8]) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| raw[i + 4..].to_vec())
        .unwrap_or_default();
    (status, body)
}

/// A backend that answers every request with 200 and `ok <path>`, keep-alive aware.
pub fn good_backend() -> u16 {
    backend(|mut s| {
        let mut reader = BufReader::new(s.try_clone().unwrap());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                if h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let reply = format!("ok {path}");
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{reply}",
                reply.len()
            );
            if s.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    })
}

fn backend(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let h = Arc::clone(&handler);
            thread::spawn(move || h(stream));
        }
    });
    port
}

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn bad_backends_get_prompt_errors_and_nothing_leaks() {
    let _heavy = crate::heavy();
    let proxy = ProxyProcess::start(&["--proxy-timeout", "500"]);
    let good = good_backend();
    let refusing = closed_port();
    // Accepts, reads the request, never answers (until the test ends).
    let silent = backend(|s| {
        thread::sleep(Duration::from_secs(30));
        drop(s);
    });
    // Answers 200 with a long Content-Length, sends a little, then dies.
    let dying = backend(|mut s| {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial");
        let _ = s.shutdown(Shutdown::Both);
    });
    proxy.add_route("/good", &format!("http://127.0.0.1:{good}"));
    proxy.add_route("/refusing", &format!("http://127.0.0.1:{refusing}"));
    proxy.add_route("/silent", &format!("http://127.0.0.1:{silent}"));
    proxy.add_route("/dying", &format!("http://127.0.0.1:{dying}"));

    // Warm up the good route's connection pool, then take the baseline.
    for _ in 0..5 {
        assert_eq!(request(proxy.port, "GET", "/good/x", &[], b"").0, 200);
    }
    let fds_before = proxy.fds();

    for _ in 0..100 {
        let t = Instant::now();
        assert_eq!(request(proxy.port, "GET", "/refusing/x", &[], b"").0, 503);
        assert!(t.elapsed() < Duration::from_secs(2));
    }
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(request(proxy.port, "GET", "/silent/x", &[], b"").0, 503);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "a silent backend is cut off after --proxy-timeout"
        );
    }
    for _ in 0..20 {
        let (status, body) = request(proxy.port, "GET", "/dying/x", &[], b"");
        assert_eq!(status, 200);
        assert!(body.len() < 100_000, "a truncated response is not padded");
        // Everyone else is still served.
        assert_eq!(
            request(proxy.port, "GET", "/good/y", &[], b""),
            (200, b"ok /good/y".to_vec())
        );
    }
    assert!(proxy.alive());
    let fds_after = proxy.settled_fds(fds_before + 4);
    assert!(
        fds_after <= fds_before + 4,
        "fds grew from {fds_before} to {fds_after}: {}",
        proxy.fd_report()
    );
}

#[test]
fn bad_clients_get_clear_errors() {
    let proxy = ProxyProcess::start(&["--timeout", "1000"]);
    let good = good_backend();
    proxy.add_route("/", &format!("http://127.0.0.1:{good}"));
    // Warm up both data-plane threads' backend pools, then take the baseline.
    for _ in 0..8 {
        assert_eq!(request(proxy.port, "GET", "/warm", &[], b"").0, 200);
    }
    let fds_before = proxy.fds();

    // Malformed request line.
    let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"THIS IS NOT HTTP\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    drop(s);
    assert_eq!(
        parse_response(&out).0,
        400,
        "{}",
        String::from_utf8_lossy(&out)
    );

    // Oversized headers.
    let big = "a".repeat(100 * 1024);
    let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert_eq!(
        parse_response(&out).0,
        431,
        "{}",
        String::from_utf8_lossy(&out[..out.len().min(200)])
    );

    // Slowloris: headers trickle in; the header timeout (--timeout 1000) closes the connection.
    let mut slow = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let t = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut closed = false;
    for _ in 0..40 {
        thread::sleep(Duration::from_millis(100));
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 1024];
        slow.set_nonblocking(true).unwrap();
        let r = slow.read(&mut probe);
        slow.set_nonblocking(false).unwrap();
        if r.is_ok() {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "slowloris connection still open after {:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(3));

    // Everyone else is served, and nothing leaked (our ends of every connection closed first).
    assert_eq!(request(proxy.port, "GET", "/fine", &[], b"").0, 200);
    drop(slow);
    drop(s);
    let fds_after = proxy.settled_fds(fds_before + 4);
    assert!(
        fds_after <= fds_before + 4,
        "fds grew from {fds_before} to {fds_after}: {}",
        proxy.fd_report()
    );
}

#[test]
fn route_changes_do_not_disturb_traffic() {
    let _heavy = crate::heavy();
    let proxy = ProxyProcess::start(&[]);
    let good = good_backend();
    proxy.add_route("/stable", &format!("http://127.0.0.1:{good}"));
    let port = proxy.port;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let traffic = thread::spawn(move || {
        let mut n = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) && n < 20_000 {
            let (status, body) = request(port, "GET", "/stable/x", &[], b"");
            assert_eq!((status, body), (200, b"ok /stable/x".to_vec()));
            n += 1;
        }
        n
    });
    for i in 0..500 {
        proxy.add_route(&format!("/user/u{i}"), &format!("http://127.0.0.1:{good}"));
        if i % 2 == 0 {
            assert_eq!(proxy.delete_route(&format!("/user/u{i}")), 204);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = traffic.join().unwrap();
    assert!(served > 0);
    assert_eq!(request(proxy.port, "GET", "/user/u1/x", &[], b"").0, 200);
    assert_eq!(request(proxy.port, "GET", "/user/u0/x", &[], b"").0, 404);
}

#[test]
fn pid_file_is_written_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("proxy.pid");
    let mut proxy = ProxyProcess::start(&["--pid-file", pid_file.to_str().unwrap()]);
    let written = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(written.trim(), proxy.pid().to_string());
    // SIGTERM by PID: a clean exit that removes the pid file.
    Command::new("kill")
        .args(["-TERM", &proxy.pid().to_string()])
        .status()
        .unwrap();
    let status = proxy.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!pid_file.exists());
}

#[test]
fn flags_it_cannot_honour_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .args(["proxy", "--storage-backend", "redis"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--storage-backend is not supported"));
    let out = Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .args(["proxy", "--ssl-key", "k.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 17 item 8: a malformed chunked body (an oversized chunk-size line) is the client's
/// error: 400 from the proxy, and the backend never sees the request.
#[test]
fn malformed_chunked_body_is_a_400_that_never_reaches_the_backend() {
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let backend_port = backend(move |s| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        drop(s);
    });
    let proxy = ProxyProcess::start(&[]);
    proxy.add_route("/x", &format!("http://127.0.0.1:{backend_port}"));
    for size_line in [
        "f".repeat(100),
        "zz".into(),
        "1;".to_owned() + &"a".repeat(70_000),
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let req = format!(
            "POST /x/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{size_line}\r\nhello\r\n0\r\n\r\n"
        );
        let _ = s.write_all(req.as_bytes());
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let (status, _) = parse_response(&out);
        assert_eq!(
            status,
            400,
            "chunk-size line {:.20}...: {}",
            size_line,
            String::from_utf8_lossy(&out)
        );
    }
    // A well-formed chunked body still goes through.
    let ok_port = good_backend();
    proxy.add_route("/ok", &format!("http://127.0.0.1:{ok_port}"));
    let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /ok/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert_eq!(
        parse_response(&out).0,
        200,
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the backend saw a malformed request"
    );
    assert!(proxy.alive());
}

/// Issue 10 item 7: a backend that answers before it has read the whole body (and then
/// closes, which resets the connection) gets its answer relayed, not replaced by a 503.
#[test]
fn early_answers_from_backends_are_relayed() {
    let _heavy = crate::heavy();
    let backend_port = backend(|mut s| {
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0usize;
        // Headers and some of the body, then answer and close without reading the rest.
        while got < 512 * 1024 {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got += n,
            }
        }
        let _ = s.write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 7\r\nConnection: close\r\n\r\ntoo big");
    });
    let proxy = ProxyProcess::start(&[]);
    proxy.add_route("/up", &format!("http://127.0.0.1:{backend_port}"));
    for mb in [1usize, 10, 100] {
        let size = mb * 1024 * 1024;
        let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /up/file HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut writer = s.try_clone().unwrap();
        let start = Instant::now();
        let upload = thread::spawn(move || {
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0;
            while sent < size {
                let n = chunk.len().min(size - sent);
                if writer.write_all(&chunk[..n]).is_err() {
                    return;
                }
                sent += n;
            }
        });
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let took = start.elapsed();
        let _ = s.shutdown(Shutdown::Both);
        let _ = upload.join();
        let (status, body) = parse_response(&out);
        assert_eq!((status, body.as_slice()), (413, &b"too big"[..]), "{mb} MB");
        assert!(
            took < Duration::from_secs(2),
            "{mb} MB: answered after {took:?}"
        );
    }
    assert!(proxy.alive());
}

/// Issue 17 item 7: route keys are bounded (a clear 400), and no key depth can overflow the
/// proxy's stack.
#[test]
fn route_keys_are_bounded_and_deep_ones_never_crash_the_proxy() {
    let proxy = ProxyProcess::start(&[]);
    let auth = format!("token {TOKEN}");
    let api = |method: &str, path: &str, body: &[u8]| {
        request(
            proxy.api_port,
            method,
            &format!("/api/routes{path}"),
            &[("Authorization", &auth)],
            body,
        )
        .0
    };
    let deep: String = (0..20_000).map(|i| format!("/s{i}")).collect();
    let target = br#"{"target": "http://127.0.0.1:9"}"#;
    // Refused before the table sees it: 400 for the key, or 414 for a URI over the limit.
    for method in ["POST", "DELETE"] {
        let status = api(method, &deep, target);
        assert!(status == 400 || status == 414, "{method}: {status}");
    }
    let long = format!("/{}", "y".repeat(5000));
    assert_eq!(api("POST", &long, target), 400);
    let ok: String = (0..256).map(|i| format!("/s{i}")).collect();
    assert_eq!(api("POST", &ok, target), 201);
    assert_eq!(api("DELETE", &ok, b""), 204);
    // Requests with deep paths are matched without trouble.
    let (status, _) = request(proxy.port, "GET", &deep, &[], b"");
    assert!([404, 414, 503].contains(&status), "{status}");
    assert!(proxy.alive());
}
