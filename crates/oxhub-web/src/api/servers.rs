//! `/users/{name}/server`, `/users/{name}/servers/{server}` (records: read, define, change,
//! remove) and `/users/{name}/activity`.

use super::*;
use crate::caller::ApiCaller;
use crate::models::{server_model, server_url};
use oxhub_core::lifecycle::Started;
use oxhub_core::stopping::Stopped;

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
    ApiCaller(who): ApiCaller,
    Path((name, server)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
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
    ApiCaller(who): ApiCaller,
    Path((name, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let server = default_server(server);
    let (display, options) = server_request(json_body(&body)?)?;
    let row = hub
        .create_named_server(&who, &name, &server, display, options)
        .await?;
    Ok((StatusCode::CREATED, Json(model(&hub, &who, &row))).into_response())
}

pub(super) async fn patch_server(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((name, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let server = default_server(server);
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
    ApiCaller(who): ApiCaller,
    Path((name, server)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let server = default_server(server);
    // `remove` in the JSON body (JupyterHub's form) or as `?remove=true`.
    let in_query = match query.get("remove").map(String::as_str) {
        None | Some("false" | "0" | "") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(ApiError::bad_request("remove must be true or false")),
    };
    let remove = in_query
        || match json_body(&body)? {
            None | Some(Value::Null) => false,
            Some(Value::Object(m)) => match m.get("remove") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(ApiError::bad_request("remove must be a boolean")),
            },
            Some(_) => return Err(ApiError::bad_request("Body must be a JSON object")),
        };
    if remove && server.is_empty() {
        return Err(ApiError::bad_request("Cannot delete the default server"));
    }
    if !server.is_empty() && !hub.config.hub.allow_named_servers {
        return Err(ApiError::bad_request("Named servers are not enabled."));
    }
    // Removing waits for the stop to finish, so the record never goes while its process runs.
    let stopped = if remove {
        hub.stop_server_and_wait(&who, &name, &server).await?
    } else {
        hub.stop_server(&who, &name, &server).await?
    };
    match stopped {
        Stopped::Done => {}
        Stopped::Pending => return Ok(StatusCode::ACCEPTED),
    }
    hub.remove_stopped_server(&who, &name, &server, remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /users/{name}/server[s/{server}]`: start; 201 when ready within the slow-spawn
/// window, 202 while still starting. The body is a ServerRequest.
pub(super) async fn start_server(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((name, server)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let server = default_server(server);
    let (display, options) = server_request(json_body(&body)?)?;
    if !server.is_empty()
        && display.is_some()
        && hub
            .store
            .server(&name, &server)
            .await
            .map_err(HubError::from)?
            .is_none()
    {
        hub.create_named_server(&who, &name, &server, display, options.clone())
            .await?;
    }
    let status = match hub.start_server(&who, &name, &server, options).await? {
        Started::Ready => StatusCode::CREATED,
        Started::Pending => StatusCode::ACCEPTED,
    };
    Ok((status, [(http::header::CONTENT_TYPE, "text/plain")], "").into_response())
}

pub(super) async fn start_default_server(
    state: S,
    caller: ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    start_server(state, caller, Path((name, String::new())), body).await
}

/// `GET .../progress`: the spawn's events as `text/event-stream`, ending with the ready or
/// failed event; keep-alives every 8 s.
pub(super) async fn progress(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path((name, server)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let server = default_server(server);
    let row = hub.server_record(&who, &name, &server).await?;
    let tracker = hub.spawn_progress(&name, &server);
    let url = server_url(&hub.config.hub.base_url, &name, &server);
    let ready_event = json!({
        "progress": 100, "ready": true,
        "message": format!("Server ready at {url}"),
        "html_message": format!("Server ready at <a href=\"{url}\">{url}</a>"),
        "url": url,
    });
    let failed = tracker
        .as_ref()
        .and_then(|p| p.outcome())
        .is_some_and(|o| o.get("failed") == Some(&Value::Bool(true)));
    let stream: futures_util::stream::BoxStream<'static, Result<String, std::convert::Infallible>> =
        match tracker {
            _ if row.ready && row.pending.is_none() => Box::pin(futures_util::stream::iter([Ok(
                format!("data: {ready_event}\n\n"),
            )])),
            // A spawn in flight, or the latest one's failure: its events, live.
            Some(p) if row.pending.as_deref() == Some("spawn") || failed => {
                Box::pin(futures_util::stream::unfold(
                    (
                        p,
                        0usize,
                        None::<tokio::sync::watch::Receiver<usize>>,
                        false,
                    ),
                    |(p, next, rx, done)| async move {
                        if done {
                            return None;
                        }
                        let mut rx = rx.unwrap_or_else(|| p.subscribe());
                        loop {
                            let events = p.events_from(next);
                            if !events.is_empty() {
                                let n = next + events.len();
                                let finished = p.finished() && p.events_from(n).is_empty();
                                let text: String =
                                    events.iter().map(|e| format!("data: {e}\n\n")).collect();
                                return Some((Ok(text), (p, n, Some(rx), finished)));
                            }
                            match tokio::time::timeout(
                                std::time::Duration::from_secs(8),
                                rx.changed(),
                            )
                            .await
                            {
                                Ok(Ok(())) => continue,
                                Ok(Err(_)) => return None,
                                Err(_) => {
                                    return Some((
                                        Ok("\n\n".to_owned()),
                                        (p, next, Some(rx), false),
                                    ))
                                }
                            }
                        }
                    },
                ))
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{name}'s server is not starting"
                )))
            }
        };
    Ok((
        [
            (http::header::CONTENT_TYPE, "text/event-stream"),
            (http::header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

pub(super) async fn default_progress(
    state: S,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    progress(state, caller, Path((name, String::new()))).await
}

pub(super) async fn get_default_server(
    state: S,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    get_server(state, caller, Path((name, String::new()))).await
}

pub(super) async fn delete_default_server(
    state: S,
    caller: ApiCaller,
    Path(name): Path<String>,
    query: axum::extract::Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    delete_server(state, caller, Path((name, String::new())), query, body).await
}

pub(super) async fn activity(
    State(hub): S,
    ApiCaller(who): ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body = json_body(&body)?.unwrap_or(Value::Null);
    hub.record_activity(&who, &name, &body).await?;
    Ok(StatusCode::OK)
}
