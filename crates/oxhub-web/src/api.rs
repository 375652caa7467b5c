//! `/hub/api/...` handlers: thin wrappers that authenticate, parse, call the hub, and shape
//! JupyterHub's JSON.

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

pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health).head(health))
        .route("/info", get(info))
        .route("/user", get(whoami))
        .route("/users", get(list_users).post(create_users))
        .route(
            "/users/{name}",
            get(get_user)
                .post(create_user)
                .delete(delete_user)
                .patch(patch_user),
        )
        .route("/users/{name}/tokens", get(list_tokens).post(create_token))
        .route(
            "/users/{name}/tokens/{id}",
            get(get_token).delete(delete_token),
        )
        .route("/services", get(list_services))
        .route("/services/{name}", get(get_service))
        .route("/groups", get(list_groups).post(create_groups))
        .route(
            "/groups/{name}",
            get(get_group).post(create_group).delete(delete_group),
        )
        .route(
            "/groups/{name}/users",
            axum::routing::post(add_group_users).delete(remove_group_users),
        )
        .route(
            "/groups/{name}/properties",
            axum::routing::put(set_group_properties),
        )
        .fallback(|| async { ApiError::not_found() })
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

/// `Authorization: token <t>` or `bearer <t>` (case-insensitive), else 403.
async fn identity(hub: &Hub, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let mut parts = v.split_whitespace();
            let scheme = parts.next()?;
            let token = parts.next()?;
            (parts.next().is_none()
                && (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")))
            .then_some(token)
        });
    let Some(token) = token else {
        return Err(HubError::Unauthenticated.into());
    };
    match hub.authenticate(token).await? {
        Some(id) => Ok(id),
        None => Err(HubError::Unauthenticated.into()),
    }
}

fn forbid(access: Access, required: &[&str]) -> Result<(), ApiError> {
    match access {
        Access::Allowed => Ok(()),
        Access::NotFound => {
            Err(HubError::NotFound("No access to resources or resources not found".into()).into())
        }
        Access::Forbidden => Err(HubError::Forbidden(required.join(", ")).into()),
    }
}

fn json_body(body: &Bytes) -> Result<Option<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|_| ApiError::bad_request("Invalid JSON in body of request"))
}

async fn info(State(hub): S, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    forbid(
        who.scopes
            .check(&["read:hub"], &Resource::Global, &Groups::default()),
        &["read:hub"],
    )?;
    Ok(Json(json!({
        "version": JUPYTERHUB_VERSION,
        "python": null,
        "sys_executable": null,
        "spawner": { "class": hub.config.spawner.class, "version": env!("CARGO_PKG_VERSION") },
        "authenticator": { "class": hub.config.authenticator.class, "version": env!("CARGO_PKG_VERSION") },
    })))
}

async fn user_json(hub: &Hub, who: &Identity, name: &str) -> Result<Option<Value>, ApiError> {
    let Some(row) = hub.user(name).await? else {
        return Ok(None);
    };
    let roles: Vec<String> = hub
        .store
        .user_roles(name)
        .await
        .map_err(HubError::from)?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let groups = hub.store.user_groups(name).await.map_err(HubError::from)?;
    let membership = hub.groups_of(&[name]).await?;
    Ok(user_model(&row, &roles, &groups, &who.scopes, &membership))
}

