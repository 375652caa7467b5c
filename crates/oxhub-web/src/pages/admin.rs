//! The admin panel (admin-ui.md), rendered on the server from the same listings the REST
//! API answers with, so a viewer sees exactly what their scopes let the API show them. Every
//! view is a real URL whose query holds the view's parameters (reload and bookmarks work):
//!
//! | URL | view |
//! |---|---|
//! | `/hub/admin?offset=&limit=&name_filter=&sort=&state=` | the server table |
//! | `/hub/admin/add-users` | add users |
//! | `/hub/admin/edit-user/<name>` | edit (rename, admin flag, delete) a user |
//! | `/hub/admin/groups?offset=&limit=` | the groups |
//! | `/hub/admin/create-group` | create a group |
//! | `/hub/admin/groups/<name>` | a group's members and properties |
//!
//! The buttons call the REST API from `static/js/admin.js` with the page's XSRF token and
//! show the API's own error messages.

use super::home::ago;
use super::*;
use oxhub_core::identity::Groups;
use oxhub_model::scope::Resource;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// `None` when the caller may see the panel, else the 403 page to answer.
fn refuse_panel(page: &PageUser) -> Option<Response> {
    if page
        .who
        .scopes
        .permits("admin-ui", &Resource::Global, &Groups::default())
    {
        None
    } else {
        Some(
            crate::PageError::new(
                Some(&page.name),
                StatusCode::FORBIDDEN,
                "You do not have permission to view the admin page (it needs the admin-ui scope)",
            )
            .into_response(),
        )
    }
}

/// The model an edit view shows, or the page saying why there is none (404, or the
/// API's own refusal).
fn found(
    page: &PageUser,
    kind: &str,
    name: &str,
    model: Result<Option<Value>, crate::ApiError>,
) -> Result<Value, crate::PageError> {
    match model {
        Ok(Some(model)) => Ok(model),
        Ok(None) => Err(crate::PageError::new(
            Some(&page.name),
            StatusCode::NOT_FOUND,
            &format!("No such {kind}: {name}"),
        )),
        Err(e) => Err(crate::PageError::new(
            Some(&page.name),
            e.status,
            &e.message,
        )),
    }
}

/// `offset` and `limit` of a listing view, as the API would take them.
fn window(hub: &Hub, query: &HashMap<String, String>) -> (i64, i64) {
    let int = |k: &str| query.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let max = hub.config.hub.api_page_max_limit.max(1);
    let offset = int("offset").unwrap_or(0).clamp(0, i64::from(i32::MAX));
    let limit = int("limit")
        .unwrap_or(hub.config.hub.api_page_default_limit)
        .clamp(1, max);
    (offset, limit)
}

/// The view's URL with `changes` applied to its parameters; empty values and defaults are
/// left out, as the upstream panel keeps its URLs short.
fn view_url(path: &str, params: &[(&str, String)], changes: &[(&str, String)]) -> String {
    let mut all: Vec<(&str, String)> = params.to_vec();
    for (k, v) in changes {
        match all.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => all.push((k, v.clone())),
        }
    }
    let query: Vec<String> = all
        .iter()
        .filter(|(k, v)| !v.is_empty() && (*k != "offset" || v != "0"))
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The common parts of the panel's pages: the XSRF token (and its cookie), the API's URL.
fn panel_context(
    hub: &Hub,
    headers: &HeaderMap,
    page: &PageUser,
    view: &str,
) -> (Map<String, Value>, Option<String>) {
    let session = session_id(headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(hub, headers, &session);
    let ctx = Ctx::of(hub);
    let mut m = Map::new();
    m.insert("user".into(), json!(page.name));
    m.insert("xsrf".into(), json!(xsrf));
    m.insert("view".into(), json!(view));
    m.insert("admin_access".into(), json!(true));
    m.insert("current_user".into(), json!(page.name));
    m.insert("api_url".into(), json!(ctx.hub("api/")));
    m.insert("admin_url".into(), json!(ctx.hub("admin")));
    m.insert(
        "api_page_limit".into(),
        json!(hub.config.hub.api_page_default_limit),
    );
    m.insert(
        "server_version".into(),
        json!(format!(
            "oxhub {} (JupyterHub {} compatible)",
            env!("CARGO_PKG_VERSION"),
            crate::JUPYTERHUB_VERSION
        )),
    );
    (m, cookie)
}

fn answer(
    status: StatusCode,
    template: &str,
    m: Map<String, Value>,
    cookie: Option<String>,
) -> Response {
    with_cookies(
        render(status, template, Value::Object(m)),
        cookie.into_iter().collect(),
    )
}

/// A model as the rows of a key/value table: keys sorted, nested objects under dotted keys,
/// lists as pills, times also as "N minutes ago".
fn model_rows(model: &Value, skip: &[&str]) -> Vec<Value> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for k in keys {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, &m[k], out);
                }
            }
            Value::Array(items) => out.push(json!({
                "key": prefix,
                "pills": items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>(),
            })),
            other => {
                let text = match other {
                    Value::String(s) => s.clone(),
                    Value::Null => "null".into(),
                    Value::Object(_) => "{}".into(),
                    v => v.to_string(),
                };
                let when = matches!(prefix.rsplit('.').next(), Some("last_activity" | "created" | "started" | "stopped"))
                    .then(|| other.as_str().and_then(parse_time).map(|ms| ago(Some(ms))))
                    .flatten();
                out.push(json!({ "key": prefix, "value": text, "when": when }));
            }
        }
    }
    let mut out = Vec::new();
    if let Value::Object(m) = model {
        let mut keys: Vec<&String> = m.keys().filter(|k| !skip.contains(&k.as_str())).collect();
        keys.sort();
        for k in keys {
            walk(k, &m[k], &mut out);
        }
    }
    out
}

