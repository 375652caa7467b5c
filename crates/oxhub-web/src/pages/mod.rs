//! The HTML side of the hub (cookies-and-urls.md §4): login and logout, home, spawn,
//! spawn-pending, the not-running pages behind `/hub/user/...`, redirects, and the OAuth
//! authorize/token endpoints the single-user servers use.

mod next;
mod render;

use crate::models::{path_segment, server_url};
use crate::session::*;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use oxhub_core::lifecycle::Started;
use oxhub_core::oauth::{Authorize, AuthorizeRequest};
use oxhub_core::{Hub, HubError, Identity, Subject};
use oxhub_model::scope::Resource;
use serde_json::{json, Value};
use std::sync::Arc;

pub use next::safe_next;
pub use render::error_page;
use render::render;

type S = State<Arc<Hub>>;

pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/", get(root))
        .route("/hub", get(add_slash))
        .route("/hub/", get(hub_root))
        .route("/hub/login", get(login_form).post(login_submit))
        .route("/hub/logout", get(logout))
        .route("/hub/home", get(home))
        .route("/hub/spawn", get(spawn_own).post(spawn_own_post))
        .route(
            "/hub/spawn/{user}",
            get(spawn_default).post(spawn_default_post),
        )
        .route(
            "/hub/spawn/{user}/{server}",
            get(spawn_named).post(spawn_named_post),
        )
        .route("/hub/spawn-pending/{user}", get(pending_default))
        .route("/hub/spawn-pending/{user}/{server}", get(pending_named))
        .route("/hub/user/{user}", axum::routing::any(user_url))
        .route("/hub/user/{user}/", axum::routing::any(user_url))
        .route("/hub/user/{user}/{*rest}", axum::routing::any(user_url))
        .route("/hub/user-redirect/{*rest}", get(user_redirect))
        .route("/hub/error/{code}", get(proxy_error))
        .route("/hub/favicon.ico", get(favicon))
        .route("/hub/static/favicon.ico", get(favicon))
        .route("/hub/static/favicon.svg", get(favicon))
        .fallback(fallback)
}

/// The hub's icon (browsers ask for it on every page).
async fn favicon() -> Response {
    (
        [
            (http::header::CONTENT_TYPE, "image/svg+xml"),
            (http::header::CACHE_CONTROL, "max-age=86400"),
        ],
        include_str!("../../static/favicon.svg"),
    )
        .into_response()
}

// ---- helpers ----

struct Ctx {
    base: String,
}

impl Ctx {
    fn of(hub: &Hub) -> Ctx {
        Ctx {
            base: hub.config.hub.base_url.clone(),
        }
    }
    fn hub(&self, path: &str) -> String {
        format!("{}hub/{path}", self.base)
    }
    /// A hub page about one server: `/hub/<page>/<user>[/<server>]`, names escaped.
    fn server_page(&self, page: &str, user: &str, server: &str) -> String {
        let mut u = format!("{}hub/{page}/{}", self.base, path_segment(user));
        if !server.is_empty() {
            u.push('/');
            u.push_str(&path_segment(server));
        }
        u
    }
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(http::header::LOCATION, to.to_owned())]).into_response()
}

fn with_cookies(mut resp: Response, cookies: Vec<String>) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    resp
}

fn query_value(uri: &http::Uri, key: &str) -> Option<String> {
    uri.query().and_then(|q| form_value(q, key))
}

/// A query value, with RFC 3986's unreserved characters kept as they are.
fn encode(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, KEEP).to_string()
}

/// The XSRF check of a submitted form (field `_xsrf`, or the headers).
fn check_form_xsrf(hub: &Hub, headers: &HeaderMap, form: &str) -> Result<(), &'static str> {
    let presented = form_value(form, "_xsrf");
    check_xsrf(hub, headers, presented_xsrf(headers, presented.as_deref()))
}

