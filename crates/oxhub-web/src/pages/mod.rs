//! The HTML side of the hub (cookies-and-urls.md §4), one module per page family: `login`
//! (login, logout), `home`, `spawn` (spawn, spawn-pending), `user` (`/hub/user/...`,
//! `/user-redirect/`), and here the redirects between them, the proxy's error pages and the
//! helpers they share. Who is calling comes from `caller.rs`; errors are `PageError`s.

mod accounts;
mod admin;
mod assets;
mod home;
mod login;
mod namespace;
mod next;
mod redirect_login;
pub(crate) mod render;
mod share;
mod spawn;
mod token;
mod user;

use crate::caller::PageUser;
use crate::models::{path_segment, server_url};
use crate::session::*;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use oxhub_core::servers::ServerState;
use oxhub_core::Hub;
use std::sync::Arc;

pub use next::safe_next;
pub(crate) use render::redirect;
pub(crate) use render::render;

type S = State<Arc<Hub>>;

pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/", get(root))
        .route("/hub", get(add_slash))
        .route("/hub/", get(hub_root))
        .route("/hub/login", get(login::form).post(login::submit))
        .route("/hub/logout", get(login::logout))
        .route(
            "/hub/signup",
            get(accounts::signup_form).post(accounts::signup_submit),
        )
        .route("/hub/authorize", get(accounts::authorize_page))
        .route(
            "/hub/authorize/{name}",
            axum::routing::post(accounts::authorize_post),
        )
        .route(
            "/hub/discard/{name}",
            axum::routing::post(accounts::discard_post),
        )
        .route(
            "/hub/change-password",
            get(accounts::password_form).post(accounts::password_submit),
        )
        .route(
            "/hub/change-password/{name}",
            get(accounts::password_form_for).post(accounts::password_submit_for),
        )
        .route("/hub/oauth_login", get(redirect_login::start))
        .route("/hub/oauth_callback", get(redirect_login::callback))
        .route("/hub/home", get(home::home))
        .route("/hub/token", get(token::page))
        .route("/hub/admin", get(admin::dashboard))
        .route("/hub/admin/add-users", get(admin::add_users))
        .route("/hub/admin/edit-user/{name}", get(admin::edit_user))
        .route("/hub/admin/groups", get(admin::groups))
        .route("/hub/admin/create-group", get(admin::create_group))
        .route("/hub/admin/groups/{name}", get(admin::edit_group))
        .route("/hub/accept-share", get(share::page).post(share::accept))
        .route("/hub/spawn", get(spawn::own).post(spawn::own_post))
        .route(
            "/hub/spawn/{user}",
            get(spawn::default).post(spawn::default_post),
        )
        .route(
            "/hub/spawn/{user}/{server}",
            get(spawn::named).post(spawn::named_post),
        )
        .route("/hub/spawn-pending/{user}", get(spawn::pending_default))
        .route(
            "/hub/spawn-pending/{user}/{server}",
            get(spawn::pending_named),
        )
        .route("/hub/user/{user}", axum::routing::any(user::user_url))
        .route("/hub/user/{user}/", axum::routing::any(user::user_url))
        .route(
            "/hub/user/{user}/{*rest}",
            axum::routing::any(user::user_url),
        )
        .route("/hub/user-redirect/{*rest}", get(user::user_redirect))
        .route("/hub/error/{code}", get(proxy_error))
        .route("/hub/favicon.ico", get(assets::favicon))
        .route("/hub/static/{*path}", get(assets::asset))
        .route("/hub/logo", get(assets::logo))
        .fallback(fallback)
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
    /// An error page of the hub.
    fn error(&self, user: Option<&str>, status: StatusCode, message: &str) -> crate::PageError {
        crate::PageError::new(user, status, message)
    }
    /// [`Ctx::error`] as the response.
    fn page_error(&self, user: Option<&str>, status: StatusCode, message: &str) -> Response {
        self.error(user, status, message).into_response()
    }
}

