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
const AUTHENTICATORS: &str = "dummy, null";
/// The spawners this build has.
const SPAWNERS: &str = "localprocess, simple";

/// A string trait of the selected class (secrets included).
fn text(
    secrets: &BTreeMap<String, oxhub_config::Value>,
    extra: &BTreeMap<String, oxhub_config::Value>,
    key: &str,
) -> Option<String> {
    secrets
        .get(key)
        .or_else(|| extra.get(key))
        .and_then(|v| v.to_json().as_str().map(str::to_owned))
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
        other => {
            tracing::warn!(
                "authenticator_class {other} is not available in this build of oxhub (available: {AUTHENTICATORS}); every login will be refused"
            );
            Box::new(oxhub_auth::NullAuthenticator)
        }
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
