//! Server records as the API and the pages see them (the lifecycle itself is `lifecycle.rs`):
//! the typed state of a server, the servers of users for their models, named-server records,
//! and the activity endpoint.

use crate::clock::now_ms;
use crate::error::{clip, HubError};
use crate::hub::Hub;
use crate::identity::Identity;
use oxhub_model::names::ServerName;
use oxhub_model::scope::Resource;
use oxhub_store::ServerRow;
use serde_json::Value;
use std::collections::HashMap;

/// How far into the future an activity timestamp may be (clock skew), in milliseconds.
const FUTURE_SLACK_MS: i64 = 59 * 60 * 1000;

/// Parse an ISO 8601 timestamp leniently: with an offset or `Z` (converted to UTC), or naive
/// (taken as UTC), with or without fractional seconds; also with a space instead of `T`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    let normalized = text.replacen(' ', "T", 1);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&normalized) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(&normalized, format) {
            return Some(t.and_utc().timestamp_millis());
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&normalized, format) {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis());
        }
    }
    None
}

fn activity_time(value: &Value, what: &str, now: i64) -> Result<i64, HubError> {
    let text = value.as_str().ok_or_else(|| {
        HubError::Invalid(format!(
            "{what}: last_activity must be an ISO 8601 timestamp string"
        ))
    })?;
    let t = parse_timestamp(text)
        .ok_or_else(|| HubError::Invalid(format!("{what}: invalid timestamp {}", clip(text))))?;
    if t > now + FUTURE_SLACK_MS {
        return Err(HubError::Invalid(format!(
            "{what}: last_activity {text:?} is in the future"
        )));
    }
    Ok(t)
}

impl Hub {
    /// The server rows of these users (missing users have none).
    pub async fn servers_of_users(
        &self,
        users: &[&str],
    ) -> Result<HashMap<String, Vec<ServerRow>>, HubError> {
        Ok(self.store.servers_of_users(users).await?)
    }

    /// `POST /users/{name}/activity`: `{"last_activity": ts?, "servers": {name: {"last_activity": ts}}?}`.
    /// Everything is validated before anything is stored; stored times only move forward.
    pub async fn record_activity(
        &self,
        who: &Identity,
        user: &str,
        body: &Value,
    ) -> Result<(), HubError> {
        self.require(who, &["users:activity"], Resource::User(user))
            .await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        let Value::Object(body) = body else {
            return Err(HubError::Invalid(
                "body must be a JSON object with last_activity and/or servers".into(),
            ));
        };
        let now = now_ms();
        let user_time = match body.get("last_activity") {
            None | Some(Value::Null) => None,
            Some(v) => Some(activity_time(v, "last_activity", now)?),
        };
        let mut server_times = Vec::new();
        match body.get("servers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(servers)) => {
                let known: Vec<String> = self
                    .store
                    .servers_of(user)
                    .await?
                    .into_iter()
                    .map(|s| s.name)
                    .collect();
                for (name, info) in servers {
                    if !known.contains(name) {
                        return Err(HubError::Invalid(format!(
                            "No such server '{name}' for user {user}"
                        )));
                    }
                    let t = info.get("last_activity").ok_or_else(|| {
                        HubError::Invalid(format!(
                            "servers.{name} must be an object with last_activity"
                        ))
                    })?;
                    server_times.push((name.clone(), activity_time(t, name, now)?));
                }
            }
            Some(_) => {
                return Err(HubError::Invalid(
                    "servers must be an object keyed by server name".into(),
                ))
            }
        }
        if user_time.is_none() && server_times.is_empty() {
            return Err(HubError::Invalid(
                "body has no activity: give last_activity or servers".into(),
            ));
        }
        if let Some(t) = user_time {
            self.store.touch_user(user, t).await?;
        }
        for (name, t) in server_times {
            self.store.touch_server(user, &name, t).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    #[test]
    fn lenient_timestamps() {
        let base = 1_714_564_800_000; // 2024-05-01T12:00:00Z
        assert_eq!(parse_timestamp("2024-05-01T12:00:00Z"), Some(base));
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00.123456Z"),
            Some(base + 123)
        );
        assert_eq!(parse_timestamp("2024-05-01T14:00:00+02:00"), Some(base));
        assert_eq!(parse_timestamp("2024-05-01T12:00:00"), Some(base));
        assert_eq!(parse_timestamp("2024-05-01 12:00:00"), Some(base));
        assert_eq!(parse_timestamp("2024-05-01T12:00"), Some(base));
        assert_eq!(parse_timestamp("2024-05-01"), Some(base - 12 * 3_600_000));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp(""), None);
    }
}

