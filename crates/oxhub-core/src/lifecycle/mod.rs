//! The server lifecycle, owned here and nowhere else: start (token, OAuth client, process,
//! wait until it answers, proxy route, record), progress events, stop (route, process, token
//! and client), polling for servers that died, and picking running servers up again after a
//! hub restart.
//!
//! One spawn per server at a time is guaranteed by the `spawns` table of trackers: a start
//! registers its tracker under the lock before anything else happens.

mod report;
mod request;

use crate::clock::now_ms;
use crate::error::{clip, HubError};
use crate::hooks::{expand, run_hook};
use crate::hub::Hub;
use crate::identity::Identity;
use crate::progress::{failed, Progress};
use crate::tokens;
use oxhub_model::scope::Resource;
use oxhub_model::urls::{server_client_id, server_url};
use oxhub_plugin::proxy::Route;
use oxhub_plugin::spawn::Status;
use oxhub_store::{ClientLink, NewOAuthClient, ServerUpdate};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// How long a start request waits before answering "still pending" (202); shorter in the
/// core's own tests.
const SLOW_SPAWN: Duration = Duration::from_secs(if cfg!(test) { 2 } else { 10 });

/// The answer to a start request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// Ready within the slow-spawn window (201).
    Ready,
    /// Still starting (202).
    Pending,
}

impl Hub {
    pub(crate) fn routespec(&self, user: &str, server: &str) -> String {
        server_url(&self.config.hub.base_url, user, server)
    }

    /// The progress tracker of a server's latest spawn, if there was one since the hub started.
    pub fn spawn_progress(&self, user: &str, server: &str) -> Option<Arc<Progress>> {
        self.spawns
            .lock()
            .ok()?
            .get(&(user.to_owned(), server.to_owned()))
            .cloned()
    }

    fn spawns_in_flight(&self) -> usize {
        self.spawns
            .lock()
            .map(|m| m.values().filter(|p| !p.finished()).count())
            .unwrap_or(0)
    }

