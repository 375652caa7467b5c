//! The home page: the user's default server and named servers, with start/stop links.

use super::*;
use serde_json::{json, Value};

pub(super) async fn home(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    let user = page.name;
    let ctx = Ctx::of(&hub);
    let servers = hub.servers_of(&user).await.unwrap_or_default();
    let view = |s: &oxhub_store::ServerRow| {
        json!({
            "name": s.name,
            "path": path_segment(&s.name),
            "display_name": if s.display_name.is_empty() { s.name.clone() } else { s.display_name.clone() },
            "active": ServerState::of(s).is_active(),
            "url": server_url(&ctx.base, &user, &s.name),
            "last_activity": s.last_activity.map(oxhub_core::clock::isoformat),
        })
    };
    let default = servers
        .iter()
        .find(|s| s.name.is_empty())
        .map(&view)
        .unwrap_or_else(|| json!({"active": false}));
    let named: Vec<Value> = servers
        .iter()
        .filter(|s| !s.name.is_empty())
        .map(view)
        .collect();
    let session = session_id(&headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
    let resp = render(
        StatusCode::OK,
        "home.html",
        json!({
            "base_url": ctx.base,
            "user": user,
            "user_path": path_segment(&user),
            "xsrf": xsrf,
            "default_server": default,
            "named_servers": named,
            "allow_named_servers": hub.config.hub.allow_named_servers,
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}
