//! The hub as OAuth 2 provider (oauth-provider.md): the authorization-code grant with PKCE,
//! for the clients of servers and services. Codes and client secrets are stored hashed.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::Identity;
use crate::tokens;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oxhub_model::scope::Resource;
use oxhub_store::{ClientLink, NewOAuthCode, OAuthClientRow};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Codes live five minutes and are single use.
const CODE_LIFETIME_MS: i64 = 300_000;

/// The query of `/oauth2/authorize`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub response_type: String,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    /// `None` when no `scope` parameter was given (the client's defaults apply).
    pub scope: Option<Vec<String>>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// What `/oauth2/authorize` does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Authorize {
    /// The request cannot be trusted to redirect anywhere: an error page with status 400.
    Fatal(String),
    /// Redirect back to the client (with a code, or with an error).
    Redirect(String),
    /// The user may not use this client: 403 with this text.
    Forbidden(String),
    /// Ask the user: the client's description and the scopes to confirm.
    Consent {
        description: String,
        scopes: Vec<String>,
    },
}

/// An OAuth error answer of `/oauth2/token`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

fn add_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        out.push(sep);
        sep = '&';
        out.push_str(k);
        out.push('=');
        out.push_str(
            &percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    out
}

fn identify_defaults() -> [&'static str; 2] {
    ["read:users:name!user", "read:users:groups!user"]
}

fn access_scope(link: &ClientLink) -> Option<String> {
    match link {
        ClientLink::Server { user, server } => {
            Some(format!("access:servers!server={user}/{server}"))
        }
        ClientLink::Service(name) => Some(format!("access:services!service={name}")),
        ClientLink::None => None,
    }
}

impl Hub {
    async fn usable_client(&self, client_id: &str) -> Result<Option<OAuthClientRow>, HubError> {
        Ok(self
            .store
            .oauth_client(client_id)
            .await?
            .filter(|c| c.secret_hash.as_deref().is_some_and(|h| !h.is_empty())))
    }

