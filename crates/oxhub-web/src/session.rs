//! Browser sessions: the hub's cookies, who a cookie logs in, and XSRF tokens
//! (cookies-and-urls.md §1–§3).
//!
//! - `jupyterhub-session-id`: random, unsigned, names the browser session (OAuth tokens issued
//!   to it are revoked at logout);
//! - `jupyterhub-hub-login`: the signed login-session token;
//! - `_xsrf`: base64url of a signed value naming the session id. A write authenticated by
//!   cookie must repeat it (form field `_xsrf`, header `X-XSRFToken`/`X-CSRFToken`, or query).

use axum::http::{HeaderMap, Method};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oxhub_core::{Hub, Identity};

pub const LOGIN_COOKIE: &str = "jupyterhub-hub-login";
pub const SESSION_COOKIE: &str = "jupyterhub-session-id";
pub const XSRF_COOKIE: &str = "_xsrf";
/// XSRF tokens are accepted for 31 days (tornado's default).
const XSRF_MAX_AGE_DAYS: f64 = 31.0;

pub fn now_s() -> i64 {
    oxhub_core::clock::now_ms() / 1000
}

/// The value of cookie `name` in the request, if any (the last one wins, as in tornado).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"'))
        })
        .next_back()
}

/// Whether the browser reached us over https (directly or through the proxy).
pub fn is_https(hub: &Hub, headers: &HeaderMap) -> bool {
    if hub.config.hub.public_url.starts_with("https:") {
        return true;
    }
    ["x-forwarded-proto", "x-scheme"].iter().any(|h| {
        headers
            .get(*h)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
    })
}

/// A `Set-Cookie` value.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    http_only: bool,
    secure: bool,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

pub fn clear_cookie(name: &str, path: &str) -> String {
    format!("{name}=; Path={path}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
}

/// The login-session token in a valid signed login cookie.
pub fn login_token(hub: &Hub, headers: &HeaderMap) -> Option<String> {
    let signed = cookie(headers, LOGIN_COOKIE)?;
    let value = hub.cookies.verify(
        LOGIN_COOKIE,
        signed,
        hub.config.hub.cookie_max_age_days,
        now_s(),
    )?;
    String::from_utf8(value).ok()
}

/// The signed login cookie for a login-session token.
pub fn login_cookie(hub: &Hub, token: &str, secure: bool) -> String {
    let signed = hub.cookies.sign(LOGIN_COOKIE, token.as_bytes(), now_s());
    let path = format!("{}hub/", hub.config.hub.base_url);
    set_cookie(LOGIN_COOKIE, &signed, &path, true, secure, None)
}

/// Who the login cookie names, if it is valid and its session was not ended.
pub async fn cookie_identity(hub: &Hub, headers: &HeaderMap) -> Option<Identity> {
    let token = login_token(hub, headers)?;
    hub.authenticate(&token).await.ok().flatten()
}

/// The browser's session id; `None` if it has none yet (or an implausible one).
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned)
}

pub fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness a session id would be guessable; an empty one is refused later.
    if getrandom::getrandom(&mut bytes).is_err() {
        return String::new();
    }
    hex::encode(bytes)
}

pub fn session_cookie(hub: &Hub, id: &str, secure: bool) -> String {
    set_cookie(
        SESSION_COOKIE,
        id,
        &hub.config.hub.base_url,
        true,
        secure,
        None,
    )
}

/// The XSRF token for a session id.
pub fn xsrf_token(hub: &Hub, session_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(
        hub.cookies
            .sign(XSRF_COOKIE, session_id.as_bytes(), now_s()),
    )
}

/// The `_xsrf` cookie, if it is valid for this session.
pub fn current_xsrf<'a>(hub: &Hub, headers: &'a HeaderMap, session_id: &str) -> Option<&'a str> {
    let token = cookie(headers, XSRF_COOKIE)?;
    let signed = URL_SAFE_NO_PAD.decode(token).ok()?;
    let signed = String::from_utf8(signed).ok()?;
    let id = hub
        .cookies
        .verify(XSRF_COOKIE, &signed, XSRF_MAX_AGE_DAYS, now_s())?;
    (id == session_id.as_bytes()).then_some(token)
}

pub fn xsrf_cookie(hub: &Hub, token: &str, secure: bool) -> String {
    let path = format!("{}hub/", hub.config.hub.base_url);
    set_cookie(XSRF_COOKIE, token, &path, false, secure, None)
}

/// Whether a cookie-authenticated request must carry the XSRF token: every write, and
/// reads made by scripts (`fetch` with `cors`/`same-origin` mode). Navigation, websockets
/// and same-origin `no-cors` reads are exempt.
pub fn needs_xsrf(method: &Method, headers: &HeaderMap) -> bool {
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mode = header("sec-fetch-mode");
    if mode == "websocket" {
        return false;
    }
    let read_only = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !read_only {
        return true;
    }
    if mode.is_empty() || mode == "navigate" {
        return false;
    }
    !(mode == "no-cors" && header("sec-fetch-site") == "same-origin")
}

/// The token the request presents: header `X-XSRFToken`/`X-CSRFToken`, else `_xsrf` in
/// the query or form.
pub fn presented_xsrf<'a>(
    headers: &'a HeaderMap,
    query_or_form: Option<&'a str>,
) -> Option<&'a str> {
    headers
        .get("x-xsrftoken")
        .or_else(|| headers.get("x-csrftoken"))
        .and_then(|v| v.to_str().ok())
        .or(query_or_form)
}

/// The XSRF check: `Err` with JupyterHub's message when it fails.
pub fn check_xsrf(
    hub: &Hub,
    headers: &HeaderMap,
    presented: Option<&str>,
) -> Result<(), &'static str> {
    let Some(presented) = presented.filter(|p| !p.is_empty()) else {
        return Err("'_xsrf' argument missing from POST");
    };
    let session = session_id(headers).unwrap_or_default();
    match current_xsrf(hub, headers, &session) {
        Some(expected)
            if !session.is_empty() && subtle_eq(expected.as_bytes(), presented.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err("XSRF cookie does not match POST argument"),
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Compare digests so the time taken does not depend on where the inputs differ.
    Sha256::digest(a) == Sha256::digest(b)
}

/// `_xsrf` from a query string or urlencoded form.
pub fn form_value(text: &str, key: &str) -> Option<String> {
    form_pairs(text)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The pairs of an urlencoded string (`+` is a space).
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A query value, with RFC 3986's unreserved characters kept as they are.
pub fn encode(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsrf_needed_for_writes_and_script_reads_only() {
        let mut h = HeaderMap::new();
        assert!(needs_xsrf(&Method::POST, &h));
        assert!(!needs_xsrf(&Method::GET, &h));
        h.insert("sec-fetch-mode", "cors".parse().unwrap());
        assert!(needs_xsrf(&Method::GET, &h));
        h.insert("sec-fetch-mode", "navigate".parse().unwrap());
        assert!(!needs_xsrf(&Method::GET, &h));
        h.insert("sec-fetch-mode", "websocket".parse().unwrap());
        assert!(!needs_xsrf(&Method::GET, &h));
        h.insert("sec-fetch-mode", "no-cors".parse().unwrap());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!needs_xsrf(&Method::GET, &h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(needs_xsrf(&Method::GET, &h));
    }

    #[test]
    fn cookies_and_forms_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            "a=1; _xsrf=tok; b=\"2\"".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "_xsrf"), Some("tok"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        assert_eq!(
            form_value("x=1&_xsrf=a%2Bb+c", "_xsrf").as_deref(),
            Some("a+b c")
        );
    }
}