/// The logged-in user, else a redirect to the login page (GET) or 403 (other methods).
async fn login_required(
    hub: &Hub,
    headers: &HeaderMap,
    method: &Method,
    uri: &http::Uri,
) -> Result<(Identity, String), Response> {
    if let Some(who) = cookie_identity(hub, headers).await {
        if let Subject::User { name, .. } = &who.subject {
            let name = name.clone();
            return Ok((who, name));
        }
    }
    let ctx = Ctx::of(hub);
    if matches!(*method, Method::GET | Method::HEAD) {
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        Err(redirect(&format!(
            "{}?next={}",
            ctx.hub("login"),
            encode(target)
        )))
    } else {
        Err(error_page(
            &ctx.base,
            None,
            StatusCode::FORBIDDEN,
            "Login required",
        ))
    }
}

/// The session id of this browser, and the cookie to set if it is new.
fn ensure_session(hub: &Hub, headers: &HeaderMap) -> (String, Option<String>) {
    match session_id(headers) {
        Some(id) => (id, None),
        None => {
            let id = new_session_id();
            let cookie = session_cookie(hub, &id, is_https(hub, headers));
            (id, Some(cookie))
        }
    }
}

/// The XSRF token for this session, and the cookie to set when the browser lacks it.
fn ensure_xsrf(hub: &Hub, headers: &HeaderMap, session: &str) -> (String, Option<String>) {
    if let Some(t) = current_xsrf(hub, headers, session) {
        return (t.to_owned(), None);
    }
    let token = xsrf_token(hub, session);
    let mode = headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("navigate");
    let cookie = (mode == "navigate").then(|| xsrf_cookie(hub, &token, is_https(hub, headers)));
    (token, cookie)
}

/// Where to go after login when no (valid) `next` was given.
async fn default_next(hub: &Hub, user: &str) -> String {
    let ctx = Ctx::of(hub);
    if let Some(url) = hub.config.hub.default_url.clone().filter(|u| !u.is_empty()) {
        return url;
    }
    if !hub.config.hub.redirect_to_server {
        return ctx.hub("home");
    }
    match hub.store.server(user, "").await {
        Ok(Some(row)) if row.ready => server_url(&ctx.base, user, ""),
        _ => ctx.hub("spawn"),
    }
}

async fn next_or_default(hub: &Hub, headers: &HeaderMap, next: Option<&str>, user: &str) -> String {
    match next.and_then(|n| safe_next(n, &hub.config.hub.public_url, headers)) {
        Some(n) => n,
        None => default_next(hub, user).await,
    }
}

// ---- redirects ----

async fn root(State(hub): S) -> Response {
    redirect(&Ctx::of(&hub).hub(""))
}

async fn add_slash(State(hub): S, OriginalUri(uri): OriginalUri) -> Response {
    let mut to = format!("{}/", uri.path());
    if let Some(q) = uri.query() {
        to.push('?');
        to.push_str(q);
    }
    let _ = hub;
    (
        StatusCode::MOVED_PERMANENTLY,
        [(http::header::LOCATION, to)],
    )
        .into_response()
}

async fn hub_root(State(hub): S, headers: HeaderMap) -> Response {
    let ctx = Ctx::of(&hub);
    match cookie_identity(&hub, &headers).await {
        Some(who) if matches!(who.subject, Subject::User { .. }) => {
            redirect(&default_next(&hub, who.subject.name()).await)
        }
        _ => redirect(&format!(
            "{}?next={}",
            ctx.hub("login"),
            encode(&ctx.hub(""))
        )),
    }
}