/// A new named server's name: the safe-slug rule of [`ServerName::parse`], not empty.
fn valid_server_name(name: &str) -> bool {
    !name.is_empty() && ServerName::parse(name).is_ok()
}

/// A display name: 1–255 printable characters, no leading, trailing or double spaces.
pub fn valid_display_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=255).contains(&n)
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name.contains("  ")
        && name.chars().all(|c| !c.is_control())
}

/// Where a server is in its lifecycle, as pages and handlers branch on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// No record (a named server never created, or removed).
    Absent,
    /// Recorded, not running.
    Stopped,
    /// A spawn is under way.
    Spawning,
    /// Running and routed.
    Ready,
    /// A stop is under way.
    Stopping,
}

impl ServerState {
    pub fn of(row: &ServerRow) -> ServerState {
        match row.pending.as_deref() {
            Some("spawn") => ServerState::Spawning,
            Some(_) => ServerState::Stopping,
            None if row.ready && row.started.is_some() => ServerState::Ready,
            None => ServerState::Stopped,
        }
    }

    /// Starting, running or stopping.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            ServerState::Spawning | ServerState::Ready | ServerState::Stopping
        )
    }
}

/// What a request may change on a stopped server.
#[derive(Debug, Default, Clone)]
pub struct ServerChanges {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub user_options: Option<Value>,
}

impl Hub {
    /// The state of one server (no permission check: the caller has made its own).
    pub async fn server_state(&self, user: &str, server: &str) -> Result<ServerState, HubError> {
        Ok(self
            .store
            .server(user, server)
            .await?
            .as_ref()
            .map_or(ServerState::Absent, ServerState::of))
    }

    /// A user's server records, the default one first when it exists.
    pub async fn servers_of(&self, user: &str) -> Result<Vec<ServerRow>, HubError> {
        Ok(self.store.servers_of(user).await?)
    }

    fn named_servers_allowed(&self) -> Result<(), HubError> {
        if self.config.hub.allow_named_servers {
            Ok(())
        } else {
            Err(HubError::Invalid("Named servers are not enabled.".into()))
        }
    }

    /// A server row for the API: `None` when the user or server does not exist. The default
    /// server exists for every user.
    pub async fn server_record(
        &self,
        who: &Identity,
        user: &str,
        server: &str,
    ) -> Result<ServerRow, HubError> {
        self.require(who, &["read:servers"], Resource::Server { user, server })
            .await?;
        let missing = || HubError::NotFound(format!("No such server: {user}/{server}"));
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        if server.is_empty() {
            return Ok(self.store.ensure_server(user, "").await?);
        }
        self.store.server(user, server).await?.ok_or_else(missing)
    }

    /// `PUT /users/{user}/servers/{server}`: define a named server without starting it.
    pub async fn create_named_server(
        &self,
        who: &Identity,
        user: &str,
        server: &str,
        display_name: Option<String>,
        user_options: Option<Value>,
    ) -> Result<ServerRow, HubError> {
        self.require(who, &["start:servers"], Resource::Server { user, server })
            .await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        if server.is_empty() {
            return Err(HubError::Conflict(
                "The default server always exists; it cannot be created".into(),
            ));
        }
        self.named_servers_allowed()?;
        if !valid_server_name(server) {
            return Err(HubError::Invalid(format!(
                "Invalid server name {}: use 1-30 lowercase letters, digits and dashes, starting with a letter",
                clip(server)
            )));
        }
        let display = display_name.unwrap_or_else(|| server.to_owned());
        if !valid_display_name(&display) {
            return Err(HubError::Invalid(format!(
                "Invalid display_name {display:?}"
            )));
        }
        let existing = self.store.servers_of(user).await?;
        if existing.iter().any(|s| s.name == server) {
            return Err(HubError::Conflict(format!(
                "Server {user}/{server} already exists"
            )));
        }
        let limit = self.config.hub.named_server_limit_per_user;
        let named = existing.iter().filter(|s| !s.name.is_empty()).count();
        if limit > 0 && i64::try_from(named).unwrap_or(i64::MAX) >= limit {
            return Err(HubError::Invalid(format!(
                "User {user} already has the maximum of {limit} named servers. One must be deleted before a new server can be created"
            )));
        }
        let options = user_options.unwrap_or_else(|| Value::Object(Default::default()));
        Ok(self
            .store
            .create_server(user, server, &display, &options)
            .await?)
    }