/// Milliseconds since the epoch of an ISO 8601 time as the API writes them.
fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The server table's rows: one per server of each user, the default server first (a user
/// who never had one still gets its row, to start it).
fn server_rows(ctx: &Ctx, users: &[Value]) -> Vec<Value> {
    let mut rows = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let Some(name) = u.get("name").and_then(Value::as_str) else {
            continue;
        };
        let servers = u
            .get("servers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut names: Vec<String> = servers.keys().filter(|k| !k.is_empty()).cloned().collect();
        names.sort();
        names.insert(0, String::new());
        for server in names {
            let model = servers.get(&server).cloned().unwrap_or_else(|| json!({}));
            let ready = model.get("ready").and_then(Value::as_bool).unwrap_or(false);
            let pending = model
                .get("pending")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let time = |k: &str| model.get(k).and_then(Value::as_str).and_then(parse_time);
            let id = format!("row-{i}-{}", path_segment(&server).replace('%', "_"));
            rows.push(json!({
                "id": id,
                "user": name,
                "server": server,
                "named": !server.is_empty(),
                "ready": ready,
                "pending": pending,
                "active": ready || pending.is_some(),
                "exists": !model.as_object().is_none_or(Map::is_empty),
                "url": model.get("url").and_then(Value::as_str).unwrap_or(""),
                "last_activity": ago(time("last_activity")),
                "started": ago(time("started")),
                "profile": model.pointer("/user_options/profile").and_then(Value::as_str).unwrap_or(""),
                "spawn_url": ctx.server_page("spawn", name, &server),
                "edit_url": ctx.hub(&format!("admin/edit-user/{}", path_segment(name))),
                "user_path": path_segment(name),
                "server_path": path_segment(&server),
                "user_rows": model_rows(u, &["server", "servers"]),
                "server_rows": model_rows(&model, &[]),
            }));
        }
    }
    rows
}

/// The sort link of a column: unsorted → ascending → descending → ascending.
fn sort_link(path: &str, params: &[(&str, String)], current: &str, key: &str) -> Value {
    let (next, state) = if current == key {
        (format!("-{key}"), "ascending")
    } else if current == format!("-{key}") {
        (key.to_owned(), "descending")
    } else {
        (key.to_owned(), "none")
    };
    json!({
        "url": view_url(path, params, &[("sort", next), ("offset", "0".into())]),
        "state": state,
    })
}

/// The "Displaying a-b of N" footer with its Previous/Next links.
fn pagination(
    path: &str,
    params: &[(&str, String)],
    offset: i64,
    limit: i64,
    shown: usize,
    total: i64,
) -> Value {
    let shown = i64::try_from(shown).unwrap_or(i64::MAX);
    let first = if shown == 0 { 0 } else { offset + 1 };
    json!({
        "first": first,
        "last": offset + shown,
        "total": total,
        "limit": limit,
        "previous": (offset > 0).then(|| view_url(path, params, &[("offset", (offset - limit).max(0).to_string())])),
        "next": (offset + limit < total).then(|| view_url(path, params, &[("offset", (offset + limit).to_string())])),
    })
}

