//! Picking the plug-ins: `authenticator_class` and `spawner_class` (already resolved to class
//! names by the configuration) → the constructors of `oxhub-auth` and `oxhub-spawn`, with
//! their settings taken from the configuration; and the process environment the hub may pass
//! on. The only place that knows both the configuration and the implementations.

use oxhub_config::HubConfig;
use oxhub_core::Parts;
use oxhub_plugin::auth::Authenticator;
use oxhub_plugin::proxy::Proxy;
use oxhub_plugin::spawn::Spawner;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The authenticators this build has, as `authenticator_class` names them.
const AUTHENTICATORS: &str = "pam, dummy, null, native, ldapauthenticator, generic-oauth, github, gitlab, google, azuread, auth0, cilogon (and their local- forms)";
/// The spawners this build has.
const SPAWNERS: &str = "localprocess, simple, batchspawner.SlurmSpawner, batchspawner.TorqueSpawner, batchspawner.MoabSpawner, batchspawner.PBSSpawner, batchspawner.LsfSpawner, dockerspawner.DockerSpawner, dockerspawner.SystemUserSpawner, kubespawner.KubeSpawner";

/// A trait of the selected class as JSON, secrets included (its own traits and inherited ones).
fn setting(
    secrets: &BTreeMap<String, oxhub_config::Value>,
    extra: &BTreeMap<String, oxhub_config::Value>,
    key: &str,
) -> Option<serde_json::Value> {
    secrets
        .get(key)
        .or_else(|| extra.get(key))
        .map(|v| v.to_json())
}

/// A string trait of the selected class.
fn text(
    secrets: &BTreeMap<String, oxhub_config::Value>,
    extra: &BTreeMap<String, oxhub_config::Value>,
    key: &str,
) -> Option<String> {
    setting(secrets, extra, key).and_then(|v| v.as_str().map(str::to_owned))
}

/// The authenticator named by the configuration. A class this build does not have yet still
/// lets the hub serve its API with tokens: every login is refused, and the log says why.
pub fn authenticator(
    config: &HubConfig,
    store: &oxhub_store::Store,
) -> Result<Box<dyn Authenticator>, String> {
    let a = &config.authenticator;
    if let Some(provider) = oauth_provider(config) {
        let settings = oauth_settings(config, provider);
        return Ok(Box::new(oxhub_auth::OAuthAuthenticator::new(settings)?));
    }
    Ok(match a.class.as_str() {
        "DummyAuthenticator" => {
            tracing::warn!("DummyAuthenticator is for testing and demos, not for production");
            let password = text(&a.secrets, &a.extra, "password").unwrap_or_default();
            Box::new(oxhub_auth::DummyAuthenticator::new(password))
        }
        "NullAuthenticator" => Box::new(oxhub_auth::NullAuthenticator),
        "PAMAuthenticator" => Box::new(oxhub_auth::PamAuthenticator::new(pam_settings(config))),
        "NativeAuthenticator" => Box::new(oxhub_auth::NativeAuthenticator::new(
            native_settings(config)?,
            Arc::new(StoreAccounts(store.clone())),
        )),
        "LDAPAuthenticator" => Box::new(oxhub_auth::LdapAuthenticator::new(ldap_settings(config))?),
        other => {
            tracing::warn!(
                "authenticator_class {other} is not available in this build of oxhub (available: {AUTHENTICATORS}); every login will be refused"
            );
            Box::new(oxhub_auth::NullAuthenticator)
        }
    })
}

/// A trait of the selected authenticator class as JSON.
fn trait_json(config: &HubConfig, key: &str) -> Option<serde_json::Value> {
    setting(
        &config.authenticator.secrets,
        &config.authenticator.extra,
        key,
    )
}

/// A string trait of the selected authenticator class.
fn trait_text(config: &HubConfig, key: &str) -> Option<String> {
    trait_json(config, key).and_then(|v| v.as_str().map(str::to_owned))
}

