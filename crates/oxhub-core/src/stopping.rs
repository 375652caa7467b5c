//! Stopping servers: one (`DELETE /users/{u}/server[s/{s}]`), all of a user's before the
//! user is deleted, and all of them at shutdown (`cleanup_servers`). The route goes first, so
//! no request reaches a server that is going away; then the spawner stops it, its records are
//! cleared and the post-stop hook runs.

use crate::error::{clip, HubError};
use crate::hub::Hub;
use crate::identity::Identity;
use oxhub_model::scope::Resource;
use oxhub_plugin::proxy::Route;
use oxhub_store::{ServerRow, ServerUpdate};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// A stop that takes longer than this answers 202 and goes on in the background.
const SLOW_STOP: Duration = Duration::from_secs(if cfg!(test) { 1 } else { 10 });

/// The answer to a stop request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    Done,
    Pending,
}

impl Hub {
    /// Stop a server (DELETE `/users/{u}/server[s/{s}]`); waits up to the slow-stop window.
    pub async fn stop_server(
        self: &Arc<Self>,
        who: &Identity,
        user: &str,
        server: &str,
    ) -> Result<Stopped, HubError> {
        self.stop_server_within(who, user, server, Some(SLOW_STOP))
            .await
    }

    /// [`Hub::stop_server`] that returns only once the server is gone (before removing it).
    pub async fn stop_server_and_wait(
        self: &Arc<Self>,
        who: &Identity,
        user: &str,
        server: &str,
    ) -> Result<Stopped, HubError> {
        self.stop_server_within(who, user, server, None).await
    }

