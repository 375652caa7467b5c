//! OAuth clients (one per server and per service) and authorization codes. Secrets and codes
//! are stored as hashes; the caller hashes.

use crate::{json_list, to_json_text, Result, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClientRow {
    pub id: i64,
    pub identifier: String,
    pub description: String,
    /// `None` or empty: the client cannot do OAuth (the built-in `jupyterhub` client).
    pub secret_hash: Option<String>,
    pub redirect_uri: String,
    pub allowed_scopes: Vec<String>,
    /// What the client belongs to; its tokens carry that resource's access scope.
    pub link: ClientLink,
}

/// The one server or service a client is linked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientLink {
    None,
    Server { user: String, server: String },
    Service(String),
}

/// A client to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOAuthClient<'a> {
    pub identifier: &'a str,
    pub description: &'a str,
    pub secret_hash: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub allowed_scopes: &'a [String],
    pub link: ClientLink,
}

const CLIENT_COLUMNS: &str = "id, identifier, description, secret_hash, redirect_uri, allowed_scopes, link_user, link_server, link_service";

/// A code as issued at `/oauth2/authorize`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOAuthCode {
    pub client: String,
    pub user: String,
    pub hash: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub session_id: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub expires_at: i64,
}

/// A code taken (and so consumed) at `/oauth2/token`.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthCodeRow {
    pub client: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub session_id: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub expires_at: i64,
}

fn client_row(r: &AnyRow) -> Result<OAuthClientRow> {
    Ok(OAuthClientRow {
        id: r.try_get("id")?,
        identifier: r.try_get("identifier")?,
        description: r.try_get("description")?,
        secret_hash: r.try_get("secret_hash")?,
        redirect_uri: r.try_get("redirect_uri")?,
        allowed_scopes: json_list(&r.try_get::<String, _>("allowed_scopes")?)?,
        link: match (
            r.try_get::<Option<String>, _>("link_user")?,
            r.try_get::<Option<String>, _>("link_server")?,
            r.try_get::<Option<String>, _>("link_service")?,
        ) {
            (Some(user), server, _) => ClientLink::Server {
                user,
                server: server.unwrap_or_default(),
            },
            (None, _, Some(service)) => ClientLink::Service(service),
            _ => ClientLink::None,
        },
    })
}

impl Store {
    /// Create or overwrite a client (a server's client is re-registered at every start).
    pub async fn upsert_oauth_client(&self, c: &NewOAuthClient<'_>) -> Result<()> {
        let (user, server, service) = match &c.link {
            ClientLink::None => (None, None, None),
            ClientLink::Server { user, server } => {
                (Some(user.as_str()), Some(server.as_str()), None)
            }
            ClientLink::Service(name) => (None, None, Some(name.as_str())),
        };
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query("SELECT id FROM oauth_clients WHERE identifier = $1")
            .bind(c.identifier)
            .fetch_optional(&mut *tx)
            .await?;
        let scopes = to_json_text(c.allowed_scopes);
        let sql = match existing {
            Some(_) => "UPDATE oauth_clients SET description = $2, secret_hash = $3, redirect_uri = $4, allowed_scopes = $5, link_user = $6, link_server = $7, link_service = $8 WHERE identifier = $1",
            None => "INSERT INTO oauth_clients (identifier, description, secret_hash, redirect_uri, allowed_scopes, link_user, link_server, link_service) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        };
        sqlx::query(sql)
            .bind(c.identifier)
            .bind(c.description)
            .bind(c.secret_hash)
            .bind(c.redirect_uri)
            .bind(scopes)
            .bind(user)
            .bind(server)
            .bind(service)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    pub async fn oauth_client(&self, identifier: &str) -> Result<Option<OAuthClientRow>> {
        let row = sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE identifier = $1"
        ))
        .bind(identifier)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(client_row).transpose()
    }

    pub async fn oauth_clients(&self) -> Result<Vec<OAuthClientRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY identifier"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(client_row).collect()
    }

    /// Delete a client with its codes and every token issued to it, in one transaction.
    pub async fn delete_oauth_client(&self, identifier: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query("SELECT id FROM oauth_clients WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(());
        };
        let id: i64 = row.try_get("id")?;
        sqlx::query("DELETE FROM oauth_codes WHERE client_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM api_tokens WHERE oauth_client = $1")
            .bind(identifier)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM oauth_clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx).await
    }

    pub async fn insert_oauth_code(&self, code: &NewOAuthCode, now: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let client = sqlx::query("SELECT id FROM oauth_clients WHERE identifier = $1")
            .bind(&code.client)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let client_id: i64 = client.try_get("id")?;
        let user_id = self.id_of(&mut tx, "users", &code.user).await?;
        sqlx::query("INSERT INTO oauth_codes (client_id, user_id, hash, scopes, redirect_uri, session_id, code_challenge, code_challenge_method, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(client_id)
            .bind(user_id)
            .bind(&code.hash)
            .bind(to_json_text(&code.scopes))
            .bind(&code.redirect_uri)
            .bind(code.session_id.as_deref())
            .bind(code.code_challenge.as_deref())
            .bind(code.code_challenge_method.as_deref())
            .bind(code.expires_at)
            .execute(&mut *tx)
            .await?;
        // Expired codes go with any insert, so the table stays small.
        sqlx::query("DELETE FROM oauth_codes WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove the code with this hash and return it (single use), whether or not it expired:
    /// the caller checks expiry and client.
    pub async fn take_oauth_code(&self, hash: &str) -> Result<Option<OAuthCodeRow>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT c.id AS id, cl.identifier AS client, u.name AS uname, c.scopes AS scopes, c.redirect_uri AS redirect_uri, c.session_id AS session_id, c.code_challenge AS code_challenge, c.code_challenge_method AS code_challenge_method, c.expires_at AS expires_at FROM oauth_codes c JOIN oauth_clients cl ON cl.id = c.client_id JOIN users u ON u.id = c.user_id WHERE c.hash = $1")
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        sqlx::query("DELETE FROM oauth_codes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(OAuthCodeRow {
            client: row.try_get("client")?,
            user: row.try_get("uname")?,
            scopes: json_list(&row.try_get::<String, _>("scopes")?)?,
            redirect_uri: row.try_get("redirect_uri")?,
            session_id: row.try_get("session_id")?,
            code_challenge: row.try_get("code_challenge")?,
            code_challenge_method: row.try_get("code_challenge_method")?,
            expires_at: row.try_get("expires_at")?,
        }))
    }

    /// Delete a user's tokens issued to one client (deleting one OAuth token revokes them all).
    pub async fn delete_client_tokens(&self, user: &str, client: &str) -> Result<u64> {
        let n = sqlx::query("DELETE FROM api_tokens WHERE oauth_client = $1 AND user_id = (SELECT id FROM users WHERE name = $2)")
            .bind(client)
            .bind(user)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.changed();
        Ok(n)
    }
}
