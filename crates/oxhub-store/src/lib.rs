//! The hub's state in SQL: SQLite by default (one file, WAL), PostgreSQL for production. The only
//! crate that contains SQL. Each public method is one unit of work; methods that write more than
//! one row run in one transaction, so a failure leaves nothing half-written.
//!
//! One implementation serves both databases through sqlx's `Any` driver: the queries are the SQL
//! both dialects share (`$n` placeholders, `RETURNING`), and only the schema (`migrations.rs`)
//! is written per dialect. Timestamps are milliseconds since the Unix epoch.

mod accounts;
pub mod migrations;
mod oauth;
mod servers;
mod shares;

pub use oauth::{ClientLink, NewOAuthClient, NewOAuthCode, OAuthClientRow, OAuthCodeRow};
pub use servers::{ServerRow, ServerState, ServerUpdate};
pub use shares::{ShareCodeRow, ShareFilter, ShareRow, ShareTarget};

use serde_json::Value as Json;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The one error type of the store layer. Callers never parse SQL error text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("invalid database URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database content is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            // A row referred to was deleted by a concurrent write (outside a write transaction).
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A SQLAlchemy-style URL (`sqlite:///jupyterhub.sqlite`, `postgresql://u:p@h/db`) as sqlx wants it.
pub fn sqlx_url(db_url: &str) -> Result<(String, Dialect)> {
    let bad = |why: &str| StoreError::BadUrl {
        url: db_url.to_owned(),
        why: why.to_owned(),
    };
    if let Some(rest) = db_url.strip_prefix("sqlite://") {
        // sqlite:///relative.sqlite → "relative.sqlite"; sqlite:////abs/path → "/abs/path".
        let path = rest.strip_prefix('/').unwrap_or(rest);
        let (path, query) = path
            .split_once('?')
            .map_or((path, None), |(p, q)| (p, Some(q)));
        if path.is_empty() || path == ":memory:" {
            return Ok(("sqlite::memory:".into(), Dialect::Sqlite));
        }
        let mut url = format!("sqlite://{path}?mode=rwc");
        if let Some(q) = query {
            url.push('&');
            url.push_str(q);
        }
        return Ok((url, Dialect::Sqlite));
    }
    for scheme in [
        "postgresql://",
        "postgres://",
        "postgresql+psycopg2://",
        "postgresql+psycopg://",
        "postgresql+asyncpg://",
    ] {
        if let Some(rest) = db_url.strip_prefix(scheme) {
            return Ok((format!("postgres://{rest}"), Dialect::Postgres));
        }
    }
    if db_url.starts_with("mysql") {
        return Err(bad(
            "MySQL is not supported yet; use sqlite:/// or postgresql://",
        ));
    }
    Err(bad("expected sqlite:///PATH or postgresql://..."))
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub admin: bool,
    pub created: i64,
    pub last_activity: Option<i64>,
    /// Encrypted by the caller; the store never sees it in clear.
    pub auth_state: Option<Vec<u8>>,
    pub cookie_id: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    pub offset: i64,
    pub limit: i64,
    /// Only users whose name contains this, ignoring case.
    pub name_filter: Option<String>,
    pub state: Option<ServerState>,
    pub sort: UserSort,
}

/// Changes to one user, applied in one transaction (`None` leaves a field alone).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub new_name: Option<String>,
    pub admin: Option<bool>,
    /// The complete list of groups.
    pub groups: Option<Vec<String>>,
    /// The complete list of directly assigned roles.
    pub roles: Option<Vec<String>>,
    /// Encrypted by the caller; `Some(None)` clears it.
    pub auth_state: Option<Option<Vec<u8>>>,
}

/// The order of the user list; `true` = descending. NULLs sort last ascending, first descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    Name(bool),
    Id(bool),
    LastActivity(bool),
}

