//! JupyterHub's JSON models, with field-level filtering by the caller's scopes
//! (`shared/reference/hub-api.md` §2).

use oxhub_core::clock::isoformat;
use oxhub_core::identity::Groups;
use oxhub_model::scope::{Resource, ScopeSet};
use oxhub_store::{ServerRow, UserRow};
use serde_json::{json, Map, Value};

pub use oxhub_model::urls::{path_segment, server_url};

/// The server model (`hub-api.md` §2); `state` only for `admin:server_state`.
pub fn server_model(s: &ServerRow, base_url: &str, with_state: bool) -> Value {
    let user = path_segment(&s.user);
    let progress = if s.name.is_empty() {
        format!("{base_url}hub/api/users/{user}/server/progress")
    } else {
        format!(
            "{base_url}hub/api/users/{user}/servers/{}/progress",
            path_segment(&s.name)
        )
    };
    let display = if s.display_name.is_empty() {
        &s.name
    } else {
        &s.display_name
    };
    let mut m = Map::new();
    m.insert("name".into(), json!(s.name));
    m.insert("display_name".into(), json!(display));
    m.insert("full_name".into(), json!(format!("{}/{}", s.user, s.name)));
    m.insert(
        "last_activity".into(),
        s.last_activity.map_or(Value::Null, |t| json!(isoformat(t))),
    );
    m.insert(
        "started".into(),
        s.started.map_or(Value::Null, |t| json!(isoformat(t))),
    );
    m.insert("pending".into(), json!(s.pending));
    m.insert("ready".into(), json!(s.ready && s.pending.is_none()));
    m.insert("stopped".into(), json!(!s.active()));
    m.insert("url".into(), json!(server_url(base_url, &s.user, &s.name)));
    m.insert("user_options".into(), s.user_options.clone());
    m.insert("progress_url".into(), json!(progress));
    m.insert("full_url".into(), Value::Null);
    m.insert("full_progress_url".into(), Value::Null);
    if with_state {
        m.insert("state".into(), s.state.clone());
    }
    Value::Object(m)
}

/// What a user model needs beyond the user row.
pub struct UserExtras<'a> {
    pub roles: &'a [String],
    pub groups: &'a [String],
    pub servers: &'a [ServerRow],
    pub base_url: &'a str,
    pub include_stopped_servers: bool,
}

/// The user model as `scopes` may see it; `None` when no scope grants any field.
pub fn user_model(
    user: &UserRow,
    extras: &UserExtras<'_>,
    scopes: &ScopeSet,
    membership: &Groups,
) -> Option<Value> {
    let (roles, groups) = (extras.roles, extras.groups);
    let default = extras.servers.iter().find(|s| s.name.is_empty());
    let res = Resource::User(&user.name);
    let has = |base: &str| scopes.permits(base, &res, membership);
    let read_users = has("read:users");
    let mut m = Map::new();
    if read_users || has("read:users:name") || has("read:roles:users") {
        m.insert("admin".into(), json!(user.admin));
    }
    if read_users || has("read:users:name") {
        m.insert("user_info".into(), Value::Null);
    }
    if read_users || has("read:roles:users") {
        m.insert("roles".into(), json!(roles));
    }
    if read_users || has("read:users:groups") {
        m.insert("groups".into(), json!(groups));
    }
    if read_users {
        let running = default.filter(|s| s.ready && s.pending.is_none());
        m.insert(
            "server".into(),
            running.map_or(Value::Null, |s| {
                json!(server_url(extras.base_url, &s.user, &s.name))
            }),
        );
        m.insert(
            "pending".into(),
            json!(default.and_then(|s| s.pending.clone())),
        );
        m.insert("created".into(), json!(isoformat(user.created)));
    }
    if read_users || has("read:users:activity") {
        m.insert(
            "last_activity".into(),
            user.last_activity
                .map_or(Value::Null, |t| json!(isoformat(t))),
        );
    }
    // `servers` is there for `read:servers` on the user; a grant for single servers shows
    // just those.
    let all_servers = scopes.permits("read:servers", &res, membership);
    let servers: Map<String, Value> = extras
        .servers
        .iter()
        .filter(|s| extras.include_stopped_servers || s.active())
        .filter_map(|s| {
            let server = Resource::Server {
                user: &user.name,
                server: &s.name,
            };
            (all_servers || scopes.permits("read:servers", &server, membership)).then(|| {
                let with_state = scopes.permits("admin:server_state", &server, membership);
                (s.name.clone(), server_model(s, extras.base_url, with_state))
            })
        })
        .collect();
    let any_server = all_servers || !servers.is_empty();
    if any_server {
        m.insert("servers".into(), Value::Object(servers));
    }
    let any_read = read_users
        || has("read:users:name")
        || has("read:users:activity")
        || has("read:users:groups")
        || has("read:roles:users")
        || any_server;
    if !any_read {
        return None;
    }
    m.insert("kind".into(), json!("user"));
    m.insert("name".into(), json!(user.name));
    Some(Value::Object(m))
}

/// The group model as `scopes` may see it (`read:groups` → name, properties, users;
/// `read:groups:name` → name; `read:roles:groups` → roles); `None` when nothing is visible.
pub fn group_model(
    group: &oxhub_store::GroupRow,
    users: &[String],
    roles: &[String],
    scopes: &ScopeSet,
) -> Option<Value> {
    let res = Resource::Group(&group.name);
    let none = Groups::default();
    let read = scopes.permits("read:groups", &res, &none);
    let name = read || scopes.permits("read:groups:name", &res, &none);
    let read_roles = scopes.permits("read:roles:groups", &res, &none);
    if !(name || read_roles) {
        return None;
    }
    let mut m = Map::new();
    m.insert("kind".into(), json!("group"));
    m.insert("name".into(), json!(group.name));
    if read {
        m.insert("properties".into(), group.properties.clone());
        m.insert("users".into(), json!(users));
    }
    if read_roles {
        m.insert("roles".into(), json!(roles));
    }
    Some(Value::Object(m))
}