    /// The scopes a request may ask of a client, and what it gets when it asks nothing.
    fn client_scopes(
        client: &OAuthClientRow,
        requested: Option<&[String]>,
    ) -> Result<Vec<String>, String> {
        let mut permitted: Vec<String> = client.allowed_scopes.clone();
        permitted.extend(identify_defaults().iter().map(|s| (*s).to_owned()));
        permitted.extend(access_scope(&client.link));
        let Some(requested) = requested else {
            permitted.sort();
            permitted.dedup();
            return Ok(permitted);
        };
        let mut out = Vec::new();
        for s in requested {
            if s == "identify" || s.is_empty() {
                continue;
            }
            if !permitted.iter().any(|p| p == s) {
                return Err(format!("scope {s} is not allowed for this client"));
            }
            out.push(s.clone());
        }
        out.extend(identify_defaults().iter().map(|s| (*s).to_owned()));
        out.extend(access_scope(&client.link));
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// `GET /hub/api/oauth2/authorize` for the logged-in user `who`.
    pub async fn authorize(
        &self,
        who: &Identity,
        req: &AuthorizeRequest,
        session_id: &str,
    ) -> Result<Authorize, HubError> {
        let Some(client) = self.usable_client(&req.client_id).await? else {
            return Ok(Authorize::Fatal(format!(
                "Invalid client_id {}",
                crate::error::clip(&req.client_id)
            )));
        };
        if let Some(uri) = &req.redirect_uri {
            if *uri != client.redirect_uri {
                return Ok(Authorize::Fatal(format!(
                    "Mismatching redirect URI {}",
                    crate::error::clip(uri)
                )));
            }
        }
        let redirect = |pairs: &[(&str, &str)]| {
            let mut pairs = pairs.to_vec();
            if let Some(state) = &req.state {
                pairs.push(("state", state));
            }
            Authorize::Redirect(add_query(&client.redirect_uri, &pairs))
        };
        if req.response_type != "code" {
            return Ok(redirect(&[("error", "unsupported_response_type")]));
        }
        if let Some(m) = &req.code_challenge_method {
            if req.code_challenge.is_none() || !matches!(m.as_str(), "S256" | "plain") {
                return Ok(redirect(&[
                    ("error", "invalid_request"),
                    ("error_description", "Transform algorithm not supported."),
                ]));
            }
        }
        let scopes = match Self::client_scopes(&client, req.scope.as_deref()) {
            Ok(s) => s,
            Err(why) => {
                return Ok(redirect(&[
                    ("error", "invalid_scope"),
                    ("error_description", &why),
                ]))
            }
        };
        let user = who.subject.name().to_owned();
        let allowed = match &client.link {
            ClientLink::Server { user: u, server } => self
                .require(
                    who,
                    &["access:servers"],
                    Resource::Server { user: u, server },
                )
                .await
                .is_ok(),
            ClientLink::Service(name) => self
                .require(who, &["access:services"], Resource::Service(name))
                .await
                .is_ok(),
            ClientLink::None => false,
        };
        if !allowed {
            return Ok(Authorize::Forbidden(format!(
                "You do not have permission to access {}",
                client.description
            )));
        }
        if !self.needs_consent(&user, &client, &scopes).await? {
            let code = self
                .issue_code(&user, &client, &scopes, session_id, req)
                .await?;
            return Ok(redirect(&[("code", &code)]));
        }
        Ok(Authorize::Consent {
            description: client.description,
            scopes,
        })
    }

    /// The consent form was submitted with these scopes.
    pub async fn authorize_confirmed(
        &self,
        who: &Identity,
        req: &AuthorizeRequest,
        scopes: &[String],
        session_id: &str,
    ) -> Result<Authorize, HubError> {
        let confirmed = AuthorizeRequest {
            scope: Some(scopes.to_vec()),
            ..req.clone()
        };
        match self.authorize(who, &confirmed, session_id).await? {
            Authorize::Consent { scopes, .. } => {
                let Some(client) = self.usable_client(&req.client_id).await? else {
                    return Ok(Authorize::Fatal("Invalid client_id".into()));
                };
                let user = who.subject.name().to_owned();
                let code = self
                    .issue_code(&user, &client, &scopes, session_id, req)
                    .await?;
                let mut pairs = vec![("code", code.as_str())];
                if let Some(state) = &req.state {
                    pairs.push(("state", state));
                }
                Ok(Authorize::Redirect(add_query(&client.redirect_uri, &pairs)))
            }
            other => Ok(other),
        }
    }

    /// No consent is asked for the user's own servers, for services marked
    /// `oauth_no_confirm`, or when earlier tokens of this client already cover the scopes.
    async fn needs_consent(
        &self,
        user: &str,
        client: &OAuthClientRow,
        scopes: &[String],
    ) -> Result<bool, HubError> {
        match &client.link {
            ClientLink::Server { user: owner, .. } if owner == user => return Ok(false),
            ClientLink::Service(name) => {
                let no_confirm = self.config.hub.services.iter().any(|s| {
                    let s = s.to_json();
                    s.get("name").and_then(Value::as_str) == Some(name)
                        && s.get("oauth_no_confirm").and_then(Value::as_bool) == Some(true)
                });
                if no_confirm {
                    return Ok(false);
                }
            }
            _ => {}
        }
        let held: Vec<String> = self
            .store
            .tokens_of(&oxhub_store::Owner::User(user.to_owned()))
            .await?
            .into_iter()
            .filter(|t| t.oauth_client.as_deref() == Some(client.identifier.as_str()))
            .flat_map(|t| t.scopes)
            .collect();
        Ok(held.is_empty() || !scopes.iter().all(|s| held.contains(s)))
    }

    async fn issue_code(
        &self,
        user: &str,
        client: &OAuthClientRow,
        scopes: &[String],
        session_id: &str,
        req: &AuthorizeRequest,
    ) -> Result<String, HubError> {
        let code = crate::hub::new_secret()?;
        let now = now_ms();
        let method = req.code_challenge.as_ref().map(|_| {
            req.code_challenge_method
                .clone()
                .unwrap_or_else(|| "plain".into())
        });
        self.store
            .insert_oauth_code(
                &NewOAuthCode {
                    client: client.identifier.clone(),
                    user: user.to_owned(),
                    hash: tokens::hash(&code),
                    scopes: scopes.to_vec(),
                    redirect_uri: client.redirect_uri.clone(),
                    session_id: (!session_id.is_empty()).then(|| session_id.to_owned()),
                    code_challenge: req.code_challenge.clone(),
                    code_challenge_method: method,
                    expires_at: now + CODE_LIFETIME_MS,
                },
                now,
            )
            .await?;
        Ok(code)
    }

    /// `POST /hub/api/oauth2/token` with its form fields.
    pub async fn exchange_code(
        &self,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Result<Value, TokenError>, HubError> {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let err = |status: u16, error: &'static str, description: &str| {
            Ok(Err(TokenError {
                status,
                error,
                description: description.to_owned(),
            }))
        };
        if field("grant_type") != "authorization_code" {
            return err(
                400,
                "unsupported_grant_type",
                "Only authorization_code is supported",
            );
        }
        let client = match self.usable_client(field("client_id")).await? {
            Some(c)
                if c.secret_hash.as_deref().is_some_and(|h| {
                    tokens::same_hash(h, &tokens::hash(field("client_secret")))
                }) =>
            {
                c
            }
            _ => return err(401, "invalid_client", "Client authentication failed"),
        };
        let code = field("code");
        if code.is_empty() || code.len() > tokens::MAX_LEN {
            return err(400, "invalid_request", "Missing code");
        }
        let Some(row) = self.store.take_oauth_code(&tokens::hash(code)).await? else {
            return err(400, "invalid_grant", "Invalid or used code");
        };
        let now = now_ms();
        if row.expires_at <= now || row.client != client.identifier {
            return err(400, "invalid_grant", "Invalid, expired or foreign code");
        }
        if field("redirect_uri") != client.redirect_uri {
            return err(400, "invalid_grant", "Mismatching redirect URI");
        }
        if let Some(challenge) = &row.code_challenge {
            let verifier = field("code_verifier");
            if verifier.is_empty() {
                return err(400, "invalid_request", "Code verifier required.");
            }
            let ok = match row.code_challenge_method.as_deref() {
                Some("S256") => {
                    let digest = Sha256::digest(verifier.as_bytes());
                    tokens::same_hash(&URL_SAFE_NO_PAD.encode(digest), challenge)
                }
                _ => tokens::same_hash(verifier, challenge),
            };
            if !ok {
                return err(400, "invalid_grant", "Code verifier does not match");
            }
        }
        let expires_in = if self.config.hub.oauth_token_expires_in > 0 {
            self.config.hub.oauth_token_expires_in
        } else {
            (self.config.hub.cookie_max_age_days.max(0.0) * 86_400.0) as i64
        };
        let token = self
            .issue_token(
                oxhub_store::Owner::User(row.user.clone()),
                row.scopes.clone(),
                "",
                Some(now.saturating_add(expires_in.saturating_mul(1000))),
                row.session_id.clone(),
                Some(client.identifier.clone()),
            )
            .await?;
        Ok(Ok(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": row.scopes.join(" "),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_existing_queries() {
        assert_eq!(add_query("/cb", &[("code", "a b")]), "/cb?code=a%20b");
        assert_eq!(add_query("/cb?x=1", &[("state", "s")]), "/cb?x=1&state=s");
    }

    #[test]
    fn default_and_requested_scopes() {
        let client = OAuthClientRow {
            id: 1,
            identifier: "jupyterhub-user-alice".into(),
            description: String::new(),
            secret_hash: Some("x".into()),
            redirect_uri: "/user/alice/oauth_callback".into(),
            allowed_scopes: vec!["read:users".into()],
            link: ClientLink::Server {
                user: "alice".into(),
                server: String::new(),
            },
        };
        let defaults = Hub::client_scopes(&client, None).unwrap();
        assert!(defaults.contains(&"access:servers!server=alice/".to_owned()));
        assert!(defaults.contains(&"read:users".to_owned()));
        let asked = Hub::client_scopes(&client, Some(&["identify".into()])).unwrap();
        assert!(!asked.contains(&"read:users".to_owned()));
        assert!(Hub::client_scopes(&client, Some(&["admin:users".into()])).is_err());
    }
}
