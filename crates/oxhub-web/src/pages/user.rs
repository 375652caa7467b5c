//! `/hub/user/<name>/...`, where the proxy sends requests for a server it has no route for
//! (redirect back once it runs, to spawn-pending while it starts, else "not running"), and
//! `/hub/user-redirect/...` (the same path on the caller's own server).

use super::*;
use crate::caller::{identify, login_url, Refused, Xsrf};
use axum::http::Method;
use axum::Json;
use oxhub_model::scope::Resource;
use serde_json::json;

/// `/hub/user/<name>/...` is reached when the proxy has no route for the server: redirect back
/// once it runs, to spawn-pending while it starts, else "not running" (424).
pub(super) async fn user_url(
    State(hub): S,
    headers: HeaderMap,
    method: Method,
    OriginalUri(uri): OriginalUri,
    Path(params): Path<std::collections::HashMap<String, String>>,
) -> Response {
    let ctx = Ctx::of(&hub);
    let user = params.get("user").cloned().unwrap_or_default();
    let rest = params.get("rest").cloned().unwrap_or_default();
    let who = match identify(&hub, &method, &headers, &uri, Xsrf::WhenNeeded, false).await {
        Ok(who) => who,
        Err(Refused::Xsrf(why)) => {
            return ctx.page_error(None, StatusCode::FORBIDDEN, why);
        }
        Err(Refused::Failed(e)) => {
            return crate::PageError::from_hub(None, e).into_response();
        }
        Err(Refused::BadToken) => None,
    };
    let Some(who) = who else {
        if matches!(method, Method::GET | Method::HEAD) {
            return redirect(&login_url(&hub, &uri));
        }
        return ctx.page_error(None, StatusCode::FORBIDDEN, "Login required");
    };
    // A named server is the first segment of the rest when the user has one by that name.
    let first = rest.split('/').next().unwrap_or("");
    let server = if hub.config.hub.allow_named_servers && !first.is_empty() {
        match hub.server_state(&user, first).await {
            Ok(ServerState::Absent) | Err(_) => String::new(),
            Ok(_) => first.to_owned(),
        }
    } else {
        String::new()
    };
    let me = who.subject.name().to_owned();
    if hub
        .require(
            &who,
            &["access:servers"],
            Resource::Server {
                user: &user,
                server: &server,
            },
        )
        .await
        .is_err()
    {
        return ctx.page_error(Some(&me), StatusCode::NOT_FOUND, "");
    }
    let state = hub
        .server_state(&user, &server)
        .await
        .unwrap_or(ServerState::Absent);
    let full_path = uri
        .path()
        .strip_prefix(&ctx.hub(""))
        .map(|p| format!("{}{p}", ctx.base))
        .unwrap_or_default();
    match state {
        ServerState::Ready if method == Method::GET => {
            let n: u32 = query_value(&uri, "redirects")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if n >= 4 {
                return ctx.page_error(
                    Some(&me),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Redirect loop detected.",
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(if n == 0 {
                0
            } else {
                250u64 << n
            }))
            .await;
            let mut pairs: Vec<String> = uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("redirects="))
                .map(str::to_owned)
                .collect();
            pairs.push(format!("redirects={}", n + 1));
            return redirect(&format!("{full_path}?{}", pairs.join("&")));
        }
        ServerState::Spawning if method == Method::GET => {
            let mut to = ctx.server_page("spawn-pending", &user, &server);
            to.push_str(&format!(
                "?next={}",
                encode(uri.path_and_query().map_or("", |p| p.as_str()))
            ));
            return (StatusCode::SEE_OTHER, [(http::header::LOCATION, to)]).into_response();
        }
        _ => {}
    }
    let spawn = ctx.server_page("spawn", &user, &server);
    let status = if hub.config.hub.use_legacy_stopped_server_status_code {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::FAILED_DEPENDENCY
    };
    let wants_json = rest.split('/').any(|s| s == "api")
        || headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json"))
        || method != Method::GET;
    if wants_json {
        let message = format!(
            "JupyterHub server no longer running at {full_path}. Restart the server at {spawn}"
        );
        return (
            status,
            Json(json!({"status": status.as_u16(), "message": message})),
        )
            .into_response();
    }
    render(
        status,
        "not_running.html",
        json!({
            "user": me, "failed": false,
            "server_name": server, "spawn_url": format!("{spawn}?next={}", encode(&full_path)),
        }),
    )
}

pub(super) async fn user_redirect(
    State(hub): S,
    OriginalUri(uri): OriginalUri,
    Path(rest): Path<String>,
    PageUser { name: me, .. }: PageUser,
) -> Response {
    let ctx = Ctx::of(&hub);
    let mut target = format!("{}{}", server_url(&ctx.base, &me, ""), rest);
    if let Some(q) = uri.query() {
        target.push('?');
        target.push_str(q);
    }
    redirect(&format!(
        "{}spawn/{}?next={}",
        ctx.hub(""),
        path_segment(&me),
        encode(&target)
    ))
}
