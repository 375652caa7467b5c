//! Sharing (JupyterHub 5): `/shares/{owner}[/{server}]`, `/share-codes/{owner}[/{server}]`,
//! `/users/{name}/shared...`, `/groups/{name}/shared...`. Lists always use the pagination
//! wrapper; request bodies reject unknown keys.

use super::*;
use crate::caller::ApiCaller;
use crate::models::server_url;
use oxhub_core::clock::isoformat;
use oxhub_core::shares::{ShareWith, CODE_DEFAULT_EXPIRY_S};
use oxhub_store::{ShareCodeRow, ShareRow, ShareTarget};

fn shared_server(hub: &Hub, owner: &str, server: &str, ready: bool) -> Value {
    json!({
        "user": {"name": owner},
        "name": server,
        "url": server_url(&hub.config.hub.base_url, owner, server),
        "full_url": null,
        "ready": ready,
    })
}

fn share_model(hub: &Hub, s: &ShareRow) -> Value {
    let (user, group, kind) = match &s.target {
        ShareTarget::User(u) => (json!({"name": u}), Value::Null, "user"),
        ShareTarget::Group(g) => (Value::Null, json!({"name": g}), "group"),
    };
    json!({
        "server": shared_server(hub, &s.owner, &s.server, s.server_ready),
        "scopes": s.scopes,
        "user": user,
        "group": group,
        "kind": kind,
        "created_at": isoformat(s.created),
    })
}

fn code_model(hub: &Hub, c: &ShareCodeRow) -> Value {
    json!({
        "server": shared_server(hub, &c.owner, &c.server, c.server_ready),
        "scopes": c.scopes,
        "id": format!("sc_{}", c.id),
        "created_at": isoformat(c.created),
        "expires_at": isoformat(c.expires_at),
        "exchange_count": c.exchange_count,
        "last_exchanged_at": c.last_exchanged_at.map(isoformat),
    })
}

/// Always the pagination wrapper, whatever the Accept header says.
fn wrapped(p: Page, items: Vec<Value>, total: i64, headers: &HeaderMap, uri: &Uri) -> Json<Value> {
    Json(
        Page {
            paginated: true,
            ..p
        }
        .wrap(items, total, headers, uri),
    )
}

type Q = axum::extract::Query<HashMap<String, String>>;
type U = axum::extract::OriginalUri;

/// `{"user"|"group": name, "scopes"?: [..]}`: exactly one target, no other keys.
fn share_request(body: Option<Value>) -> Result<(ShareWith, Option<Vec<String>>), ApiError> {
    let map = match body {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "user" | "group" | "scopes"))
    {
        return Err(ApiError::bad_request(format!("Unexpected field: {k}")));
    }
    let name = |k: &str| -> Result<Option<String>, ApiError> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(format!("{k} must be a string"))),
        }
    };
    let with = match (name("user")?, name("group")?) {
        (Some(u), None) => ShareWith::User(u),
        (None, Some(g)) => ShareWith::Group(g),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Expected exactly one of `user` or `group`, not both.",
            ))
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "Specify exactly one of `user` or `group`",
            ))
        }
    };
    Ok((with, opt_strings(&map, "scopes")?))
}

pub(super) async fn owner_shares(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): U,
    Path(owner): Path<String>,
    axum::extract::Query(query): Q,
) -> Result<Json<Value>, ApiError> {
    let p = page(&hub, &headers, &query)?;
    let (rows, total) = hub
        .server_shares(&who, &owner, None, p.offset, p.limit)
        .await?;
    let items = rows.iter().map(|s| share_model(&hub, s)).collect();
    Ok(wrapped(p, items, total, &headers, &uri))
}

pub(super) async fn server_shares(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): U,
    Path((owner, server)): Path<(String, String)>,
    axum::extract::Query(query): Q,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    let p = page(&hub, &headers, &query)?;
    let (rows, total) = hub
        .server_shares(&who, &owner, Some(&server), p.offset, p.limit)
        .await?;
    let items = rows.iter().map(|s| share_model(&hub, s)).collect();
    Ok(wrapped(p, items, total, &headers, &uri))
}

