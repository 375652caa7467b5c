//! The variables every page gets (pages.md §1.1), as JupyterHub's templates and custom
//! overrides of them expect: `base_url` (the hub's prefix, `/hub/`), `prefix`, `user` (an
//! object with `.name`, `.server_url(name)`, `.all_spawners()`, `.spawner` …), `login_url`,
//! `logout_url`, `login_service`, `services` (the nav bar's menu), `parsed_scopes`, `xsrf`,
//! every `template_vars` entry, and the page's announcement. The handler's own variables
//! override them.

use crate::session;
use axum::http::HeaderMap;
use minijinja::value::{Kwargs, Object, Value as Jv};
use minijinja::{Error, State};
use oxhub_core::{Hub, Identity, Subject};
use oxhub_model::scope::Resource;
use oxhub_model::urls::{path_segment, server_url};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `announcement_<page>` of `template_vars` replaces `announcement` on these pages.
fn announcement_key(template: &str) -> Option<&'static str> {
    match template {
        "login.html" => Some("announcement_login"),
        "logout.html" => Some("announcement_logout"),
        "home.html" => Some("announcement_home"),
        "spawn.html" => Some("announcement_spawn"),
        _ => None,
    }
}

pub(crate) async fn build(hub: &Hub, headers: &HeaderMap, template: &str, context: &Value) -> Jv {
    let prefix = hub.config.hub.base_url.clone();
    let hub_prefix = format!("{prefix}hub/");
    let handler = context.as_object().cloned().unwrap_or_default();
    // `user: null` from the handler means "show nobody" (the logout page, the login form).
    let anonymous = handler.get("user") == Some(&Value::Null);
    let viewer = if anonymous {
        None
    } else {
        session::cookie_identity(hub, headers).await
    };
    let user_name = match handler.get("user") {
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => None,
        None => viewer.as_ref().and_then(|w| match &w.subject {
            Subject::User { name, .. } => Some(name.clone()),
            Subject::Service { .. } => None,
        }),
    };

    let mut ns: BTreeMap<String, Jv> = BTreeMap::new();
    if let Value::Object(vars) = hub.config.hub.template_vars.to_json() {
        for (k, v) in vars {
            ns.insert(k, Jv::from_serialize(&v));
        }
    }
    if let Some(key) = announcement_key(template) {
        if let Some(text) = ns.get(key).filter(|v| v.as_str().is_some()).cloned() {
            ns.insert("announcement".into(), text);
        }
    }
    let (service, _, _) = hub.login_texts();
    let xsrf = session::session_id(headers)
        .map(|s| {
            session::current_xsrf(hub, headers, &s)
                .map(str::to_owned)
                .unwrap_or_else(|| session::xsrf_token(hub, &s))
        })
        .unwrap_or_default();
    let scopes = viewer
        .as_ref()
        .map(|w| w.scopes.to_strings())
        .unwrap_or_default();
    let services = match &viewer {
        Some(w) => nav_services(hub, w, &prefix).await,
        None => Vec::new(),
    };
    let common = json!({
        "base_url": hub_prefix,
        "prefix": prefix,
        "login_url": format!("{hub_prefix}login"),
        "logout_url": format!("{hub_prefix}logout"),
        "login_service": service,
        "version_hash": "",
        "xsrf": xsrf,
        "xsrf_token": xsrf,
        "services": services,
        "parsed_scopes": scopes,
        "expanded_scopes": scopes,
        "admin_access": false,
        "no_spawner_check": false,
        "stock_logo": hub.config.hub.logo_file.is_empty(),
    });
    if let Value::Object(m) = common {
        for (k, v) in m {
            ns.insert(k, Jv::from_serialize(&v));
        }
    }
    for (k, v) in &handler {
        if k != "user" {
            ns.insert(k.clone(), Jv::from_serialize(v));
        }
    }
    if handler.contains_key("xsrf") && !handler.contains_key("xsrf_token") {
        if let Some(x) = ns.get("xsrf").cloned() {
            ns.insert("xsrf_token".into(), x);
        }
    }
    let user = match user_name {
        Some(name) => Jv::from_object(UserView::load(hub, &prefix, &name).await),
        None => Jv::from(()),
    };
    ns.insert("user".into(), user);
    Jv::from(ns)
}

