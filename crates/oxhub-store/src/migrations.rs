//! The schema, embedded, one step per version, written once for both dialects. Applied in order inside a
//! transaction per step; `schema_version` records what has been applied.

use crate::Dialect;

pub struct Step {
    pub version: i64,
    pub description: &'static str,
    /// Shared SQL; `{id}` and `{blob}` stand for the column types that differ by dialect.
    pub sql: &'static str,
}

impl Step {
    pub fn sql(&self, dialect: Dialect) -> String {
        let (id, blob) = match dialect {
            Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
            Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BYTEA"),
        };
        self.sql.replace("{id}", id).replace("{blob}", blob)
    }
}

/// Timestamps are milliseconds since the Unix epoch (BIGINT) in both dialects; JSON is TEXT;
/// booleans are INTEGER 0/1 (sqlx's `Any` driver cannot decode SQLite's BOOLEAN).
pub static STEPS: &[Step] = &[
    Step {
        version: 1,
        description: "users, groups, roles, services, tokens",
        sql: r#"
CREATE TABLE users (
    id {id},
    name TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    last_activity BIGINT,
    auth_state {blob},
    cookie_id TEXT NOT NULL UNIQUE
);
CREATE TABLE groups (
    id {id},
    name TEXT NOT NULL UNIQUE,
    properties TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE user_group_map (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE TABLE services (
    id {id},
    name TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0,
    from_config INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE roles (
    id {id},
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE user_role_map (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE TABLE group_role_map (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);
CREATE TABLE service_role_map (
    service_id BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, role_id)
);
CREATE TABLE api_tokens (
    id {id},
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    service_id BIGINT REFERENCES services(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    created BIGINT NOT NULL,
    expires_at BIGINT,
    last_activity BIGINT,
    session_id TEXT,
    oauth_client TEXT,
    CHECK ((user_id IS NULL) <> (service_id IS NULL))
);
CREATE INDEX api_tokens_prefix ON api_tokens(prefix);
CREATE INDEX users_last_activity ON users(last_activity);
"#,
    },
    Step {
        version: 2,
        description: "servers, shares, share codes, OAuth clients and codes, runtime services",
        sql: r#"
CREATE TABLE servers (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    started BIGINT,
    last_activity BIGINT,
    pending TEXT,
    ready INTEGER NOT NULL DEFAULT 0,
    url TEXT,
    state TEXT NOT NULL DEFAULT '{}',
    user_options TEXT NOT NULL DEFAULT '{}',
    UNIQUE (user_id, name)
);
CREATE TABLE shares (
    id {id},
    server_id BIGINT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES groups(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL DEFAULT '[]',
    created BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX shares_server ON shares(server_id);
CREATE TABLE share_codes (
    id {id},
    server_id BIGINT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL DEFAULT '[]',
    created BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    exchange_count BIGINT NOT NULL DEFAULT 0,
    last_exchanged_at BIGINT
);
CREATE INDEX share_codes_prefix ON share_codes(prefix);
CREATE TABLE oauth_clients (
    id {id},
    identifier TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    secret_hash TEXT,
    redirect_uri TEXT NOT NULL DEFAULT '',
    allowed_scopes TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE oauth_codes (
    id {id},
    client_id BIGINT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL DEFAULT '[]',
    redirect_uri TEXT NOT NULL DEFAULT '',
    session_id TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    expires_at BIGINT NOT NULL
);
ALTER TABLE services ADD COLUMN spec TEXT NOT NULL DEFAULT '{}'
"#,
    },
    Step {
        version: 3,
        description: "OAuth clients name the server or service they belong to",
        sql: r#"
ALTER TABLE oauth_clients ADD COLUMN link_user TEXT;
ALTER TABLE oauth_clients ADD COLUMN link_server TEXT;
ALTER TABLE oauth_clients ADD COLUMN link_service TEXT
"#,
    },
    Step {
        version: 4,
        description: "accounts kept by the authenticator (NativeAuthenticator)",
        sql: r#"
CREATE TABLE auth_accounts (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated BIGINT NOT NULL
)
"#,
    },
];
