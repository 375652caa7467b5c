//! API tokens of users, as the REST API manages them: listing (login sessions hidden),
//! reading, deleting (an OAuth token revokes its client's access), and creating with scopes
//! the user holds and a bounded expiry. The token format itself is `tokens.rs`.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::{Identity, Subject};
use crate::tokens::{self, LOGIN_CLIENT};
use oxhub_model::scope::{Owner, Resource};
use oxhub_store::Owner as TokenOwner;

impl Hub {
    /// A user token's effective scopes, as the token model shows them.
    pub async fn effective_token_scopes(
        &self,
        user: &str,
        raw: &[String],
    ) -> Result<Vec<String>, HubError> {
        let owner_scopes = self.owner_scopes(Owner::User(user)).await?;
        let membership = self.groups_of(&[user]).await?;
        let effective = self
            .vocab
            .token_scopes(raw, Owner::User(user), None, &owner_scopes, &membership)
            .map_err(|e| HubError::Internal(format!("token scopes: {e}")))?;
        Ok(effective.scopes.to_strings())
    }

    async fn require_user_exists(
        &self,
        who: &Identity,
        required: &[&str],
        user: &str,
    ) -> Result<(), HubError> {
        self.require(who, required, Resource::User(user)).await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        Ok(())
    }

    /// A user's tokens (expired ones are purged first).
    pub async fn user_tokens(
        &self,
        who: &Identity,
        user: &str,
    ) -> Result<Vec<oxhub_store::TokenRow>, HubError> {
        self.require_user_exists(who, &["read:tokens"], user)
            .await?;
        self.store.purge_expired_tokens(now_ms()).await?;
        // Login sessions are the hub's own business, not API tokens the user manages.
        Ok(self
            .store
            .tokens_of(&TokenOwner::User(user.to_owned()))
            .await?
            .into_iter()
            .filter(|t| t.oauth_client.as_deref() != Some(LOGIN_CLIENT))
            .collect())
    }

    pub async fn user_token(
        &self,
        who: &Identity,
        user: &str,
        id: &str,
    ) -> Result<oxhub_store::TokenRow, HubError> {
        let tokens = self.user_tokens(who, user).await?;
        let wanted = id.strip_prefix('a').and_then(|n| n.parse::<i64>().ok());
        tokens
            .into_iter()
            .find(|t| Some(t.id) == wanted)
            .ok_or_else(|| HubError::NotFound(format!("No such token: {id}")))
    }

    pub async fn delete_user_token(
        &self,
        who: &Identity,
        user: &str,
        id: &str,
    ) -> Result<(), HubError> {
        self.require_user_exists(who, &["tokens"], user).await?;
        let token = self.user_token(who, user, id).await?;
        match token.oauth_client.as_deref() {
            // Deleting one OAuth token revokes the user's access through that client.
            Some(client) => {
                self.store.delete_client_tokens(user, client).await?;
            }
            None => self.store.delete_token(token.id).await?,
        }
        Ok(())
    }

    /// `POST /users/{user}/tokens`: scopes (or the scopes of `roles`) must be held by the user.
    pub async fn create_user_token(
        &self,
        who: &Identity,
        user: &str,
        scopes: Option<Vec<String>>,
        roles: Option<Vec<String>>,
        note: Option<String>,
        expires_in: Option<i64>,
    ) -> Result<(String, oxhub_store::TokenRow), HubError> {
        let no_permission = || {
            HubError::Refused(format!(
                "User {user} not found or no permissions to generate tokens"
            ))
        };
        if self
            .require(who, &["tokens"], Resource::User(user))
            .await
            .is_err()
            || self.store.user(user).await?.is_none()
        {
            return Err(no_permission());
        }
        if scopes.is_some() && roles.is_some() {
            return Err(HubError::Invalid(
                "Specify only one of scopes or roles".into(),
            ));
        }
        let raw: Vec<String> = match (scopes, roles) {
            (Some(s), _) => s,
            (None, Some(role_names)) => {
                let all = self.store.roles().await?;
                let mut out = Vec::new();
                for name in role_names {
                    let role = all
                        .iter()
                        .find(|r| r.name == name)
                        .ok_or_else(|| HubError::Invalid(format!("No such role: {name}")))?;
                    out.extend(role.scopes.iter().cloned());
                }
                out
            }
            (None, None) => vec!["inherit".into()],
        };
        for s in &raw {
            self.vocab
                .check(s)
                .map_err(|e| HubError::Invalid(format!("Invalid scope {s:?}: {e}")))?;
        }
        if !raw.iter().any(|s| s == "inherit") {
            let requested = self
                .vocab
                .expand(&raw, Some(Owner::User(user)), None)
                .map_err(|e| HubError::Invalid(e.to_string()))?;
            let owner_scopes = self.owner_scopes(Owner::User(user)).await?;
            let membership = self.groups_of(&[user]).await?;
            let held = requested.scopes.intersect(&owner_scopes, &membership);
            let missing = requested.scopes.difference(&held);
            if !missing.is_empty() {
                return Err(HubError::Invalid(format!(
                    "Not assigning requested scopes {} not held by user {user}",
                    missing.join(", ")
                )));
            }
        }
        let max = self.config.hub.token_expires_in_max_seconds;
        let expires_in = match expires_in {
            Some(s) if s <= 0 => {
                return Err(HubError::Invalid(
                    "expires_in must be a positive number of seconds".into(),
                ))
            }
            Some(s) if s > tokens::MAX_EXPIRES_IN_S => {
                return Err(HubError::Invalid(format!(
                    "expires_in must not exceed {} seconds (100 years)",
                    tokens::MAX_EXPIRES_IN_S
                )))
            }
            Some(s) if max > 0 && s > max => {
                return Err(HubError::Invalid(format!(
                    "expires_in must not exceed {max} seconds"
                )))
            }
            Some(s) => Some(s),
            None if max > 0 => Some(max),
            None => None,
        };
        let note = note.unwrap_or_else(|| {
            let mut n = "Requested via api".to_owned();
            if who.subject.name() != user || matches!(who.subject, Subject::Service { .. }) {
                let kind = if matches!(who.subject, Subject::Service { .. }) {
                    "service"
                } else {
                    "user"
                };
                n.push_str(&format!(" by {kind} {}", who.subject.name()));
            }
            n
        });
        let token = self
            .mint_token(TokenOwner::User(user.to_owned()), raw, &note, expires_in)
            .await?;
        let hash = tokens::hash(&token);
        let row = self
            .store
            .tokens_by_prefix(tokens::prefix(&token), now_ms())
            .await?
            .into_iter()
            .find(|t| t.hash == hash)
            .ok_or_else(|| HubError::Internal("new token not found".into()))?;
        Ok((token, row))
    }
}