    async fn stop_server_within(
        self: &Arc<Self>,
        who: &Identity,
        user: &str,
        server: &str,
        window: Option<Duration>,
    ) -> Result<Stopped, HubError> {
        self.require(who, &["delete:servers"], Resource::Server { user, server })
            .await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {}", clip(user))));
        }
        let Some(row) = self.store.server(user, server).await? else {
            if server.is_empty() {
                return Ok(Stopped::Done);
            }
            return Err(HubError::NotFound(format!(
                "{user} has no server named {}",
                clip(server)
            )));
        };
        self.stop_row(row, window).await
    }

    /// Stop a recorded server, the caller's permission already checked. With a `window`, a
    /// stop that outlasts it goes on in the background (`Stopped::Pending`); without, this
    /// returns once the server is gone. A server pending spawn is refused, one pending stop
    /// is `Pending`.
    pub(crate) async fn stop_row(
        self: &Arc<Self>,
        row: oxhub_store::ServerRow,
        window: Option<Duration>,
    ) -> Result<Stopped, HubError> {
        let (user, server) = (row.user.as_str(), row.name.as_str());
        if row.pending.as_deref() == Some("stop") {
            return Ok(Stopped::Pending);
        }
        if row.pending.as_deref() == Some("spawn") {
            return Err(HubError::Invalid(format!(
                "{user}'s server {} is pending spawn; stop it once it is ready",
                clip(server)
            )));
        }
        if row.started.is_none() {
            return Ok(Stopped::Done);
        }
        self.store
            .update_server(
                user,
                server,
                &ServerUpdate {
                    pending: Some(Some("stop".into())),
                    ..ServerUpdate::default()
                },
            )
            .await?;
        let hub = Arc::clone(self);
        let (u, s) = (user.to_owned(), server.to_owned());
        let (state, url) = (row.state, row.url);
        let task =
            tokio::spawn(async move { hub.finish_stop(&u, &s, &state, url.as_deref()).await });
        let finished = match window {
            Some(window) => match tokio::time::timeout(window, task).await {
                Ok(joined) => joined,
                Err(_) => return Ok(Stopped::Pending),
            },
            None => task.await,
        };
        match finished {
            Ok(Ok(())) => Ok(Stopped::Done),
            Ok(Err(e)) => Err(e),
            Err(join) => Err(HubError::Internal(format!("stop task: {join}"))),
        }
    }

    /// Stop every running server of `user` as `who` (`shutdown_on_logout`), each checked
    /// against the caller's scopes as a `DELETE` of it is; a server that fails to stop is
    /// logged and the others are stopped still.
    pub async fn stop_servers_of(
        self: &Arc<Self>,
        who: &Identity,
        user: &str,
    ) -> Result<(), HubError> {
        let rows = self.store.servers_of(user).await?;
        for row in rows.into_iter().filter(|r| r.started.is_some()) {
            if let Err(e) = self.stop_server(who, user, &row.name).await {
                tracing::warn!("stopping {user}/{}: {e}", row.name);
            }
        }
        Ok(())
    }

    /// Stop every server of `user` (named ones too) and wait until they are gone and their
    /// routes removed: what deleting the user needs first. Refused while any of them is
    /// pending a spawn or a stop, so nothing is left running behind a deleted user.
    pub(crate) async fn stop_all_of_user(self: &Arc<Self>, user: &str) -> Result<(), HubError> {
        let rows = self
            .store
            .servers_of_users(&[user])
            .await?
            .remove(user)
            .unwrap_or_default();
        if let Some(busy) = rows.iter().find(|r| r.pending.is_some()) {
            let what = busy.pending.as_deref().unwrap_or("");
            let which = if busy.name.is_empty() {
                "server".to_owned()
            } else {
                format!("server {}", clip(&busy.name))
            };
            return Err(HubError::Invalid(format!(
                "{user}'s {which} is pending {what}; try again once it is done"
            )));
        }
        for row in rows.into_iter().filter(|r| r.started.is_some()) {
            self.stop_row(row, None).await?;
        }
        Ok(())
    }

    /// Route, spawner, records, post-stop hook. When the spawner cannot stop the server, the
    /// server stays recorded as running (no longer pending), so the next route check puts its
    /// route back, polling keeps watching it and a later stop tries again.
    async fn finish_stop(
        &self,
        user: &str,
        server: &str,
        state: &Value,
        url: Option<&str>,
    ) -> Result<(), HubError> {
        tracing::info!("Stopping {user}/{server}");
        // The route goes first, so no request reaches a server that is going away.
        if let Some(proxy) = &self.proxy {
            if let Err(e) = proxy.delete_route(&self.routespec(user, server)).await {
                tracing::warn!("removing the route of {user}/{server}: {e}");
            }
        }
        if let Err(e) = self.spawner.stop(state).await {
            tracing::error!(
                "Stopping {user}/{server} failed: {e}; it is still recorded as running"
            );
            let kept = ServerUpdate {
                pending: Some(None),
                ..ServerUpdate::default()
            };
            if let Err(e) = self.store.update_server(user, server, &kept).await {
                tracing::error!("recording the failed stop of {user}/{server}: {e}");
            }
            // It still runs: route it again at once rather than at the next route check.
            if let (Some(proxy), Some(url)) = (&self.proxy, url) {
                let route = Route {
                    routespec: self.routespec(user, server),
                    target: url.to_owned(),
                    data: json!({"jupyterhub": true, "user": user, "server_name": server}),
                    last_activity: None,
                };
                if let Err(e) = proxy.add_route(&route).await {
                    tracing::warn!("restoring the route of {user}/{server}: {e}");
                }
            }
            return Err(HubError::from(e));
        }
        self.forget_server(user, server).await;
        run_post_stop_hook(self, user, server).await;
        tracing::info!("Stopped {user}/{server}");
        Ok(())
    }

    /// `cleanup_servers` at shutdown: stop every running server, all at once.
    pub async fn stop_all_servers(self: &Arc<Self>) {
        let rows: Vec<ServerRow> = match self.store.active_servers().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("listing servers to stop: {e}");
                return;
            }
        };
        let mut tasks = Vec::new();
        for row in rows {
            let hub = Arc::clone(self);
            tasks.push(tokio::spawn(async move {
                // A failure is logged by finish_stop; shutdown goes on with the others.
                let _ = hub
                    .finish_stop(&row.user, &row.name, &row.state, row.url.as_deref())
                    .await;
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

async fn run_post_stop_hook(hub: &Hub, user: &str, server: &str) {
    let hook = &hub.config.spawner.post_stop_hook;
    if hook.is_empty() {
        return;
    }
    let cmd: Vec<String> = hook
        .iter()
        .map(|a| crate::hooks::expand(a, user, server))
        .collect();
    if let Err(e) = crate::hooks::run_hook("post_stop_hook", &cmd, user, server).await {
        tracing::warn!("post_stop_hook: {e}");
    }
}
