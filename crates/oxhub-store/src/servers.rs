//! Servers: one row per (user, server name), the default server being `""`. A row outlives its
//! process: `started`/`pending`/`url` say whether it runs; `state` is what the spawner needs to
//! find it again after a restart.

use crate::{to_json_text, Json, Result, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct ServerRow {
    pub id: i64,
    pub user: String,
    pub name: String,
    pub display_name: String,
    pub started: Option<i64>,
    pub last_activity: Option<i64>,
    /// `spawn`, `stop`, or none.
    pub pending: Option<String>,
    pub ready: bool,
    /// Where the server listens, while it runs.
    pub url: Option<String>,
    pub state: Json,
    pub user_options: Json,
}

impl ServerRow {
    /// Running or on its way (JupyterHub's "active").
    pub fn active(&self) -> bool {
        self.started.is_some() || self.pending.is_some()
    }
}

/// The `state=` filter of the user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// At least one server running or pending.
    Active,
    /// At least one server ready.
    Ready,
    /// No server running or pending.
    Inactive,
}

impl ServerState {
    /// The SQL condition on `u` (the users table) for this filter.
    pub(crate) fn condition(self) -> &'static str {
        match self {
            ServerState::Active => "EXISTS (SELECT 1 FROM servers s WHERE s.user_id = u.id AND (s.started IS NOT NULL OR s.pending IS NOT NULL))",
            ServerState::Ready => "EXISTS (SELECT 1 FROM servers s WHERE s.user_id = u.id AND s.ready = 1)",
            ServerState::Inactive => "NOT EXISTS (SELECT 1 FROM servers s WHERE s.user_id = u.id AND (s.started IS NOT NULL OR s.pending IS NOT NULL))",
        }
    }
}

/// A change to a server's lifecycle columns; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerUpdate {
    pub started: Option<Option<i64>>,
    pub pending: Option<Option<String>>,
    pub ready: Option<bool>,
    pub url: Option<Option<String>>,
    pub state: Option<Json>,
    pub user_options: Option<Json>,
    pub display_name: Option<String>,
}

const SERVER_COLUMNS: &str = "s.id AS id, u.name AS uname, s.name AS name, s.display_name AS display_name, s.started AS started, s.last_activity AS last_activity, s.pending AS pending, s.ready AS ready, s.url AS url, s.state AS state, s.user_options AS user_options";
const SERVER_FROM: &str = "servers s JOIN users u ON u.id = s.user_id";

fn json_column(r: &AnyRow, column: &str) -> Result<Json> {
    let text: String = r.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("server {column}: {e}")))
}

fn server_row(r: &AnyRow) -> Result<ServerRow> {
    Ok(ServerRow {
        id: r.try_get("id")?,
        user: r.try_get("uname")?,
        name: r.try_get("name")?,
        display_name: r.try_get("display_name")?,
        started: r.try_get("started")?,
        last_activity: r.try_get("last_activity")?,
        pending: r.try_get("pending")?,
        ready: r.try_get::<i64, _>("ready")? != 0,
        url: r.try_get("url")?,
        state: json_column(r, "state")?,
        user_options: json_column(r, "user_options")?,
    })
}

impl Store {
    pub async fn server(&self, user: &str, name: &str) -> Result<Option<ServerRow>> {
        let sql =
            format!("SELECT {SERVER_COLUMNS} FROM {SERVER_FROM} WHERE u.name = $1 AND s.name = $2");
        let row = sqlx::query(&sql)
            .bind(user)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(server_row).transpose()
    }

    /// Every server row of a user, by name.
    pub async fn servers_of(&self, user: &str) -> Result<Vec<ServerRow>> {
        let sql =
            format!("SELECT {SERVER_COLUMNS} FROM {SERVER_FROM} WHERE u.name = $1 ORDER BY s.name");
        let rows = sqlx::query(&sql).bind(user).fetch_all(&self.pool).await?;
        rows.iter().map(server_row).collect()
    }

