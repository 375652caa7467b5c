//! The hub's side of routing: which routes the proxy should have (`desired_routes`), making
//! its table match (`check_routes`), the `/proxy` API, and copying the proxy's per-route
//! activity onto servers and users. The proxy itself is reached through the
//! [`oxhub_plugin::proxy::Proxy`] contract.

use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::{Groups, Identity};
use oxhub_model::scope::Resource;
use oxhub_plugin::proxy::{Proxy, Route};
use serde_json::Value;

impl Hub {
    fn proxy_client(&self) -> Result<&dyn Proxy, HubError> {
        self.proxy
            .as_deref()
            .ok_or_else(|| HubError::Unavailable("no proxy is configured for this hub".into()))
    }

    fn require_proxy_scope(who: &Identity) -> Result<(), HubError> {
        HubError::from_access(
            who.scopes
                .check(&["proxy"], &Resource::Global, &Groups::default()),
            &["proxy"],
            "",
        )
    }

    /// The hub's routes in the proxy (those with `"jupyterhub": true`), by routespec.
    pub async fn proxy_routes(&self, who: &Identity) -> Result<Vec<Route>, HubError> {
        Self::require_proxy_scope(who)?;
        let mut routes: Vec<Route> = self
            .proxy_client()?
            .routes()
            .await?
            .into_iter()
            .filter(|r| r.data.get("jupyterhub") == Some(&Value::Bool(true)))
            .collect();
        routes.sort_by(|a, b| a.routespec.cmp(&b.routespec));
        Ok(routes)
    }

    /// The routes the proxy should have: the hub, running servers, services with a URL.
    pub async fn desired_routes(&self) -> Result<Vec<Route>, HubError> {
        let base = &self.config.hub.base_url;
        let mut out = Vec::new();
        if let Some(hub_url) = self.hub_url.get() {
            let spec = if self.config.hub.hub_routespec.is_empty() {
                "/".to_owned()
            } else {
                self.config.hub.hub_routespec.clone()
            };
            out.push(Route {
                routespec: spec,
                target: hub_url.clone(),
                data: serde_json::json!({"jupyterhub": true, "hub": true}),
                last_activity: None,
            });
        }
        for s in self.store.active_servers().await? {
            let Some(url) = s.url.clone().filter(|_| s.ready) else {
                continue;
            };
            // Escaped exactly as the spawn routed it (JupyterHub's url_escape_path).
            let spec = oxhub_model::urls::server_url(base, &s.user, &s.name);
            out.push(Route {
                routespec: spec,
                target: url,
                data: serde_json::json!({"jupyterhub": true, "user": s.user, "server_name": s.name}),
                last_activity: None,
            });
        }
        for svc in &self.config.hub.services {
            let spec = svc.to_json();
            let (Some(name), Some(url)) = (
                spec.get("name").and_then(Value::as_str),
                spec.get("url")
                    .and_then(Value::as_str)
                    .filter(|u| !u.is_empty()),
            ) else {
                continue;
            };
            out.push(Route {
                routespec: format!("{base}services/{name}/"),
                target: url.to_owned(),
                data: serde_json::json!({"jupyterhub": true, "service": name}),
                last_activity: None,
            });
        }
        Ok(out)
    }

    /// Make the proxy's table match [`Hub::desired_routes`]: add what is missing or wrong,
    /// remove the hub's routes that no longer belong. Returns (added, removed).
    pub async fn check_routes(&self, who: Option<&Identity>) -> Result<(usize, usize), HubError> {
        if let Some(who) = who {
            Self::require_proxy_scope(who)?;
        }
        let proxy = self.proxy_client()?;
        let current = proxy.routes().await?;
        let desired = self.desired_routes().await?;
        let mut added = 0;
        for want in &desired {
            let ok = current
                .iter()
                .any(|r| r.routespec == want.routespec && r.target == want.target);
            if !ok {
                proxy.add_route(want).await?;
                added += 1;
            }
        }
        let mut removed = 0;
        for have in &current {
            let ours = have.data.get("jupyterhub") == Some(&Value::Bool(true));
            if ours && !desired.iter().any(|d| d.routespec == have.routespec) {
                proxy.delete_route(&have.routespec).await?;
                removed += 1;
            }
        }
        if added + removed > 0 {
            tracing::info!("proxy routes checked: {added} added, {removed} removed");
        }
        Ok((added, removed))
    }

    /// Copy the proxy's per-route activity onto servers and their users (JupyterHub's
    /// `update_last_activity`); stored times only move forward. Returns how many servers had
    /// activity.
    pub async fn pull_activity(&self) -> Result<usize, HubError> {
        let proxy = self.proxy_client()?;
        let mut n = 0;
        for route in proxy.routes().await? {
            let (Some(user), Some(when)) = (
                route.data.get("user").and_then(Value::as_str),
                route
                    .last_activity
                    .as_deref()
                    .and_then(crate::servers::parse_timestamp),
            ) else {
                continue;
            };
            let server = route
                .data
                .get("server_name")
                .and_then(Value::as_str)
                .unwrap_or("");
            self.store.touch_server(user, server, when).await?;
            self.store.touch_user(user, when).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Pull activity from the proxy every `last_activity_interval` until shutdown.
    pub async fn watch_activity(self: std::sync::Arc<Self>) {
        let secs = u64::try_from(self.config.hub.last_activity_interval.max(1)).unwrap_or(300);
        let mut stop = self.shutdown.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(secs)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = self.pull_activity().await {
                tracing::warn!("reading activity from the proxy: {e}");
            }
        }
    }

    /// `PATCH /proxy`: point the hub at another proxy API URL and/or token, then check routes.
    pub async fn reconfigure_proxy(
        &self,
        who: &Identity,
        api_url: Option<String>,
        auth_token: Option<String>,
    ) -> Result<(), HubError> {
        Self::require_proxy_scope(who)?;
        if let Some(url) = &api_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(HubError::Invalid(format!(
                    "api_url must be an http(s) URL, not {url:?}"
                )));
            }
        }
        self.proxy_client()?.reconfigure(api_url, auth_token);
        self.check_routes(Some(who)).await?;
        Ok(())
    }
}