async fn whoami(State(hub): S, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    let mut model = match &who.subject {
        Subject::User { name, .. } => {
            // The identify scopes always apply here, whatever the token holds.
            let mut scopes = who.scopes.clone();
            scopes.extend(&oxhub_model::scope::identify_scopes(
                oxhub_model::scope::Owner::User(name),
            ));
            let view = Identity {
                scopes,
                ..who.clone()
            };
            user_json(&hub, &view, name)
                .await?
                .unwrap_or_else(|| json!({"kind": "user", "name": name}))
        }
        Subject::Service { name, admin } => {
            json!({ "kind": "service", "name": name, "admin": admin })
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
        let next = (offset + limit < total).then(|| {
            json!({ "offset": offset + limit, "limit": limit, "url": next_url(headers, uri, offset + limit, limit) })
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
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(|n| Some(n.saturating_abs()))
                .map_err(|_| {
                    ApiError::bad_request(
                        "Invalid argument type, offset and limit must be integers",
                    )
                }),
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

async fn list_users(
    State(hub): S,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    forbid(who.scopes.check_listing(&["list:users"]), &["list:users"])?;
    if let Some(state) = query.get("state") {
        if !matches!(state.as_str(), "active" | "ready" | "inactive") {
            return Err(ApiError::bad_request(format!(
                "Unrecognized state filter: {state:?}"
            )));
        }
    }
    let p = page(&hub, &headers, &query)?;
    let name_filter = query.get("name_filter").filter(|f| !f.is_empty()).cloned();
    // Without servers yet, no user is active: `active`/`ready` are empty, `inactive` is everyone.
    let only_active = matches!(
        query.get("state").map(String::as_str),
        Some("active" | "ready")
    );
    let (rows, total) = if only_active {
        (Vec::new(), 0)
    } else {
        hub.users_page(p.offset, p.limit, name_filter).await?
    };
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let membership = hub.groups_of(&names).await?;
    let role_names = hub
        .store
        .role_names_of_users(&names)
        .await
        .map_err(HubError::from)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        if !who
            .scopes
            .permits("list:users", &Resource::User(&row.name), &membership)
        {
            continue;
        }
        let roles = role_names.get(&row.name).cloned().unwrap_or_default();
        let groups = membership
            .0
            .get(&row.name)
            .map(|g| g.iter().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        if let Some(model) = user_model(row, &roles, &groups, &who.scopes, &membership) {
            items.push(model);
        }
    }
    Ok(Json(p.wrap(items, total, &headers, &uri)))
}

async fn create_users(
    State(hub): S,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = identity(&hub, &headers).await?;
    let body = json_body(&body)?.unwrap_or(Value::Null);
    let Value::Object(map) = body else {
        return Err(ApiError::bad_request(
            "Must specify at least one user to create",
        ));
    };
    if let Some(extra) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "usernames" | "admin"))
    {
        return Err(ApiError::bad_request(format!(
            "Unexpected key in request body: {extra}"
        )));
    }
    let names: Vec<String> = match map.get("usernames") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad_request("usernames must be strings"))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "Must specify at least one user to create",
            ))
        }
    };
    if names.is_empty() {
        return Err(ApiError::bad_request(
            "Must specify at least one user to create",
        ));
    }
    let admin = match map.get("admin") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request("admin must be a boolean")),
    };
    let created = hub.create_users(&who, &names, admin).await?;
    if created.is_empty() {
        return Err(HubError::Conflict("All of the specified users already exist".into()).into());
    }
    let mut out = Vec::new();
    for row in &created {
        if let Some(model) = user_json(&hub, &who, &row.name).await? {
            out.push(model);
        }
    }
    Ok((StatusCode::CREATED, Json(Value::Array(out))).into_response())
}

const READ_USER: &[&str] = &[
    "read:users",
    "read:users:name",
    "read:servers",
    "read:users:groups",
    "read:users:activity",
    "read:roles:users",
];

async fn get_user(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    hub.require(&who, READ_USER, Resource::User(&name)).await?;
    match user_json(&hub, &who, &name).await? {
        Some(model) => Ok(Json(model)),
        None => Err(HubError::NotFound(format!("No such user: {name}")).into()),
    }
}

