//! The environment the hub gives the processes that talk back to it: single-user servers
//! (singleuser-protocol.md §1) and managed services (§3). One builder for what both share, so
//! both get the same variables spelled the same way.

use crate::hub::Hub;
use oxhub_model::urls::path_segment;
use oxhub_plugin::spawn::Resources;
use serde_json::Value;

/// Who a process is to the hub: its token and OAuth client, and where it is served.
pub(crate) struct HubClient<'a> {
    pub token: &'a str,
    pub client_id: &'a str,
    /// `""` for a service.
    pub user: &'a str,
    pub server: &'a str,
    /// The URL prefix the proxy routes to it (`/user/alice/`, `/services/cull/`).
    pub prefix: &'a str,
    /// `JUPYTERHUB_OAUTH_ACCESS_SCOPES`: who may use it.
    pub access_scopes: &'a [String],
}

/// Set `key`, replacing an earlier value.
pub(crate) fn set(env: &mut Vec<(String, String)>, key: &str, value: String) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value));
}

/// A JSON value as an environment value: strings as they are, anything else as JSON.
pub(crate) fn env_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Hub {
    /// `Spawner.env_keep` from the hub's environment, then the variables every client of the
    /// hub gets.
    pub(crate) fn client_env(&self, c: &HubClient<'_>) -> Vec<(String, String)> {
        let h = &self.config.hub;
        let mut env: Vec<(String, String)> = self
            .config
            .spawner
            .env_keep
            .iter()
            .filter_map(|k| Some((k.clone(), self.environment.get(k)?.clone())))
            .collect();
        let access = Value::from(c.access_scopes.to_vec()).to_string();
        let vars = [
            ("JUPYTERHUB_API_TOKEN", c.token.to_owned()),
            ("JPY_API_TOKEN", c.token.to_owned()),
            ("JUPYTERHUB_CLIENT_ID", c.client_id.to_owned()),
            ("JUPYTERHUB_API_URL", self.api_url()),
            ("JUPYTERHUB_BASE_URL", h.base_url.clone()),
            ("JUPYTERHUB_HOST", String::new()),
            ("JUPYTERHUB_USER", c.user.to_owned()),
            ("JUPYTERHUB_SERVER_NAME", c.server.to_owned()),
            (
                "JUPYTERHUB_OAUTH_CALLBACK_URL",
                format!("{}oauth_callback", c.prefix),
            ),
            ("JUPYTERHUB_OAUTH_ACCESS_SCOPES", access.clone()),
            ("JUPYTERHUB_OAUTH_SCOPES", access),
            ("JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES", "[]".to_owned()),
            (
                "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED",
                if h.cookie_host_prefix_enabled {
                    "1"
                } else {
                    "0"
                }
                .to_owned(),
            ),
        ];
        for (k, v) in vars {
            set(&mut env, k, v);
        }
        env
    }

    /// The environment of a single-user server: [`Hub::client_env`], the server's own
    /// variables, resource limits, then `Spawner.environment` (with `{username}`) last.
    /// `JUPYTERHUB_SERVICE_URL` is the spawner's to add once it knows where the server listens.
    pub(crate) fn server_env(&self, c: &HubClient<'_>) -> Vec<(String, String)> {
        let sp = &self.config.spawner;
        let mut env = self.client_env(c);
        let api_url = self.api_url();
        set(
            &mut env,
            "JUPYTERHUB_ACTIVITY_URL",
            format!("{api_url}/users/{}/activity", path_segment(c.user)),
        );
        set(&mut env, "JUPYTERHUB_SERVICE_PREFIX", c.prefix.to_owned());
        let expand = |s: &str| s.replace("{username}", c.user);
        if !sp.notebook_dir.is_empty() {
            set(&mut env, "JUPYTERHUB_ROOT_DIR", expand(&sp.notebook_dir));
        }
        if !sp.default_url.is_empty() {
            set(&mut env, "JUPYTERHUB_DEFAULT_URL", expand(&sp.default_url));
        }
        if sp.debug {
            set(&mut env, "JUPYTERHUB_DEBUG", "1".into());
        }
        if sp.disable_user_config {
            set(&mut env, "JUPYTERHUB_DISABLE_USER_CONFIG", "1".into());
        }
        // The public URLs, empty without JupyterHub.public_url, as JupyterHub sets them.
        let origin = public_origin(&self.config.hub.public_url);
        let (public, public_hub) = match origin {
            Some(o) => (
                format!("{o}{}", c.prefix),
                format!("{o}{}hub/", self.config.hub.base_url),
            ),
            None => (String::new(), String::new()),
        };
        set(&mut env, "JUPYTERHUB_PUBLIC_URL", public);
        set(&mut env, "JUPYTERHUB_PUBLIC_HUB_URL", public_hub);
        resource_env(&mut env, &self.resources());
        if let Value::Object(map) = sp.environment.to_json() {
            for (k, v) in map {
                set(&mut env, &k, expand(&env_value(&v)));
            }
        }
        env
    }

    /// `Spawner.mem_limit` and friends.
    pub(crate) fn resources(&self) -> Resources {
        let sp = &self.config.spawner;
        Resources {
            mem_limit: sp.mem_limit,
            mem_guarantee: sp.mem_guarantee,
            cpu_limit: sp.cpu_limit,
            cpu_guarantee: sp.cpu_guarantee,
        }
    }

    /// `JUPYTERHUB_API_URL`: the hub's API as servers and services reach it.
    pub(crate) fn api_url(&self) -> String {
        format!(
            "{}{}hub/api",
            self.hub_connect_url(),
            self.config.hub.base_url
        )
    }

    /// Where servers and services reach the hub's API (`hub_connect_url`, else the hub's own
    /// URL with a wildcard address replaced by loopback).
    pub fn hub_connect_url(&self) -> String {
        let h = &self.config.hub;
        if !h.hub_connect_url.is_empty() {
            return h.hub_connect_url.trim_end_matches('/').to_owned();
        }
        let url = self.hub_url.get().cloned().unwrap_or_default();
        url.replace("://0.0.0.0:", "://127.0.0.1:")
            .replace("://[::]:", "://[::1]:")
    }
}

/// `scheme://host[:port]` of a URL, if it has one.
fn public_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// `MEM_LIMIT`, `MEM_GUARANTEE`, `CPU_LIMIT`, `CPU_GUARANTEE` for `r`, as JupyterHub sets
/// them: only the non-zero ones (a profile that changes a limit calls this again).
pub(crate) fn resource_env(env: &mut Vec<(String, String)>, r: &Resources) {
    let limits = [
        (
            "MEM_LIMIT",
            r.mem_limit.filter(|v| *v != 0).map(|v| v.to_string()),
        ),
        (
            "MEM_GUARANTEE",
            r.mem_guarantee.filter(|v| *v != 0).map(|v| v.to_string()),
        ),
        (
            "CPU_LIMIT",
            r.cpu_limit.filter(|v| *v != 0.0).map(|v| format!("{v:?}")),
        ),
        (
            "CPU_GUARANTEE",
            r.cpu_guarantee
                .filter(|v| *v != 0.0)
                .map(|v| format!("{v:?}")),
        ),
    ];
    for (k, v) in limits {
        env.retain(|(name, _)| name != k);
        if let Some(v) = v {
            env.push((k.to_owned(), v));
        }
    }
}
