//! The typed configuration handed to the rest of the hub: one immutable value, validated once.
//!
//! Fields carry the effective value of each trait for the class in use (traitlets
//! inheritance applied), defaults from the trait table. Settings of the selected
//! authenticator/spawner class that have no field here are kept in `extra`, by trait name.

use crate::error::{ConfigError, ErrorKind};
use crate::resolve::{location, Effective, Resolved};
use crate::value::Value;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubConfig {
    pub hub: HubSettings,
    pub authenticator: AuthenticatorSettings,
    pub spawner: SpawnerSettings,
    pub proxy: ProxySettings,
    /// `CryptKeeper.keys` as given (else JUPYTERHUB_CRYPT_KEY at start-up).
    #[serde(skip)]
    pub crypt_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HubSettings {
    pub ip: String,
    pub port: u16,
    pub base_url: String,
    pub bind_url: String,
    pub public_url: String,
    pub hub_ip: String,
    pub hub_port: u16,
    pub hub_bind_url: String,
    pub hub_connect_ip: String,
    pub hub_connect_url: String,
    pub hub_routespec: String,
    pub db_url: String,
    pub upgrade_db: bool,
    pub reset_db: bool,
    pub cookie_secret_file: String,
    pub cookie_max_age_days: f64,
    pub cookie_host_prefix_enabled: bool,
    pub ssl_key: String,
    pub ssl_cert: String,
    pub log_level: i64,
    pub concurrent_spawn_limit: i64,
    pub active_server_limit: i64,
    pub allow_named_servers: bool,
    pub named_server_limit_per_user: i64,
    pub default_server_name: String,
    pub default_url: Option<String>,
    pub redirect_to_server: bool,
    pub shutdown_on_logout: bool,
    pub cleanup_servers: bool,
    pub cleanup_proxy: bool,
    pub api_page_default_limit: i64,
    pub api_page_max_limit: i64,
    pub activity_resolution: i64,
    pub last_activity_interval: i64,
    pub active_user_window: i64,
    pub service_check_interval: i64,
    pub init_spawners_timeout: i64,
    pub token_expires_in_max_seconds: i64,
    pub oauth_token_expires_in: i64,
    pub authenticate_prometheus: bool,
    pub subdomain_host: String,
    pub implicit_spawn_seconds: f64,
    pub use_legacy_stopped_server_status_code: bool,
    pub template_paths: Vec<String>,
    /// An image replacing the logo in the page header (`/hub/logo`).
    pub logo_file: String,
    pub pid_file: String,
    pub trusted_downstream_ips: Vec<String>,
    pub extra_user_scopes: Vec<String>,
    #[serde(serialize_with = "as_json")]
    pub services: Vec<Value>,
    #[serde(serialize_with = "as_json")]
    pub load_roles: Vec<Value>,
    #[serde(serialize_with = "as_json")]
    pub load_groups: Value,
    #[serde(serialize_with = "as_json")]
    pub custom_scopes: Value,
    #[serde(serialize_with = "as_json")]
    pub template_vars: Value,
    #[serde(serialize_with = "as_json")]
    pub tornado_settings: Value,
    /// token → user name (secret; not serialized).
    #[serde(skip)]
    pub api_tokens: Vec<(String, String)>,
    /// token → service name (secret; not serialized).
    #[serde(skip)]
    pub service_tokens: Vec<(String, String)>,
    /// From `JupyterHub.cookie_secret` (secret; not serialized).
    #[serde(skip)]
    pub cookie_secret: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthenticatorSettings {
    /// The implementation's class, e.g. `DummyAuthenticator`.
    pub class: String,
    pub admin_users: Vec<String>,
    pub allowed_users: Vec<String>,
    pub blocked_users: Vec<String>,
    pub allow_all: bool,
    pub allow_existing_users: bool,
    pub auto_login: bool,
    pub enable_auth_state: bool,
    pub manage_groups: bool,
    pub manage_roles: bool,
    pub delete_invalid_users: bool,
    /// A command (argv), run after each successful login with the auth model on stdin.
    pub post_auth_hook: Vec<String>,
    pub auth_refresh_age: i64,
    pub refresh_pre_spawn: bool,
    pub username_pattern: String,
    #[serde(serialize_with = "as_json")]
    pub username_map: Value,
    /// Every other trait of the selected class, effective value (secrets redacted).
    #[serde(serialize_with = "as_json_map")]
    pub extra: BTreeMap<String, Value>,
    #[serde(skip)]
    pub secrets: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpawnerSettings {
    pub class: String,
    pub cmd: Vec<String>,
    pub args: Vec<String>,
    #[serde(serialize_with = "as_json")]
    pub environment: Value,
    pub env_keep: Vec<String>,
    pub notebook_dir: String,
    pub default_url: String,
    pub ip: String,
    pub port: u16,
    pub start_timeout: i64,
    pub http_timeout: i64,
    pub poll_interval: i64,
    pub mem_limit: Option<i64>,
    pub mem_guarantee: Option<i64>,
    pub cpu_limit: Option<f64>,
    pub cpu_guarantee: Option<f64>,
    pub options_form: String,
    /// `profile_list` as JSON (KubeSpawner's shape; checked when the hub starts).
    #[serde(serialize_with = "as_json")]
    pub profile_list: Value,
    pub pre_spawn_hook: Vec<String>,
    pub post_stop_hook: Vec<String>,
    pub debug: bool,
    pub disable_user_config: bool,
    pub consecutive_failure_limit: i64,
    #[serde(serialize_with = "as_json_map")]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxySettings {
    pub class: String,
    pub should_start: bool,
    pub api_url: String,
    pub command: Vec<String>,
    pub debug: bool,
    pub log_level: String,
    pub check_running_interval: i64,
    pub pid_file: String,
    #[serde(serialize_with = "as_json")]
    pub extra_routes: Value,
    /// From `ConfigurableHTTPProxy.auth_token` (secret; not serialized).
    #[serde(skip)]
    pub auth_token: String,
}

fn as_json<S: serde::Serializer, T: AsJson>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&v.as_json(), s)
}

fn as_json_map<S: serde::Serializer>(v: &BTreeMap<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    let m: serde_json::Map<String, serde_json::Value> =
        v.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    serde::Serialize::serialize(&m, s)
}

trait AsJson {
    fn as_json(&self) -> serde_json::Value;
}
impl AsJson for Value {
    fn as_json(&self) -> serde_json::Value {
        self.to_json()
    }
}
impl AsJson for Vec<Value> {
    fn as_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.iter().map(Value::to_json).collect())
    }
}