pub(crate) fn with_cookies(mut resp: Response, cookies: Vec<String>) -> Response {
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

/// The session id of this browser, and the cookie to set if it is new.
pub(crate) fn ensure_session(hub: &Hub, headers: &HeaderMap) -> (String, Option<String>) {
    match session_id(headers) {
        Some(id) => (id, None),
        None => {
            let id = new_session_id();
            let cookie = session_cookie(hub, &id, is_https(hub, headers));
            (id, Some(cookie))
        }
    }
}

/// The XSRF token of a page before login (login, sign-up) and the cookies to set: a browser
/// without a session gets one, and the token minted for it.
pub(crate) fn pre_login_xsrf(hub: &Hub, headers: &HeaderMap) -> (String, Vec<String>) {
    let (session, session_cookie) = ensure_session(hub, headers);
    if let Some(session_cookie) = session_cookie {
        let t = xsrf_token(hub, &session);
        let c = xsrf_cookie(hub, &t, is_https(hub, headers));
        return (t, vec![session_cookie, c]);
    }
    let (t, c) = ensure_xsrf(hub, headers, &session);
    (t, c.into_iter().collect())
}

/// The XSRF token for this session, and the cookie to set when the browser lacks it.
pub(crate) fn ensure_xsrf(
    hub: &Hub,
    headers: &HeaderMap,
    session: &str,
) -> (String, Option<String>) {
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

/// Scopes as a person reads them (the consent and accept-share pages): each base scope's
/// description from the scope table, and what its filter limits it to. Scopes that only
/// identify the owner (their name, their groups) or reach the page's own target collapse into
/// the one "identify" line when nothing else is asked.
pub(crate) fn scope_descriptions(scopes: &[String]) -> Vec<serde_json::Value> {
    const IDENTIFY: &[&str] = &["read:users:name", "read:users:groups", "identify"];
    let describe = |base: &str| {
        oxhub_model::scope::SCOPES
            .iter()
            .find(|d| d.name == base)
            .map_or_else(
                || format!("The permission {base}."),
                |d| d.description.to_owned(),
            )
    };
    let mut out: Vec<serde_json::Value> = Vec::new();
    for scope in scopes {
        let (base, filter) = match scope.split_once('!') {
            Some((b, f)) => (b, Some(f)),
            None => (scope.as_str(), None),
        };
        if IDENTIFY.contains(&base) && matches!(filter, None | Some("user")) {
            continue;
        }
        let filter = filter.map(|f| match f.split_once('=') {
            Some((kind, value)) => format!("{kind} {value}"),
            None if f == "user" => "you (the user who grants it)".to_owned(),
            None => f.to_owned(),
        });
        let entry = serde_json::json!({
            "scope": scope,
            "description": describe(base),
            "filter": filter.unwrap_or_default(),
        });
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if out.is_empty() {
        out.push(serde_json::json!({
            "scope": null,
            "description": "Identify you: know your user name and groups. It will not be able to take actions on your behalf.",
            "filter": "",
        }));
    }
    out
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
    match hub.server_state(user, "").await {
        Ok(ServerState::Ready) => server_url(&ctx.base, user, ""),
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

async fn add_slash(OriginalUri(uri): OriginalUri) -> Response {
    let mut to = format!("{}/", uri.path());
    if let Some(q) = uri.query() {
        to.push('?');
        to.push_str(q);
    }
    (
        StatusCode::MOVED_PERMANENTLY,
        [(http::header::LOCATION, to)],
    )
        .into_response()
}

async fn hub_root(State(hub): S, user: Option<PageUser>) -> Response {
    let ctx = Ctx::of(&hub);
    match user {
        Some(user) => redirect(&default_next(&hub, &user.name).await),
        None => redirect(&format!(
            "{}?next={}",
            ctx.hub("login"),
            encode(&ctx.hub(""))
        )),
    }
}

/// Outside `/hub/`: send the browser to the hub's handler of the same path (a server whose
/// route is missing lands on `/hub/user/...`). Inside `/hub/`: 404.
async fn fallback(
    State(hub): S,
    OriginalUri(uri): OriginalUri,
    user: Option<PageUser>,
) -> Response {
    let ctx = Ctx::of(&hub);
    let path = uri.path();
    let hub_prefix = ctx.hub("");
    if path.starts_with(&hub_prefix) || format!("{path}/") == hub_prefix {
        let name = user.map(|u| u.name);
        return ctx.page_error(name.as_deref(), StatusCode::NOT_FOUND, "");
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
    Ctx::of(&hub).page_error(None, status, message)
}
