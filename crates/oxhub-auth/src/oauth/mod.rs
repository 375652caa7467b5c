//! OAuth 2.0 and OpenID Connect logins: `GenericOAuthenticator` and the presets built on it
//! (GitHub, GitLab, Google, Azure AD), as OAuthenticator 17.4 behaves (authenticators.md §5),
//! with a few deliberate, safer deviations:
//!
//! - OpenID discovery from an issuer URL (`GenericOAuthenticator.oidc_issuer`, an oxhub
//!   extension): the endpoints come from `.well-known/openid-configuration`, and every
//!   `id_token` is then checked — signature (the issuer's JWKS), issuer, audience, expiry and
//!   the nonce sent with the login. Upstream never checks the signature.
//! - A `nonce` goes with every authorize request; PKCE (S256) is on unless `enable_pkce` is off.
//! - Identity checks (Google's `hd` claim and `verified_email`) refuse the login whatever the
//!   allow rules say; upstream skips `verified_email` when `allow_all` is on.
//! - GitHub membership is checked for the GitHub login, not for the mapped hub name.
//!
//! The browser-facing half (the state cookie, single use, the callback URL) is the hub's:
//! this module builds the authorize URL and turns a callback's `code` into an auth model.

pub mod presets;
mod wire;

use oxhub_plugin::auth::{
    AuthError, Authenticated, Authenticator, LoginFlow, LoginRequest, Redirect, Refreshed,
};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Map, Value};
use std::time::Duration;

pub use presets::Provider;

/// Everything an OAuth authenticator is configured with (the binary maps the traits here).
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// The configured class, e.g. `GenericOAuthenticator`.
    pub class: String,
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: String,
    /// Explicit endpoints; each one left empty comes from the preset or from discovery.
    pub authorize_url: String,
    pub token_url: String,
    pub userdata_url: String,
    /// An OpenID issuer: discovery, and id_token verification against its keys.
    pub issuer: String,
    /// `oauth_callback_url`; empty: the hub's own `/hub/oauth_callback`.
    pub callback_url: String,
    pub scope: Vec<String>,
    pub extra_authorize_params: Vec<(String, String)>,
    pub token_params: Vec<(String, String)>,
    pub userdata_params: Vec<(String, String)>,
    /// `userdata_token_method == "url"`: the access token goes in the query, not a header.
    pub userdata_token_in_url: bool,
    pub userdata_from_id_token: bool,
    pub basic_auth: bool,
    pub enable_pkce: bool,
    /// The userinfo key holding the hub username; a dotted path walks nested objects.
    pub username_claim: String,
    /// `manage_groups`: groups come from `groups_key`, and `allowed_groups`/`admin_groups` apply.
    pub manage_groups: bool,
    /// A dotted path into auth_state (`oauth_user.groups`).
    pub groups_key: String,
    pub allowed_groups: Vec<String>,
    pub admin_groups: Vec<String>,
    /// The hub's `admin_users`, normalised: OAuthenticator always admits admins.
    pub admin_users: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub enable_auth_state: bool,
    pub login_service: String,
    pub logout_redirect_url: String,
    pub custom_403_message: String,
    pub validate_server_cert: bool,
    /// A PEM file of extra trusted roots (`http_request_kwargs["ca_certs"]`).
    pub ca_certs: Option<String>,
    /// A timeout for each request to the provider (`http_request_kwargs["request_timeout"]`).
    pub request_timeout: Duration,
    /// A `Local*OAuthenticator`: the system user must exist (or is created).
    pub local: Option<crate::LocalSettings>,
}

/// An OAuth 2.0 / OpenID Connect authenticator.
pub struct OAuthAuthenticator {
    settings: OAuthSettings,
    http: wire::Http,
}