pub(super) async fn grant_share(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((owner, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    let (with, scopes) = share_request(json_body(&body)?)?;
    let share = hub.grant_share(&who, &owner, &server, with, scopes).await?;
    Ok(Json(share_model(&hub, &share)))
}

pub(super) async fn revoke_share(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((owner, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    let (with, scopes) = share_request(json_body(&body)?)?;
    Ok(Json(
        match hub
            .revoke_share(&who, &owner, &server, with, scopes)
            .await?
        {
            Some(share) => share_model(&hub, &share),
            None => json!({}),
        },
    ))
}

pub(super) async fn delete_shares(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((owner, server)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let server = default_server(server);
    hub.delete_shares(&who, &owner, &server).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn codes(
    hub: &Hub,
    who: &Identity,
    headers: &HeaderMap,
    uri: &Uri,
    owner: &str,
    server: Option<&str>,
    query: &HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let p = page(hub, headers, query)?;
    let (rows, total) = hub
        .share_codes(who, owner, server, p.offset, p.limit)
        .await?;
    let items = rows.iter().map(|c| code_model(hub, c)).collect();
    Ok(wrapped(p, items, total, headers, uri))
}

pub(super) async fn owner_codes(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): U,
    Path(owner): Path<String>,
    axum::extract::Query(query): Q,
) -> Result<Json<Value>, ApiError> {
    codes(&hub, &who, &headers, &uri, &owner, None, &query).await
}

pub(super) async fn server_codes(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): U,
    Path((owner, server)): Path<(String, String)>,
    axum::extract::Query(query): Q,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    codes(&hub, &who, &headers, &uri, &owner, Some(&server), &query).await
}

pub(super) async fn create_code(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((owner, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    let map = match json_body(&body)? {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "scopes" | "expires_in"))
    {
        return Err(ApiError::bad_request(format!("Unexpected field: {k}")));
    }
    let expires_in = match map.get("expires_in") {
        None => CODE_DEFAULT_EXPIRY_S,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| ApiError::bad_request("expires_in must be an integer"))?,
    };
    let scopes = opt_strings(&map, "scopes")?;
    let (code, row) = hub
        .create_share_code(&who, &owner, &server, scopes, expires_in)
        .await?;
    let mut model = code_model(&hub, &row);
    if let Value::Object(m) = &mut model {
        let accept = format!("{}hub/accept-share?code={code}", hub.config.hub.base_url);
        m.insert("code".into(), json!(code));
        m.insert("accept_url".into(), json!(accept));
        m.insert("full_accept_url".into(), Value::Null);
    }
    Ok(Json(model))
}

pub(super) async fn delete_codes(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((owner, server)): Path<(String, String)>,
    axum::extract::Query(query): Q,
) -> Result<StatusCode, ApiError> {
    let server = default_server(server);
    hub.delete_share_codes(
        &who,
        &owner,
        &server,
        query
            .get("code")
            .map(String::as_str)
            .filter(|c| !c.is_empty()),
        query
            .get("id")
            .map(String::as_str)
            .filter(|c| !c.is_empty()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn user_received(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): U,
    Path(name): Path<String>,
    axum::extract::Query(query): Q,
) -> Result<Json<Value>, ApiError> {
    let p = page(&hub, &headers, &query)?;
    let (rows, total) = hub.received_shares(&who, &name, p.offset, p.limit).await?;
    let items = rows.iter().map(|s| share_model(&hub, s)).collect();
    Ok(wrapped(p, items, total, &headers, &uri))
}

pub(super) async fn group_received(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): U,
    Path(name): Path<String>,
    axum::extract::Query(query): Q,
) -> Result<Json<Value>, ApiError> {
    let p = page(&hub, &headers, &query)?;
    let (rows, total) = hub.group_shares(&who, &name, p.offset, p.limit).await?;
    let items = rows.iter().map(|s| share_model(&hub, s)).collect();
    Ok(wrapped(p, items, total, &headers, &uri))
}

async fn one_received(
    hub: &Hub,
    who: &Identity,
    target: ShareWith,
    owner: &str,
    server: &str,
    delete: bool,
) -> Result<Response, ApiError> {
    let share = hub
        .received_share(who, target, owner, server, delete)
        .await?;
    Ok(if delete {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(share_model(hub, &share)).into_response()
    })
}

pub(super) async fn user_share(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    method: http::Method,
    Path((name, owner, server)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let server = default_server(server);
    let delete = method == http::Method::DELETE;
    one_received(&hub, &who, ShareWith::User(name), &owner, &server, delete).await
}

pub(super) async fn group_share(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    method: http::Method,
    Path((name, owner, server)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let server = default_server(server);
    let delete = method == http::Method::DELETE;
    one_received(&hub, &who, ShareWith::Group(name), &owner, &server, delete).await
}