/// Outside `/hub/`: send the browser to the hub's handler of the same path (a server whose
/// route is missing lands on `/hub/user/...`). Inside `/hub/`: 404.
async fn fallback(State(hub): S, OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let ctx = Ctx::of(&hub);
    let path = uri.path();
    let hub_prefix = ctx.hub("");
    if path.starts_with(&hub_prefix) || format!("{path}/") == hub_prefix {
        let user = cookie_identity(&hub, &headers)
            .await
            .map(|w| w.subject.name().to_owned());
        return error_page(&ctx.base, user.as_deref(), StatusCode::NOT_FOUND, "");
    }
    let rest = path
        .strip_prefix(&ctx.base)
        .unwrap_or(path.trim_start_matches('/'));
    let mut to = ctx.hub(rest);
    if let Some(q) = uri.query() {
        to.push('?');
        to.push_str(q);
    }
    redirect(&to)
}

async fn proxy_error(State(hub): S, Path(code): Path<String>) -> Response {
    let status = code
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY
    {
        "Your server appears to be down. Try restarting it from the hub."
    } else {
        ""
    };
    error_page(&Ctx::of(&hub).base, None, status, message)
}

// ---- login and logout ----

fn login_page(
    hub: &Hub,
    headers: &HeaderMap,
    uri: &http::Uri,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let ctx = Ctx::of(hub);
    let (session, session_cookie) = ensure_session(hub, headers);
    let (xsrf, xsrf_cookie) = if session_cookie.is_some() {
        let t = xsrf_token(hub, &session);
        let c = xsrf_cookie(hub, &t, is_https(hub, headers));
        (t, Some(c))
    } else {
        ensure_xsrf(hub, headers, &session)
    };
    let mut login_url = ctx.hub("login");
    if let Some(next) = query_value(uri, "next") {
        login_url.push_str(&format!("?next={}", encode(&next)));
    }
    let resp = render(
        status,
        "login.html",
        json!({
            "base_url": ctx.base,
            "user": null,
            "xsrf": xsrf,
            "login_url": login_url,
            // A name too long to be valid is not echoed back.
            "username": if username.len() <= 255 { username } else { "" },
            "login_error": error,
        }),
    );
    with_cookies(
        resp,
        session_cookie.into_iter().chain(xsrf_cookie).collect(),
    )
}

async fn login_form(State(hub): S, headers: HeaderMap, OriginalUri(uri): OriginalUri) -> Response {
    if let Some(who) = cookie_identity(&hub, &headers).await {
        if let Subject::User { name, .. } = &who.subject {
            let next = query_value(&uri, "next");
            return redirect(&next_or_default(&hub, &headers, next.as_deref(), name).await);
        }
    }
    login_page(&hub, &headers, &uri, StatusCode::OK, "", None)
}

async fn login_submit(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let ctx = Ctx::of(&hub);
    let form = String::from_utf8_lossy(&body).into_owned();
    if let Err(why) = check_form_xsrf(&hub, &headers, &form) {
        return error_page(&ctx.base, None, StatusCode::FORBIDDEN, why);
    }
    // Every field but `_xsrf` goes to the authenticator; only the username is trimmed (a
    // password may hold spaces), as JupyterHub does.
    let mut fields: std::collections::BTreeMap<String, String> = form_pairs(&form)
        .into_iter()
        .filter(|(k, _)| k != "_xsrf")
        .collect();
    let username = fields
        .get("username")
        .map(|u| u.trim().to_owned())
        .unwrap_or_default();
    fields.insert("username".into(), username.clone());
    let request = oxhub_plugin::auth::LoginRequest::Form(fields);
    let Some(old_session) = session_id(&headers) else {
        return error_page(&ctx.base, None, StatusCode::FORBIDDEN, "No session");
    };
    // A successful login starts a new browser session: a session id planted before the login
    // (a sibling subdomain can set cookies), and any XSRF token minted for it, are worth
    // nothing after it (session fixation).
    let session = new_session_id();
    match hub.login(&request, &session).await {
        Ok(Ok(login)) => {
            if let Err(e) = hub.end_session(&old_session).await {
                tracing::warn!("ending the pre-login session: {e}");
            }
            let next = query_value(&uri, "next");
            let to = next_or_default(&hub, &headers, next.as_deref(), &login.user).await;
            let secure = is_https(&hub, &headers);
            let xsrf = xsrf_token(&hub, &session);
            with_cookies(
                redirect(&to),
                vec![
                    session_cookie(&hub, &session, secure),
                    xsrf_cookie(&hub, &xsrf, secure),
                    login_cookie(&hub, &login.token, secure),
                ],
            )
        }
        Ok(Err(_refused)) => login_page(
            &hub,
            &headers,
            &uri,
            StatusCode::FORBIDDEN,
            &username,
            Some("Invalid username or password"),
        ),
        Err(e) => {
            tracing::error!("login: {e}");
            error_page(
                &ctx.base,
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login failed",
            )
        }
    }
}