impl Default for UserSort {
    fn default() -> Self {
        UserSort::Name(false)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub properties: Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub id: i64,
    pub name: String,
    pub admin: bool,
    pub from_config: bool,
    /// The definition of a service added through the API (`{}` for configured ones, whose
    /// definition is the configuration).
    pub spec: Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User(String),
    Service(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub prefix: String,
    /// A hash of the whole token; the token itself is never stored.
    pub hash: String,
    pub owner: Owner,
    pub scopes: Vec<String>,
    pub note: String,
    pub expires_at: Option<i64>,
    pub session_id: Option<String>,
    pub oauth_client: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    pub prefix: String,
    pub hash: String,
    pub owner: Owner,
    pub scopes: Vec<String>,
    pub note: String,
    pub created: i64,
    pub expires_at: Option<i64>,
    pub last_activity: Option<i64>,
    pub session_id: Option<String>,
    pub oauth_client: Option<String>,
}

/// Which kind of member a role assignment is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
    Service,
}

impl MemberKind {
    fn tables(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MemberKind::User => ("users", "user_role_map", "user_id"),
            MemberKind::Group => ("groups", "group_role_map", "group_id"),
            MemberKind::Service => ("services", "service_role_map", "service_id"),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Bumped by every write that can change who holds which scopes (anything but activity
    /// timestamps), so callers can cache derived data and know when it went stale.
    generation: Arc<AtomicU64>,
    /// Moves on every activity write (users, servers), which `generation` ignores.
    activity: Arc<AtomicU64>,
}

fn json_list(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("list column: {e}")))
}

fn to_json_text<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

const USER_COLUMNS: &str = "id, name, admin, created, last_activity, auth_state, cookie_id";

/// The name of the role that makes its holders admins (JupyterHub's `admin` role).
pub const ADMIN_ROLE_NAME: &str = "admin";

/// The user columns for a SELECT over `users {alias}`. `admin` is the stored flag (kept in
/// step with direct membership of the admin role) or the admin role held through a group:
/// holding the role is what makes a user an admin.
fn user_select_columns(alias: &str) -> String {
    format!(
        "{alias}.id AS id, {alias}.name AS name, \
         CASE WHEN {alias}.admin <> 0 OR EXISTS (SELECT 1 FROM user_group_map ugm \
           WHERE ugm.user_id = {alias}.id AND ugm.group_id IN (SELECT grm.group_id \
             FROM group_role_map grm JOIN roles ar ON ar.id = grm.role_id \
             WHERE ar.name = '{ADMIN_ROLE_NAME}')) THEN 1 ELSE 0 END AS admin, \
         {alias}.created AS created, {alias}.last_activity AS last_activity, \
         {alias}.auth_state AS auth_state, {alias}.cookie_id AS cookie_id"
    )
}

fn user_row(r: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        admin: r.try_get::<i64, _>("admin")? != 0,
        created: r.try_get("created")?,
        last_activity: r.try_get("last_activity")?,
        auth_state: r.try_get("auth_state")?,
        cookie_id: r.try_get("cookie_id")?,
    })
}

const TOKEN_COLUMNS: &str = "t.id, t.prefix, t.hash, u.name AS user_name, s.name AS service_name, t.scopes, t.note, t.created, t.expires_at, t.last_activity, t.session_id, t.oauth_client";
const TOKEN_FROM: &str = "api_tokens t LEFT JOIN users u ON u.id = t.user_id LEFT JOIN services s ON s.id = t.service_id";

fn token_row(r: &AnyRow) -> Result<TokenRow> {
    let user: Option<String> = r.try_get("user_name")?;
    let service: Option<String> = r.try_get("service_name")?;
    let owner = match (user, service) {
        (Some(u), None) => Owner::User(u),
        (None, Some(s)) => Owner::Service(s),
        _ => {
            return Err(StoreError::Corrupt(
                "token without exactly one owner".into(),
            ))
        }
    };
    let scopes: String = r.try_get("scopes")?;
    Ok(TokenRow {
        id: r.try_get("id")?,
        prefix: r.try_get("prefix")?,
        hash: r.try_get("hash")?,
        owner,
        scopes: json_list(&scopes)?,
        note: r.try_get("note")?,
        created: r.try_get("created")?,
        expires_at: r.try_get("expires_at")?,
        last_activity: r.try_get("last_activity")?,
        session_id: r.try_get("session_id")?,
        oauth_client: r.try_get("oauth_client")?,
    })
}

