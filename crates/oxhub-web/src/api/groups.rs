//! `/groups...`: list, create, read, delete, members, properties.

use super::*;
use crate::caller::ApiCaller;

pub(crate) async fn group_json(
    hub: &Hub,
    who: &Identity,
    name: &str,
) -> Result<Option<Value>, ApiError> {
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

pub(super) async fn list_groups(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = page(&hub, &headers, &query)?;
    let (items, total) = groups_listing(&hub, &who, p.offset, p.limit).await?;
    Ok(Json(p.wrap(items, total, &headers, &uri)))
}

/// One page of the groups `who` may list, and how many groups there are.
pub(crate) async fn groups_listing(
    hub: &Hub,
    who: &Identity,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Value>, i64), ApiError> {
    forbid(who.scopes.check_listing(&["list:groups"]), &["list:groups"])?;
    let (rows, total) = hub
        .store
        .groups(offset, limit)
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
        if let Some(model) = group_json(hub, who, &g.name).await? {
            items.push(model);
        }
    }
    Ok((items, total))
}

pub(super) async fn created_groups(
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

pub(super) async fn create_groups(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
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

pub(super) async fn create_group(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    if body
        .as_ref()
        .is_some_and(|b| !b.is_object() && !b.is_null())
    {
        return Err(ApiError::bad_request("Body must be a JSON object"));
    }
    let users = users_field(&body)?;
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

pub(super) async fn get_group(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
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

pub(super) async fn delete_group(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_group(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn change_group_users(
    hub: &Hub,
    who: &Identity,
    name: &str,
    body: &Bytes,
    add: bool,
) -> Result<Json<Value>, ApiError> {
    let body = json_body(body)?;
    let users = users_field(&body)?;
    if users.is_empty() {
        return Err(ApiError::bad_request("Must specify users to add or remove"));
    }
    hub.change_group_users(who, name, &users, add).await?;
    Ok(Json(
        group_json(hub, who, name)
            .await?
            .unwrap_or_else(|| json!({"kind": "group", "name": name})),
    ))
}

pub(super) async fn add_group_users(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    change_group_users(&hub, &who, &name, &body, true).await
}

pub(super) async fn remove_group_users(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    change_group_users(&hub, &who, &name, &body, false).await
}

pub(super) async fn set_group_properties(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let properties = json_body(&body)?.unwrap_or(Value::Null);
    hub.set_group_properties(&who, &name, &properties).await?;
    Ok(Json(
        group_json(&hub, &who, &name)
            .await?
            .unwrap_or_else(|| json!({"kind": "group", "name": name})),
    ))
}