pub(super) async fn dashboard(
    State(hub): S,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    page: PageUser,
) -> Response {
    if let Some(refused) = refuse_panel(&page) {
        return refused;
    }
    let ctx = Ctx::of(&hub);
    let (offset, limit) = window(&hub, &query);
    let get = |k: &str| query.get(k).cloned().unwrap_or_default();
    let (name_filter, sort, state) = (get("name_filter"), get("sort"), get("state"));
    let path = ctx.hub("admin");
    let params = vec![
        ("offset", offset.to_string()),
        (
            "limit",
            if limit == hub.config.hub.api_page_default_limit {
                String::new()
            } else {
                limit.to_string()
            },
        ),
        ("name_filter", name_filter.clone()),
        ("sort", sort.clone()),
        ("state", state.clone()),
    ];
    let mut api_query = query.clone();
    api_query.insert("include_stopped_servers".into(), "1".into());
    api_query.retain(|k, v| !v.is_empty() || k == "include_stopped_servers");
    let (users, total, error) =
        match crate::api::users_listing(&hub, &page.who, &api_query, offset, limit).await {
            Ok((users, total)) => (users, total, None),
            Err(e) => (Vec::new(), 0, Some(e.message)),
        };
    // Past the end (users were deleted, a stale bookmark): the first page instead.
    if error.is_none() && offset > 0 && offset >= total {
        return redirect(&view_url(&path, &params, &[("offset", "0".into())]));
    }
    let (mut m, cookie) = panel_context(&hub, &headers, &page, "servers");
    m.insert("rows".into(), json!(server_rows(&ctx, &users)));
    m.insert(
        "page_users".into(),
        json!(users
            .iter()
            .filter_map(|u| u.get("name").cloned())
            .collect::<Vec<_>>()),
    );
    m.insert("error".into(), json!(error));
    m.insert("name_filter".into(), json!(name_filter));
    m.insert("sort".into(), json!(sort));
    m.insert("state".into(), json!(state));
    m.insert("limit".into(), json!(limit));
    m.insert(
        "sort_links".into(),
        json!({
            "name": sort_link(&path, &params, &sort, "name"),
            "last_activity": sort_link(&path, &params, &sort, "last_activity"),
        }),
    );
    m.insert(
        "pagination".into(),
        pagination(&path, &params, offset, limit, users.len(), total),
    );
    answer(StatusCode::OK, "admin.html", m, cookie)
}

pub(super) async fn add_users(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    if let Some(refused) = refuse_panel(&page) {
        return refused;
    }
    let (m, cookie) = panel_context(&hub, &headers, &page, "add-users");
    answer(StatusCode::OK, "admin.html", m, cookie)
}

pub(super) async fn edit_user(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    page: PageUser,
) -> Response {
    if let Some(refused) = refuse_panel(&page) {
        return refused;
    }
    let model = match found(
        &page,
        "user",
        &name,
        crate::api::user_json(&hub, &page.who, &name, false).await,
    ) {
        Ok(model) => model,
        Err(refused) => return refused.into_response(),
    };
    let (mut m, cookie) = panel_context(&hub, &headers, &page, "edit-user");
    m.insert("edit_name".into(), json!(name));
    m.insert("edit_path".into(), json!(path_segment(&name)));
    m.insert(
        "edit_admin".into(),
        json!(model.get("admin").and_then(Value::as_bool).unwrap_or(false)),
    );
    answer(StatusCode::OK, "admin.html", m, cookie)
}

