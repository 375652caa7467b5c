//! The home page: the user's default server and named servers (create with a display name,
//! start, stop, delete), with their last activity.

use super::*;
use serde_json::{json, Value};

/// "3 minutes ago", as the pages show times (JupyterHub's pages use moment's `fromNow`);
/// "Never" for none.
pub(crate) fn ago(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "Never".into();
    };
    let s = (oxhub_core::clock::now_ms() - ms).max(0) / 1000;
    let (n, unit) = match s {
        0..=44 => return "a few seconds ago".into(),
        45..=3599 => ((s + 30) / 60, "minute"),
        3600..=86_399 => ((s + 1800) / 3600, "hour"),
        86_400..=2_591_999 => ((s + 43_200) / 86_400, "day"),
        2_592_000..=31_535_999 => ((s + 1_296_000) / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    let n = n.max(1);
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

pub(super) async fn home(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    let user = page.name;
    let ctx = Ctx::of(&hub);
    let servers = hub.servers_of(&user).await.unwrap_or_default();
    let view = |s: &oxhub_store::ServerRow| {
        let state = ServerState::of(s);
        json!({
            "name": s.name,
            "path": path_segment(&s.name),
            "display_name": if s.display_name.is_empty() { s.name.clone() } else { s.display_name.clone() },
            "active": state.is_active(),
            "ready": state == ServerState::Ready,
            "url": server_url(&ctx.base, &user, &s.name),
            "last_activity": s.last_activity.map(oxhub_core::clock::isoformat),
            "last_activity_text": ago(s.last_activity),
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
    let any_active = servers.iter().any(|s| ServerState::of(s).is_active());
    let url = if any_active {
        server_url(&ctx.base, &user, "")
    } else {
        ctx.server_page("spawn", &user, "")
    };
    let session = session_id(&headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
    let resp = render(
        StatusCode::OK,
        "home.html",
        json!({
            "user": user,
            "user_path": path_segment(&user),
            "xsrf": xsrf,
            "url": url,
            "default_server": default,
            "named_servers": named,
            "allow_named_servers": hub.config.hub.allow_named_servers,
            "named_server_limit_per_user": hub.config.hub.named_server_limit_per_user,
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::ago;
    use oxhub_core::clock::now_ms;

    #[test]
    fn relative_times() {
        assert_eq!(ago(None), "Never");
        assert_eq!(ago(Some(now_ms() - 5_000)), "a few seconds ago");
        assert_eq!(ago(Some(now_ms() - 60_000)), "1 minute ago");
        assert_eq!(ago(Some(now_ms() - 3 * 3_600_000)), "3 hours ago");
        assert_eq!(ago(Some(now_ms() - 2 * 86_400_000)), "2 days ago");
    }
}
