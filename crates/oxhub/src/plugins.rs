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
const AUTHENTICATORS: &str = "pam, dummy, null";
/// The spawners this build has.
const SPAWNERS: &str = "localprocess, simple";

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
pub fn authenticator(config: &HubConfig) -> Box<dyn Authenticator> {
    let a = &config.authenticator;
    match a.class.as_str() {
        "DummyAuthenticator" => {
            tracing::warn!("DummyAuthenticator is for testing and demos, not for production");
            let password = text(&a.secrets, &a.extra, "password").unwrap_or_default();
            Box::new(oxhub_auth::DummyAuthenticator::new(password))
        }
        "NullAuthenticator" => Box::new(oxhub_auth::NullAuthenticator),
        "PAMAuthenticator" => Box::new(oxhub_auth::PamAuthenticator::new(pam_settings(config))),
        other => {
            tracing::warn!(
                "authenticator_class {other} is not available in this build of oxhub (available: {AUTHENTICATORS}); every login will be refused"
            );
            Box::new(oxhub_auth::NullAuthenticator)
        }
    }
}

/// A trait of the selected authenticator class as JSON.
fn trait_json(config: &HubConfig, key: &str) -> Option<serde_json::Value> {
    setting(
        &config.authenticator.secrets,
        &config.authenticator.extra,
        key,
    )
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
    let text = |k: &str| trait_json(config, k).and_then(|v| v.as_str().map(str::to_owned));
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
        other => Err(format!(
            "spawner_class {other:?} is not available in this build of oxhub (available: {SPAWNERS})"
        )),
    }
}

/// Everything the hub is built with.
pub fn parts(config: &HubConfig, proxy: Option<Box<dyn Proxy>>) -> Result<Parts, String> {
    Ok(Parts {
        authenticator: authenticator(config),
        spawner: spawner(config)?,
        proxy,
        // Variables that are not UTF-8 cannot be passed on as text; they are left out.
        environment: std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
    })
}
