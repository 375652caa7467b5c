//! JupyterHub's JSON models, with field-level filtering by the caller's scopes
//! (`shared/reference/hub-api.md` §2).

use oxhub_core::clock::isoformat;
use oxhub_core::identity::Groups;
use oxhub_model::scope::{Resource, ScopeSet};
use oxhub_store::UserRow;
use serde_json::{json, Map, Value};

/// The user model as `scopes` may see it; `None` when no scope grants any field.
pub fn user_model(
    user: &UserRow,
    roles: &[String],
    groups: &[String],
    scopes: &ScopeSet,
    membership: &Groups,
) -> Option<Value> {
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
        m.insert("server".into(), Value::Null);
        m.insert("pending".into(), Value::Null);
        m.insert("created".into(), json!(isoformat(user.created)));
    }
    if read_users || has("read:users:activity") {
        m.insert(
            "last_activity".into(),
            user.last_activity
                .map_or(Value::Null, |t| json!(isoformat(t))),
        );
    }
    if scopes.permits("read:servers", &res, membership) {
        m.insert("servers".into(), json!({}));
    }
    let any_read = read_users
        || has("read:users:name")
        || has("read:users:activity")
        || has("read:users:groups")
        || has("read:roles:users")
        || has("read:servers");
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
