//! `/users` and `/users/{name}`: list, create, read, patch, delete.

use super::*;
use crate::caller::ApiCaller;
use crate::models::UserExtras;
use oxhub_store::{ServerState, UserQuery, UserSort};

/// `include_stopped_servers`: any value but `0`/`false` (bare flag included) turns it on.
fn include_stopped(query: &HashMap<String, String>) -> bool {
    query
        .get("include_stopped_servers")
        .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false"))
}

pub(crate) async fn user_json(
    hub: &Hub,
    who: &Identity,
    name: &str,
    include_stopped_servers: bool,
) -> Result<Option<Value>, ApiError> {
    let Some(view) = hub.user_view(name).await? else {
        return Ok(None);
    };
    let extras = UserExtras {
        roles: &view.roles,
        groups: &view.groups,
        servers: &view.servers,
        base_url: &hub.config.hub.base_url,
        include_stopped_servers,
    };
    Ok(user_model(
        &view.row,
        &extras,
        &who.scopes,
        &view.membership,
    ))
}

/// The user model with `auth_state` added when the caller holds `admin:auth_state` for them.
pub(super) async fn user_json_with_auth_state(
    hub: &Hub,
    who: &Identity,
    name: &str,
    include_stopped_servers: bool,
) -> Result<Option<Value>, ApiError> {
    let Some(mut model) = user_json(hub, who, name, include_stopped_servers).await? else {
        return Ok(None);
    };
    if let Some(state) = hub.auth_state_for(who, name).await? {
        if let Value::Object(m) = &mut model {
            m.insert("auth_state".into(), state);
        }
    }
    Ok(Some(model))
}

fn sort_order(query: &HashMap<String, String>) -> Result<UserSort, ApiError> {
    let Some(sort) = query.get("sort") else {
        return Ok(UserSort::Name(false));
    };
    let (descending, key) = match sort.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort.as_str()),
    };
    match key {
        "name" => Ok(UserSort::Name(descending)),
        "id" => Ok(UserSort::Id(descending)),
        "last_activity" => Ok(UserSort::LastActivity(descending)),
        _ => Err(ApiError::bad_request(format!(
            "sort must be one of id, name, last_activity (optionally prefixed with -), not {sort:?}"
        ))),
    }
}

pub(super) async fn list_users(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = page(&hub, &headers, &query)?;
    let (items, total) = users_listing(&hub, &who, &query, p.offset, p.limit).await?;
    Ok(Json(p.wrap(items, total, &headers, &uri)))
}

/// One page of the user list as `who` may see it, with `GET /users`'s filters (`state`,
/// `sort`, `name_filter`, `include_stopped_servers`) read from `query`; and the total the
/// filters match. The admin panel renders the same listing.
pub(crate) async fn users_listing(
    hub: &Hub,
    who: &Identity,
    query: &HashMap<String, String>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Value>, i64), ApiError> {
    forbid(who.scopes.check_listing(&["list:users"]), &["list:users"])?;
    let state = match query.get("state").map(String::as_str) {
        None => None,
        Some("active") => Some(ServerState::Active),
        Some("ready") => Some(ServerState::Ready),
        Some("inactive") => Some(ServerState::Inactive),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unrecognized state filter: {other:?}"
            )))
        }
    };
    let sort = sort_order(query)?;
    let name_filter = query.get("name_filter").filter(|f| !f.is_empty()).cloned();
    let (rows, total) = hub
        .users_page(&UserQuery {
            offset,
            limit,
            name_filter,
            state,
            sort,
        })
        .await?;
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let membership = hub.groups_of(&names).await?;
    let role_names = hub
        .store
        .role_names_of_users(&names)
        .await
        .map_err(HubError::from)?;
    let servers = hub.servers_of_users(&names).await?;
    let include_stopped_servers = include_stopped(query);
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
        let extras = UserExtras {
            roles: &roles,
            groups: &groups,
            servers: servers.get(&row.name).map_or(&[], Vec::as_slice),
            base_url: &hub.config.hub.base_url,
            include_stopped_servers,
        };
        if let Some(model) = user_model(row, &extras, &who.scopes, &membership) {
            items.push(model);
        }
    }
    Ok((items, total))
}

pub(super) async fn create_users(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
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
        if let Some(model) = user_json(&hub, &who, &row.name, false).await? {
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

pub(super) async fn get_user(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    hub.require(&who, READ_USER, Resource::User(&name)).await?;
    match user_json_with_auth_state(&hub, &who, &name, include_stopped(&query)).await? {
        Some(model) => Ok(Json(model)),
        None => Err(HubError::NotFound(format!("No such user: {name}")).into()),
    }
}

pub(super) async fn create_user(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let admin = match json_body(&body)? {
        None => false,
        Some(Value::Object(m)) => match m.get("admin") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::bad_request("admin must be a boolean")),
        },
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    // The scope first, for the name in the URL (a filtered admin:users that cannot see the
    // name is 404), so "already exists" tells nothing to a caller without it.
    hub.require(&who, &["admin:users"], Resource::User(&name))
        .await?;
    if hub.user(&name).await?.is_some() {
        return Err(HubError::Conflict(format!("User {name} already exists")).into());
    }
    let created = hub
        .create_users(&who, std::slice::from_ref(&name), admin)
        .await?;
    let Some(row) = created.first() else {
        return Err(HubError::Conflict(format!("User {name} already exists")).into());
    };
    let model = user_json(&hub, &who, &row.name, false)
        .await?
        .unwrap_or_else(|| json!({"kind": "user", "name": row.name}));
    Ok((StatusCode::CREATED, Json(model)).into_response())
}

pub(super) async fn delete_user(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_user(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn patch_user(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(Value::Object(body)) = json_body(&body)? else {
        return Err(ApiError::bad_request("Body must be a JSON object"));
    };
    if let Some(k) = body.keys().find(|k| {
        !matches!(
            k.as_str(),
            "name" | "admin" | "groups" | "roles" | "auth_state"
        )
    }) {
        return Err(ApiError::bad_request(format!(
            "{k} is not a user field that can be changed"
        )));
    }
    let new_name = match body.get("name") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(ApiError::bad_request("name must be a string")),
    };
    let admin = match body.get("admin") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::bad_request("admin must be a boolean")),
    };
    for k in ["groups", "roles"] {
        if body.get(k).is_some_and(Value::is_null) {
            return Err(ApiError::bad_request(format!(
                "{k} must be a list of strings"
            )));
        }
    }
    let auth_state = match body.get("auth_state") {
        None => None,
        Some(v @ (Value::Object(_) | Value::Null)) => Some(v.clone()),
        Some(_) => return Err(ApiError::bad_request("auth_state must be an object")),
    };
    let changes = oxhub_core::users::UserChanges {
        new_name,
        admin,
        groups: opt_strings(&body, "groups")?,
        roles: opt_strings(&body, "roles")?,
        auth_state,
    };
    let current = hub.patch_user(&who, &name, changes).await?;
    let mut model = user_json(&hub, &who, &current, false)
        .await?
        .ok_or_else(|| ApiError::from(HubError::NotFound(format!("No such user: {current}"))))?;
    if let Some(state) = hub.auth_state_for(&who, &current).await? {
        if let Value::Object(m) = &mut model {
            m.insert("auth_state".into(), state);
        }
    }
    Ok(Json(model))
}
