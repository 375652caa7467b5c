//! Managed services (`JupyterHub.services` entries with a `command`): started by the hub with
//! the documented environment (singleuser-protocol.md §3), restarted when they exit, stopped
//! with the hub. Each runs in its own process group so a stop reaches its children.

use crate::environment::{env_value, set, HubClient};
use crate::hub::Hub;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// One managed service, as configured.
#[derive(Debug, Clone)]
struct Managed {
    name: String,
    command: Vec<String>,
    url: String,
    environment: Vec<(String, String)>,
    cwd: String,
    api_token: String,
}

fn managed_services(hub: &Hub) -> Vec<Managed> {
    hub.config
        .hub
        .services
        .iter()
        .filter_map(|spec| {
            let spec = spec.to_json();
            let name = spec.get("name")?.as_str()?.to_owned();
            let command: Vec<String> = spec
                .get("command")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            if command.is_empty() {
                return None;
            }
            let environment = match spec.get("environment") {
                Some(Value::Object(map)) => {
                    map.iter().map(|(k, v)| (k.clone(), env_value(v))).collect()
                }
                _ => Vec::new(),
            };
            Some(Managed {
                name,
                command,
                url: spec
                    .get("url")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                environment,
                cwd: spec
                    .get("cwd")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                api_token: spec
                    .get("api_token")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            })
        })
        .collect()
}

/// Send `signal` to the process group led by `pid` (never to group 0 or 1).
fn signal_group(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        if pid > 1 {
            // SAFETY: killpg only sends a signal; a stale group id yields ESRCH.
            unsafe {
                libc::killpg(pid, signal);
            }
        }
    }
}

impl Hub {
    /// The environment of a managed service.
    async fn service_env(&self, svc: &Managed) -> Result<Vec<(String, String)>, crate::HubError> {
        let configured = if svc.api_token.is_empty() {
            self.config
                .hub
                .service_tokens
                .iter()
                .find(|(_, name)| *name == svc.name)
                .map(|(token, _)| token.clone())
        } else {
            Some(svc.api_token.clone())
        };
        let token = match configured {
            Some(t) => t,
            None => {
                self.mint_token(
                    oxhub_store::Owner::Service(svc.name.clone()),
                    Vec::new(),
                    "generated at startup",
                    None,
                )
                .await?
            }
        };
        // The client secret follows the token the service runs with.
        if let Some(spec) =
            self.config.hub.services.iter().find(|s| {
                s.to_json().get("name").and_then(Value::as_str) == Some(svc.name.as_str())
            })
        {
            self.register_service_client(spec, &svc.name, &token)
                .await?;
        }
        let access = [
            "access:services".to_owned(),
            format!("access:services!service={}", svc.name),
        ];
        let prefix = format!("{}services/{}/", self.config.hub.base_url, svc.name);
        let client_id = format!("service-{}", svc.name);
        let mut env = self.client_env(&HubClient {
            token: &token,
            client_id: &client_id,
            user: "",
            server: "",
            prefix: &prefix,
            access_scopes: &access,
        });
        set(&mut env, "JUPYTERHUB_SERVICE_NAME", svc.name.clone());
        if !svc.url.is_empty() {
            set(&mut env, "JUPYTERHUB_SERVICE_URL", svc.url.clone());
            set(&mut env, "JUPYTERHUB_SERVICE_PREFIX", prefix);
        }
        for (k, v) in &svc.environment {
            set(&mut env, k, v.clone());
        }
        Ok(env)
    }

    /// Start every managed service and keep it running until the hub shuts down.
    pub fn start_managed_services(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        managed_services(self)
            .into_iter()
            .map(|svc| {
                let hub = Arc::clone(self);
                tokio::spawn(async move { hub.run_managed(svc).await })
            })
            .collect()
    }

    async fn run_managed(self: Arc<Self>, svc: Managed) {
        let mut stop = self.shutdown.subscribe();
        let mut backoff = Duration::from_millis(500);
        loop {
            if *stop.borrow() {
                return;
            }
            let env = match self.service_env(&svc).await {
                Ok(env) => env,
                Err(e) => {
                    tracing::error!("service {}: {e}", svc.name);
                    return;
                }
            };
            let mut cmd = tokio::process::Command::new(&svc.command[0]);
            cmd.args(&svc.command[1..])
                .env_clear()
                .envs(env)
                .stdin(std::process::Stdio::null())
                .process_group(0)
                .kill_on_drop(true);
            if !svc.cwd.is_empty() {
                cmd.current_dir(&svc.cwd);
            }
            let started = tokio::time::Instant::now();
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("service {}: cannot run {}: {e}", svc.name, svc.command[0]);
                    return;
                }
            };
            let pid = child.id();
            tracing::info!("Started service {} (pid {})", svc.name, pid.unwrap_or(0));
            let exited = tokio::select! {
                status = child.wait() => Some(status),
                _ = stop.wait_for(|s| *s) => None,
            };
            if let Some(status) = exited {
                let status = status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                tracing::error!("Service {} exited ({status}); restarting it", svc.name);
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_millis(500);
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }

            if let Some(pid) = pid {
                signal_group(pid, libc::SIGTERM);
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                if let Some(pid) = pid {
                    signal_group(pid, libc::SIGKILL);
                }
                let _ = child.wait().await;
            }
            tracing::info!("Stopped service {}", svc.name);
            return;
        }
    }
}

impl Hub {
    /// The OAuth client of a service with a URL (or an explicit OAuth setting): id
    /// `service-<name>` (or `oauth_client_id`), secret = the service's token, redirect URI
    /// `oauth_redirect_uri` or `/services/<name>/oauth_callback`, allowed scopes =
    /// `oauth_client_allowed_scopes` + the service's access scope.
    pub async fn register_service_client(
        &self,
        spec: &oxhub_config::Value,
        name: &str,
        token: &str,
    ) -> Result<(), crate::HubError> {
        let spec = spec.to_json();
        let text = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let wants_oauth = text("url").is_some()
            || text("oauth_redirect_uri").is_some()
            || text("oauth_client_id").is_some();
        if !wants_oauth {
            return Ok(());
        }
        let id = text("oauth_client_id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("service-{name}"));
        let redirect = text("oauth_redirect_uri")
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!("{}services/{name}/oauth_callback", self.config.hub.base_url)
            });
        let mut scopes: Vec<String> = spec
            .get("oauth_client_allowed_scopes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        scopes.push(format!("access:services!service={name}"));
        self.store
            .upsert_oauth_client(&oxhub_store::NewOAuthClient {
                identifier: &id,
                description: &format!("JupyterHub service {name}"),
                secret_hash: Some(&crate::tokens::hash(token)),
                redirect_uri: &redirect,
                allowed_scopes: &scopes,
                link: oxhub_store::ClientLink::Service(name.to_owned()),
            })
            .await?;
        Ok(())
    }
}