pub(super) async fn groups(
    State(hub): S,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    page: PageUser,
) -> Response {
    if let Some(refused) = refuse_panel(&page) {
        return refused;
    }
    let ctx = Ctx::of(&hub);
    let (offset, limit) = window(&hub, &query);
    let path = ctx.hub("admin/groups");
    let params = vec![
        ("offset", offset.to_string()),
        (
            "limit",
            if limit == hub.config.hub.api_page_default_limit {
                String::new()
            } else {
                limit.to_string()
            },
        ),
    ];
    let (groups, total, error) =
        match crate::api::groups_listing(&hub, &page.who, offset, limit).await {
            Ok((groups, total)) => (groups, total, None),
            Err(e) => (Vec::new(), 0, Some(e.message)),
        };
    if error.is_none() && offset > 0 && offset >= total {
        return redirect(&path);
    }
    let items: Vec<Value> = groups
        .iter()
        .filter_map(|g| {
            let name = g.get("name")?.as_str()?;
            Some(json!({
                "name": name,
                "members": g.get("users").and_then(Value::as_array).map_or(0, Vec::len),
                "url": ctx.hub(&format!("admin/groups/{}", path_segment(name))),
            }))
        })
        .collect();
    let (mut m, cookie) = panel_context(&hub, &headers, &page, "groups");
    m.insert("groups".into(), json!(items));
    m.insert("error".into(), json!(error));
    m.insert("limit".into(), json!(limit));
    m.insert(
        "pagination".into(),
        pagination(&path, &params, offset, limit, groups.len(), total),
    );
    answer(StatusCode::OK, "admin_groups.html", m, cookie)
}

pub(super) async fn create_group(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    if let Some(refused) = refuse_panel(&page) {
        return refused;
    }
    let (m, cookie) = panel_context(&hub, &headers, &page, "create-group");
    answer(StatusCode::OK, "admin_groups.html", m, cookie)
}

pub(super) async fn edit_group(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    page: PageUser,
) -> Response {
    if let Some(refused) = refuse_panel(&page) {
        return refused;
    }
    let model = match found(
        &page,
        "group",
        &name,
        crate::api::group_json(&hub, &page.who, &name).await,
    ) {
        Ok(model) => model,
        Err(refused) => return refused.into_response(),
    };
    let members: Vec<Value> = model
        .get("users")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let properties: Vec<Value> = model
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(k, v)| json!({"key": k, "value": v.as_str().map_or_else(|| v.to_string(), str::to_owned)}))
                .collect()
        })
        .unwrap_or_default();
    let (mut m, cookie) = panel_context(&hub, &headers, &page, "edit-group");
    m.insert("group_name".into(), json!(name));
    m.insert("group_path".into(), json!(path_segment(&name)));
    m.insert("members".into(), json!(members));
    m.insert("properties".into(), json!(properties));
    answer(StatusCode::OK, "admin_groups.html", m, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_urls_keep_only_what_differs_from_the_defaults() {
        let params = vec![
            ("offset", "0".to_owned()),
            ("limit", String::new()),
            ("name_filter", "bo b".to_owned()),
        ];
        assert_eq!(
            view_url("/hub/admin", &params, &[]),
            "/hub/admin?name_filter=bo%20b"
        );
        assert_eq!(
            view_url("/hub/admin", &params, &[("offset", "50".into())]),
            "/hub/admin?offset=50&name_filter=bo%20b"
        );
    }

    #[test]
    fn sort_links_cycle() {
        let p: Vec<(&str, String)> = Vec::new();
        assert_eq!(sort_link("/a", &p, "", "name")["url"], "/a?sort=name");
        assert_eq!(sort_link("/a", &p, "name", "name")["url"], "/a?sort=-name");
        assert_eq!(sort_link("/a", &p, "-name", "name")["url"], "/a?sort=name");
        assert_eq!(sort_link("/a", &p, "-name", "name")["state"], "descending");
    }

    #[test]
    fn pagination_footer() {
        let p: Vec<(&str, String)> = Vec::new();
        let f = pagination("/a", &p, 0, 2, 2, 5);
        assert_eq!(
            (f["first"].as_i64(), f["last"].as_i64()),
            (Some(1), Some(2))
        );
        assert!(f["previous"].is_null());
        assert_eq!(f["next"], "/a?offset=2");
        let f = pagination("/a", &p, 0, 50, 0, 0);
        assert_eq!(
            (f["first"].as_i64(), f["last"].as_i64()),
            (Some(0), Some(0))
        );
    }

    #[test]
    fn models_flatten_into_sorted_rows() {
        let rows = model_rows(
            &json!({"name": "a", "groups": ["g1"], "auth_state": {"b": 1, "a": null}, "server": "x"}),
            &["server"],
        );
        let keys: Vec<&str> = rows.iter().filter_map(|r| r["key"].as_str()).collect();
        assert_eq!(keys, ["auth_state.a", "auth_state.b", "groups", "name"]);
        assert_eq!(rows[2]["pills"], json!(["g1"]));
    }
}
