//! `/users/{name}/server`, `/users/{name}/servers/{server}` (records: read, define, change,
//! remove) and `/users/{name}/activity`.

use super::*;
use crate::models::server_model;

fn model(hub: &Hub, who: &Identity, row: &oxhub_store::ServerRow) -> Value {
    let with_state = who.scopes.permits(
        "admin:server_state",
        &Resource::Server {
            user: &row.user,
            server: &row.name,
        },
        &Groups::default(),
    );
    server_model(row, &hub.config.hub.base_url, with_state)
}

pub(super) async fn get_server(
    State(hub): S,
    headers: HeaderMap,
    Path((name, server)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    let who = identity(&hub, &headers).await?;
    let row = hub.server_record(&who, &name, &server).await?;
    Ok(Json(model(&hub, &who, &row)))
}

/// The ServerRequest body: `{"display_name"?, "user_options"?}`; a body with neither key is
/// itself the user options (JupyterHub's back-compatibility rule).
fn server_request(body: Option<Value>) -> Result<(Option<String>, Option<Value>), ApiError> {
    let map = match body {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    if !map.contains_key("display_name") && !map.contains_key("user_options") {
        return Ok((None, Some(Value::Object(map))));
    }
    let display = match map.get("display_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::bad_request("display_name must be a string")),
    };
    let options = match map.get("user_options") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(ApiError::bad_request("user_options must be an object")),
    };
    Ok((display, options))
}

pub(super) async fn put_server(
    State(hub): S,
    headers: HeaderMap,
    Path((name, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let server = default_server(server);
    let who = identity(&hub, &headers).await?;
    let (display, options) = server_request(json_body(&body)?)?;
    let row = hub
        .create_named_server(&who, &name, &server, display, options)
        .await?;
    Ok((StatusCode::CREATED, Json(model(&hub, &who, &row))).into_response())
}

pub(super) async fn patch_server(
    State(hub): S,
    headers: HeaderMap,
    Path((name, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
    let who = identity(&hub, &headers).await?;
    let Some(Value::Object(map)) = json_body(&body)? else {
        return Err(ApiError::bad_request(
            "Body must be a JSON object with name, display_name or user_options",
        ));
    };
    if map.is_empty() {
        return Err(ApiError::bad_request("Nothing to change"));
    }
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "display_name" | "user_options"))
    {
        return Err(ApiError::bad_request(format!(
            "{k} is not a server field that can be changed"
        )));
    }
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match map.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(format!("{k} must be a string"))),
        }
    };
    let changes = oxhub_core::servers::ServerChanges {
        name: text("name")?,
        display_name: text("display_name")?,
        user_options: match map.get("user_options") {
            None => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(ApiError::bad_request("user_options must be an object")),
        },
    };
    let row = hub.patch_server(&who, &name, &server, changes).await?;
    Ok(Json(model(&hub, &who, &row)))
}

pub(super) async fn delete_server(
    State(hub): S,
    headers: HeaderMap,
    Path((name, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let server = default_server(server);
    let who = identity(&hub, &headers).await?;
    let remove = match json_body(&body)? {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => match m.get("remove") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::bad_request("remove must be a boolean")),
        },
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    };
    hub.remove_stopped_server(&who, &name, &server, remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn get_default_server(
    state: S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    get_server(state, headers, Path((name, String::new()))).await
}

pub(super) async fn delete_default_server(
    state: S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    delete_server(state, headers, Path((name, String::new())), body).await
}

pub(super) async fn activity(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let who = identity(&hub, &headers).await?;
    let body = json_body(&body)?.unwrap_or(Value::Null);
    hub.record_activity(&who, &name, &body).await?;
    Ok(StatusCode::OK)
}