fn strings(value: Option<serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `LocalAuthenticator`'s traits.
fn local_settings(config: &HubConfig) -> oxhub_auth::LocalSettings {
    let uids = match trait_json(config, "uids") {
        Some(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(name, uid)| Some((name, u32::try_from(uid.as_u64()?).ok()?)))
            .collect(),
        _ => Default::default(),
    };
    oxhub_auth::LocalSettings {
        create_system_users: trait_json(config, "create_system_users")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        add_user_cmd: strings(trait_json(config, "add_user_cmd")),
        uids,
        allowed_groups: strings(trait_json(config, "allowed_groups")),
        admin_groups: strings(trait_json(config, "admin_groups")),
    }
}

/// `PAMAuthenticator`'s traits.
fn pam_settings(config: &HubConfig) -> oxhub_auth::PamSettings {
    let text = |k: &str| trait_text(config, k);
    if trait_json(config, "open_sessions").and_then(|v| v.as_bool()) == Some(true) {
        tracing::warn!(
            "PAMAuthenticator.open_sessions is not supported by oxhub; no PAM sessions are opened"
        );
    }
    if trait_json(config, "pam_normalize_username").and_then(|v| v.as_bool()) == Some(true) {
        tracing::warn!("PAMAuthenticator.pam_normalize_username is not supported by oxhub; names are lower-cased and mapped as usual");
    }
    if text("encoding")
        .is_some_and(|e| !e.eq_ignore_ascii_case("utf8") && !e.eq_ignore_ascii_case("utf-8"))
    {
        tracing::warn!("PAMAuthenticator.encoding: oxhub talks to PAM in UTF-8 only");
    }
    oxhub_auth::PamSettings {
        service: text("service")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "login".into()),
        check_account: trait_json(config, "check_account")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        local: local_settings(config),
    }
}

/// `NativeAuthenticator`'s traits. Self-approval by e-mail is not supported: a config asking
/// for it is refused rather than half-honoured.
fn native_settings(config: &HubConfig) -> Result<oxhub_auth::NativeSettings, String> {
    let int = |k: &str, default: u64| {
        trait_json(config, k)
            .and_then(|v| v.as_u64())
            .unwrap_or(default)
    };
    let self_approval = trait_json(config, "allow_self_approval_for")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !self_approval.is_empty() {
        return Err("NativeAuthenticator.allow_self_approval_for (approval by e-mail) is not supported by oxhub; approve accounts at /hub/authorize".into());
    }
    Ok(oxhub_auth::NativeSettings {
        enable_signup: flag(config, "enable_signup", true),
        open_signup: flag(config, "open_signup", false),
        minimum_password_length: usize::try_from(int("minimum_password_length", 8)).unwrap_or(8),
        check_common_password: flag(config, "check_common_password", true),
        allowed_failed_logins: u32::try_from(int("allowed_failed_logins", 0)).unwrap_or(u32::MAX),
        seconds_before_next_try: int("seconds_before_next_try", 600),
        ask_email_on_signup: flag(config, "ask_email_on_signup", false),
        allow_2fa: flag(config, "allow_2fa", false),
        clock: oxhub_core::clock::now_ms,
    })
}

/// The hub's database as NativeAuthenticator's account store.
struct StoreAccounts(oxhub_store::Store);

fn store_error(e: oxhub_store::StoreError) -> oxhub_plugin::auth::AuthError {
    oxhub_plugin::auth::AuthError::Internal(format!("account store: {e}"))
}

impl oxhub_plugin::accounts::AccountStore for StoreAccounts {
    fn load<'a>(
        &'a self,
        name: &'a str,
    ) -> oxhub_plugin::BoxFuture<'a, Result<Option<serde_json::Value>, oxhub_plugin::auth::AuthError>>
    {
        Box::pin(async move { self.0.account(name).await.map_err(store_error) })
    }
    fn save<'a>(
        &'a self,
        name: &'a str,
        record: &'a serde_json::Value,
    ) -> oxhub_plugin::BoxFuture<'a, Result<(), oxhub_plugin::auth::AuthError>> {
        Box::pin(async move {
            self.0
                .save_account(name, record, oxhub_core::clock::now_ms())
                .await
                .map_err(store_error)
        })
    }
    fn remove<'a>(
        &'a self,
        name: &'a str,
    ) -> oxhub_plugin::BoxFuture<'a, Result<bool, oxhub_plugin::auth::AuthError>> {
        Box::pin(async move { self.0.delete_account(name).await.map_err(store_error) })
    }
    fn all(
        &self,
    ) -> oxhub_plugin::BoxFuture<
        '_,
        Result<Vec<(String, serde_json::Value)>, oxhub_plugin::auth::AuthError>,
    > {
        Box::pin(async move { self.0.accounts().await.map_err(store_error) })
    }
}