/// The services of the nav bar's menu: those with a `url`, not hidden by `display: False`,
/// that the viewer may access.
async fn nav_services(hub: &Hub, who: &Identity, prefix: &str) -> Vec<Value> {
    let rows = match hub.store.services().await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("listing services for the nav bar: {e}");
            return Vec::new();
        }
    };
    let none = oxhub_core::identity::Groups::default();
    rows.iter()
        .filter(|row| {
            let spec = hub.service_spec(row);
            let has_url = spec
                .get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| !u.is_empty());
            let shown = spec.get("display").and_then(Value::as_bool) != Some(false);
            has_url
                && shown
                && who
                    .scopes
                    .permits("access:services", &Resource::Service(&row.name), &none)
        })
        .map(|row| {
            json!({
                "name": row.name,
                "href": format!("{prefix}services/{}/", path_segment(&row.name)),
            })
        })
        .collect()
}

/// The `user` templates see: its fields, `server_url(name="")` and
/// `all_spawners(include_default=True)`; it prints as its name.
#[derive(Debug)]
struct UserView {
    name: String,
    prefix: String,
    fields: BTreeMap<&'static str, Jv>,
    spawners: Vec<(String, Jv)>,
}

impl UserView {
    async fn load(hub: &Hub, prefix: &str, name: &str) -> UserView {
        let servers = hub.servers_of(name).await.unwrap_or_default();
        let spawner = |s: &oxhub_store::ServerRow| {
            let state = oxhub_core::servers::ServerState::of(s);
            Jv::from_serialize(json!({
                "name": s.name,
                "display_name": if s.display_name.is_empty() { &s.name } else { &s.display_name },
                "active": state.is_active(),
                "ready": state == oxhub_core::servers::ServerState::Ready,
                "pending": s.pending,
                "url": server_url(prefix, name, &s.name),
                "last_activity": s.last_activity.map(oxhub_core::clock::isoformat),
                "started": s.started.map(oxhub_core::clock::isoformat),
                "user_options": s.user_options,
            }))
        };
        let spawners: Vec<(String, Jv)> = servers
            .iter()
            .map(|s| (s.name.clone(), spawner(s)))
            .collect();
        let default = servers.iter().find(|s| s.name.is_empty());
        let default_view = default.map(&spawner).unwrap_or_else(|| {
            Jv::from_serialize(json!({"name": "", "display_name": "", "active": false,
                "ready": false, "pending": null, "url": server_url(prefix, name, ""),
                "last_activity": null, "started": null, "user_options": {}}))
        });
        let active = servers
            .iter()
            .any(|s| oxhub_core::servers::ServerState::of(s).is_active());
        let running = default.is_some_and(|s| {
            oxhub_core::servers::ServerState::of(s) == oxhub_core::servers::ServerState::Ready
        });
        let mut fields = BTreeMap::new();
        fields.insert("name", Jv::from(name));
        fields.insert("escaped_name", Jv::from(path_segment(name)));
        let json_name = serde_json::to_string(name).unwrap_or_default();
        fields.insert(
            "json_escaped_name",
            Jv::from(json_name.trim_matches('"').to_owned()),
        );
        fields.insert("url", Jv::from(server_url(prefix, name, "")));
        fields.insert("active", Jv::from(active));
        fields.insert("running", Jv::from(running));
        fields.insert("spawner", default_view);
        fields.insert(
            "spawners",
            Jv::from_iter(spawners.iter().map(|(n, v)| (n.clone(), v.clone()))),
        );
        UserView {
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            fields,
            spawners,
        }
    }
}

impl Object for UserView {
    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Values(self.fields.keys().map(|k| Jv::from(*k)).collect())
    }

    /// A user is always true (`{% if user %}`), whatever its fields.
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Jv) -> Option<Jv> {
        self.fields.get(key.as_str()?).cloned()
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Jv],
    ) -> Result<Jv, Error> {
        match method {
            "server_url" => {
                let (server, kwargs): (Option<&str>, Kwargs) = minijinja::value::from_args(args)?;
                let server = match server {
                    Some(s) => s.to_owned(),
                    None => kwargs
                        .get::<Option<String>>("server_name")?
                        .unwrap_or_default(),
                };
                kwargs.assert_all_used()?;
                Ok(Jv::from(server_url(&self.prefix, &self.name, &server)))
            }
            "all_spawners" => {
                let (positional, kwargs): (Option<bool>, Kwargs) =
                    minijinja::value::from_args(args)?;
                let include_default = kwargs
                    .get::<Option<bool>>("include_default")?
                    .or(positional)
                    .unwrap_or(true);
                kwargs.assert_all_used()?;
                Ok(Jv::from_iter(
                    self.spawners
                        .iter()
                        .filter(|(n, _)| include_default || !n.is_empty())
                        .map(|(_, v)| v.clone()),
                ))
            }
            _ => Err(Error::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_with_their_own_announcement() {
        assert_eq!(announcement_key("login.html"), Some("announcement_login"));
        assert_eq!(announcement_key("token.html"), None);
    }
}
