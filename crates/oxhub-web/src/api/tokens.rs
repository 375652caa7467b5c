//! `/users/{name}/tokens...`: a user's API tokens.

use super::*;
use crate::caller::ApiCaller;

pub(super) async fn token_model(
    hub: &Hub,
    user: &str,
    t: &oxhub_store::TokenRow,
) -> Result<Value, ApiError> {
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
        // Tokens not issued through OAuth belong to the hub's own client, as in JupyterHub.
        "oauth_client": t.oauth_client.as_deref().unwrap_or("JupyterHub"),
    }))
}

pub(super) async fn list_tokens(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rows = hub.user_tokens(&who, &name).await?;
    let mut out = Vec::with_capacity(rows.len());
    for t in &rows {
        out.push(token_model(&hub, &name, t).await?);
    }
    Ok(Json(json!({ "api_tokens": out })))
}

pub(super) async fn get_token(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = hub.user_token(&who, &name, &id).await?;
    Ok(Json(token_model(&hub, &name, &t).await?))
}

pub(super) async fn delete_token(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    hub.delete_user_token(&who, &name, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn create_token(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
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