async fn logout(State(hub): S, headers: HeaderMap) -> Response {
    let ctx = Ctx::of(&hub);
    let who = cookie_identity(&hub, &headers).await;
    if let Some(session) = session_id(&headers) {
        match hub.end_session(&session).await {
            Ok(n) => tracing::info!("Logged out; {n} tokens of the session revoked"),
            Err(e) => tracing::error!("logout: {e}"),
        }
    }
    if let Some(who) = &who {
        if hub.config.hub.shutdown_on_logout {
            let user = who.subject.name().to_owned();
            if let Ok(servers) = hub.store.servers_of(&user).await {
                for s in servers.into_iter().filter(|s| s.started.is_some()) {
                    if let Err(e) = hub.stop_server(who, &user, &s.name).await {
                        tracing::warn!("shutdown_on_logout {user}/{}: {e}", s.name);
                    }
                }
            }
        }
    }
    let hub_path = ctx.hub("");
    with_cookies(
        redirect(&ctx.hub("login")),
        vec![
            clear_cookie(SESSION_COOKIE, &ctx.base),
            clear_cookie(LOGIN_COOKIE, &hub_path),
            clear_cookie("jupyterhub-services", &format!("{}services", ctx.base)),
            clear_cookie(XSRF_COOKIE, &hub_path),
        ],
    )
}

// ---- home ----