async fn create_user(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = identity(&hub, &headers).await?;
    let admin = match json_body(&body)? {
        None => false,
        Some(Value::Object(m)) => match m.get("admin") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::bad_request("admin must be a boolean")),
        },
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    if hub.user(&name).await?.is_some() {
        return Err(HubError::Conflict(format!("User {name} already exists")).into());
    }
    let created = hub
        .create_users(&who, std::slice::from_ref(&name), admin)
        .await?;
    let Some(row) = created.first() else {
        return Err(HubError::Conflict(format!("User {name} already exists")).into());
    };
    let model = user_json(&hub, &who, &row.name)
        .await?
        .unwrap_or_else(|| json!({"kind": "user", "name": row.name}));
    Ok((StatusCode::CREATED, Json(model)).into_response())
}

async fn delete_user(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = identity(&hub, &headers).await?;
    hub.delete_user(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- groups ----

async fn group_json(hub: &Hub, who: &Identity, name: &str) -> Result<Option<Value>, ApiError> {
    let Some(group) = hub.store.group(name).await.map_err(HubError::from)? else {
        return Ok(None);
    };
    let users = hub
        .store
        .group_members(name)
        .await
        .map_err(HubError::from)?;
    let roles: Vec<String> = hub
        .store
        .member_roles(oxhub_store::MemberKind::Group, name)
        .await
        .map_err(HubError::from)?
        .into_iter()
        .map(|r| r.name)
        .collect();
    Ok(group_model(&group, &users, &roles, &who.scopes))
}

/// `{"users": [names]}` (missing → empty).
fn users_field(body: &Option<Value>) -> Result<Vec<String>, ApiError> {
    match body.as_ref().and_then(|b| b.get("users")) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad_request("users must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(ApiError::bad_request("users must be a list of strings")),
    }
}

async fn list_groups(
    State(hub): S,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    forbid(who.scopes.check_listing(&["list:groups"]), &["list:groups"])?;
    let p = page(&hub, &headers, &query)?;
    let (rows, total) = hub
        .store
        .groups(p.offset, p.limit)
        .await
        .map_err(HubError::from)?;
    let mut items = Vec::new();
    for g in rows {
        if !who
            .scopes
            .permits("list:groups", &Resource::Group(&g.name), &Groups::default())
        {
            continue;
        }
        if let Some(model) = group_json(&hub, &who, &g.name).await? {
            items.push(model);
        }
    }
    Ok(Json(p.wrap(items, total, &headers, &uri)))
}

async fn created_groups(
    hub: &Hub,
    who: &Identity,
    rows: &[oxhub_store::GroupRow],
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for g in rows {
        out.push(
            group_json(hub, who, &g.name)
                .await?
                .unwrap_or_else(|| json!({"kind": "group", "name": g.name})),
        );
    }
    Ok(out)
}

async fn create_groups(
    State(hub): S,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = identity(&hub, &headers).await?;
    let body = json_body(&body)?;
    let names: Vec<String> = match body.as_ref().and_then(|b| b.get("groups")) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad_request("groups must be a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "Must specify at least one group to create",
            ))
        }
    };
    let users = users_field(&body)?;
    let rows = hub.create_groups(&who, &names, &users).await?;
    Ok((
        StatusCode::CREATED,
        Json(Value::Array(created_groups(&hub, &who, &rows).await?)),
    )
        .into_response())
}

async fn create_group(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = identity(&hub, &headers).await?;
    let users = users_field(&json_body(&body)?)?;
    let rows = hub
        .create_groups(&who, std::slice::from_ref(&name), &users)
        .await?;
    let mut models = created_groups(&hub, &who, &rows).await?;
    Ok((
        StatusCode::CREATED,
        Json(models.pop().unwrap_or(Value::Null)),
    )
        .into_response())
}

const READ_GROUP: &[&str] = &["read:groups", "read:groups:name", "read:roles:groups"];

async fn get_group(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    forbid(
        who.scopes
            .check(READ_GROUP, &Resource::Group(&name), &Groups::default()),
        READ_GROUP,
    )?;
    group_json(&hub, &who, &name)
        .await?
        .map(Json)
        .ok_or_else(|| HubError::NotFound(format!("No such group: {name}")).into())
}