/// Reads typed fields from [`Effective`] for one class, reporting errors at the value's origin.
struct Reader<'a> {
    eff: &'a Effective,
    class: &'static str,
}

impl Reader<'_> {
    fn get(&self, name: &str) -> Result<Resolved, ConfigError> {
        self.eff.get(self.class, name).ok_or_else(|| {
            ConfigError::new(
                ErrorKind::Invalid,
                None,
                format!("internal: {}.{name} is not in the trait table", self.class),
            )
        })
    }

    fn invalid(&self, r: &Resolved, name: &str, why: &str) -> ConfigError {
        ConfigError::new(
            ErrorKind::Invalid,
            location(&r.origin),
            format!(
                "c.{}.{name}: {why}",
                r.set_on.as_deref().unwrap_or(self.class)
            ),
        )
    }

    fn string(&self, name: &str) -> Result<String, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Str(s) | Value::Class(s) => s,
            Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        })
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Str(s) => Some(s),
            _ => None,
        })
    }

    fn int(&self, name: &str) -> Result<i64, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Int(i) => i,
            _ => 0,
        })
    }

    fn non_negative(&self, name: &str) -> Result<i64, ConfigError> {
        let r = self.get(name)?;
        match r.value {
            Value::Int(i) if i >= 0 => Ok(i),
            Value::Int(i) => Err(self.invalid(
                &r,
                name,
                &format!("{i} is negative; use 0 for the default/unlimited"),
            )),
            _ => Ok(0),
        }
    }

    fn opt_int(&self, name: &str) -> Result<Option<i64>, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Int(i) => Some(i),
            _ => None,
        })
    }

    fn port(&self, name: &str) -> Result<u16, ConfigError> {
        let r = self.get(name)?;
        match r.value {
            Value::Int(i) => u16::try_from(i)
                .map_err(|_| self.invalid(&r, name, &format!("{i} is not a TCP port (0-65535)"))),
            _ => Ok(0),
        }
    }

    fn float(&self, name: &str) -> Result<f64, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Float(f) => f,
            Value::Int(i) => i as f64,
            _ => 0.0,
        })
    }

    fn opt_float(&self, name: &str) -> Result<Option<f64>, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => None,
        })
    }

    fn boolean(&self, name: &str) -> Result<bool, ConfigError> {
        Ok(self.get(name)?.value == Value::Bool(true))
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::Str(s) => vec![s],
            _ => vec![],
        })
    }

    fn value(&self, name: &str) -> Result<Value, ConfigError> {
        Ok(self.get(name)?.value)
    }

    fn list(&self, name: &str) -> Result<Vec<Value>, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::List(v) => v,
            _ => vec![],
        })
    }

    fn pairs(&self, name: &str) -> Result<Vec<(String, String)>, ConfigError> {
        Ok(match self.get(name)?.value {
            Value::Dict(d) => d
                .into_iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect(),
            _ => vec![],
        })
    }

    /// The effective values of this class's traits (its own and inherited) that have no typed field.
    fn extra(&self, known: &[&str]) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
        let mut extra = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for t in crate::traits::traits_of(self.class) {
            if known.contains(&t.name) {
                continue;
            }
            if let Some(r) = self.eff.get(self.class, t.name) {
                if t.secret {
                    secrets.insert(t.name.to_owned(), r.value);
                    extra.insert(t.name.to_owned(), Value::Str("(secret)".into()));
                } else {
                    extra.insert(t.name.to_owned(), r.value);
                }
            }
        }
        (extra, secrets)
    }
}