/// `LDAPAuthenticator`'s traits.
fn ldap_settings(config: &HubConfig) -> oxhub_auth::LdapSettings {
    let text = |k: &str| trait_text(config, k);
    let kwargs = trait_json(config, "tls_kwargs").unwrap_or_default();
    let tls_strategy = match text("tls_strategy").as_deref() {
        Some("on_connect") => oxhub_auth::TlsStrategy::OnConnect,
        Some("insecure") => oxhub_auth::TlsStrategy::Insecure,
        _ => oxhub_auth::TlsStrategy::BeforeBind,
    };
    let templates = match trait_json(config, "bind_dn_template") {
        Some(serde_json::Value::String(one)) => vec![one],
        other => strings(other),
    };
    oxhub_auth::LdapSettings {
        server_address: text("server_address").unwrap_or_default(),
        server_port: trait_json(config, "server_port")
            .and_then(|v| v.as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        tls_strategy,
        ca_certs_file: kwargs
            .get("ca_certs_file")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        // ssl.CERT_NONE is 0.
        no_tls_verify: kwargs.get("validate").and_then(|v| v.as_i64()) == Some(0),
        bind_dn_template: templates,
        lookup_dn: flag(config, "lookup_dn", false),
        lookup_dn_search_filter: text("lookup_dn_search_filter")
            .unwrap_or_else(|| "({login_attr}={login})".into()),
        lookup_dn_search_user: text("lookup_dn_search_user"),
        lookup_dn_search_password: text("lookup_dn_search_password"),
        user_search_base: text("user_search_base").unwrap_or_default(),
        user_attribute: text("user_attribute").unwrap_or_default(),
        lookup_dn_user_dn_attribute: text("lookup_dn_user_dn_attribute").unwrap_or_default(),
        search_filter: text("search_filter").unwrap_or_default(),
        attributes: strings(trait_json(config, "attributes")),
        allowed_groups: strings(trait_json(config, "allowed_groups")),
        group_search_filter: text("group_search_filter").unwrap_or_default(),
        group_attributes: strings(trait_json(config, "group_attributes")),
        auth_state_attributes: strings(trait_json(config, "auth_state_attributes")),
        use_lookup_dn_username: flag(config, "use_lookup_dn_username", false),
        valid_username_regex: text("valid_username_regex").unwrap_or_default(),
        timeout: Duration::from_secs(10),
    }
}

/// The OAuth preset of an OAuthenticator class (and its `Local*` form), or `None`.
fn oauth_provider(config: &HubConfig) -> Option<oxhub_auth::Provider> {
    use oxhub_auth::oauth::presets::{GitHub, GitLab, Google};
    let class = config.authenticator.class.as_str();
    let text = |k: &str| trait_text(config, k);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Some(match class.trim_start_matches("Local") {
        "GenericOAuthenticator" => oxhub_auth::Provider::Generic,
        "GitHubOAuthenticator" => oxhub_auth::Provider::GitHub(GitHub {
            url: text("github_url")
                .filter(|u| !u.is_empty())
                .or_else(|| env("GITHUB_URL"))
                .unwrap_or_default(),
            api: text("github_api").unwrap_or_default(),
            allowed_organizations: strings(trait_json(config, "allowed_organizations")),
            populate_teams_in_auth_state: flag(config, "populate_teams_in_auth_state", false),
        }),
        "GitLabOAuthenticator" => oxhub_auth::Provider::GitLab(GitLab {
            // The environment counts when the trait keeps its default.
            url: text("gitlab_url")
                .filter(|u| !u.is_empty() && u != "https://gitlab.com")
                .or_else(|| env("GITLAB_URL"))
                .unwrap_or_default(),
            allowed_gitlab_groups: strings(trait_json(config, "allowed_gitlab_groups")),
            allowed_project_ids: strings(trait_json(config, "allowed_project_ids")),
        }),
        "GoogleOAuthenticator" => oxhub_auth::Provider::Google(Google {
            hosted_domain: {
                let mut domains = strings(trait_json(config, "hosted_domain"));
                if domains.is_empty() {
                    domains = env("HOSTED_DOMAIN")
                        .map(|d| d.split(';').map(str::to_owned).collect())
                        .unwrap_or_default();
                }
                domains
                    .iter()
                    .map(|d| d.trim().to_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect()
            },
            api_url: text("google_api_url")
                .filter(|u| !u.is_empty() && u != "https://www.googleapis.com")
                .or_else(|| env("GOOGLE_API_URL"))
                .unwrap_or_default(),
        }),
        "Auth0OAuthenticator" => oxhub_auth::Provider::Auth0(oxhub_auth::oauth::presets::Auth0 {
            domain: text("auth0_domain")
                .filter(|d| !d.is_empty())
                .or_else(|| env("AUTH0_DOMAIN"))
                .unwrap_or_default(),
            allow_unverified_email: flag(config, "allow_unverified_email", false),
        }),
        "CILogonOAuthenticator" => {
            let allowed_idps = match trait_json(config, "allowed_idps") {
                Some(serde_json::Value::Object(map)) => map
                    .into_iter()
                    .map(|(idp, spec)| {
                        let d = spec.get("username_derivation").cloned().unwrap_or_default();
                        let get =
                            |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                        let derivation = oxhub_auth::oauth::presets::Derivation {
                            username_claim: get("username_claim"),
                            action: get("action"),
                            domain: get("domain"),
                            prefix: get("prefix"),
                        };
                        (idp, derivation)
                    })
                    .collect(),
                _ => Vec::new(),
            };
            oxhub_auth::Provider::CILogon(oxhub_auth::oauth::presets::CILogon {
                host: text("cilogon_host")
                    .filter(|h| h != "cilogon.org")
                    .unwrap_or_default(),
                allowed_idps,
            })
        }
        "AzureAdOAuthenticator" => oxhub_auth::Provider::AzureAd {
            tenant_id: text("tenant_id")
                .filter(|t| !t.is_empty())
                .or_else(|| env("AAD_TENANT_ID"))
                .unwrap_or_default(),
        },
        _ => return None,
    })
}

fn flag(config: &HubConfig, key: &str, default: bool) -> bool {
    trait_json(config, key)
        .and_then(|v| v.as_bool())
        .unwrap_or(default)
}

/// `{"k": "v", ...}` as pairs (values that are not strings as their JSON text).
fn pairs(value: Option<serde_json::Value>) -> Vec<(String, String)> {
    match value {
        Some(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// OAuthenticator's traits, with the environment variables upstream reads when a trait is
/// not set.
fn oauth_settings(config: &HubConfig, provider: oxhub_auth::Provider) -> oxhub_auth::OAuthSettings {
    let a = &config.authenticator;
    let text = |k: &str| trait_text(config, k);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // A trait, else (when unset) the first environment variable that is set.
    let traited = |k: &str, vars: &[&str]| {
        text(k)
            .filter(|v| !v.is_empty())
            .or_else(|| vars.iter().find_map(|v| env(v)))
            .unwrap_or_default()
    };
    let prefix = match &provider {
        oxhub_auth::Provider::GitHub(_) => "GITHUB",
        oxhub_auth::Provider::GitLab(_) => "GITLAB",
        oxhub_auth::Provider::Google(_) => "GOOGLE",
        oxhub_auth::Provider::AzureAd { .. } => "AAD",
        oxhub_auth::Provider::Auth0(_) => "AUTH0",
        oxhub_auth::Provider::CILogon(_) => "CILOGON",
        oxhub_auth::Provider::Generic => "OAUTH2",
    };
    let id_var = format!("{prefix}_CLIENT_ID");
    let secret_var = format!("{prefix}_CLIENT_SECRET");
    let kwargs = trait_json(config, "http_request_kwargs").unwrap_or_default();
    let class = a.class.clone();
    let local = class.starts_with("Local").then(|| local_settings(config));
    oxhub_auth::OAuthSettings {
        class,
        provider,
        client_id: traited("client_id", &[&id_var, "OAUTH_CLIENT_ID"]),
        client_secret: traited("client_secret", &[&secret_var, "OAUTH_CLIENT_SECRET"]),
        authorize_url: traited("authorize_url", &["OAUTH2_AUTHORIZE_URL"]),
        token_url: traited("token_url", &["OAUTH2_TOKEN_URL"]),
        userdata_url: traited("userdata_url", &["OAUTH2_USERDATA_URL"]),
        issuer: text("oidc_issuer").unwrap_or_default(),
        callback_url: traited("oauth_callback_url", &["OAUTH_CALLBACK_URL"]),
        scope: strings(trait_json(config, "scope")),
        extra_authorize_params: pairs(trait_json(config, "extra_authorize_params")),
        token_params: pairs(trait_json(config, "token_params")),
        userdata_params: pairs(trait_json(config, "userdata_params")),
        userdata_token_in_url: text("userdata_token_method").as_deref() == Some("url"),
        userdata_from_id_token: flag(config, "userdata_from_id_token", false),
        basic_auth: flag(config, "basic_auth", false)
            || env("OAUTH2_BASIC_AUTH").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        enable_pkce: flag(config, "enable_pkce", true),
        username_claim: traited("username_claim", &["OAUTH2_USERNAME_KEY"]),
        manage_groups: a.manage_groups,
        groups_key: text("auth_state_groups_key").unwrap_or_default(),
        allowed_groups: strings(trait_json(config, "allowed_groups")),
        admin_groups: strings(trait_json(config, "admin_groups")),
        admin_users: a.admin_users.clone(),
        allowed_scopes: strings(trait_json(config, "allowed_scopes")),
        enable_auth_state: a.enable_auth_state,
        // The base class's default; each preset has its own ("GitHub", ...).
        login_service: Some(traited("login_service", &["LOGIN_SERVICE"]))
            .filter(|s| s != "OAuth 2.0")
            .unwrap_or_default(),
        logout_redirect_url: traited("logout_redirect_url", &["OAUTH_LOGOUT_REDIRECT_URL"]),
        custom_403_message: text("custom_403_message").unwrap_or_default(),
        validate_server_cert: flag(config, "validate_server_cert", true)
            && env("OAUTH_TLS_VERIFY").is_none_or(|v| v != "0"),
        ca_certs: kwargs
            .get("ca_certs")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        request_timeout: Duration::from_secs_f64(
            kwargs
                .get("request_timeout")
                .and_then(|v| v.as_f64())
                .filter(|t| t.is_finite() && *t > 0.0)
                .unwrap_or(20.0),
        ),
        local,
    }
}

/// The spawner named by the configuration.
pub fn spawner(config: &HubConfig) -> Result<Arc<dyn Spawner>, String> {
    let s = &config.spawner;
    let term_timeout = s
        .extra
        .get("term_timeout")
        .and_then(|v| v.to_json().as_u64())
        .unwrap_or(5);
    let term_timeout = Duration::from_secs(term_timeout);
    match s.class.as_str() {
        "SimpleLocalProcessSpawner" => {
            let template = text(&BTreeMap::new(), &s.extra, "home_dir_template")
                .unwrap_or_else(|| "/tmp/{username}".into());
            let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
            Ok(Arc::new(oxhub_spawn::LocalProcess::simple(
                template,
                shell,
                term_timeout,
            )))
        }
        "LocalProcessSpawner" => Ok(Arc::new(oxhub_spawn::LocalProcess::system(term_timeout))),
        "DockerSpawner" | "SystemUserSpawner" => docker_spawner(s),
        "KubeSpawner" => kube_spawner(s),
        class => match oxhub_spawn::batch::System::of_class(class) {
            Some(system) => batch_spawner(system, &s.extra),
            None => Err(format!(
                "spawner_class {class:?} is not available in this build of oxhub (available: {SPAWNERS})"
            )),
        },
    }
}

/// A batchspawner class from its traits (`req_*`, the commands, the regexes).
fn batch_spawner(
    system: oxhub_spawn::batch::System,
    extra: &BTreeMap<String, oxhub_config::Value>,
) -> Result<Arc<dyn Spawner>, String> {
    let none = BTreeMap::new();
    let get = |key: &str| text(&none, extra, key);
    let settings = oxhub_spawn::batch::BatchSettings {
        exec_prefix: get("exec_prefix"),
        batch_script: get("batch_script"),
        batch_submit_cmd: get("batch_submit_cmd"),
        batch_query_cmd: get("batch_query_cmd"),
        batch_cancel_cmd: get("batch_cancel_cmd"),
        state_pending_re: get("state_pending_re"),
        state_running_re: get("state_running_re"),
        state_unknown_re: get("state_unknown_re"),
        state_exechost_re: get("state_exechost_re"),
        state_exechost_exp: get("state_exechost_exp").unwrap_or_default(),
        startup_poll_interval: extra
            .get("startup_poll_interval")
            .and_then(|v| v.to_json().as_f64())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(Duration::from_secs_f64),
        batchspawner_singleuser_cmd: get("batchspawner_singleuser_cmd"),
        req: extra
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("req_")?.to_owned(), v.as_str()?.to_owned())))
            .collect(),
    };
    let batch = oxhub_spawn::batch::Batch::new(system, settings)
        .map_err(|e| format!("{}: {e}", system.preset().class))?;
    Ok(Arc::new(batch))
}

/// DockerSpawner or SystemUserSpawner from its traits; the Docker host is `client_kwargs`'
/// `base_url`, else `DOCKER_HOST` (as docker-py reads it), else the local socket.
fn docker_spawner(s: &oxhub_config::hub::SpawnerSettings) -> Result<Arc<dyn Spawner>, String> {
    use oxhub_spawn::docker::{AllowedImages, DockerSettings, PullPolicy, SystemUser};
    let none = BTreeMap::new();
    let get = |key: &str| text(&none, &s.extra, key);
    let json = |key: &str| setting(&none, &s.extra, key).unwrap_or(serde_json::Value::Null);
    let object = |key: &str| match json(key) {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let strings = |key: &str| -> BTreeMap<String, String> {
        object(key)
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
            .collect()
    };
    let client = object("client_kwargs");
    let docker_host = client
        .get("base_url")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let mut d = DockerSettings::new(docker_host);
    if let Some(image) = get("image") {
        d.image = image;
    }
    d.allowed_images = match json("allowed_images") {
        serde_json::Value::String(s) if s == "*" => AllowedImages::Any,
        serde_json::Value::String(s) => {
            return Err(format!(
                "DockerSpawner.allowed_images: {s:?} is not a list, a dict or '*'"
            ))
        }
        serde_json::Value::Array(items) => AllowedImages::Listed(
            items
                .iter()
                .filter_map(|v| v.as_str())
                .map(|v| (v.to_owned(), v.to_owned()))
                .collect(),
        ),
        _ => AllowedImages::Listed(strings("allowed_images")),
    };
    d.name_template = get("name_template").filter(|t| !t.is_empty());
    if let Some(prefix) = get("prefix") {
        d.prefix = prefix;
    }
    if let Some(network) = get("network_name") {
        d.network_name = network;
    }
    d.use_internal_ip = json("use_internal_ip").as_bool();
    if let Some(ip) = get("host_ip") {
        d.host_ip = ip;
    }
    if !s.ip.is_empty() {
        d.ip = s.ip.clone();
    }
    if s.port != 0 {
        d.port = s.port;
    }
    d.volumes = object("volumes").into_iter().collect();
    d.read_only_volumes = strings("read_only_volumes");
    d.links = strings("links");
    d.remove = json("remove").as_bool().unwrap_or(false);
    d.pull_policy =
        PullPolicy::parse(&get("pull_policy").unwrap_or_else(|| "ifnotpresent".into()))?;
    d.extra_create_kwargs = object("extra_create_kwargs");
    d.extra_host_config = object("extra_host_config");
    if s.class == "SystemUserSpawner" {
        d.system_user = Some(SystemUser {
            host_homedir_format_string: get("host_homedir_format_string"),
            image_homedir_format_string: get("image_homedir_format_string")
                .unwrap_or_else(|| "/home/{username}".into()),
            run_as_root: json("run_as_root").as_bool().unwrap_or(false),
        });
    }
    let docker =
        oxhub_spawn::docker::Docker::new(&s.class, d).map_err(|e| format!("{}: {e}", s.class))?;
    Ok(Arc::new(docker))
}

/// KubeSpawner from its traits: every configured one, as JSON, for the spawner to read (a
/// profile's `kubespawner_override` may change any of them per spawn).
fn kube_spawner(s: &oxhub_config::hub::SpawnerSettings) -> Result<Arc<dyn Spawner>, String> {
    let traits = s
        .extra
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let environment = match s.environment.to_json() {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let kube = oxhub_spawn::kube::Kube::new(oxhub_spawn::kube::KubeConfig {
        traits,
        environment,
        port: s.port,
        ip: s.ip.clone(),
        start_timeout: u64::try_from(s.start_timeout).unwrap_or(60),
    })?;
    Ok(Arc::new(kube))
}

/// Everything the hub is built with.
pub fn parts(
    config: &HubConfig,
    proxy: Option<Box<dyn Proxy>>,
    store: &oxhub_store::Store,
) -> Result<Parts, String> {
    Ok(Parts {
        authenticator: authenticator(config, store)?,
        spawner: spawner(config)?,
        proxy,
        // Variables that are not UTF-8 cannot be passed on as text; they are left out.
        environment: std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
    })
}