async fn delete_group(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = identity(&hub, &headers).await?;
    hub.delete_group(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_group_users(
    hub: &Hub,
    headers: &HeaderMap,
    name: &str,
    body: &Bytes,
    add: bool,
) -> Result<Json<Value>, ApiError> {
    let who = identity(hub, headers).await?;
    let body = json_body(body)?;
    let users = users_field(&body)?;
    if users.is_empty() {
        return Err(ApiError::bad_request("Must specify users to add or remove"));
    }
    hub.change_group_users(&who, name, &users, add).await?;
    Ok(Json(
        group_json(hub, &who, name)
            .await?
            .unwrap_or_else(|| json!({"kind": "group", "name": name})),
    ))
}

async fn add_group_users(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    change_group_users(&hub, &headers, &name, &body, true).await
}

async fn remove_group_users(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    change_group_users(&hub, &headers, &name, &body, false).await
}

async fn set_group_properties(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    let properties = json_body(&body)?.unwrap_or(Value::Null);
    hub.set_group_properties(&who, &name, &properties).await?;
    Ok(Json(
        group_json(&hub, &who, &name)
            .await?
            .unwrap_or_else(|| json!({"kind": "group", "name": name})),
    ))
}

// ---- tokens ----

async fn token_model(hub: &Hub, user: &str, t: &oxhub_store::TokenRow) -> Result<Value, ApiError> {
    use oxhub_core::clock::isoformat;
    let scopes = hub.effective_token_scopes(user, &t.scopes).await?;
    Ok(json!({
        "user": user,
        "id": format!("a{}", t.id),
        "kind": "api_token",
        "roles": [],
        "scopes": scopes,
        "created": isoformat(t.created),
        "last_activity": t.last_activity.map(isoformat),
        "expires_at": t.expires_at.map(isoformat),
        "note": t.note,
        "session_id": t.session_id,
        "oauth_client": t.oauth_client,
    }))
}

async fn list_tokens(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    let rows = hub.user_tokens(&who, &name).await?;
    let mut out = Vec::with_capacity(rows.len());
    for t in &rows {
        out.push(token_model(&hub, &name, t).await?);
    }
    Ok(Json(json!({ "api_tokens": out })))
}

async fn get_token(
    State(hub): S,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    let t = hub.user_token(&who, &name, &id).await?;
    Ok(Json(token_model(&hub, &name, &t).await?))
}

async fn delete_token(
    State(hub): S,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let who = identity(&hub, &headers).await?;
    hub.delete_user_token(&who, &name, &id).await?;
    Ok(StatusCode::NO_CONTENT)
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

async fn create_token(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = identity(&hub, &headers).await?;
    let body = match json_body(&body)? {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    let scopes = opt_strings(&body, "scopes")?;
    let roles = opt_strings(&body, "roles")?;
    let note = match body.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(ApiError::bad_request("note must be a string")),
    };
    let expires_in = match body.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::bad_request("expires_in must be an integer or null"))?,
        ),
    };
    let (token, row) = hub
        .create_user_token(&who, &name, scopes, roles, note, expires_in)
        .await?;
    let mut model = token_model(&hub, &name, &row).await?;
    if let Value::Object(m) = &mut model {
        m.insert("token".into(), json!(token));
    }
    Ok((StatusCode::CREATED, Json(model)).into_response())
}

// ---- services ----