impl OAuthAuthenticator {
    /// Check the settings (a bad combination is a start-up error, as upstream's `ValueError`)
    /// and build the HTTP client.
    pub fn new(mut settings: OAuthSettings) -> Result<OAuthAuthenticator, String> {
        let provider = settings.provider.clone();
        provider.fill_defaults(&mut settings);
        provider.check()?;
        let needs_groups = !settings.allowed_groups.is_empty() || !settings.admin_groups.is_empty();
        if needs_groups && !settings.manage_groups {
            return Err(format!(
                "{}.allowed_groups and admin_groups need Authenticator.manage_groups = True",
                settings.class
            ));
        }
        if settings.userdata_from_id_token && !settings.userdata_url.is_empty() {
            return Err(format!(
                "{}: userdata_from_id_token and userdata_url cannot both be set",
                settings.class
            ));
        }
        if settings.client_id.is_empty() {
            return Err(format!("{}.client_id is not set", settings.class));
        }
        if settings.issuer.is_empty()
            && (settings.authorize_url.is_empty() || settings.token_url.is_empty())
        {
            return Err(format!(
                "{} needs authorize_url and token_url (or oidc_issuer for OpenID discovery)",
                settings.class
            ));
        }
        if settings.issuer.is_empty()
            && settings.userdata_url.is_empty()
            && !settings.userdata_from_id_token
        {
            return Err(format!(
                "{} needs userdata_url (or userdata_from_id_token = True)",
                settings.class
            ));
        }
        if !settings.validate_server_cert {
            tracing::warn!(
                "{}: TLS certificates of the identity provider are not verified",
                settings.class
            );
        }
        let http = wire::Http::new(&settings)?;
        Ok(OAuthAuthenticator { settings, http })
    }

