//! Cookie login, the hub's cookies, XSRF on pages and on the API, redirects, OAuth endpoints
//! (cookies-and-urls.md, oauth-provider.md), against the real binary with the Dummy
//! authenticator. No spawner runs here (the e2e suite starts real servers).

use crate::api::Hub;
use std::collections::BTreeMap;

pub const PASSWORD: &str = "pages-password";
pub const ADMIN_TOKEN: &str = "pages-admin-token-0123456789";

pub fn hub(extra: &str) -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\n\
         c.ConfigurableHTTPProxy.should_start = False\nc.JupyterHub.authenticator_class = 'dummy'\n\
         c.DummyAuthenticator.password = '{PASSWORD}'\nc.Authenticator.admin_users = {{'admin'}}\n\
         c.JupyterHub.api_tokens = {{'{ADMIN_TOKEN}': 'admin'}}\n{extra}"
    );
    std::fs::write(dir.path().join("jupyterhub_config.py"), config).unwrap();
    let hub = Hub::start(dir.path());
    (dir, hub)
}

/// A minimal browser: a cookie jar and the raw answers.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

pub struct Answer {
    pub status: u16,
    /// The head, lower-cased (for header checks).
    pub head: String,
    raw_head: String,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> Option<String> {
        self.raw_head.lines().find_map(|l| {
            let (k, v) = l.split_once(": ")?;
            k.eq_ignore_ascii_case("location").then(|| v.to_owned())
        })
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|l| l.strip_prefix("set-cookie: ").map(str::to_owned))
            .collect()
    }
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// One request with the jar's cookies; `Set-Cookie` answers update the jar.
    pub fn send(
        &mut self,
        hub: &Hub,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Answer {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", hub.port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let body = body.unwrap_or("");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: hub.test:8000\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !self.cookies.is_empty() {
            head.push_str(&format!("Cookie: {}\r\n", self.cookie_header()));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        // The hub may answer (413) and close before a huge body is sent: not an error here.
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(body.as_bytes());
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let answer = Answer {
            status,
            head: head.to_ascii_lowercase(),
            raw_head: head.to_owned(),
            body: body.to_owned(),
        };
        for line in head.lines() {
            let Some(c) = line
                .strip_prefix("set-cookie: ")
                .or_else(|| line.strip_prefix("Set-Cookie: "))
            else {
                continue;
            };
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        answer
    }

    pub fn get(&mut self, hub: &Hub, path: &str) -> Answer {
        self.send(hub, "GET", path, None, &[])
    }

    /// The `_xsrf` value of the last form.
    pub fn form_xsrf(page: &Answer) -> String {
        let at = page
            .body
            .find("name=\"_xsrf\" value=\"")
            .expect("an _xsrf field");
        let rest = &page.body[at + "name=\"_xsrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// Log in through the form with `password`; returns the login POST's answer.
    pub fn login_with(&mut self, hub: &Hub, user: &str, password: &str) -> Answer {
        let page = self.get(hub, "/hub/login");
        assert_eq!(page.status, 200, "{}", page.body);
        let xsrf = Self::form_xsrf(&page);
        let form = format!(
            "_xsrf={}&username={}&password={}",
            encode(&xsrf),
            encode(user),
            encode(password)
        );
        self.send(
            hub,
            "POST",
            "/hub/login",
            Some(&form),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
    }

    /// Log in through the form; returns the login POST's answer.
    pub fn login(&mut self, hub: &Hub, user: &str, next: Option<&str>) -> Answer {
        let path = match next {
            Some(n) => format!("/hub/login?next={}", encode(n)),
            None => "/hub/login".to_owned(),
        };
        let page = self.get(hub, &path);
        assert_eq!(page.status, 200, "{}", page.body);
        let xsrf = Self::form_xsrf(&page);
        let form = format!(
            "_xsrf={}&username={}&password={PASSWORD}",
            encode(&xsrf),
            encode(user)
        );
        self.send(
            hub,
            "POST",
            &path,
            Some(&form),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
    }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn login_sets_signed_cookies_and_refuses_bad_passwords() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    let page = b.get(&hub, "/hub/login");
    assert_eq!(page.status, 200);
    assert!(b.cookies.contains_key("jupyterhub-session-id") && b.cookies.contains_key("_xsrf"));
    // Wrong password: 403 and the form again, no login cookie.
    let xsrf = Browser::form_xsrf(&page);
    let bad = b.send(
        &hub,
        "POST",
        "/hub/login",
        Some(&format!(
            "_xsrf={}&username=alice&password=nope",
            encode(&xsrf)
        )),
        &[],
    );
    assert_eq!(bad.status, 403);
    assert!(bad.body.contains("Invalid username or password"));
    assert!(!b.cookies.contains_key("jupyterhub-hub-login"));
    // Without the form's _xsrf the login is refused before the password is looked at.
    let mut fresh = Browser::default();
    fresh.get(&hub, "/hub/login");
    let no_xsrf = fresh.send(
        &hub,
        "POST",
        "/hub/login",
        Some(&format!("username=alice&password={PASSWORD}")),
        &[],
    );
    assert_eq!(no_xsrf.status, 403);
    assert!(no_xsrf.body.contains("_xsrf"), "{}", no_xsrf.body);
    // Right password: 302 to /hub/spawn, a signed HttpOnly login cookie scoped to /hub/.
    let ok = b.login(&hub, "Alice", None);
    assert_eq!(ok.status, 302, "{}", ok.body);
    assert_eq!(ok.location().as_deref(), Some("/hub/spawn"));
    let cookie = ok
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("jupyterhub-hub-login="))
        .unwrap();
    assert!(
        cookie.contains("path=/hub/") && cookie.contains("httponly"),
        "{cookie}"
    );
    assert!(
        b.cookies["jupyterhub-hub-login"].starts_with("2|1:0|"),
        "tornado v2 signed value"
    );
    // The name was normalised (lower case) and the user created.
    let (status, user) = hub.get("/hub/api/user", None);
    assert_eq!(status, 403);
    let me = b.send(&hub, "GET", "/hub/api/user", None, &[]);
    assert_eq!(me.status, 200, "{}", me.body);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["name"], "alice");
    assert!(user.is_object());
    // A tampered cookie is ignored.
    let mut forged = b.clone();
    let value = forged.cookies["jupyterhub-hub-login"].clone();
    forged.cookies.insert(
        "jupyterhub-hub-login".into(),
        value.replace("|1:0|", "|1:0|x"),
    );
    assert_eq!(
        forged.send(&hub, "GET", "/hub/api/user", None, &[]).status,
        403
    );
    // Login sessions are not API tokens the user manages.
    let (_, tokens) = hub.get("/hub/api/users/alice/tokens", Some(ADMIN_TOKEN));
    assert_eq!(tokens["api_tokens"], serde_json::json!([]));
}

#[test]
fn cookie_api_writes_need_the_xsrf_token() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    b.login(&hub, "alice", None);
    let xsrf = b.cookies["_xsrf"].clone();
    let json = [("Content-Type", "application/json")];
    // A write with the cookie alone is refused, whatever Sec-Fetch-* claims.
    for extra in [
        &[][..],
        &[
            ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Mode", "no-cors"),
        ][..],
    ] {
        let mut headers = json.to_vec();
        headers.extend_from_slice(extra);
        let r = b.send(
            &hub,
            "POST",
            "/hub/api/users/alice/tokens",
            Some("{}"),
            &headers,
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("_xsrf"), "{}", r.body);
    }
    // The header (either spelling) or the query argument passes.
    for (k, v) in [
        ("X-XSRFToken", xsrf.as_str()),
        ("X-CSRFToken", xsrf.as_str()),
    ] {
        let r = b.send(
            &hub,
            "POST",
            "/hub/api/users/alice/tokens",
            Some("{}"),
            &[("Content-Type", "application/json"), (k, v)],
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = b.send(
        &hub,
        "POST",
        &format!("/hub/api/users/alice/tokens?_xsrf={}", encode(&xsrf)),
        Some("{}"),
        &json,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // A token from another session does not match.
    let mut other = Browser::default();
    other.login(&hub, "alice", None);
    let r = b.send(
        &hub,
        "POST",
        "/hub/api/users/alice/tokens",
        Some("{}"),
        &[("X-XSRFToken", &other.cookies["_xsrf"])],
    );
    assert_eq!(r.status, 403);
    // Script reads need it too; navigations do not.
    let r = b.send(
        &hub,
        "GET",
        "/hub/api/user",
        None,
        &[("Sec-Fetch-Mode", "cors")],
    );
    assert_eq!(r.status, 403);
    let r = b.send(
        &hub,
        "GET",
        "/hub/api/user",
        None,
        &[("Sec-Fetch-Mode", "navigate")],
    );
    assert_eq!(r.status, 200);
    // Token-authenticated requests never need it.
    let (status, _, _) = hub.call(
        "POST",
        "/hub/api/users/alice/tokens",
        Some(ADMIN_TOKEN),
        Some("{}"),
        &[],
    );
    assert_eq!(status, 201);
}

#[test]
fn logout_ends_the_session_everywhere_it_was_used() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    b.login(&hub, "alice", None);
    let mut other = Browser::default();
    other.login(&hub, "alice", None);
    let captured = b.clone();
    let out = b.get(&hub, "/hub/logout");
    assert_eq!(out.status, 302);
    assert_eq!(out.location().as_deref(), Some("/hub/login"));
    assert!(!b.cookies.contains_key("jupyterhub-hub-login"));
    let mut replay = captured;
    assert_eq!(
        replay.send(&hub, "GET", "/hub/api/user", None, &[]).status,
        403
    );
    let home = replay.get(&hub, "/hub/home");
    assert_eq!(home.status, 302);
    assert!(home.location().unwrap().starts_with("/hub/login?next="));
    // The other browser stays logged in.
    assert_eq!(
        other.send(&hub, "GET", "/hub/api/user", None, &[]).status,
        200
    );
}

#[test]
fn redirects_of_the_url_scheme() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    assert_eq!(b.get(&hub, "/").location().as_deref(), Some("/hub/"));
    let r = b.get(&hub, "/hub");
    assert_eq!((r.status, r.location().as_deref()), (301, Some("/hub/")));
    let r = b.get(&hub, "/hub/");
    assert_eq!(r.location().as_deref(), Some("/hub/login?next=%2Fhub%2F"));
    // Outside /hub/: back to the hub's handler of the same path.
    let r = b.get(&hub, "/user/alice/lab?x=1");
    assert_eq!(r.location().as_deref(), Some("/hub/user/alice/lab?x=1"));
    let r = b.get(&hub, "/hub/nonexistent");
    assert_eq!(r.status, 404);
    assert!(r.head.contains("content-type: text/html"));
    b.login(&hub, "alice", None);
    // A stopped server: 424 page for browsers, JSON for API paths; others' servers are hidden.
    let r = b.get(&hub, "/hub/user/alice/lab");
    assert_eq!(r.status, 424);
    // (minijinja escapes `/` in attributes as `&#x2f;`, which browsers read as `/`.)
    assert!(
        r.body
            .replace("&#x2f;", "/")
            .contains("href=\"/hub/spawn/alice?next="),
        "{}",
        r.body
    );
    let r = b.get(&hub, "/hub/user/alice/api/contents");
    assert_eq!(r.status, 424);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["message"].as_str().unwrap().contains("no longer running"));
    hub.call("POST", "/hub/api/users/bob", Some(ADMIN_TOKEN), None, &[]);
    assert_eq!(b.get(&hub, "/hub/user/bob/lab").status, 404);
    let r = b.get(&hub, "/hub/user-redirect/lab/tree/x.ipynb");
    assert_eq!(
        r.location().as_deref(),
        Some("/hub/spawn/alice?next=%2Fuser%2Falice%2Flab%2Ftree%2Fx.ipynb")
    );
    let r = b.get(&hub, "/hub/home");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Start My Server"));
}

#[test]
fn oauth_endpoints_refuse_what_they_do_not_know() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    // Not logged in: to the login page, coming back here after.
    let r = b.get(
        &hub,
        "/hub/api/oauth2/authorize?client_id=x&response_type=code",
    );
    assert_eq!(r.status, 302);
    assert!(r
        .location()
        .unwrap()
        .starts_with("/hub/login?next=%2Fhub%2Fapi%2Foauth2%2Fauthorize"));
    b.login(&hub, "alice", None);
    // An unknown client is a fatal error page, never a redirect.
    let r = b.get(&hub, "/hub/api/oauth2/authorize?client_id=nope&response_type=code&redirect_uri=https://evil.example/cb");
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
    assert!(r.head.contains("content-type: text/html"));
    // The token endpoint: unknown client 401, other grants refused, OAuth's JSON.
    let (status, head, body) = hub.call(
        "POST",
        "/hub/api/oauth2/token",
        None,
        Some(
            "grant_type=authorization_code&client_id=nope&client_secret=x&code=y&redirect_uri=/cb",
        ),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(head.contains("cache-control: no-store"));
    let (status, _, body) = hub.call(
        "POST",
        "/hub/api/oauth2/token",
        None,
        Some("grant_type=password"),
        &[],
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[test]
fn a_service_gets_a_token_through_consent_and_pkce() {
    let (_dir, hub) = hub(
        "c.JupyterHub.services = [{'name': 'dash', 'url': 'http://127.0.0.1:9', 'api_token': 'dash-service-token-0123456789'}]\n\
         c.JupyterHub.load_roles = [{'name': 'user', 'scopes': ['self', 'access:services']}]\n",
    );
    let mut b = Browser::default();
    b.login(&hub, "alice", None);
    // PKCE: challenge = base64url(SHA-256(verifier)), computed by the test from known values.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = format!(
        "/hub/api/oauth2/authorize?client_id=service-dash&response_type=code&state=st8&code_challenge={challenge}&code_challenge_method=S256&redirect_uri={}",
        encode("/services/dash/oauth_callback")
    );
    // Not the user's own server: a consent page, with the scopes to confirm.
    let page = b.get(&hub, &authorize);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("JupyterHub service dash"),
        "{}",
        page.body
    );
    let xsrf = Browser::form_xsrf(&page);
    // The consent form without _xsrf is refused; with it, a code comes back with the state.
    let form = "scopes=read%3Ausers%3Aname%21user";
    let r = b.send(&hub, "POST", &authorize, Some(form), &[]);
    assert_eq!(r.status, 403);
    let r = b.send(
        &hub,
        "POST",
        &authorize,
        Some(&format!("{form}&_xsrf={}", encode(&xsrf))),
        &[],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let to = r.location().unwrap();
    assert!(
        to.starts_with("/services/dash/oauth_callback?code="),
        "{to}"
    );
    assert!(to.ends_with("&state=st8"), "{to}");
    let code = to
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let exchange = |verifier: &str, secret: &str| {
        hub.call(
            "POST",
            "/hub/api/oauth2/token",
            None,
            Some(&format!(
                "grant_type=authorization_code&client_id=service-dash&client_secret={secret}&code={code}&redirect_uri={}&code_verifier={verifier}",
                encode("/services/dash/oauth_callback")
            )),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
    };
    // A wrong secret is invalid_client and does not use the code up.
    let (status, _, body) = exchange(verifier, "wrong");
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // A wrong verifier fails and the code is gone (single use).
    let (status, _, body) = exchange(
        "not-the-verifier-0000000000000000000000000000",
        "dash-service-token-0123456789",
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _, body) = exchange(verifier, "dash-service-token-0123456789");
    assert_eq!(status, 400, "{body}");
    // A fresh code with the right verifier gets a token bound to the client.
    b.get(&hub, &authorize); // consent again: earlier tokens of this client do not exist yet
    let page = b.get(&hub, &authorize);
    let xsrf = Browser::form_xsrf(&page);
    let r = b.send(
        &hub,
        "POST",
        &authorize,
        Some(&format!("{form}&_xsrf={}", encode(&xsrf))),
        &[],
    );
    let to = r.location().unwrap();
    let code2 = to
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let (status, head, body) = hub.call(
        "POST",
        "/hub/api/oauth2/token",
        None,
        Some(&format!(
            "grant_type=authorization_code&client_id=service-dash&client_secret=dash-service-token-0123456789&code={code2}&redirect_uri={}&code_verifier={verifier}",
            encode("/services/dash/oauth_callback")
        )),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("cache-control: no-store"));
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    let (status, me) = hub.get("/hub/api/user", Some(token));
    assert_eq!(status, 200);
    assert_eq!(me["name"], "alice");
    let scopes: Vec<&str> = me["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"access:services!service=dash"),
        "{scopes:?}"
    );
    assert!(!scopes.iter().any(|s| s.starts_with("admin")), "{scopes:?}");
    // The token shows its client; deleting it revokes the client's access.
    let (_, tokens) = hub.get("/hub/api/users/alice/tokens", Some(ADMIN_TOKEN));
    let t = tokens["api_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["oauth_client"] == "service-dash")
        .unwrap()
        .clone();
    let (status, _, _) = hub.call(
        "DELETE",
        &format!("/hub/api/users/alice/tokens/{}", t["id"].as_str().unwrap()),
        Some(ADMIN_TOKEN),
        None,
        &[],
    );
    assert_eq!(status, 204);
    assert_eq!(hub.get("/hub/api/user", Some(token)).0, 403);
}

/// Issue 10 item 5: a successful login issues a new `jupyterhub-session-id` (and an `_xsrf`
/// bound to it), so a session id planted before login, and the XSRF token minted for it,
/// are useless after it (session fixation).
#[test]
fn login_rotates_the_session_id_and_its_xsrf_token() {
    let (_dir, hub) = hub("");
    // The attacker fetches the login form and plants its cookies in the victim's browser.
    let mut attacker = Browser::default();
    attacker.get(&hub, "/hub/login");
    let planted_session = attacker.cookies["jupyterhub-session-id"].clone();
    let planted_xsrf = attacker.cookies["_xsrf"].clone();
    let mut victim = Browser::default();
    victim
        .cookies
        .insert("jupyterhub-session-id".into(), planted_session.clone());
    victim.cookies.insert("_xsrf".into(), planted_xsrf.clone());
    let r = victim.login(&hub, "alice", None);
    assert_eq!(r.status, 302, "{}", r.body);
    let fresh = victim.cookies["jupyterhub-session-id"].clone();
    assert_ne!(fresh, planted_session, "the session id survived the login");
    assert_ne!(
        victim.cookies["_xsrf"], planted_xsrf,
        "the XSRF token survived the login"
    );
    let json = ("Content-Type", "application/json");
    // The planted XSRF token no longer passes for the victim's cookie writes...
    let r = victim.send(
        &hub,
        "POST",
        "/hub/api/users/alice/tokens",
        Some("{}"),
        &[json, ("X-XSRFToken", &planted_xsrf)],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // ...the new one does.
    let xsrf = victim.cookies["_xsrf"].clone();
    let r = victim.send(
        &hub,
        "POST",
        "/hub/api/users/alice/tokens",
        Some("{}"),
        &[json, ("X-XSRFToken", &xsrf)],
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Login protection: after five wrong passwords for a name, the next attempts wait (429 with
/// `Retry-After` on the login page, even with the right password); other names, and the
/// failures from other addresses behind the proxy, are counted apart.
#[test]
fn repeated_failed_logins_are_slowed_down() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    for _ in 0..6 {
        assert_eq!(b.login_with(&hub, "mallory", "guess").status, 403);
    }
    let r = b.login_with(&hub, "mallory", PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.head.contains("retry-after: "), "{}", r.head);
    assert!(
        r.body.contains("Too many failed login attempts"),
        "{}",
        r.body
    );
    // alice is not mallory.
    assert_eq!(
        Browser::default()
            .login_with(&hub, "alice", PASSWORD)
            .status,
        302
    );
    let failed = "Failed login for \"mallory\" from 127.0.0.1";
    let log = hub.log_containing(failed);
    assert!(log.contains(failed), "{log}");
    assert!(!log.contains("guess"), "a password was logged");
}

/// `Authenticator.request_otp` adds a one-time password field with `otp_prompt` as its label
/// (escaped like everything else on the page); without it there is none.
#[test]
fn the_login_form_asks_for_a_one_time_password_when_configured() {
    let (_dir, plain) = hub("");
    let page = Browser::default().get(&plain, "/hub/login");
    assert!(!page.body.contains("name=\"otp\""), "{}", page.body);
    let (_dir, hub) = hub(
        "c.Authenticator.request_otp = True\nc.Authenticator.otp_prompt = 'Code <6 digits>:'\n",
    );
    let page = Browser::default().get(&hub, "/hub/login");
    assert!(page.body.contains("name=\"otp\""), "{}", page.body);
    assert!(
        page.body.contains("Code &lt;6 digits&gt;:"),
        "{}",
        page.body
    );
}

/// `/hub/token` lists the user's API tokens (notes escaped) and no login session, offers
/// JupyterHub's expiry choices, and needs a login.
#[test]
fn the_token_page_lists_tokens_and_offers_expiry_choices() {
    let (_dir, hub) = hub("c.JupyterHub.token_expires_in_max_seconds = 7200\n");
    assert_eq!(Browser::default().get(&hub, "/hub/token").status, 302);
    let mut b = Browser::default();
    assert_eq!(b.login(&hub, "alice", None).status, 302);
    let body = r#"{"note": "<script>alert(1)</script>", "expires_in": 3600}"#;
    let (status, _, _) = hub.call(
        "POST",
        "/hub/api/users/alice/tokens",
        Some(ADMIN_TOKEN),
        Some(body),
        &[],
    );
    assert_eq!(status, 201);
    let page = b.get(&hub, "/hub/token");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert(1)"));
    assert_eq!(
        page.body.matches("class=\"token-row\"").count(),
        1,
        "the login session is not listed"
    );
    assert!(
        page.body.contains("Max (2 hours)") && !page.body.contains("1 Day"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<h1 class=\"visually-hidden\">Manage JupyterHub Tokens</h1>"));
}

/// `/hub/accept-share`: the invited user sees what is shared, accepts with the form's XSRF token
/// and is sent to the server; the owner cannot accept their own code; an unknown code is 404
/// (GET) or 400 (POST); a hostile `next` is escaped and never followed off the hub.
#[test]
fn share_codes_are_accepted_in_the_browser() {
    let (_dir, hub) = hub("");
    for user in ["alice", "bob"] {
        let path = format!("/hub/api/users/{user}");
        assert_eq!(hub.call("POST", &path, Some(ADMIN_TOKEN), None, &[]).0, 201);
    }
    let (status, _, code) = hub.call(
        "POST",
        "/hub/api/share-codes/alice/",
        Some(ADMIN_TOKEN),
        Some(r#"{"expires_in": 3600}"#),
        &[],
    );
    assert_eq!(status, 200, "{code}");
    let secret = code["code"].as_str().unwrap().to_owned();
    let mut alice = Browser::default();
    assert_eq!(alice.login(&hub, "alice", None).status, 302);
    let own = alice.get(&hub, &format!("/hub/accept-share?code={secret}"));
    assert_eq!(own.status, 403, "{}", own.body);
    assert!(
        own.body.contains("You can&#x27;t share with yourself!"),
        "{}",
        own.body
    );

    let mut bob = Browser::default();
    assert_eq!(bob.login(&hub, "bob", None).status, 302);
    assert_eq!(bob.get(&hub, "/hub/accept-share?code=sc_nope").status, 404);
    let hostile = encode("\"><script>alert(1)</script>");
    let page = bob.get(
        &hub,
        &format!("/hub/accept-share?code={secret}&next={hostile}"),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("alice's server") && page.body.contains("not running"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    // Without the form's token the POST is refused; with it the share is made.
    let bare = bob.send(
        &hub,
        "POST",
        "/hub/accept-share",
        Some(&format!("code={secret}")),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(bare.status, 403);
    let form = format!("_xsrf={}&code={secret}", encode(&Browser::form_xsrf(&page)));
    let r = bob.send(
        &hub,
        "POST",
        "/hub/accept-share?next=%2F%2Fevil.com",
        Some(&form),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(
        r.location().as_deref(),
        Some("/user/alice/"),
        "an off-hub next is dropped"
    );
    let (_, shares) = hub.get("/hub/api/users/bob/shared", Some(ADMIN_TOKEN));
    assert_eq!(
        shares["items"][0]["server"]["user"]["name"], "alice",
        "{shares}"
    );
    let r = bob.send(
        &hub,
        "POST",
        "/hub/accept-share",
        Some(&format!(
            "_xsrf={}&code=sc_nope",
            encode(&Browser::form_xsrf(&page))
        )),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Invalid share code"), "{}", r.body);
}

/// `/hub/static/`: embedded assets only, a versioned URL cached for a year, no path ever
/// leaving the asset table; `/hub/logo` honours `logo_file`; pages link the versioned CSS.
#[test]
fn static_assets_are_embedded_versioned_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, b"\x89PNG fake").unwrap();
    let (_d, hub) = hub(&format!("c.JupyterHub.logo_file = '{}'\n", logo.display()));
    let mut b = Browser::default();
    let page = b.get(&hub, "/hub/login");
    let at = page
        .body
        .find("hub&#x2f;static&#x2f;css&#x2f;style.css?v=")
        .expect("a versioned stylesheet link");
    let version: String = page.body[at..]
        .chars()
        .skip_while(|c| *c != '=')
        .skip(1)
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(version.len(), 64);
    let css = b.get(&hub, &format!("/hub/static/css/style.css?v={version}"));
    assert_eq!(css.status, 200);
    assert!(css.head.contains("content-type: text/css"), "{}", css.head);
    assert!(
        css.head
            .contains("cache-control: public, max-age=31536000, immutable"),
        "{}",
        css.head
    );
    let plain = b.get(&hub, "/hub/static/css/style.css");
    assert!(
        plain.head.contains("cache-control: no-cache"),
        "{}",
        plain.head
    );
    assert_eq!(b.get(&hub, "/hub/static/favicon.ico").status, 200);
    for path in [
        "/hub/static/../../etc/passwd",
        "/hub/static/%2e%2e/%2e%2e/etc/passwd",
        "/hub/static/css%2fstyle.css",
        "/hub/static/css\\style.css",
        "/hub/static/..%5c..%5cCargo.toml",
        "/hub/static/",
        "/hub/static/nope.js",
    ] {
        let r = b.get(&hub, path);
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.body.contains("root:"), "{path}");
    }
    let l = b.get(&hub, "/hub/logo");
    assert_eq!(l.status, 200);
    assert!(l.head.contains("content-type: image/png"), "{}", l.head);
    assert!(l.body.contains("PNG fake"));
}