impl Store {
    /// Connect to `db_url` (SQLAlchemy spelling accepted) and apply pending migrations.
    pub async fn open(db_url: &str) -> Result<Store> {
        let store = Store::connect(db_url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connect without migrating (for `upgrade-db`, which backs up first).
    pub async fn connect(db_url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, dialect) = sqlx_url(db_url)?;
        // An in-memory SQLite database lives as long as its one connection.
        let max = if url == "sqlite::memory:" { 1 } else { 8 };
        let sqlite = dialect == Dialect::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // With WAL, NORMAL keeps the database consistent on a crash and syncs
                        // at checkpoints instead of at every commit.
                        sqlx::query("PRAGMA synchronous=NORMAL")
                            .execute(conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if dialect == Dialect::Sqlite && url != "sqlite::memory:" {
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Store {
            pool,
            dialect,
            generation: Arc::new(AtomicU64::new(0)),
            activity: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A transaction that will write. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so a concurrent writer waits on the busy timeout instead of failing when a
    /// read transaction tries to upgrade.
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => {
                // One writer at a time, as SQLite's BEGIN IMMEDIATE gives: a transaction that
                // reads a row and then writes against it (a membership for a user another
                // request is deleting) cannot interleave with another writer.
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7290348151) AS locked")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        })
    }

    /// Commit a write transaction and mark cached derived data stale.
    async fn commit(&self, tx: sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// A counter that moves on every write other than activity timestamps: a cache keyed on it
    /// never serves data older than the last such write made through this store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Like [`Store::generation`], but also moving on activity writes: a cache of whole
    /// models (which show `last_activity`) keyed on it is never older than any write.
    pub fn data_generation(&self) -> u64 {
        self.generation
            .load(Ordering::Acquire)
            .wrapping_add(self.activity.load(Ordering::Acquire))
    }

    pub(crate) fn activity_written(&self) {
        self.activity.fetch_add(1, Ordering::Release);
    }

    /// Run one statement outside the typed API (administration: creating test databases).
    pub async fn raw_execute(&self, sql: &str) -> Result<()> {
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Close every connection. On SQLite the write-ahead log is checkpointed first, so a
    /// clean stop leaves the database whole in its one file (SQLite removes the `-wal` and
    /// `-shm` files when its last connection closes).
    pub async fn close(&self) {
        if self.dialect == Dialect::Sqlite {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
            {
                tracing::warn!("checkpointing the database at shutdown: {e}");
            }
        }
        self.pool.close().await;
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The schema version, 0 for an empty database.
    pub async fn schema_version(&self) -> Result<i64> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT MAX(version) AS v FROM schema_version")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
    }

    /// Apply every migration step newer than the database, each in its own transaction.
    pub async fn migrate(&self) -> Result<i64> {
        let mut current = self.schema_version().await?;
        let start = current;
        for step in migrations::STEPS.iter().filter(|s| s.version > start) {
            let mut tx = self.write_tx().await?;
            for statement in step
                .sql(self.dialect)
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(step.version)
                .execute(&mut *tx)
                .await?;
            self.commit(tx).await?;
            tracing::info!(
                "database migrated to version {} ({})",
                step.version,
                step.description
            );
            current = step.version;
        }
        Ok(current)
    }

    // ---- users ----

    /// Create a user holding `roles`, in one transaction: a user is never seen without its
    /// default roles, whatever runs concurrently. `Conflict` if the name exists, `NotFound` if
    /// a role is missing.
    pub async fn create_user(
        &self,
        name: &str,
        admin: bool,
        cookie_id: &str,
        now: i64,
        roles: &[&str],
    ) -> Result<UserRow> {
        let mut tx = self.write_tx().await?;
        let sql = format!("INSERT INTO users (name, admin, created, cookie_id) VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(i64::from(admin))
            .bind(now)
            .bind(cookie_id)
            .fetch_one(&mut *tx)
            .await?;
        let user = user_row(&row)?;
        for role in roles {
            let rid = self.id_of(&mut tx, "roles", role).await?;
            sqlx::query("INSERT INTO user_role_map (user_id, role_id) VALUES ($1, $2)")
                .bind(user.id)
                .bind(rid)
                .execute(&mut *tx)
                .await?;
        }
        self.commit(tx).await?;
        Ok(user)
    }

    /// Make the stored admin flags say who holds the admin role directly (after start-up's
    /// `load_roles` replaced its members).
    pub async fn sync_admin_flags(&self) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for (table, map, column) in [
            ("users", "user_role_map", "user_id"),
            ("services", "service_role_map", "service_id"),
        ] {
            let sql = format!(
                "UPDATE {table} SET admin = CASE WHEN EXISTS (SELECT 1 FROM {map} m \
                 JOIN roles r ON r.id = m.role_id WHERE m.{column} = {table}.id \
                 AND r.name = '{ADMIN_ROLE_NAME}') THEN 1 ELSE 0 END"
            );
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT {} FROM users u WHERE u.name = $1",
            user_select_columns("u")
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// A page of users in the query's order, and the total matching.
    pub async fn users(&self, q: &UserQuery) -> Result<(Vec<UserRow>, i64)> {
        let pattern = q.name_filter.as_deref().map(|f| {
            format!(
                "%{}%",
                f.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let mut conditions: Vec<String> = Vec::new();
        if pattern.is_some() {
            conditions.push("LOWER(u.name) LIKE $1 ESCAPE '\\'".into());
        }
        if let Some(state) = q.state {
            conditions.push(state.condition().into());
        }
        let where_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let (column, descending) = match q.sort {
            UserSort::Name(d) => ("u.name", d),
            UserSort::Id(d) => ("u.id", d),
            UserSort::LastActivity(d) => ("u.last_activity", d),
        };
        // NULLs last ascending, first descending, in both dialects.
        let order = if descending {
            format!("{column} IS NOT NULL, {column} DESC, u.id DESC")
        } else {
            format!("{column} IS NULL, {column}, u.id")
        };
        let (lim, off) = if pattern.is_some() {
            ("$2", "$3")
        } else {
            ("$1", "$2")
        };
        let cols = user_select_columns("u");
        let page_sql = format!(
            "SELECT {cols} FROM users u {where_sql} ORDER BY {order} LIMIT {lim} OFFSET {off}"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM users u {where_sql}");
        let mut tx = self.pool.begin().await?; // read-only
        let mut page = sqlx::query(&page_sql);
        let mut count = sqlx::query(&count_sql);
        if let Some(p) = &pattern {
            page = page.bind(p.clone());
            count = count.bind(p.clone());
        }
        let rows = page
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&mut *tx)
            .await?;
        let total: i64 = count.fetch_one(&mut *tx).await?.try_get("n")?;
        tx.commit().await?;
        Ok((rows.iter().map(user_row).collect::<Result<_>>()?, total))
    }

    pub async fn set_admin(&self, name: &str, admin: bool) -> Result<()> {
        self.wrote(
            sqlx::query("UPDATE users SET admin = $1 WHERE name = $2")
                .bind(i64::from(admin))
                .bind(name)
                .execute(&self.pool)
                .await?,
        )
    }

    /// Rename a user: `NotFound` if `old` is missing, `Conflict` if `new` exists. Tokens, groups
    /// and roles follow (they refer to the user by id).
    pub async fn rename_user(&self, old: &str, new: &str) -> Result<()> {
        self.wrote(
            sqlx::query("UPDATE users SET name = $1 WHERE name = $2")
                .bind(new)
                .bind(old)
                .execute(&self.pool)
                .await?,
        )
    }

    /// Make `names` (rows of `table`) exactly the rows user `user_id` is linked to through
    /// `map.column`; `NotFound` if a name does not exist.
    async fn replace_user_links(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        user_id: i64,
        (table, map, column): (&str, &str, &str),
        names: &[String],
    ) -> Result<()> {
        let mut ids = Vec::new();
        for n in names {
            ids.push(self.id_of(tx, table, n).await?);
        }
        ids.sort_unstable();
        ids.dedup();
        sqlx::query(&format!("DELETE FROM {map} WHERE user_id = $1"))
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        for linked in ids {
            sqlx::query(&format!(
                "INSERT INTO {map} (user_id, {column}) VALUES ($1, $2)"
            ))
            .bind(user_id)
            .bind(linked)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Apply `patch` to user `name` all at once: `NotFound` if the user, a group or a role
    /// does not exist, `Conflict` if the new name is taken; nothing is written then.
    /// `admin_role` is kept in step with the admin flag.
    pub async fn patch_user(&self, name: &str, patch: &UserPatch, admin_role: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let id = self.id_of(&mut tx, "users", name).await?;
        if let Some(new) = &patch.new_name {
            sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
                .bind(new)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(groups) = &patch.groups {
            self.replace_user_links(
                &mut tx,
                id,
                ("groups", "user_group_map", "group_id"),
                groups,
            )
            .await?;
        }
        let admin = patch.admin.or_else(|| {
            patch
                .roles
                .as_ref()
                .map(|r| r.iter().any(|r| r == admin_role))
        });
        let mut roles = patch.roles.clone();
        if let (Some(roles), Some(admin)) = (&mut roles, admin) {
            roles.retain(|r| r != admin_role);
            if admin {
                roles.push(admin_role.to_owned());
            }
        }
        if let Some(roles) = &roles {
            self.replace_user_links(&mut tx, id, ("roles", "user_role_map", "role_id"), roles)
                .await?;
        }
        if let Some(admin) = admin {
            sqlx::query("UPDATE users SET admin = $1 WHERE id = $2")
                .bind(i64::from(admin))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if roles.is_none() {
                let role = self.id_of(&mut tx, "roles", admin_role).await?;
                sqlx::query("DELETE FROM user_role_map WHERE user_id = $1 AND role_id = $2")
                    .bind(id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                if admin {
                    sqlx::query("INSERT INTO user_role_map (user_id, role_id) VALUES ($1, $2)")
                        .bind(id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        if let Some(state) = &patch.auth_state {
            sqlx::query("UPDATE users SET auth_state = $1 WHERE id = $2")
                .bind(state.clone())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        self.commit(tx).await
    }

    /// Delete a user with their tokens, group memberships, role assignments, servers, the
    /// shares of those servers and the shares they received.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        self.delete_named(
            "users",
            "user_id",
            &[
                "DELETE FROM shares WHERE server_id IN (SELECT id FROM servers WHERE user_id = $1)",
                "DELETE FROM share_codes WHERE server_id IN (SELECT id FROM servers WHERE user_id = $1)",
                "api_tokens",
                "user_group_map",
                "user_role_map",
                "servers",
                "shares",
                "oauth_codes",
            ],
            name,
        )
        .await
    }

    /// Record activity; stored values only move forward.
    pub async fn touch_user(&self, name: &str, when: i64) -> Result<()> {
        let done = sqlx::query("UPDATE users SET last_activity = $1 WHERE name = $2 AND (last_activity IS NULL OR last_activity < $3)")
            .bind(when)
            .bind(name)
            .bind(when)
            .execute(&self.pool)
            .await?;
        self.activity_written();
        if done.rows_affected() == 0 && self.user(name).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn set_auth_state(&self, name: &str, encrypted: Option<&[u8]>) -> Result<()> {
        self.wrote(
            sqlx::query("UPDATE users SET auth_state = $1 WHERE name = $2")
                .bind(encrypted.map(<[u8]>::to_vec))
                .bind(name)
                .execute(&self.pool)
                .await?,
        )
    }

    // ---- groups ----

    pub async fn create_group(&self, name: &str, properties: &Json) -> Result<GroupRow> {
        let row = sqlx::query(
            "INSERT INTO groups (name, properties) VALUES ($1, $2) RETURNING id, name, properties",
        )
        .bind(name)
        .bind(to_json_text(properties))
        .fetch_one(&self.pool)
        .await?;
        group_row(&row)
    }

    /// Create several groups, each with the same members, all or none: `Conflict` if any group
    /// exists, `NotFound` if any user is missing.
    pub async fn create_groups(
        &self,
        names: &[String],
        members: &[String],
    ) -> Result<Vec<GroupRow>> {
        let mut tx = self.write_tx().await?;
        let mut user_ids = Vec::with_capacity(members.len());
        for m in members {
            user_ids.push(self.id_of(&mut tx, "users", m).await?);
        }
        user_ids.sort_unstable();
        user_ids.dedup();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let row = sqlx::query("INSERT INTO groups (name, properties) VALUES ($1, '{}') RETURNING id, name, properties")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
            let group = group_row(&row)?;
            for uid in &user_ids {
                sqlx::query("INSERT INTO user_group_map (user_id, group_id) VALUES ($1, $2)")
                    .bind(*uid)
                    .bind(group.id)
                    .execute(&mut *tx)
                    .await?;
            }
            out.push(group);
        }
        self.commit(tx).await?;
        Ok(out)
    }

    pub async fn group(&self, name: &str) -> Result<Option<GroupRow>> {
        let row = sqlx::query("SELECT id, name, properties FROM groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(group_row).transpose()
    }

    pub async fn groups(&self, offset: i64, limit: i64) -> Result<(Vec<GroupRow>, i64)> {
        let rows =
            sqlx::query("SELECT id, name, properties FROM groups ORDER BY name LIMIT $1 OFFSET $2")
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM groups")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok((rows.iter().map(group_row).collect::<Result<_>>()?, total))
    }

    pub async fn set_group_properties(&self, name: &str, properties: &Json) -> Result<()> {
        self.wrote(
            sqlx::query("UPDATE groups SET properties = $1 WHERE name = $2")
                .bind(to_json_text(properties))
                .bind(name)
                .execute(&self.pool)
                .await?,
        )
    }

    pub async fn delete_group(&self, name: &str) -> Result<()> {
        self.delete_named(
            "groups",
            "group_id",
            &["user_group_map", "group_role_map", "shares"],
            name,
        )
        .await
    }

    /// Add users to a group, all or none: `NotFound` if the group or any user is missing.
    pub async fn add_group_members(&self, group: &str, users: &[String]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let gid = self.id_of(&mut tx, "groups", group).await?;
        for user in users {
            let uid = self.id_of(&mut tx, "users", user).await?;
            let exists = sqlx::query(
                "SELECT 1 AS x FROM user_group_map WHERE user_id = $1 AND group_id = $2",
            )
            .bind(uid)
            .bind(gid)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                sqlx::query("INSERT INTO user_group_map (user_id, group_id) VALUES ($1, $2)")
                    .bind(uid)
                    .bind(gid)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn remove_group_members(&self, group: &str, users: &[String]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let gid = self.id_of(&mut tx, "groups", group).await?;
        for user in users {
            let uid = self.id_of(&mut tx, "users", user).await?;
            sqlx::query("DELETE FROM user_group_map WHERE user_id = $1 AND group_id = $2")
                .bind(uid)
                .bind(gid)
                .execute(&mut *tx)
                .await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn group_members(&self, group: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT u.name AS name FROM users u JOIN user_group_map m ON m.user_id = u.id JOIN groups g ON g.id = m.group_id WHERE g.name = $1 ORDER BY u.name")
            .bind(group)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get("name").map_err(StoreError::from))
            .collect()
    }

    /// (user, name) pairs for `names` from `sql`, whose `$1..$n` placeholders are appended here
    /// (`{in}` in `sql` becomes the list; `{in2}` a second copy for a UNION).
    async fn pairs_for_users(
        &self,
        sql: &str,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        let mut out: std::collections::HashMap<String, Vec<String>> = names
            .iter()
            .map(|n| ((*n).to_owned(), Vec::new()))
            .collect();
        if names.is_empty() {
            return Ok(out);
        }
        let first: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let second: Vec<String> = (names.len() + 1..=2 * names.len())
            .map(|i| format!("${i}"))
            .collect();
        let sql = sql
            .replace("{in}", &first.join(", "))
            .replace("{in2}", &second.join(", "));
        let mut q = sqlx::query(&sql);
        for n in names {
            q = q.bind(*n);
        }
        if sql.contains(&second.first().cloned().unwrap_or_default()) {
            for n in names {
                q = q.bind(*n);
            }
        }
        for row in q.fetch_all(&self.pool).await? {
            let user: String = row.try_get("uname")?;
            let item: String = row.try_get("item")?;
            out.entry(user).or_default().push(item);
        }
        for v in out.values_mut() {
            v.sort();
            v.dedup();
        }
        Ok(out)
    }

    /// The group names of each of `names`, in one query.
    pub async fn groups_of_users(
        &self,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        self.pairs_for_users(
            "SELECT u.name AS uname, g.name AS item FROM users u JOIN user_group_map m ON m.user_id = u.id \
             JOIN groups g ON g.id = m.group_id WHERE u.name IN ({in})",
            names,
        )
        .await
    }

    /// The role names of each of `names` (direct and through groups), in one query.
    pub async fn role_names_of_users(
        &self,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        self.pairs_for_users(
            "SELECT u.name AS uname, r.name AS item FROM users u JOIN user_role_map m ON m.user_id = u.id \
             JOIN roles r ON r.id = m.role_id WHERE u.name IN ({in}) \
             UNION SELECT u.name AS uname, r.name AS item FROM users u JOIN user_group_map ug ON ug.user_id = u.id \
             JOIN group_role_map gr ON gr.group_id = ug.group_id JOIN roles r ON r.id = gr.role_id WHERE u.name IN ({in2})",
            names,
        )
        .await
    }

    pub async fn user_groups(&self, user: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT g.name AS name FROM groups g JOIN user_group_map m ON m.group_id = g.id JOIN users u ON u.id = m.user_id WHERE u.name = $1 ORDER BY g.name")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get("name").map_err(StoreError::from))
            .collect()
    }

    // ---- services ----

    /// Create or update a service by name.
    pub async fn upsert_service(
        &self,
        name: &str,
        admin: bool,
        from_config: bool,
    ) -> Result<ServiceRow> {
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query("SELECT id FROM services WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let row = match existing {
            Some(_) => {
                sqlx::query("UPDATE services SET admin = $1, from_config = $2 WHERE name = $3 RETURNING id, name, admin, from_config, spec")
                    .bind(i64::from(admin))
                    .bind(i64::from(from_config))
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query("INSERT INTO services (name, admin, from_config) VALUES ($1, $2, $3) RETURNING id, name, admin, from_config, spec")
                    .bind(name)
                    .bind(i64::from(admin))
                    .bind(i64::from(from_config))
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        self.commit(tx).await?;
        service_row(&row)
    }

    /// Add a service defined through the API; `Conflict` if the name is taken.
    pub async fn create_runtime_service(
        &self,
        name: &str,
        admin: bool,
        spec: &Json,
    ) -> Result<ServiceRow> {
        let row = sqlx::query("INSERT INTO services (name, admin, from_config, spec) VALUES ($1, $2, 0, $3) RETURNING id, name, admin, from_config, spec")
            .bind(name)
            .bind(i64::from(admin))
            .bind(to_json_text(spec))
            .fetch_one(&self.pool)
            .await?;
        self.changed();
        service_row(&row)
    }

    pub async fn services(&self) -> Result<Vec<ServiceRow>> {
        let rows =
            sqlx::query("SELECT id, name, admin, from_config, spec FROM services ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(service_row).collect()
    }

    pub async fn service(&self, name: &str) -> Result<Option<ServiceRow>> {
        let row =
            sqlx::query("SELECT id, name, admin, from_config, spec FROM services WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(service_row).transpose()
    }

    /// The roles assigned directly to a group or a service (a user's: [`Store::user_roles`]).
    pub async fn member_roles(&self, kind: MemberKind, name: &str) -> Result<Vec<RoleRow>> {
        let (table, map, column) = kind.tables();
        let sql = format!(
            "SELECT r.id AS id, r.name AS name, r.description AS description, r.scopes AS scopes FROM roles r \
             JOIN {map} m ON m.role_id = r.id JOIN {table} x ON x.id = m.{column} WHERE x.name = $1 ORDER BY r.name"
        );
        let rows = sqlx::query(&sql).bind(name).fetch_all(&self.pool).await?;
        rows.iter().map(role_row).collect()
    }

    pub async fn delete_service(&self, name: &str) -> Result<()> {
        self.delete_named(
            "services",
            "service_id",
            &["api_tokens", "service_role_map"],
            name,
        )
        .await
    }

    // ---- roles ----

    /// Create or update a role's description and scopes.
    pub async fn upsert_role(
        &self,
        name: &str,
        description: &str,
        scopes: &[String],
    ) -> Result<RoleRow> {
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query("SELECT id FROM roles WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let row = if existing.is_some() {
            sqlx::query("UPDATE roles SET description = $1, scopes = $2 WHERE name = $3 RETURNING id, name, description, scopes")
                .bind(description)
                .bind(to_json_text(scopes))
                .bind(name)
                .fetch_one(&mut *tx)
                .await?
        } else {
            sqlx::query("INSERT INTO roles (name, description, scopes) VALUES ($1, $2, $3) RETURNING id, name, description, scopes")
                .bind(name)
                .bind(description)
                .bind(to_json_text(scopes))
                .fetch_one(&mut *tx)
                .await?
        };
        self.commit(tx).await?;
        role_row(&row)
    }

    pub async fn roles(&self) -> Result<Vec<RoleRow>> {
        let rows = sqlx::query("SELECT id, name, description, scopes FROM roles ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(role_row).collect()
    }

    pub async fn delete_role(&self, name: &str) -> Result<()> {
        self.delete_named(
            "roles",
            "role_id",
            &["user_role_map", "group_role_map", "service_role_map"],
            name,
        )
        .await
    }

    /// Make the role's members of `kind` exactly `members` (load_roles is authoritative), all or
    /// none: `NotFound` if the role or any member is missing.
    pub async fn set_role_members(
        &self,
        role: &str,
        kind: MemberKind,
        members: &[String],
    ) -> Result<()> {
        let (table, map, column) = kind.tables();
        let mut tx = self.write_tx().await?;
        let rid = self.id_of(&mut tx, "roles", role).await?;
        let mut ids = Vec::with_capacity(members.len());
        for m in members {
            ids.push(self.id_of(&mut tx, table, m).await?);
        }
        sqlx::query(&format!("DELETE FROM {map} WHERE role_id = $1"))
            .bind(rid)
            .execute(&mut *tx)
            .await?;
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            sqlx::query(&format!(
                "INSERT INTO {map} ({column}, role_id) VALUES ($1, $2)"
            ))
            .bind(id)
            .bind(rid)
            .execute(&mut *tx)
            .await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Grant one role to one member (idempotent).
    pub async fn grant_role(&self, role: &str, kind: MemberKind, member: &str) -> Result<()> {
        let (table, map, column) = kind.tables();
        let mut tx = self.write_tx().await?;
        let rid = self.id_of(&mut tx, "roles", role).await?;
        let mid = self.id_of(&mut tx, table, member).await?;
        let exists = sqlx::query(&format!(
            "SELECT 1 AS x FROM {map} WHERE {column} = $1 AND role_id = $2"
        ))
        .bind(mid)
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            sqlx::query(&format!(
                "INSERT INTO {map} ({column}, role_id) VALUES ($1, $2)"
            ))
            .bind(mid)
            .bind(rid)
            .execute(&mut *tx)
            .await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn role_members(&self, role: &str, kind: MemberKind) -> Result<Vec<String>> {
        let (table, map, column) = kind.tables();
        let sql = format!("SELECT x.name AS name FROM {table} x JOIN {map} m ON m.{column} = x.id JOIN roles r ON r.id = m.role_id WHERE r.name = $1 ORDER BY x.name");
        let rows = sqlx::query(&sql).bind(role).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| r.try_get("name").map_err(StoreError::from))
            .collect()
    }

    /// A user's roles: direct ones and those of every group they are in.
    pub async fn user_roles(&self, user: &str) -> Result<Vec<RoleRow>> {
        let rows = sqlx::query(
            "SELECT DISTINCT r.id AS id, r.name AS name, r.description AS description, r.scopes AS scopes FROM roles r \
             WHERE r.id IN (SELECT m.role_id FROM user_role_map m JOIN users u ON u.id = m.user_id WHERE u.name = $1) \
                OR r.id IN (SELECT gr.role_id FROM group_role_map gr JOIN user_group_map ug ON ug.group_id = gr.group_id \
                            JOIN users u2 ON u2.id = ug.user_id WHERE u2.name = $2) \
             ORDER BY name",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(role_row).collect()
    }

    // ---- tokens ----

    pub async fn insert_token(&self, t: &NewToken, now: i64) -> Result<TokenRow> {
        let mut tx = self.write_tx().await?;
        let (user_id, service_id) = match &t.owner {
            Owner::User(name) => (Some(self.id_of(&mut tx, "users", name).await?), None),
            Owner::Service(name) => (None, Some(self.id_of(&mut tx, "services", name).await?)),
        };
        let row = sqlx::query(
            "INSERT INTO api_tokens (prefix, hash, user_id, service_id, scopes, note, created, expires_at, session_id, oauth_client) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&t.prefix)
        .bind(&t.hash)
        .bind(user_id)
        .bind(service_id)
        .bind(to_json_text(&t.scopes))
        .bind(&t.note)
        .bind(now)
        .bind(t.expires_at)
        .bind(t.session_id.as_deref())
        .bind(t.oauth_client.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} WHERE t.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await?;
        self.commit(tx).await?;
        token_row(&row)
    }

    /// The unexpired tokens with this prefix (the caller compares hashes).
    pub async fn tokens_by_prefix(&self, prefix: &str, now: i64) -> Result<Vec<TokenRow>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} WHERE t.prefix = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)");
        let rows = sqlx::query(&sql)
            .bind(prefix)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_row).collect()
    }

    pub async fn tokens_of(&self, owner: &Owner) -> Result<Vec<TokenRow>> {
        let (cond, name) = match owner {
            Owner::User(n) => ("u.name = $1", n),
            Owner::Service(n) => ("s.name = $1", n),
        };
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM {TOKEN_FROM} WHERE {cond} ORDER BY t.id");
        let rows = sqlx::query(&sql).bind(name).fetch_all(&self.pool).await?;
        rows.iter().map(token_row).collect()
    }

    pub async fn delete_token(&self, id: i64) -> Result<()> {
        self.wrote(
            sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?,
        )
    }

    /// Delete every token of a login session (logout).
    pub async fn delete_session_tokens(&self, session_id: &str) -> Result<u64> {
        let n = sqlx::query("DELETE FROM api_tokens WHERE session_id = $1")
            .bind(session_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.changed();
        Ok(n)
    }

    pub async fn touch_token(&self, id: i64, when: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_activity = $1 WHERE id = $2 AND (last_activity IS NULL OR last_activity < $3)")
            .bind(when)
            .bind(id)
            .bind(when)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Delete expired tokens; returns how many.
    pub async fn purge_expired_tokens(&self, now: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Delete the row `name` of `table` and, in the same transaction, the rows of `dependents`
    /// (table names, or whole `DELETE` statements taking the id as `$1`) that refer to it through `column` (explicitly, so the result does not depend on SQLite's
    /// foreign_keys pragma). `NotFound` if there is no such row.
    async fn delete_named(
        &self,
        table: &str,
        column: &str,
        dependents: &[&str],
        name: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let id = self.id_of(&mut tx, table, name).await?;
        for dependent in dependents {
            let sql = if dependent.starts_with("DELETE ") {
                (*dependent).to_owned()
            } else {
                format!("DELETE FROM {dependent} WHERE {column} = $1")
            };
            sqlx::query(&sql).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn id_of(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        table: &str,
        name: &str,
    ) -> Result<i64> {
        let row = sqlx::query(&format!("SELECT id FROM {table} WHERE name = $1"))
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(r) => Ok(r.try_get("id")?),
            None => Err(StoreError::NotFound),
        }
    }
}

impl Store {
    /// `Ok` if a write touched a row, else `NotFound` (the name it was keyed on does not
    /// exist); a write that touched rows marks cached derived data stale.
    fn wrote(&self, done: sqlx::any::AnyQueryResult) -> Result<()> {
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.changed();
        Ok(())
    }
}

fn group_row(r: &AnyRow) -> Result<GroupRow> {
    let props: String = r.try_get("properties")?;
    Ok(GroupRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        properties: serde_json::from_str(&props)
            .map_err(|e| StoreError::Corrupt(format!("group properties: {e}")))?,
    })
}

fn service_row(r: &AnyRow) -> Result<ServiceRow> {
    Ok(ServiceRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        admin: r.try_get::<i64, _>("admin")? != 0,
        from_config: r.try_get::<i64, _>("from_config")? != 0,
        spec: serde_json::from_str(&r.try_get::<String, _>("spec")?)
            .map_err(|e| StoreError::Corrupt(format!("service spec: {e}")))?,
    })
}

fn role_row(r: &AnyRow) -> Result<RoleRow> {
    let scopes: String = r.try_get("scopes")?;
    Ok(RoleRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        scopes: json_list(&scopes)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls() {
        assert_eq!(
            sqlx_url("sqlite:///jupyterhub.sqlite").unwrap(),
            (
                "sqlite://jupyterhub.sqlite?mode=rwc".into(),
                Dialect::Sqlite
            )
        );
        assert_eq!(
            sqlx_url("sqlite:////srv/hub/j.sqlite").unwrap().0,
            "sqlite:///srv/hub/j.sqlite?mode=rwc"
        );
        assert_eq!(sqlx_url("sqlite:///:memory:").unwrap().0, "sqlite::memory:");
        assert_eq!(
            sqlx_url("postgresql+psycopg2://u:p@db/hub").unwrap(),
            ("postgres://u:p@db/hub".into(), Dialect::Postgres)
        );
        assert!(sqlx_url("mysql://x").is_err());
        assert!(sqlx_url("oracle://x").is_err());
    }
}