async fn home(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let (_who, user) = match login_required(&hub, &headers, &method, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ctx = Ctx::of(&hub);
    let servers = hub.store.servers_of(&user).await.unwrap_or_default();
    let view = |s: &oxhub_store::ServerRow| {
        json!({
            "name": s.name,
            "path": path_segment(&s.name),
            "display_name": if s.display_name.is_empty() { s.name.clone() } else { s.display_name.clone() },
            "active": s.active(),
            "url": server_url(&ctx.base, &user, &s.name),
            "last_activity": s.last_activity.map(oxhub_core::clock::isoformat),
        })
    };
    let default = servers
        .iter()
        .find(|s| s.name.is_empty())
        .map(&view)
        .unwrap_or_else(|| json!({"active": false}));
    let named: Vec<Value> = servers
        .iter()
        .filter(|s| !s.name.is_empty())
        .map(view)
        .collect();
    let session = session_id(&headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
    let resp = render(
        StatusCode::OK,
        "home.html",
        json!({
            "base_url": ctx.base,
            "user": user,
            "user_path": path_segment(&user),
            "xsrf": xsrf,
            "default_server": default,
            "named_servers": named,
            "allow_named_servers": hub.config.hub.allow_named_servers,
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

// ---- spawn ----

async fn spawn_own(state: S, headers: HeaderMap, method: Method, uri: OriginalUri) -> Response {
    spawn_page(state, headers, method, uri, None, String::new(), None).await
}
async fn spawn_own_post(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    body: Bytes,
) -> Response {
    spawn_page(state, headers, method, uri, None, String::new(), Some(body)).await
}
async fn spawn_default(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    Path(user): Path<String>,
) -> Response {
    spawn_page(state, headers, method, uri, Some(user), String::new(), None).await
}
async fn spawn_default_post(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    spawn_page(
        state,
        headers,
        method,
        uri,
        Some(user),
        String::new(),
        Some(body),
    )
    .await
}
async fn spawn_named(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    Path((user, server)): Path<(String, String)>,
) -> Response {
    spawn_page(state, headers, method, uri, Some(user), server, None).await
}
async fn spawn_named_post(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    Path((user, server)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    spawn_page(state, headers, method, uri, Some(user), server, Some(body)).await
}

/// User options from `opt-<key>=value` query arguments, or from a submitted form (each key a
/// list of values, as JupyterHub's default `options_from_form`).
fn options_from(pairs: &[(String, String)], prefix: &str) -> Option<Value> {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if k == "_xsrf" || k == "next" {
            continue;
        }
        let Some(key) = k.strip_prefix(prefix) else {
            continue;
        };
        let entry = map
            .entry(key.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(v.clone()));
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

async fn spawn_page(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
    target: Option<String>,
    server: String,
    body: Option<Bytes>,
) -> Response {
    let (who, me) = match login_required(&hub, &headers, &method, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ctx = Ctx::of(&hub);
    let user = target.unwrap_or_else(|| me.clone());
    let fail =
        |status: StatusCode, message: &str| error_page(&ctx.base, Some(&me), status, message);
    if hub
        .require(
            &who,
            &["servers"],
            Resource::Server {
                user: &user,
                server: &server,
            },
        )
        .await
        .is_err()
    {
        return fail(
            StatusCode::FORBIDDEN,
            &format!("You do not have permission to start {user}'s server"),
        );
    }
    if !server.is_empty() && !hub.config.hub.allow_named_servers {
        return fail(StatusCode::BAD_REQUEST, "Named servers are not enabled.");
    }
    let next = query_value(&uri, "next");
    let server_path = server_url(&ctx.base, &user, &server);
    let pending_url = {
        let mut u = ctx.server_page("spawn-pending", &user, &server);
        if let Some(n) = &next {
            u.push_str(&format!("?next={}", encode(n)));
        }
        u
    };
    let row = hub.store.server(&user, &server).await.ok().flatten();
    if let Some(row) = &row {
        if row.ready && row.pending.is_none() {
            if body.is_some() {
                return fail(StatusCode::BAD_REQUEST, "Server is already running");
            }
            let to = next
                .as_deref()
                .and_then(|n| safe_next(n, &hub.config.hub.public_url, &headers))
                .unwrap_or(server_path);
            return redirect(&to);
        }
        if row.pending.is_some() {
            if body.is_some() {
                return fail(StatusCode::BAD_REQUEST, "Server is already pending");
            }
            return redirect(&pending_url);
        }
    }
    let options = match &body {
        Some(body) => {
            let form = String::from_utf8_lossy(body).into_owned();
            if let Err(why) = check_form_xsrf(&hub, &headers, &form) {
                return fail(StatusCode::FORBIDDEN, why);
            }
            Some(options_from(&form_pairs(&form), "").unwrap_or_else(|| json!({})))
        }
        None => {
            let pairs = uri.query().map(form_pairs).unwrap_or_default();
            let opts = options_from(&pairs, "opt-");
            if opts.is_none() && !hub.config.spawner.options_form.is_empty() {
                let session = session_id(&headers).unwrap_or_default();
                let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
                let resp = render(
                    StatusCode::OK,
                    "spawn.html",
                    json!({
                        "base_url": ctx.base, "user": me, "xsrf": xsrf,
                        "url": uri.path_and_query().map_or("", |p| p.as_str()),
                        "spawner_options_form": hub.config.spawner.options_form,
                    }),
                );
                return with_cookies(resp, cookie.into_iter().collect());
            }
            opts
        }
    };
    match hub.start_server(&who, &user, &server, options).await {
        Ok(Started::Ready | Started::Pending) => redirect(&pending_url),
        Err(HubError::SpawnFailed(_)) => redirect(&pending_url),
        Err(e) => {
            // ApiError keeps internal details out of the message (they are logged).
            let e = crate::ApiError::from(e);
            fail(e.status, &e.message)
        }
    }
}

async fn pending_default(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    Path(user): Path<String>,
) -> Response {
    spawn_pending(state, headers, method, uri, user, String::new()).await
}
async fn pending_named(
    state: S,
    headers: HeaderMap,
    method: Method,
    uri: OriginalUri,
    Path((user, server)): Path<(String, String)>,
) -> Response {
    spawn_pending(state, headers, method, uri, user, server).await
}

async fn spawn_pending(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
    user: String,
    server: String,
) -> Response {
    let (who, me) = match login_required(&hub, &headers, &method, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ctx = Ctx::of(&hub);
    if hub
        .require(
            &who,
            &["servers"],
            Resource::Server {
                user: &user,
                server: &server,
            },
        )
        .await
        .is_err()
    {
        return error_page(
            &ctx.base,
            Some(&me),
            StatusCode::NOT_FOUND,
            "No such server",
        );
    }
    let row = hub.store.server(&user, &server).await.ok().flatten();
    let next =
        query_value(&uri, "next").and_then(|n| safe_next(&n, &hub.config.hub.public_url, &headers));
    let server_path = server_url(&ctx.base, &user, &server);
    let spawn_url = ctx.server_page("spawn", &user, &server);
    let progress = hub.spawn_progress(&user, &server);
    match &row {
        Some(r) if r.ready && r.pending.is_none() => {
            return redirect(next.as_deref().unwrap_or(&server_path));
        }
        Some(r) if r.pending.as_deref() == Some("spawn") => {
            let session = session_id(&headers).unwrap_or_default();
            let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
            let api = if server.is_empty() {
                format!(
                    "{}api/users/{}/server/progress",
                    ctx.hub(""),
                    path_segment(&user)
                )
            } else {
                format!(
                    "{}api/users/{}/servers/{}/progress",
                    ctx.hub(""),
                    path_segment(&user),
                    path_segment(&server)
                )
            };
            let resp = render(
                StatusCode::OK,
                "spawn_pending.html",
                json!({
                    "base_url": ctx.base, "user": me, "xsrf": xsrf,
                    "progress_url": format!("{api}?_xsrf={}", encode(&xsrf)),
                    "next_url": next.clone().unwrap_or_default(),
                }),
            );
            return with_cookies(resp, cookie.into_iter().collect());
        }
        _ => {}
    }
    let failure = progress
        .and_then(|p| p.outcome())
        .filter(|o| o.get("failed") == Some(&Value::Bool(true)))
        .and_then(|o| o.get("message").and_then(Value::as_str).map(str::to_owned));
    let status = if failure.is_some() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    render(
        status,
        "not_running.html",
        json!({
            "base_url": ctx.base, "user": me,
            "failed": failure.is_some(), "failed_message": failure,
            "server_name": server, "spawn_url": spawn_url,
        }),
    )
}

// ---- /hub/user/... ----

/// `/hub/user/<name>/...` is reached when the proxy has no route for the server: redirect back
/// once it runs, to spawn-pending while it starts, else "not running" (424).
async fn user_url(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Path(params): Path<std::collections::HashMap<String, String>>,
) -> Response {
    let ctx = Ctx::of(&hub);
    let user = params.get("user").cloned().unwrap_or_default();
    let rest = params.get("rest").cloned().unwrap_or_default();
    let token_who = crate::api::token_identity(&hub, &headers).await;
    let who = match token_who {
        Some(w) => Some(w),
        None => {
            let w = cookie_identity(&hub, &headers).await;
            if w.is_some() && needs_xsrf(&method, &headers) {
                let q = query_value(&uri, "_xsrf");
                if let Err(why) = check_xsrf(&hub, &headers, presented_xsrf(&headers, q.as_deref()))
                {
                    return error_page(&ctx.base, None, StatusCode::FORBIDDEN, why);
                }
            }
            w
        }
    };
    let Some(who) = who else {
        if matches!(method, Method::GET | Method::HEAD) {
            let target = uri.path_and_query().map_or("/", |p| p.as_str());
            return redirect(&format!("{}?next={}", ctx.hub("login"), encode(target)));
        }
        return error_page(&ctx.base, None, StatusCode::FORBIDDEN, "Login required");
    };
    // A named server is the first segment of the rest when the user has one by that name.
    let first = rest.split('/').next().unwrap_or("");
    let server = if hub.config.hub.allow_named_servers && !first.is_empty() {
        match hub.store.server(&user, first).await {
            Ok(Some(_)) => first.to_owned(),
            _ => String::new(),
        }
    } else {
        String::new()
    };
    let me = who.subject.name().to_owned();
    if hub
        .require(
            &who,
            &["access:servers"],
            Resource::Server {
                user: &user,
                server: &server,
            },
        )
        .await
        .is_err()
    {
        return error_page(&ctx.base, Some(&me), StatusCode::NOT_FOUND, "");
    }
    let row = hub.store.server(&user, &server).await.ok().flatten();
    let full_path = uri
        .path()
        .strip_prefix(&ctx.hub(""))
        .map(|p| format!("{}{p}", ctx.base))
        .unwrap_or_default();
    match &row {
        Some(r) if r.ready && r.pending.is_none() && method == Method::GET => {
            let n: u32 = query_value(&uri, "redirects")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if n >= 4 {
                return error_page(
                    &ctx.base,
                    Some(&me),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Redirect loop detected.",
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(if n == 0 {
                0
            } else {
                250u64 << n
            }))
            .await;
            let mut pairs: Vec<String> = uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("redirects="))
                .map(str::to_owned)
                .collect();
            pairs.push(format!("redirects={}", n + 1));
            return redirect(&format!("{full_path}?{}", pairs.join("&")));
        }
        Some(r) if r.pending.as_deref() == Some("spawn") && method == Method::GET => {
            let mut to = ctx.server_page("spawn-pending", &user, &server);
            to.push_str(&format!(
                "?next={}",
                encode(uri.path_and_query().map_or("", |p| p.as_str()))
            ));
            return (StatusCode::SEE_OTHER, [(http::header::LOCATION, to)]).into_response();
        }
        _ => {}
    }
    let spawn = ctx.server_page("spawn", &user, &server);
    let status = if hub.config.hub.use_legacy_stopped_server_status_code {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::FAILED_DEPENDENCY
    };
    let wants_json = rest.split('/').any(|s| s == "api")
        || headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json"))
        || method != Method::GET;
    if wants_json {
        let message = format!(
            "JupyterHub server no longer running at {full_path}. Restart the server at {spawn}"
        );
        return (
            status,
            Json(json!({"status": status.as_u16(), "message": message})),
        )
            .into_response();
    }
    render(
        status,
        "not_running.html",
        json!({
            "base_url": ctx.base, "user": me, "failed": false,
            "server_name": server, "spawn_url": format!("{spawn}?next={}", encode(&full_path)),
        }),
    )
}

async fn user_redirect(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Path(rest): Path<String>,
) -> Response {
    let (_who, me) = match login_required(&hub, &headers, &method, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ctx = Ctx::of(&hub);
    let mut target = format!("{}{}", server_url(&ctx.base, &me, ""), rest);
    if let Some(q) = uri.query() {
        target.push('?');
        target.push_str(q);
    }
    redirect(&format!(
        "{}spawn/{}?next={}",
        ctx.hub(""),
        path_segment(&me),
        encode(&target)
    ))
}

// ---- OAuth ----

fn authorize_request(query: &str) -> AuthorizeRequest {
    let get = |k: &str| form_value(query, k);
    AuthorizeRequest {
        client_id: get("client_id").unwrap_or_default(),
        response_type: get("response_type").unwrap_or_default(),
        redirect_uri: get("redirect_uri"),
        state: get("state"),
        scope: get("scope").map(|s| s.split_whitespace().map(str::to_owned).collect()),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    }
}

fn authorize_answer(hub: &Hub, me: &str, xsrf: &str, outcome: Authorize) -> Response {
    let base = &hub.config.hub.base_url;
    match outcome {
        Authorize::Redirect(to) => redirect(&to),
        Authorize::Fatal(message) => error_page(base, Some(me), StatusCode::BAD_REQUEST, &message),
        Authorize::Forbidden(message) => {
            error_page(base, Some(me), StatusCode::FORBIDDEN, &message)
        }
        Authorize::Consent {
            description,
            scopes,
        } => render(
            StatusCode::OK,
            "oauth.html",
            json!({ "base_url": base, "user": me, "xsrf": xsrf, "description": description, "scopes": scopes }),
        ),
    }
}

/// `GET /hub/api/oauth2/authorize` (an HTML endpoint despite its path).
pub async fn authorize(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let (who, me) = match login_required(&hub, &headers, &method, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (session, session_cookie) = ensure_session(&hub, &headers);
    let (xsrf, xsrf_cookie) = ensure_xsrf(&hub, &headers, &session);
    let req = authorize_request(uri.query().unwrap_or(""));
    let resp = match hub.authorize(&who, &req, &session).await {
        Ok(outcome) => authorize_answer(&hub, &me, &xsrf, outcome),
        Err(e) => {
            tracing::error!("authorize: {e}");
            error_page(
                &hub.config.hub.base_url,
                Some(&me),
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
            )
        }
    };
    with_cookies(
        resp,
        session_cookie.into_iter().chain(xsrf_cookie).collect(),
    )
}

/// `POST /hub/api/oauth2/authorize`: the consent form.
pub async fn authorize_post(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (who, me) = match login_required(&hub, &headers, &method, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let form = String::from_utf8_lossy(&body).into_owned();
    if let Err(why) = check_form_xsrf(&hub, &headers, &form) {
        return error_page(
            &hub.config.hub.base_url,
            Some(&me),
            StatusCode::FORBIDDEN,
            why,
        );
    }
    let scopes: Vec<String> = form_pairs(&form)
        .into_iter()
        .filter(|(k, _)| k == "scopes")
        .map(|(_, v)| v)
        .collect();
    let session = session_id(&headers).unwrap_or_default();
    let req = authorize_request(uri.query().unwrap_or(""));
    match hub.authorize_confirmed(&who, &req, &scopes, &session).await {
        Ok(outcome) => authorize_answer(
            &hub,
            &me,
            &form_value(&form, "_xsrf").unwrap_or_default(),
            outcome,
        ),
        Err(e) => {
            tracing::error!("authorize: {e}");
            error_page(
                &hub.config.hub.base_url,
                Some(&me),
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
            )
        }
    }
}

/// `POST /hub/api/oauth2/token`: a code for a token (client secret in the form body).
pub async fn token(State(hub): S, body: Bytes) -> Response {
    let form: std::collections::HashMap<String, String> =
        form_pairs(&String::from_utf8_lossy(&body))
            .into_iter()
            .collect();
    let no_store = [
        (http::header::CACHE_CONTROL, "no-store"),
        (http::header::PRAGMA, "no-cache"),
    ];
    match hub.exchange_code(&form).await {
        Ok(Ok(answer)) => (StatusCode::OK, no_store, Json(answer)).into_response(),
        Ok(Err(e)) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (
                status,
                no_store,
                Json(json!({"error": e.error, "error_description": e.description})),
            )
                .into_response()
        }
        Err(e) => crate::ApiError::from(e).into_response(),
    }
}