impl HubConfig {
    /// The defaults alone, as if no config file were given.
    pub fn defaults() -> Result<HubConfig, ConfigError> {
        HubConfig::from_effective(&crate::resolve::resolve(
            &crate::raw::RawConfig::default(),
            false,
        )?)
    }

    pub fn from_effective(eff: &Effective) -> Result<HubConfig, ConfigError> {
        let h = Reader {
            eff,
            class: "JupyterHub",
        };
        let hub = HubSettings {
            ip: h.string("ip")?,
            port: h.port("port")?,
            base_url: h.string("base_url")?,
            bind_url: h.string("bind_url")?,
            public_url: h.string("public_url")?,
            hub_ip: h.string("hub_ip")?,
            hub_port: h.port("hub_port")?,
            hub_bind_url: h.string("hub_bind_url")?,
            hub_connect_ip: h.string("hub_connect_ip")?,
            hub_connect_url: h.string("hub_connect_url")?,
            hub_routespec: h.string("hub_routespec")?,
            db_url: {
                let url = h.string("db_url")?;
                let known = [
                    "sqlite://",
                    "postgresql://",
                    "postgresql+",
                    "postgres://",
                    "mysql://",
                    "mysql+",
                ];
                if !known.iter().any(|p| url.starts_with(p)) {
                    let r = h.get("db_url")?;
                    return Err(h.invalid(
                        &r,
                        "db_url",
                        "expected a sqlite:///, postgresql:// or mysql:// URL",
                    ));
                }
                url
            },
            upgrade_db: h.boolean("upgrade_db")?,
            reset_db: h.boolean("reset_db")?,
            cookie_secret_file: h.string("cookie_secret_file")?,
            cookie_max_age_days: h.float("cookie_max_age_days")?,
            cookie_host_prefix_enabled: h.boolean("cookie_host_prefix_enabled")?,
            ssl_key: h.string("ssl_key")?,
            ssl_cert: h.string("ssl_cert")?,
            log_level: h.int("log_level")?,
            concurrent_spawn_limit: h.non_negative("concurrent_spawn_limit")?,
            active_server_limit: h.non_negative("active_server_limit")?,
            allow_named_servers: h.boolean("allow_named_servers")?,
            named_server_limit_per_user: h.non_negative("named_server_limit_per_user")?,
            default_server_name: h.string("default_server_name")?,
            default_url: h.opt_string("default_url")?,
            redirect_to_server: h.boolean("redirect_to_server")?,
            shutdown_on_logout: h.boolean("shutdown_on_logout")?,
            cleanup_servers: h.boolean("cleanup_servers")?,
            cleanup_proxy: h.boolean("cleanup_proxy")?,
            api_page_default_limit: h.non_negative("api_page_default_limit")?,
            api_page_max_limit: h.non_negative("api_page_max_limit")?,
            activity_resolution: h.non_negative("activity_resolution")?,
            last_activity_interval: h.non_negative("last_activity_interval")?,
            active_user_window: h.non_negative("active_user_window")?,
            service_check_interval: h.non_negative("service_check_interval")?,
            init_spawners_timeout: h.int("init_spawners_timeout")?,
            token_expires_in_max_seconds: h.non_negative("token_expires_in_max_seconds")?,
            oauth_token_expires_in: h.non_negative("oauth_token_expires_in")?,
            authenticate_prometheus: h.boolean("authenticate_prometheus")?,
            subdomain_host: h.string("subdomain_host")?,
            implicit_spawn_seconds: h.float("implicit_spawn_seconds")?,
            use_legacy_stopped_server_status_code: h
                .boolean("use_legacy_stopped_server_status_code")?,
            template_paths: h.strings("template_paths")?,
            logo_file: h.string("logo_file")?,
            pid_file: h.string("pid_file")?,
            trusted_downstream_ips: h.strings("trusted_downstream_ips")?,
            extra_user_scopes: h.strings("extra_user_scopes")?,
            services: h.list("services")?,
            load_roles: h.list("load_roles")?,
            load_groups: h.value("load_groups")?,
            custom_scopes: h.value("custom_scopes")?,
            template_vars: h.value("template_vars")?,
            tornado_settings: h.value("tornado_settings")?,
            api_tokens: h.pairs("api_tokens")?,
            service_tokens: h.pairs("service_tokens")?,
            cookie_secret: match h.value("cookie_secret")? {
                Value::Bytes(b) => Some(b),
                Value::Str(s) => Some(s.into_bytes()),
                _ => None,
            },
        };
        if hub.api_page_default_limit > hub.api_page_max_limit {
            let r = h.get("api_page_default_limit")?;
            return Err(h.invalid(
                &r,
                "api_page_default_limit",
                "is larger than api_page_max_limit",
            ));
        }

        let a = Reader {
            eff,
            class: eff.authenticator.class,
        };
        const AUTH_FIELDS: &[&str] = &[
            "admin_users",
            "allowed_users",
            "blocked_users",
            "allow_all",
            "allow_existing_users",
            "auto_login",
            "enable_auth_state",
            "manage_groups",
            "manage_roles",
            "delete_invalid_users",
            "post_auth_hook",
            "auth_refresh_age",
            "refresh_pre_spawn",
            "username_pattern",
            "username_map",
        ];
        let (extra, secrets) = a.extra(AUTH_FIELDS);
        let mut authenticator = AuthenticatorSettings {
            class: a.class.to_owned(),
            admin_users: a.strings("admin_users")?,
            allowed_users: a.strings("allowed_users")?,
            blocked_users: a.strings("blocked_users")?,
            allow_all: a.boolean("allow_all")?,
            allow_existing_users: a.boolean("allow_existing_users")?,
            auto_login: a.boolean("auto_login")?,
            enable_auth_state: a.boolean("enable_auth_state")?,
            manage_groups: a.boolean("manage_groups")?,
            manage_roles: a.boolean("manage_roles")?,
            delete_invalid_users: a.boolean("delete_invalid_users")?,
            post_auth_hook: a.strings("post_auth_hook")?,
            auth_refresh_age: a.non_negative("auth_refresh_age")?,
            refresh_pre_spawn: a.boolean("refresh_pre_spawn")?,
            username_pattern: a.string("username_pattern")?,
            username_map: a.value("username_map")?,
            extra,
            secrets,
        };
        // `allow_existing_users` left unset: the base class admits existing users when
        // `allowed_users` is set; OAuthenticator never does (authenticators.md §1.4).
        if a.get("allow_existing_users")?.set_on.is_none() {
            let oauth = crate::traits::lineage(a.class).contains(&"OAuthenticator");
            authenticator.allow_existing_users = !oauth && !authenticator.allowed_users.is_empty();
        }
        authenticator.admin_users.sort();
        authenticator.allowed_users.sort();
        authenticator.blocked_users.sort();

        let s = Reader {
            eff,
            class: eff.spawner.class,
        };
        const SPAWNER_FIELDS: &[&str] = &[
            "cmd",
            "args",
            "environment",
            "env_keep",
            "notebook_dir",
            "default_url",
            "ip",
            "port",
            "start_timeout",
            "http_timeout",
            "poll_interval",
            "mem_limit",
            "mem_guarantee",
            "cpu_limit",
            "cpu_guarantee",
            "options_form",
            "profile_list",
            "pre_spawn_hook",
            "post_stop_hook",
            "debug",
            "disable_user_config",
            "consecutive_failure_limit",
        ];
        let (extra, _) = s.extra(SPAWNER_FIELDS);
        let spawner = SpawnerSettings {
            class: s.class.to_owned(),
            cmd: s.strings("cmd")?,
            args: s.strings("args")?,
            environment: s.value("environment")?,
            env_keep: s.strings("env_keep")?,
            notebook_dir: s.string("notebook_dir")?,
            default_url: s.string("default_url")?,
            ip: s.string("ip")?,
            port: s.port("port")?,
            start_timeout: s.non_negative("start_timeout")?,
            http_timeout: s.non_negative("http_timeout")?,
            poll_interval: s.non_negative("poll_interval")?,
            mem_limit: s.opt_int("mem_limit")?,
            mem_guarantee: s.opt_int("mem_guarantee")?,
            cpu_limit: s.opt_float("cpu_limit")?,
            cpu_guarantee: s.opt_float("cpu_guarantee")?,
            options_form: s.string("options_form")?,
            profile_list: s.value("profile_list")?,
            pre_spawn_hook: s.strings("pre_spawn_hook")?,
            post_stop_hook: s.strings("post_stop_hook")?,
            debug: s.boolean("debug")?,
            disable_user_config: s.boolean("disable_user_config")?,
            consecutive_failure_limit: s.non_negative("consecutive_failure_limit")?,
            extra,
        };

        let p = Reader {
            eff,
            class: eff.proxy.class,
        };
        let proxy = ProxySettings {
            class: p.class.to_owned(),
            should_start: p.boolean("should_start")?,
            api_url: p.string("api_url")?,
            command: p.strings("command")?,
            debug: p.boolean("debug")?,
            log_level: p.string("log_level")?,
            check_running_interval: p.non_negative("check_running_interval")?,
            pid_file: p.string("pid_file")?,
            extra_routes: p.value("extra_routes")?,
            auth_token: p.string("auth_token")?,
        };

        let ck = Reader {
            eff,
            class: "CryptKeeper",
        };
        let crypt_keys = ck.strings("keys")?;
        Ok(HubConfig {
            hub,
            authenticator,
            spawner,
            proxy,
            crypt_keys,
        })
    }
}
