//! Logging in: the Authenticator trait, the built-in Dummy authenticator, the allow/block rules
//! every authenticator shares (authenticators.md §1.2), and login sessions.
//!
//! A login session is an API token owned by the user, tied to the browser's
//! `jupyterhub-session-id` and issued to the internal client [`LOGIN_CLIENT`]; the signed hub
//! cookie carries it. Logout deletes every token of the session (its OAuth tokens too), so a
//! cookie captured before logout stops working.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::Hub;
use oxhub_model::names::UserName;
use std::future::Future;
use std::pin::Pin;

/// The OAuth client id of login-session tokens; they are hidden from token listings.
pub const LOGIN_CLIENT: &str = "jupyterhub-login";
/// The note of login-session tokens.
pub const LOGIN_NOTE: &str = "login session";

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an authenticator says about a login attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthModel {
    pub name: String,
    /// `None` leaves the stored admin flag alone.
    pub admin: Option<bool>,
}

/// Checks credentials from the login form. Allow/block lists and name rules are applied by the
/// hub afterwards, the same for every implementation.
pub trait Authenticator: Send + Sync {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<AuthModel>, HubError>>;

    /// Whether everyone who authenticates is allowed when nothing else is configured.
    fn allow_all_by_default(&self) -> bool {
        false
    }
}

/// `DummyAuthenticator`: any username; when `password` is set, it must match.
pub struct DummyAuthenticator {
    pub password: String,
}

impl Authenticator for DummyAuthenticator {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Option<AuthModel>, HubError>> {
        Box::pin(async move {
            let ok = self.password.is_empty()
                || subtle::ConstantTimeEq::ct_eq(self.password.as_bytes(), password.as_bytes())
                    .into();
            Ok(ok.then(|| AuthModel {
                name: username.to_owned(),
                admin: None,
            }))
        })
    }

    fn allow_all_by_default(&self) -> bool {
        true
    }
}

/// Refuses every login (the `null` authenticator: API tokens only).
pub struct NullAuthenticator;

impl Authenticator for NullAuthenticator {
    fn authenticate<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<AuthModel>, HubError>> {
        Box::pin(async { Ok(None) })
    }
}

/// The authenticator named by the configuration.
pub fn from_config(config: &oxhub_config::HubConfig) -> Result<Box<dyn Authenticator>, HubError> {
    let a = &config.authenticator;
    let string = |key: &str| {
        a.secrets
            .get(key)
            .or_else(|| a.extra.get(key))
            .and_then(|v| v.to_json().as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match a.class.as_str() {
        "DummyAuthenticator" => {
            tracing::warn!("DummyAuthenticator is for testing and demos, not for production");
            Ok(Box::new(DummyAuthenticator {
                password: string("password"),
            }))
        }
        "NullAuthenticator" => Ok(Box::new(NullAuthenticator)),
        other => {
            // Not built yet (PAM, LDAP, OAuth): the hub still serves its API with tokens.
            tracing::warn!(
                "authenticator_class {other} is not available in this build of oxhub (available: dummy, null); every login will be refused"
            );
            Ok(Box::new(NullAuthenticator))
        }
    }
}

/// A successful login: the token the hub cookie carries.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub token: String,
}

/// Why a login was refused (all shown to the user as the same "Invalid username or password").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    BadCredentials,
    InvalidName,
    Blocked,
    NotAllowed,
}

impl Hub {
    /// `normalize_username`: lower case, then `username_map`.
    pub fn normalize_username(&self, name: &str) -> String {
        let lowered = name.to_lowercase();
        let mapped = match &self.config.authenticator.username_map.to_json() {
            serde_json::Value::Object(map) => map
                .get(&lowered)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            _ => None,
        };
        mapped.unwrap_or(lowered)
    }

    /// Check credentials and the allow rules, create or update the user, and start a login
    /// session bound to `session_id`.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        session_id: &str,
    ) -> Result<Result<Login, LoginRefused>, HubError> {
        let Some(model) = self.authenticator.authenticate(username, password).await? else {
            return Ok(Err(LoginRefused::BadCredentials));
        };
        let name = self.normalize_username(&model.name);
        if UserName::parse(&name).is_err() || !self.matches_username_pattern(&name) {
            tracing::warn!("Disallowing invalid username {}", crate::error::clip(&name));
            return Ok(Err(LoginRefused::InvalidName));
        }
        let a = &self.config.authenticator;
        if a.blocked_users.contains(&name) {
            return Ok(Err(LoginRefused::Blocked));
        }
        let existing = self.store.user(&name).await?;
        let allow_all = a.allow_all
            || (self.authenticator.allow_all_by_default() && a.allowed_users.is_empty());
        let allowed = allow_all
            || a.allowed_users.contains(&name)
            || a.admin_users.contains(&name) && !a.allowed_users.is_empty()
            || (existing.is_some() && (a.allow_existing_users || !a.allowed_users.is_empty()));
        if !allowed {
            tracing::warn!("User {} not allowed", crate::error::clip(&name));
            return Ok(Err(LoginRefused::NotAllowed));
        }
        let admin = model
            .admin
            .or_else(|| a.admin_users.contains(&name).then_some(true));
        if existing.is_none() {
            self.create_user_unchecked(&name, admin.unwrap_or(false))
                .await?;
        } else if let Some(admin) = admin {
            if existing.as_ref().is_some_and(|u| u.admin != admin) {
                self.store.set_admin(&name, admin).await?;
            }
        }
        let token = self.start_session(&name, session_id).await?;
        tracing::info!("User logged in: {name}");
        Ok(Ok(Login { user: name, token }))
    }

    fn matches_username_pattern(&self, name: &str) -> bool {
        let pattern = &self.config.authenticator.username_pattern;
        if pattern.is_empty() {
            return true;
        }
        // Anchored at the start only, as Python's re.match is.
        match regex_lite::Regex::new(&format!("^(?:{pattern})")) {
            Ok(re) => re.is_match(name),
            Err(_) => false,
        }
    }

    /// A login-session token for `user`, expiring with the login cookie.
    pub async fn start_session(&self, user: &str, session_id: &str) -> Result<String, HubError> {
        let max_age_ms = (self.config.hub.cookie_max_age_days.max(0.0) * 86_400_000.0) as i64;
        self.issue_token(
            oxhub_store::Owner::User(user.to_owned()),
            vec!["inherit".into()],
            LOGIN_NOTE,
            Some(now_ms() + max_age_ms),
            Some(session_id.to_owned()),
            Some(LOGIN_CLIENT.into()),
        )
        .await
    }

    /// Logout: delete every token of the browser session (login and OAuth tokens alike).
    pub async fn end_session(&self, session_id: &str) -> Result<u64, HubError> {
        if session_id.is_empty() {
            return Ok(0);
        }
        Ok(self.store.delete_session_tokens(session_id).await?)
    }
}