/// The service model as `scopes` may see it (`read:services` → all but roles;
/// `read:services:name` → kind, name, admin; `read:roles:services` → kind, name, roles, admin).
async fn service_json(
    hub: &Hub,
    who: &Identity,
    row: &oxhub_store::ServiceRow,
) -> Result<Option<Value>, ApiError> {
    let res = Resource::Service(&row.name);
    let none = Groups::default();
    let read = who.scopes.permits("read:services", &res, &none);
    let name_only = read || who.scopes.permits("read:services:name", &res, &none);
    let read_roles = who.scopes.permits("read:roles:services", &res, &none);
    if !(name_only || read_roles) {
        return Ok(None);
    }
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), json!("service"));
    m.insert("name".into(), json!(row.name));
    m.insert("admin".into(), json!(row.admin));
    if read_roles {
        let roles: Vec<String> = hub
            .store
            .member_roles(oxhub_store::MemberKind::Service, &row.name)
            .await
            .map_err(HubError::from)?
            .into_iter()
            .map(|r| r.name)
            .collect();
        m.insert("roles".into(), json!(roles));
    }
    if read {
        let spec = hub
            .config
            .hub
            .services
            .iter()
            .find(|s| matches!(s, oxhub_config::Value::Dict(p) if oxhub_config::Value::dict_get(p, &oxhub_config::Value::Str("name".into())).and_then(|v| v.as_str()) == Some(row.name.as_str())))
            .map(oxhub_config::Value::to_json)
            .unwrap_or(Value::Null);
        let field = |k: &str| spec.get(k).cloned();
        let url = field("url").unwrap_or(json!(""));
        let has_url = url.as_str().is_some_and(|u| !u.is_empty());
        m.insert("url".into(), url);
        m.insert(
            "prefix".into(),
            json!(if has_url {
                format!("{}services/{}/", hub.config.hub.base_url, row.name)
            } else {
                String::new()
            }),
        );
        m.insert("command".into(), field("command").unwrap_or(json!("")));
        m.insert("pid".into(), json!(0));
        m.insert("info".into(), field("info").unwrap_or(json!({})));
        m.insert("display".into(), field("display").unwrap_or(json!(true)));
    }
    Ok(Some(Value::Object(m)))
}

/// `GET /services`: an object keyed by service name (not a list, not paginated; hub-api.md ⚠).
async fn list_services(State(hub): S, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    forbid(
        who.scopes.check_listing(&["list:services"]),
        &["list:services"],
    )?;
    let mut out = serde_json::Map::new();
    for row in hub.store.services().await.map_err(HubError::from)? {
        if !who.scopes.permits(
            "list:services",
            &Resource::Service(&row.name),
            &Groups::default(),
        ) {
            continue;
        }
        if let Some(model) = service_json(&hub, &who, &row).await? {
            out.insert(row.name.clone(), model);
        }
    }
    Ok(Json(Value::Object(out)))
}

const READ_SERVICE: &[&str] = &["read:services", "read:services:name", "read:roles:services"];

async fn get_service(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    forbid(
        who.scopes
            .check(READ_SERVICE, &Resource::Service(&name), &Groups::default()),
        READ_SERVICE,
    )?;
    let row = hub
        .store
        .service(&name)
        .await
        .map_err(HubError::from)?
        .ok_or_else(|| ApiError::from(HubError::NotFound(format!("No such service: {name}"))))?;
    service_json(&hub, &who, &row)
        .await?
        .map(Json)
        .ok_or_else(|| HubError::NotFound(format!("No such service: {name}")).into())
}

async fn patch_user(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = identity(&hub, &headers).await?;
    let Some(Value::Object(body)) = json_body(&body)? else {
        return Err(ApiError::bad_request("Body must be a JSON object"));
    };
    if let Some(k) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "admin" | "groups"))
    {
        let why = if matches!(k.as_str(), "roles" | "auth_state") {
            "is not supported by oxhub yet"
        } else {
            "is not a user field"
        };
        return Err(ApiError::bad_request(format!("{k} {why}")));
    }
    let new_name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.as_str()),
        Some(_) => return Err(ApiError::bad_request("name must be a string")),
    };
    let admin = match body.get("admin") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::bad_request("admin must be a boolean")),
    };
    let groups = opt_strings(&body, "groups")?;
    let current = hub
        .patch_user(&who, &name, new_name, admin, groups.as_deref())
        .await?;
    user_json(&hub, &who, &current)
        .await?
        .map(Json)
        .ok_or_else(|| HubError::NotFound(format!("No such user: {current}")).into())
}