    /// The server rows of each of `users`, in one query.
    pub async fn servers_of_users(
        &self,
        users: &[&str],
    ) -> Result<HashMap<String, Vec<ServerRow>>> {
        let mut out: HashMap<String, Vec<ServerRow>> = HashMap::new();
        if users.is_empty() {
            return Ok(out);
        }
        let list: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {SERVER_COLUMNS} FROM {SERVER_FROM} WHERE u.name IN ({}) ORDER BY s.name",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for u in users {
            q = q.bind(*u);
        }
        for row in q.fetch_all(&self.pool).await? {
            let s = server_row(&row)?;
            out.entry(s.user.clone()).or_default().push(s);
        }
        Ok(out)
    }

    /// Add a stopped server row; `Conflict` if the user has one by that name, `NotFound` if
    /// there is no such user.
    pub async fn create_server(
        &self,
        user: &str,
        name: &str,
        display_name: &str,
        user_options: &Json,
    ) -> Result<ServerRow> {
        let mut tx = self.write_tx().await?;
        let user_id = self.id_of(&mut tx, "users", user).await?;
        sqlx::query("INSERT INTO servers (user_id, name, display_name, user_options) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(name)
            .bind(display_name)
            .bind(to_json_text(user_options))
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "SELECT {SERVER_COLUMNS} FROM {SERVER_FROM} WHERE s.user_id = $1 AND s.name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        self.commit(tx).await?;
        server_row(&row)
    }

    /// The server row, created (stopped) if missing: the default server always exists in
    /// JupyterHub's model once asked for.
    pub async fn ensure_server(&self, user: &str, name: &str) -> Result<ServerRow> {
        if let Some(row) = self.server(user, name).await? {
            return Ok(row);
        }
        match self
            .create_server(user, name, name, &Json::Object(Default::default()))
            .await
        {
            Err(StoreError::Conflict(_)) => {
                self.server(user, name).await?.ok_or(StoreError::NotFound)
            }
            other => other,
        }
    }

    /// Apply `change` to one server; `NotFound` if it does not exist.
    pub async fn update_server(
        &self,
        user: &str,
        name: &str,
        change: &ServerUpdate,
    ) -> Result<ServerRow> {
        let mut sets: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if change.started.is_some() {
            sets.push(format!("started = {}", next()));
        }
        if change.pending.is_some() {
            sets.push(format!("pending = {}", next()));
        }
        if change.ready.is_some() {
            sets.push(format!("ready = {}", next()));
        }
        if change.url.is_some() {
            sets.push(format!("url = {}", next()));
        }
        if change.state.is_some() {
            sets.push(format!("state = {}", next()));
        }
        if change.user_options.is_some() {
            sets.push(format!("user_options = {}", next()));
        }
        if change.display_name.is_some() {
            sets.push(format!("display_name = {}", next()));
        }
        if !sets.is_empty() {
            let (u, s) = (next(), next());
            let sql = format!(
                "UPDATE servers SET {} WHERE name = {s} AND user_id = (SELECT id FROM users WHERE name = {u})",
                sets.join(", ")
            );
            let mut q = sqlx::query(&sql);
            if let Some(v) = change.started {
                q = q.bind(v);
            }
            if let Some(v) = &change.pending {
                q = q.bind(v.clone());
            }
            if let Some(v) = change.ready {
                q = q.bind(i64::from(v));
            }
            if let Some(v) = &change.url {
                q = q.bind(v.clone());
            }
            if let Some(v) = &change.state {
                q = q.bind(to_json_text(v));
            }
            if let Some(v) = &change.user_options {
                q = q.bind(to_json_text(v));
            }
            if let Some(v) = &change.display_name {
                q = q.bind(v.clone());
            }
            let done = q.bind(user).bind(name).execute(&self.pool).await?;
            self.wrote(done)?;
        }
        self.server(user, name).await?.ok_or(StoreError::NotFound)
    }

    /// Rename a stopped server: `NotFound` if missing, `Conflict` if the new name is taken.
    pub async fn rename_server(&self, user: &str, old: &str, new: &str) -> Result<()> {
        let done = sqlx::query("UPDATE servers SET name = $1 WHERE name = $2 AND user_id = (SELECT id FROM users WHERE name = $3)")
            .bind(new)
            .bind(old)
            .bind(user)
            .execute(&self.pool)
            .await?;
        self.wrote(done)
    }

    /// Remove a server row with its shares and share codes.
    pub async fn delete_server(&self, user: &str, name: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let user_id = self.id_of(&mut tx, "users", user).await?;
        let row = sqlx::query("SELECT id FROM servers WHERE user_id = $1 AND name = $2")
            .bind(user_id)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: i64 = row.try_get("id")?;
        for table in ["shares", "share_codes"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE server_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM servers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    /// Record a server's activity; stored values only move forward.
    pub async fn touch_server(&self, user: &str, name: &str, when: i64) -> Result<()> {
        sqlx::query("UPDATE servers SET last_activity = $1 WHERE name = $2 AND user_id = (SELECT id FROM users WHERE name = $3) AND (last_activity IS NULL OR last_activity < $4)")
            .bind(when)
            .bind(name)
            .bind(user)
            .bind(when)
            .execute(&self.pool)
            .await?;
        self.activity_written();
        Ok(())
    }

    /// Every server recorded as running or pending (for polling after a restart).
    pub async fn active_servers(&self) -> Result<Vec<ServerRow>> {
        let sql = format!("SELECT {SERVER_COLUMNS} FROM {SERVER_FROM} WHERE s.started IS NOT NULL OR s.pending IS NOT NULL ORDER BY u.name, s.name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(server_row).collect()
    }
}
