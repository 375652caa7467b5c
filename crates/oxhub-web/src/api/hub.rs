//! Hub-wide endpoints: `/shutdown`, `/proxy`, and the deprecated `/authorizations/token`.

use super::*;
use crate::caller::ApiCaller;

pub(super) async fn shutdown(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    forbid(
        who.scopes
            .check(&["shutdown"], &Resource::Global, &Groups::default()),
        &["shutdown"],
    )?;
    let mut stop_proxy = true;
    let mut stop_servers = hub.config.hub.cleanup_servers;
    match json_body(&body)? {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in &m {
                let flag = match v {
                    Value::Bool(b) => *b,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "{k} must be true or false, not {v}"
                        )))
                    }
                };
                match k.as_str() {
                    "proxy" => stop_proxy = flag,
                    "servers" => stop_servers = flag,
                    _ => return Err(ApiError::bad_request(format!("Unexpected key: {k}"))),
                }
            }
        }
        Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
    }
    tracing::info!(
        "shutdown requested by {} (proxy: {stop_proxy}, servers: {stop_servers})",
        who.subject.name()
    );
    // The answer goes out first; the server's graceful shutdown lets it finish.
    hub.shutdown.send_replace(true);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message": "Shutting down Hub"})),
    )
        .into_response())
}

pub(super) async fn get_proxy(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = page(&hub, &headers, &query)?;
    let routes = hub.proxy_routes(&who).await?;
    let total = i64::try_from(routes.len()).unwrap_or(i64::MAX);
    let page_of = routes
        .into_iter()
        .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(p.limit).unwrap_or(0));
    let mut table = serde_json::Map::new();
    for r in page_of {
        table.insert(
            r.routespec.clone(),
            json!({"routespec": r.routespec, "target": r.target, "data": r.data}),
        );
    }
    if !p.paginated {
        return Ok(Json(Value::Object(table)));
    }
    let items: Vec<Value> = table.into_values().collect();
    Ok(Json(p.wrap(items, total, &headers, &uri)))
}

pub(super) async fn sync_proxy(
    State(hub): S,
    ApiCaller(who): ApiCaller,
) -> Result<StatusCode, ApiError> {
    hub.check_routes(Some(&who)).await?;
    Ok(StatusCode::OK)
}

pub(super) async fn patch_proxy(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let Some(Value::Object(m)) = json_body(&body)? else {
        return Err(ApiError::bad_request(
            "Body must be a JSON object with api_url and/or auth_token",
        ));
    };
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(format!("{k} must be a string"))),
        }
    };
    let (api_url, auth_token) = (text("api_url")?, text("auth_token")?);
    if api_url.is_none() && auth_token.is_none() {
        return Err(ApiError::bad_request(
            "Body must set api_url and/or auth_token",
        ));
    }
    hub.reconfigure_proxy(&who, api_url, auth_token).await?;
    Ok(StatusCode::OK)
}

/// batchspawner's port callback: a server started by a batch system reports the port it
/// picked, with its own token. JupyterHub answers 200 (its 201 is set after the body).
pub(super) async fn batchspawner_port(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(Value::Object(m)) = json_body(&body)? else {
        return Err(ApiError::bad_request(
            "Body must be a JSON object with a port",
        ));
    };
    hub.report_server_port(&who, &m)?;
    Ok(Json(json!({"message": "BatchSpawner data configured"})))
}

/// Deprecated: the model of a token's owner; the request itself must carry a token.
pub(super) async fn token_owner(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let owner = hub
        .authenticate(&token)
        .await?
        .ok_or_else(|| ApiError::from(HubError::NotFound("No such token".into())))?;
    let model = match &owner.subject {
        Subject::User { name, .. } => users::user_json(&hub, &who, name, false)
            .await?
            .unwrap_or_else(|| json!({"kind": "user", "name": name})),
        Subject::Service { name, admin } => {
            json!({"kind": "service", "name": name, "admin": admin})
        }
    };
    Ok(Json(model))
}