    /// Start a server (POST `/users/{u}/server[s/{s}]`, `/hub/spawn`): checks, then spawns in
    /// the background and waits up to the slow-spawn window for it.
    pub async fn start_server(
        self: &Arc<Self>,
        who: &Identity,
        user: &str,
        server: &str,
        user_options: Option<Value>,
    ) -> Result<Started, HubError> {
        self.require(who, &["start:servers"], Resource::Server { user, server })
            .await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {}", clip(user))));
        }
        if self.config.authenticator.refresh_pre_spawn && !self.refresh_user(user, true).await? {
            return Err(HubError::Refused(format!(
                "Auth refresh needed for {user} before the server can start; please log in again"
            )));
        }
        let row = if server.is_empty() {
            self.store.ensure_server(user, "").await?
        } else {
            match self.store.server(user, server).await? {
                Some(row) => row,
                None => {
                    self.create_named_server(who, user, server, None, user_options.clone())
                        .await?
                }
            }
        };
        if row.pending.as_deref() == Some("stop") {
            return Err(HubError::Invalid(format!(
                "{user}'s server {} is pending stop",
                clip(server)
            )));
        }
        if row.started.is_some() && row.pending.is_none() {
            return Err(HubError::Invalid(format!(
                "{user}'s server {} is already running",
                clip(server)
            )));
        }
        // Options for a profile that does not exist (or a choice it does not offer) are the
        // caller's mistake, refused before anything starts.
        if let Err(why) = self
            .profiles
            .resolve(user_options.as_ref().unwrap_or(&row.user_options))
        {
            return Err(HubError::Invalid(why));
        }
        // ... and so are options the spawner refuses (DockerSpawner's allowed_images).
        let options = user_options.as_ref().unwrap_or(&row.user_options);
        self.spawner
            .check(&self.check_request(user, server, options)?)?;
        let key = (user.to_owned(), server.to_owned());
        let progress = {
            let mut spawns = self
                .spawns
                .lock()
                .map_err(|_| HubError::Internal("spawn table poisoned".into()))?;
            if let Some(p) = spawns.get(&key) {
                if !p.finished() {
                    return Ok(Started::Pending);
                }
            }
            let limit = self.config.hub.concurrent_spawn_limit;
            let in_flight = spawns.values().filter(|p| !p.finished()).count();
            if limit > 0 && i64::try_from(in_flight).unwrap_or(i64::MAX) >= limit {
                return Err(HubError::Busy(
                    format!("Too many users trying to log in right now. Try again in a minute. ({in_flight} spawns pending)"),
                    30,
                ));
            }
            let progress = Progress::new();
            spawns.insert(key.clone(), Arc::clone(&progress));
            progress
        };
        let active_limit = self.config.hub.active_server_limit;
        if active_limit > 0 {
            let active = self.store.active_servers().await?.len();
            if i64::try_from(active).unwrap_or(i64::MAX) >= active_limit {
                progress.finish(failed("Active user limit exceeded"));
                return Err(HubError::Busy(
                    "Active user limit exceeded. Try again in a few minutes.".into(),
                    30,
                ));
            }
        }
        progress.push(json!({"progress": 0, "message": "Server requested"}));
        let options = match user_options {
            Some(o) => o,
            None => row.user_options.clone(),
        };
        let marked = self
            .store
            .update_server(
                user,
                server,
                &ServerUpdate {
                    pending: Some(Some("spawn".into())),
                    ready: Some(false),
                    user_options: Some(options.clone()),
                    ..ServerUpdate::default()
                },
            )
            .await;
        if let Err(e) = marked {
            progress.finish(failed("the server could not be recorded"));
            return Err(e.into());
        }
        let hub = Arc::clone(self);
        let (u, s) = key;
        let task_progress = Arc::clone(&progress);
        let task =
            tokio::spawn(async move { hub.run_spawn(&u, &s, &options, &task_progress).await });
        match tokio::time::timeout(SLOW_SPAWN, task).await {
            Ok(Ok(Ok(()))) => Ok(Started::Ready),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(join)) => Err(HubError::Internal(format!("spawn task: {join}"))),
            Err(_) => Ok(Started::Pending),
        }
    }

    /// The whole spawn; on failure everything it created is undone and the failure recorded.
    async fn run_spawn(
        &self,
        user: &str,
        server: &str,
        options: &Value,
        progress: &Progress,
    ) -> Result<(), HubError> {
        let mut state = Value::Null;
        match self
            .try_spawn(user, server, options, progress, &mut state)
            .await
        {
            Ok(()) => {
                let prefix = self.routespec(user, server);
                tracing::info!("Server {user}/{server} ready at {prefix}");
                progress.finish(json!({
                    "progress": 100,
                    "ready": true,
                    "message": format!("Server ready at {prefix}"),
                    "html_message": format!("Server ready at <a href=\"{prefix}\">{prefix}</a>"),
                    "url": prefix,
                }));
                Ok(())
            }
            Err(e) => {
                let message = match &e {
                    HubError::Internal(_) => "internal error (see the hub's log)".to_owned(),
                    other => other.to_string(),
                };
                tracing::error!("Spawn of {user}/{server} failed: {e}");
                if !state.is_null() {
                    if let Err(e) = self.spawner.stop(&state).await {
                        tracing::error!("Stopping the failed spawn of {user}/{server}: {e}");
                    }
                }
                self.clear_server(user, server).await;
                progress.finish(failed(&message));
                Err(match e {
                    HubError::Internal(_) | HubError::Outage(_) => e,
                    other => HubError::SpawnFailed(other.to_string()),
                })
            }
        }
    }

    async fn try_spawn(
        &self,
        user: &str,
        server: &str,
        options: &Value,
        progress: &Progress,
        state: &mut Value,
    ) -> Result<(), HubError> {
        let sp = &self.config.spawner;
        let prefix = self.routespec(user, server);
        let client_id = server_client_id(user, server);
        // The server's API token, which is also its OAuth client secret. Issued to the client,
        // it goes with the client when the server stops.
        let access = format!("access:servers!server={user}/{server}");
        let (token, token_id) = self
            .issue_token_with_id(
                oxhub_store::Owner::User(user.to_owned()),
                vec!["users:activity!user".into(), access.clone()],
                &format!("Server at {prefix}"),
                None,
                None,
                Some(client_id.clone()),
            )
            .await?;
        progress.set_token(token_id);
        self.store
            .upsert_oauth_client(&NewOAuthClient {
                identifier: &client_id,
                description: &format!("Server at {prefix}"),
                secret_hash: Some(&tokens::hash(&token)),
                redirect_uri: &format!("{prefix}oauth_callback"),
                allowed_scopes: std::slice::from_ref(&access),
                link: ClientLink::Server {
                    user: user.to_owned(),
                    server: server.to_owned(),
                },
            })
            .await?;
        // Recorded before the server exists: if the hub dies between starting it and recording
        // the spawner's state, the next hub stops it with just this nonce.
        let spawn_id = crate::hub::new_secret()?;
        *state = json!({ "nonce": spawn_id });
        self.store
            .update_server(
                user,
                server,
                &ServerUpdate {
                    state: Some(state.clone()),
                    ..ServerUpdate::default()
                },
            )
            .await?;
        let mut request =
            self.spawn_request(user, server, options, &token, &client_id, spawn_id)?;
        let auth_state = self.stored_auth_state(user).await?;
        progress.push(json!({"progress": 10, "message": "Starting the server process"}));
        let start_timeout =
            Duration::from_secs(u64::try_from(sp.start_timeout.max(1)).unwrap_or(60));
        // start_timeout covers what runs before the server exists: the pre-spawn hook, the
        // authenticator's pre-spawn step and the spawner's start.
        let hook: Vec<String> = sp
            .pre_spawn_hook
            .iter()
            .map(|a| expand(a, user, server))
            .collect();
        let starting = async {
            if !hook.is_empty() {
                run_hook("pre_spawn_hook", &hook, user, server).await?;
            }
            self.authenticator
                .pre_spawn(auth_state.as_ref(), &mut request)
                .await?;
            Ok::<_, HubError>(self.spawner.start(&request, progress).await?)
        };
        tokio::pin!(starting);
        let deadline = tokio::time::sleep(start_timeout);
        tokio::pin!(deadline);
        let mut checkpoints = progress.checkpoints();
        let nonce = state.clone();
        let started = loop {
            tokio::select! {
                r = &mut starting => break r?,
                () = &mut deadline => {
                    return Err(HubError::Invalid(format!(
                        "the spawner did not start the server within start_timeout ({} s)",
                        sp.start_timeout
                    )))
                }
                Ok(()) = checkpoints.changed() => {
                    // What the spawner created so far (a job id): recorded, so a timeout or
                    // a hub that dies now still stops it.
                    let Some(partial) = checkpoints.borrow_and_update().clone() else { continue };
                    *state = with_nonce(partial, &nonce);
                    self.store
                        .update_server(
                            user,
                            server,
                            &ServerUpdate { state: Some(state.clone()), ..ServerUpdate::default() },
                        )
                        .await?;
                }
            }
        };
        let recorded = with_nonce(started.state.clone(), &nonce);
        *state = recorded.clone();
        // Recorded at once, so a hub killed from here on can find and stop the server.
        self.store
            .update_server(
                user,
                server,
                &ServerUpdate {
                    state: Some(recorded),
                    url: Some(Some(started.url.clone())),
                    ..ServerUpdate::default()
                },
            )
            .await?;
        progress.push(json!({
            "progress": 50,
            "message": format!("Server process started; waiting for it to answer at {}", started.url),
        }));
        self.wait_up(&started.url, &prefix, state).await?;
        if let Some(proxy) = &self.proxy {
            proxy
                .add_route(&Route {
                    routespec: prefix.clone(),
                    target: started.url.clone(),
                    data: json!({"jupyterhub": true, "user": user, "server_name": server}),
                    last_activity: None,
                })
                .await?;
        }
        self.store
            .update_server(
                user,
                server,
                &ServerUpdate {
                    started: Some(Some(now_ms())),
                    pending: Some(None),
                    ready: Some(true),
                    ..ServerUpdate::default()
                },
            )
            .await?;
        Ok(())
    }

    /// The user's decrypted `auth_state` when auth state is enabled (for `pre_spawn`).
    pub(crate) async fn stored_auth_state(&self, user: &str) -> Result<Option<Value>, HubError> {
        if !self.config.authenticator.enable_auth_state {
            return Ok(None);
        }
        let Some(row) = self.store.user(user).await? else {
            return Ok(None);
        };
        Ok(row
            .auth_state
            .and_then(|sealed| match self.crypt.decrypt(&sealed) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!("auth_state of {user}: {e}");
                    None
                }
            }))
    }

    /// Poll `GET <url><prefix>api` until it answers below 500, the process exits, or
    /// `http_timeout` passes.
    async fn wait_up(&self, url: &str, prefix: &str, state: &Value) -> Result<(), HubError> {
        let target = format!("{url}{prefix}api");
        let timeout = Duration::from_secs(
            u64::try_from(self.config.spawner.http_timeout.max(1)).unwrap_or(30),
        );
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(20);
        loop {
            if let Ok(Status::Exited(code)) = self.spawner.poll(state).await {
                return Err(HubError::Invalid(match code {
                    Some(c) => {
                        format!("the server process exited with status {c} before it answered")
                    }
                    None => "the server process exited before it answered".into(),
                }));
            }
            if let Ok(status) = self.http_status(&target).await {
                if status < 500 {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(HubError::Invalid(format!(
                    "the server did not answer at {target} within http_timeout ({} s)",
                    self.config.spawner.http_timeout
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }

    async fn http_status(&self, url: &str) -> Result<u16, String> {
        let req = http::Request::get(url)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(5), self.http.request(req))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }

    /// Forget a server's process: route, token and OAuth client gone, columns cleared.
    async fn clear_server(&self, user: &str, server: &str) {
        if let Some(proxy) = &self.proxy {
            if let Err(e) = proxy.delete_route(&self.routespec(user, server)).await {
                tracing::warn!("removing the route of {user}/{server}: {e}");
            }
        }
        self.forget_server(user, server).await;
    }

    /// The records of a server whose route is already gone: token and OAuth client deleted,
    /// columns cleared.
    pub(crate) async fn forget_server(&self, user: &str, server: &str) {
        if let Err(e) = self
            .store
            .delete_oauth_client(&server_client_id(user, server))
            .await
        {
            tracing::error!("deleting the OAuth client of {user}/{server}: {e}");
        }
        let cleared = ServerUpdate {
            started: Some(None),
            pending: Some(None),
            ready: Some(false),
            url: Some(None),
            state: Some(json!({})),
            ..ServerUpdate::default()
        };
        match self.store.update_server(user, server, &cleared).await {
            Ok(_) | Err(oxhub_store::StoreError::NotFound) => {}
            Err(e) => tracing::error!("clearing server {user}/{server}: {e}"),
        }
    }

    /// After a (re)start: servers recorded as running are polled; live ones keep running and
    /// are routed by the next route check, dead ones are cleaned up. A spawn the previous hub
    /// never finished is undone (its process stopped), so nothing is orphaned or started twice.
    pub async fn resume_servers(&self) -> Result<(usize, usize), HubError> {
        let (mut kept, mut cleared) = (0, 0);
        for row in self.store.active_servers().await? {
            let finished = row.pending.is_none() && row.ready && row.started.is_some();
            let status = self.spawner.poll(&row.state).await;
            if finished {
                match status {
                    Ok(Status::Running) => {
                        kept += 1;
                        continue;
                    }
                    Err(e) => {
                        // Cannot tell now: keep it; polling asks again.
                        tracing::warn!(
                            "Server {}/{}: the spawner cannot tell whether it runs ({e}); keeping it",
                            row.user,
                            row.name
                        );
                        kept += 1;
                        continue;
                    }
                    Ok(Status::Exited(_)) => {}
                }
            }
            tracing::warn!(
                "Server {}/{} was {} when the hub stopped; cleaning it up",
                row.user,
                row.name,
                if !finished {
                    "starting or stopping"
                } else {
                    "running but its process is gone"
                }
            );
            // Also when no pid was recorded: the spawner finds it by the spawn's nonce.
            if let Err(e) = self.spawner.stop(&row.state).await {
                tracing::error!("Stopping {}/{}: {e}", row.user, row.name);
            }
            self.clear_server(&row.user, &row.name).await;
            cleared += 1;
        }
        Ok((kept, cleared))
    }

    /// One round of polling: running servers whose process is gone are cleaned up.
    pub async fn poll_servers(&self) -> Result<usize, HubError> {
        let mut dead = 0;
        for row in self.store.active_servers().await? {
            if row.pending.is_some() {
                continue;
            }
            let status = match self.spawner.poll(&row.state).await {
                Ok(status) => status,
                Err(e) => {
                    tracing::warn!("Polling {}/{}: {e}; asking again later", row.user, row.name);
                    continue;
                }
            };
            if let Status::Exited(code) = status {
                tracing::warn!(
                    "Server {}/{} exited{}; removing it",
                    row.user,
                    row.name,
                    code.map(|c| format!(" with status {c}"))
                        .unwrap_or_default()
                );
                self.clear_server(&row.user, &row.name).await;
                dead += 1;
            }
        }
        Ok(dead)
    }

    /// Poll every `poll_interval` until shutdown.
    pub async fn watch_servers(self: Arc<Self>) {
        let every = Duration::from_secs(
            u64::try_from(self.config.spawner.poll_interval.max(1)).unwrap_or(30),
        );
        let mut stop = self.shutdown.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = self.poll_servers().await {
                tracing::error!("polling servers: {e}");
            }
        }
    }

    /// Spawns still in flight (for the concurrent-spawn limit and metrics).
    pub fn pending_spawns(&self) -> usize {
        self.spawns_in_flight()
    }
}

/// A spawner's state with the spawn's nonce kept in it (a spawner with no state of its own
/// gets just the nonce).
fn with_nonce(mut state: Value, nonce: &Value) -> Value {
    match &mut state {
        Value::Object(m) => {
            if let Some(n) = nonce.get("nonce") {
                m.entry("nonce").or_insert_with(|| n.clone());
            }
            state
        }
        Value::Null => nonce.clone(),
        _ => state,
    }
}

#[cfg(test)]
mod tests;
