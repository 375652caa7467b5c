//! `/hub/api/...` handlers: thin wrappers that authenticate, parse, call the hub, and shape
//! JupyterHub's JSON.

use crate::caller::ApiCaller;
use crate::error::ApiError;
use crate::models::{group_model, user_model};
use crate::JUPYTERHUB_VERSION;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use oxhub_core::identity::Groups;
use oxhub_core::{Hub, HubError, Identity, Subject};
use oxhub_model::scope::{Access, Resource};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

type S = State<Arc<Hub>>;

mod groups;
mod hub;
mod servers;
mod services;
mod shares;
mod tokens;
mod users;

// What the admin panel renders is what the API lists.
pub(crate) use groups::{group_json, groups_listing};
pub(crate) use users::{user_json, users_listing};

use groups::*;
use hub::*;
use servers::*;
use services::*;
use shares::*;
use tokens::*;
use users::*;

/// Stands for the empty (default) server name in a URL path, where a route parameter cannot
/// be empty: `/shares/alice/` is rewritten to `/shares/alice/~default~` before routing. No
/// server name can contain `~`.
const DEFAULT_SERVER_SEGMENT: &str = "~default~";

fn default_server(server: String) -> String {
    if server == DEFAULT_SERVER_SEGMENT {
        String::new()
    } else {
        server
    }
}