    /// Exchange a callback's code, fetch the user, and build the auth model.
    async fn complete(
        &self,
        params: &std::collections::BTreeMap<String, String>,
        callback_url: &str,
        kept: &Value,
    ) -> Result<Option<Authenticated>, AuthError> {
        if let Some(error) = params.get("error") {
            let why = params.get("error_description").unwrap_or(error);
            return Err(AuthError::Invalid(format!(
                "OAuth error: {}",
                oxhub_model::names::clip(why)
            )));
        }
        let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
            return Err(AuthError::Invalid(
                "OAuth callback made without a code".into(),
            ));
        };
        let redirect_uri = kept
            .get("redirect_uri")
            .and_then(Value::as_str)
            .unwrap_or(callback_url);
        let verifier = kept.get("code_verifier").and_then(Value::as_str);
        let Some(token_response) = self
            .http
            .exchange_code(code, redirect_uri, verifier)
            .await?
        else {
            return Ok(None);
        };
        let nonce = kept.get("nonce").and_then(Value::as_str);
        self.model_from_tokens(token_response, IdToken::Fresh(nonce))
            .await
    }

    /// The auth model from a token response: the user's data (from the userinfo endpoint or
    /// the id_token), the username, groups, admin and auth_state.
    async fn model_from_tokens(
        &self,
        token_response: Map<String, Value>,
        id_token: IdToken<'_>,
    ) -> Result<Option<Authenticated>, AuthError> {
        let s = &self.settings;
        let Some(access_token) = token_response.get("access_token").and_then(Value::as_str) else {
            return Err(AuthError::Unavailable(
                "the token endpoint answered without an access_token".into(),
            ));
        };
        let id_claims = match token_response.get("id_token").and_then(Value::as_str) {
            // Checked when it arrived; only its claims are needed again.
            Some(token) if matches!(id_token, IdToken::Stored) => s
                .userdata_from_id_token
                .then(|| wire::payload(token))
                .flatten(),
            Some(token) => {
                let nonce = match id_token {
                    IdToken::Fresh(nonce) => nonce,
                    IdToken::Stored => None,
                };
                match self.http.verify_id_token(token, nonce).await {
                    Ok(claims) => Some(claims),
                    Err(why) => {
                        tracing::warn!("{}: id_token refused: {why}", s.class);
                        return Ok(None);
                    }
                }
            }
            None if s.userdata_from_id_token => {
                return Err(AuthError::Unavailable(
                    "userdata_from_id_token is set but the token response has no id_token".into(),
                ));
            }
            None => None,
        };
        let mut user = match (&id_claims, s.userdata_from_id_token) {
            (Some(claims), true) => claims.clone(),
            _ => {
                let token_type = token_response
                    .get("token_type")
                    .and_then(Value::as_str)
                    .unwrap_or("Bearer");
                match self.http.userinfo(access_token, token_type).await? {
                    wire::UserInfo::Found(user) => user,
                    wire::UserInfo::Refused(status) => {
                        tracing::warn!("{}: the userinfo endpoint answered {status}", s.class);
                        return Ok(None);
                    }
                }
            }
        };
        let mut auth_state = Map::new();
        let extra = match s
            .provider
            .enrich(&self.http, s, access_token, &token_response, &mut user)
            .await?
        {
            presets::Verdict::Refused(why) => {
                tracing::warn!("{}: login refused: {why}", s.class);
                return Ok(None);
            }
            presets::Verdict::Accepted(extra) => extra,
        };
        let Some(name) = s.provider.username(s, &user) else {
            tracing::warn!(
                "{}: the user data has no {:?} claim to name the user",
                s.class,
                s.username_claim
            );
            return Ok(None);
        };
        for key in ["access_token", "refresh_token", "id_token"] {
            auth_state.insert(
                key.into(),
                token_response.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        auth_state.insert("scope".into(), Value::from(granted_scopes(&token_response)));
        auth_state.insert("token_response".into(), Value::Object(token_response));
        auth_state.insert(s.provider.user_key().into(), Value::Object(user));
        auth_state.extend(extra);
        let auth_state = Value::Object(auth_state);
        let groups = s.manage_groups.then(|| {
            // A bare key (the deprecated `claim_groups_key`) names a claim of the user data.
            let key =
                if at_path(&auth_state, &s.groups_key).is_none() && !s.groups_key.contains('.') {
                    format!("{}.{}", s.provider.user_key(), s.groups_key)
                } else {
                    s.groups_key.clone()
                };
            groups_at(&auth_state, &key)
        });
        let admin = match &groups {
            Some(groups) if !s.admin_groups.is_empty() => {
                Some(groups.iter().any(|g| s.admin_groups.contains(g)))
            }
            _ => None,
        };
        Ok(Some(Authenticated {
            name,
            admin,
            groups,
            auth_state: Some(auth_state),
            roles: None,
        }))
    }
}

/// How to treat a token response's `id_token`.
#[derive(Clone, Copy)]
enum IdToken<'a> {
    /// Straight from the token endpoint: verified, with the login's nonce when there was one.
    Fresh(Option<&'a str>),
    /// Stored in auth_state after it was verified: read, not checked again (it may have
    /// expired since, which says nothing about the access token).
    Stored,
}

/// The granted scopes as a list: a space-separated `scope` split on spaces (upstream keeps
/// `[""]` when it is absent; an empty list says the same more plainly).
fn granted_scopes(token_response: &Map<String, Value>) -> Vec<String> {
    match token_response.get("scope") {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The value at a dotted path (`oauth_user.groups`): a key that exists as written wins over
/// walking, so a claim named `https://example.org/groups` still works.
pub(crate) fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(v) = value.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The group names at `path`, sorted; anything else there is logged and counts as none.
fn groups_at(auth_state: &Value, path: &str) -> Vec<String> {
    let mut groups: Vec<String> = match at_path(auth_state, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            tracing::error!("auth_state_groups_key {path:?} is not a list of groups");
            Vec::new()
        }
    };
    groups.sort();
    groups.dedup();
    groups
}

impl Authenticator for OAuthAuthenticator {
    fn class(&self) -> &str {
        &self.settings.class
    }

    fn flow(&self) -> LoginFlow {
        LoginFlow::Redirect
    }

    fn login_service(&self) -> &str {
        &self.settings.login_service
    }

    fn logout_redirect_url(&self) -> &str {
        &self.settings.logout_redirect_url
    }

    fn refused_message(&self) -> &str {
        &self.settings.custom_403_message
    }

    fn begin_redirect<'a>(
        &'a self,
        state: &'a str,
        callback_url: &'a str,
    ) -> BoxFuture<'a, Result<Redirect, AuthError>> {
        Box::pin(async move {
            let s = &self.settings;
            let redirect_uri = if s.callback_url.is_empty() {
                callback_url
            } else {
                &s.callback_url
            };
            let authorize = self.http.authorize_url().await?;
            let mut url = url::Url::parse(&authorize)
                .map_err(|e| AuthError::Internal(format!("authorize_url {authorize:?}: {e}")))?;
            let mut keep = json!({ "redirect_uri": redirect_uri });
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("response_type", "code")
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("client_id", &s.client_id);
                for (k, v) in &s.extra_authorize_params {
                    q.append_pair(k, v);
                }
                if s.enable_pkce {
                    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
                    q.append_pair("code_challenge", challenge.as_str())
                        .append_pair("code_challenge_method", "S256");
                    keep["code_verifier"] = Value::from(verifier.secret().as_str());
                }
                q.append_pair("state", state);
                if !s.scope.is_empty() {
                    q.append_pair("scope", &s.scope.join(" "));
                }
                if s.provider.sends_nonce(s) {
                    let nonce = openidconnect::Nonce::new_random();
                    q.append_pair("nonce", nonce.secret());
                    keep["nonce"] = Value::from(nonce.secret().as_str());
                }
            }
            Ok(Redirect {
                url: url.into(),
                keep,
            })
        })
    }

    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(async move {
            match request {
                LoginRequest::Callback {
                    params,
                    callback_url,
                    kept,
                } => self.complete(params, callback_url, kept).await,
                LoginRequest::Form(_) => Err(AuthError::NotSupported(format!(
                    "{} logs in through {}, not with a form",
                    self.settings.class, self.settings.login_service
                ))),
            }
        })
    }

    fn check_allowed<'a>(
        &'a self,
        name: &'a str,
        model: &'a Authenticated,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move {
            let s = &self.settings;
            let state = model.auth_state.as_ref().unwrap_or(&Value::Null);
            if !s.allowed_scopes.is_empty() {
                let granted: Vec<&str> = state
                    .get("scope")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if s.allowed_scopes
                    .iter()
                    .all(|w| granted.contains(&w.as_str()))
                {
                    return Ok(true);
                }
            }
            if model.admin == Some(true) || s.admin_users.iter().any(|a| a == name) {
                return Ok(true);
            }
            if let Some(groups) = &model.groups {
                if groups.iter().any(|g| s.allowed_groups.contains(g)) {
                    return Ok(true);
                }
            }
            s.provider.check_allowed(&self.http, s, name, state).await
        })
    }

    fn add_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            match &self.settings.local {
                Some(local) => crate::local::ensure_system_user(local, name).await,
                None => Ok(()),
            }
        })
    }

    fn refresh<'a>(
        &'a self,
        user: &'a str,
        auth_state: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Refreshed, AuthError>> {
        Box::pin(async move {
            if !self.settings.enable_auth_state {
                return Ok(Refreshed::Unchanged);
            }
            let Some(state) = auth_state else {
                return Ok(Refreshed::Expired);
            };
            let Some(Value::Object(tokens)) = state.get("token_response").cloned() else {
                return Ok(Refreshed::Expired);
            };
            // The stored tokens still work: the user's facts are read again.
            match self.model_from_tokens(tokens, IdToken::Stored).await {
                Ok(Some(model)) => return Ok(Refreshed::Updated(model)),
                Ok(None) => {}
                Err(AuthError::Unavailable(why)) => return Err(AuthError::Unavailable(why)),
                Err(e) => tracing::warn!("refreshing {user}: {e}"),
            }
            // They do not: a refresh token may get new ones.
            let Some(refresh_token) = state.get("refresh_token").and_then(Value::as_str) else {
                return Ok(Refreshed::Expired);
            };
            let Some(mut fresh) = self.http.refresh(refresh_token).await? else {
                tracing::info!("refreshing {user}: the provider refused the refresh token");
                return Ok(Refreshed::Expired);
            };
            if !fresh.contains_key("refresh_token") {
                fresh.insert("refresh_token".into(), Value::from(refresh_token));
            }
            Ok(
                match self.model_from_tokens(fresh, IdToken::Fresh(None)).await? {
                    Some(model) => Refreshed::Updated(model),
                    None => Refreshed::Expired,
                },
            )
        })
    }
}

#[cfg(test)]
mod tests;