    /// `PATCH /users/{user}/servers/{server}`: rename, relabel or change the options of a
    /// stopped server.
    pub async fn patch_server(
        &self,
        who: &Identity,
        user: &str,
        server: &str,
        changes: ServerChanges,
    ) -> Result<ServerRow, HubError> {
        self.require(who, &["start:servers"], Resource::Server { user, server })
            .await?;
        let row = if server.is_empty() {
            if self.store.user(user).await?.is_none() {
                return Err(HubError::NotFound(format!("No such user: {user}")));
            }
            self.store.ensure_server(user, "").await?
        } else {
            self.store
                .server(user, server)
                .await?
                .ok_or_else(|| HubError::NotFound(format!("No such server: {user}/{server}")))?
        };
        if row.active() {
            return Err(HubError::Invalid(format!(
                "Server {user}/{server} is active; stop it before changing it"
            )));
        }
        if let Some(d) = &changes.display_name {
            if !valid_display_name(d) {
                return Err(HubError::Invalid(format!("Invalid display_name {d:?}")));
            }
        }
        let mut current = server.to_owned();
        if let Some(new) = changes.name.as_deref().filter(|n| *n != server) {
            if server.is_empty() {
                return Err(HubError::Invalid(
                    "The default server cannot be renamed".into(),
                ));
            }
            if !valid_server_name(new) {
                return Err(HubError::Invalid(format!(
                    "Invalid server name {}",
                    clip(new)
                )));
            }
            if self.store.server(user, new).await?.is_some() {
                return Err(HubError::Conflict(format!(
                    "Server {user}/{new} already exists"
                )));
            }
            self.store
                .rename_server(user, server, new)
                .await
                .map_err(|e| match e {
                    oxhub_store::StoreError::Conflict(_) => {
                        HubError::Conflict(format!("Server {user}/{new} already exists"))
                    }
                    other => other.into(),
                })?;
            current = new.to_owned();
        }
        let update = oxhub_store::ServerUpdate {
            display_name: changes.display_name,
            user_options: changes.user_options,
            ..Default::default()
        };
        Ok(self.store.update_server(user, &current, &update).await?)
    }

    /// `DELETE /users/{user}/servers/{server}` of a server that is not running: with
    /// `remove`, a named server's record is deleted. Stopping a running server belongs to
    /// the spawner layer.
    pub async fn remove_stopped_server(
        &self,
        who: &Identity,
        user: &str,
        server: &str,
        remove: bool,
    ) -> Result<(), HubError> {
        self.require(who, &["delete:servers"], Resource::Server { user, server })
            .await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        if !server.is_empty() {
            self.named_servers_allowed()?;
        } else if remove {
            return Err(HubError::Invalid("Cannot delete the default server".into()));
        }
        let row = match self.store.server(user, server).await? {
            Some(r) => r,
            None if server.is_empty() => return Ok(()),
            None => {
                return Err(HubError::NotFound(format!(
                    "{user} has no server named {server:?}"
                )))
            }
        };
        if row.active() {
            return Err(HubError::Conflict(format!(
                "Server {user}/{server} is running and this hub has no spawner to stop it"
            )));
        }
        if remove {
            self.spawner
                .delete_forever(user, server, &row.state)
                .await?;
            self.store.delete_server(user, server).await?;
            tracing::info!("Deleted server {user}/{server}");
        }
        Ok(())
    }
}