/// Rewrite the API paths whose last, empty segment names the default server (before routing).
pub fn mark_default_server(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    let Some((_, rest)) = path.split_once("/hub/api/") else {
        return req;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let empty_server = match segments.as_slice() {
        ["shares" | "share-codes", o, ""] => !o.is_empty(),
        ["users" | "groups", n, "shared", o, ""] => !n.is_empty() && !o.is_empty(),
        ["users", n, "servers", ""] => !n.is_empty(),
        _ => false,
    };
    if empty_server {
        let new_path = format!("{path}{DEFAULT_SERVER_SEGMENT}");
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        if let Ok(pq) = pq.parse::<http::uri::PathAndQuery>() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

pub fn routes() -> Router<Arc<Hub>> {
    use axum::routing::{post, put};
    Router::new()
        .route("/", get(root))
        .route("/health", get(health).head(health))
        .route("/info", get(info))
        .route("/user", get(whoami))
        .route("/shutdown", post(shutdown))
        .route("/proxy", get(get_proxy).post(sync_proxy).patch(patch_proxy))
        .route("/authorizations/token/{token}", get(token_owner))
        .route("/batchspawner", post(batchspawner_port))
        .route("/users", get(list_users).post(create_users))
        .route(
            "/users/{name}",
            get(get_user)
                .post(create_user)
                .delete(delete_user)
                .patch(patch_user),
        )
        .route("/users/{name}/activity", post(activity))
        .route(
            "/users/{name}/server",
            get(get_default_server)
                .post(start_default_server)
                .delete(delete_default_server),
        )
        .route("/users/{name}/server/progress", get(default_progress))
        .route(
            "/users/{name}/servers/{server}",
            get(get_server)
                .put(put_server)
                .post(start_server)
                .patch(patch_server)
                .delete(delete_server),
        )
        .route("/users/{name}/servers/{server}/progress", get(progress))
        .route("/users/{name}/tokens", get(list_tokens).post(create_token))
        .route(
            "/users/{name}/tokens/{id}",
            get(get_token).delete(delete_token),
        )
        .route("/users/{name}/shared", get(user_received))
        .route(
            "/users/{name}/shared/{owner}/{server}",
            get(user_share).delete(user_share),
        )
        .route("/services", get(list_services))
        .route(
            "/services/{name}",
            get(get_service).post(create_service).delete(delete_service),
        )
        .route("/groups", get(list_groups).post(create_groups))
        .route(
            "/groups/{name}",
            get(get_group).post(create_group).delete(delete_group),
        )
        .route(
            "/groups/{name}/users",
            post(add_group_users).delete(remove_group_users),
        )
        .route("/groups/{name}/properties", put(set_group_properties))
        .route("/groups/{name}/shared", get(group_received))
        .route(
            "/groups/{name}/shared/{owner}/{server}",
            get(group_share).delete(group_share),
        )
        .route("/shares/{owner}", get(owner_shares))
        .route(
            "/shares/{owner}/{server}",
            get(server_shares)
                .post(grant_share)
                .patch(revoke_share)
                .delete(delete_shares),
        )
        .route("/share-codes/{owner}", get(owner_codes))
        .route(
            "/share-codes/{owner}/{server}",
            get(server_codes).post(create_code).delete(delete_codes),
        )
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::with_status(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
}

pub async fn root() -> Response {
    let mut resp = Json(json!({ "version": JUPYTERHUB_VERSION })).into_response();
    resp.headers_mut().insert(
        "access-control-allow-origin",
        http::HeaderValue::from_static("*"),
    );
    resp
}

pub async fn health() -> StatusCode {
    StatusCode::OK
}

/// A scope check's answer as an API error (the one mapping is `HubError::from_access`).
fn forbid(access: Access, required: &[&str]) -> Result<(), ApiError> {
    Ok(HubError::from_access(access, required, "")?)
}

fn json_body(body: &Bytes) -> Result<Option<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|_| ApiError::bad_request("Invalid JSON in body of request"))
}

async fn info(State(hub): S, ApiCaller(who): ApiCaller) -> Result<Json<Value>, ApiError> {
    forbid(
        who.scopes
            .check(&["read:hub"], &Resource::Global, &Groups::default()),
        &["read:hub"],
    )?;
    Ok(Json(json!({
        "version": JUPYTERHUB_VERSION,
        // No Python runs in oxhub: say so in the strings the fields are.
        "python": "none (oxhub is a Rust program)",
        "sys_executable": std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
        "spawner": { "class": hub.config.spawner.class, "version": env!("CARGO_PKG_VERSION") },
        "authenticator": { "class": hub.config.authenticator.class, "version": env!("CARGO_PKG_VERSION") },
    })))
}

async fn whoami(State(hub): S, ApiCaller(who): ApiCaller) -> Result<Json<Value>, ApiError> {
    let mut model = match &who.subject {
        Subject::User { name, .. } => {
            // The identify scopes always apply here, whatever the token holds.
            let mut view = who.clone();
            view.scopes.extend(&oxhub_model::scope::identify_scopes(
                oxhub_model::scope::Owner::User(name),
            ));
            user_json(&hub, &view, name, false)
                .await?
                .unwrap_or_else(|| json!({"kind": "user", "name": name}))
        }
        Subject::Service { name, admin } => {
            let mut view = who.clone();
            view.scopes.extend(&oxhub_model::scope::identify_scopes(
                oxhub_model::scope::Owner::Service(name),
            ));
            let model = match hub.service_view(name).await? {
                Some(sv) => services::service_json(&hub, &view, &sv.row, Some(&sv.roles)).await?,
                None => None,
            };
            model.unwrap_or_else(|| json!({ "kind": "service", "name": name, "admin": admin }))
        }
    };
    if let Value::Object(m) = &mut model {
        m.insert("scopes".into(), json!(who.scopes.to_strings()));
        m.insert(
            "token_id".into(),
            who.token_id
                .map_or(Value::Null, |id| json!(format!("a{id}"))),
        );
        m.insert(
            "session_id".into(),
            who.session_id.clone().map_or(Value::Null, Value::String),
        );
    }
    Ok(Json(model))
}

/// The largest `offset` (and `limit`) a list request may give: far beyond any real list,
/// small enough that no arithmetic on it overflows.
const MAX_OFFSET: i64 = 1 << 50;

struct Page {
    offset: i64,
    limit: i64,
    paginated: bool,
}

impl Page {
    /// The list as JupyterHub answers it: bare, or in the pagination wrapper with an absolute
    /// `next.url` when the client asked for it.
    fn wrap(&self, items: Vec<Value>, total: i64, headers: &HeaderMap, uri: &Uri) -> Value {
        if !self.paginated {
            return Value::Array(items);
        }
        let (offset, limit) = (self.offset, self.limit);
        let after = offset.saturating_add(limit);
        let next = (after < total).then(|| {
            json!({ "offset": after, "limit": limit, "url": next_url(headers, uri, after, limit) })
        });
        json!({ "items": items, "_pagination": { "offset": offset, "limit": limit, "total": total, "next": next } })
    }
}

fn page(hub: &Hub, headers: &HeaderMap, query: &HashMap<String, String>) -> Result<Page, ApiError> {
    let paginated = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim() == "application/jupyterhub-pagination+json")
        });
    let max = hub.config.hub.api_page_max_limit.max(1);
    let int = |k: &str| -> Result<Option<i64>, ApiError> {
        match query.get(k) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n.unsigned_abs() <= MAX_OFFSET as u64 => Ok(Some(n.abs())),
                Ok(_) => Err(ApiError::bad_request(format!(
                    "{k} must be between -{MAX_OFFSET} and {MAX_OFFSET}"
                ))),
                Err(_) => Err(ApiError::bad_request(
                    "Invalid argument type, offset and limit must be integers",
                )),
            },
        }
    };
    let offset = int("offset")?.unwrap_or(0);
    let default = if paginated {
        hub.config.hub.api_page_default_limit
    } else {
        max
    };
    let limit = int("limit")?.unwrap_or(default).clamp(1, max);
    Ok(Page {
        offset,
        limit,
        paginated,
    })
}

fn next_url(headers: &HeaderMap, uri: &Uri, offset: i64, limit: i64) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .and_then(|p| p.split(',').next())
        .map_or("http", str::trim);
    let mut pairs: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| {
            !p.is_empty()
                && !p.starts_with("offset=")
                && !p.starts_with("limit=")
                && *p != "offset"
                && *p != "limit"
        })
        .map(str::to_owned)
        .collect();
    pairs.push(format!("offset={offset}"));
    pairs.push(format!("limit={limit}"));
    format!("{proto}://{host}{}?{}", uri.path(), pairs.join("&"))
}

fn opt_strings(
    body: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request(format!("{key} must be a list of strings"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request(format!(
            "{key} must be a list of strings"
        ))),
    }
}
