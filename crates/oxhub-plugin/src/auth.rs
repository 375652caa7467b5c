//! The authenticator contract: who may log in, as whom, with what extra facts.
//!
//! An authenticator only checks credentials. Everything every authenticator shares —
//! `normalize_username`, name validation, the block and allow rules, admin, group and
//! `auth_state` bookkeeping, the login session — is the core's login pipeline, run after
//! [`Authenticator::authenticate`] for every implementation alike.

use crate::spawn::SpawnRequest;
use crate::BoxFuture;
use serde_json::Value;
use std::collections::BTreeMap;

/// How a person logs in with this authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlow {
    /// The hub's login form posts its fields (`username`, `password`, ...).
    Form,
    /// The browser is sent to an identity provider ([`Authenticator::begin_redirect`]) and
    /// comes back to the hub's callback URL with parameters.
    Redirect,
    /// No interactive login: the hub is used with API tokens only.
    ApiOnly,
}

/// What a login attempt carries.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginRequest {
    /// The fields of the login form, by name.
    Form(BTreeMap<String, String>),
    /// The query parameters of the identity provider's redirect back to the hub, with what
    /// [`Redirect::keep`] asked the hub to remember (the hub has already checked `state`).
    Callback {
        params: BTreeMap<String, String>,
        callback_url: String,
        kept: Value,
    },
}

impl LoginRequest {
    /// A login form with a username and a password (what most tests and the form post).
    pub fn password(username: &str, password: &str) -> LoginRequest {
        LoginRequest::Form(BTreeMap::from([
            ("username".to_owned(), username.to_owned()),
            ("password".to_owned(), password.to_owned()),
        ]))
    }

    /// A form field or callback parameter; `""` when absent.
    pub fn field(&self, name: &str) -> &str {
        let map = match self {
            LoginRequest::Form(fields) => fields,
            LoginRequest::Callback { params, .. } => params,
        };
        map.get(name).map_or("", String::as_str)
    }
}

/// Where to send the browser for a redirect login, and what to remember until it returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    pub url: String,
    /// Kept by the hub (e.g. a PKCE verifier) and handed back in [`LoginRequest::Callback`].
    pub keep: Value,
}

/// A successful authentication.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Authenticated {
    /// The name as the identity source gives it; the hub normalises it.
    pub name: String,
    /// `None` leaves the stored admin flag alone.
    pub admin: Option<bool>,
    /// The user's groups, applied when `Authenticator.manage_groups` is on; `None` leaves
    /// membership alone.
    pub groups: Option<Vec<String>>,
    /// Stored encrypted when `Authenticator.enable_auth_state` is on; `None` keeps the old one.
    pub auth_state: Option<Value>,
    /// The user's roles, applied when `Authenticator.manage_roles` is on: each a role name or
    /// `{"name", "description", "scopes"}` (created or updated); `None` leaves roles alone.
    pub roles: Option<Vec<Value>>,
}

impl Authenticated {
    pub fn named(name: &str) -> Authenticated {
        Authenticated {
            name: name.to_owned(),
            ..Authenticated::default()
        }
    }
}

/// The outcome of refreshing a user's authentication (JupyterHub's `refresh_user`).
#[derive(Debug, Clone, PartialEq)]
pub enum Refreshed {
    /// Still valid; nothing changes.
    Unchanged,
    /// Still valid with new facts (admin, groups, auth_state).
    Updated(Authenticated),
    /// No longer valid: the user must log in again.
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request cannot work as sent (a callback without a code, a bad `state`): 400.
    #[error("{0}")]
    Invalid(String),
    /// The identity source cannot be reached or answered with an error: 503.
    #[error("{0}")]
    Unavailable(String),
    /// The authenticator cannot do this (a redirect asked of a form authenticator): 404.
    #[error("{0}")]
    NotSupported(String),
    /// Anything else; logged, never shown.
    #[error("{0}")]
    Internal(String),
}

pub trait Authenticator: Send + Sync {
    /// The configured class this implements (`DummyAuthenticator`, `PAMAuthenticator`, ...).
    fn class(&self) -> &str;

    fn flow(&self) -> LoginFlow {
        LoginFlow::Form
    }

    /// Check a login attempt: `Ok(None)` for wrong credentials.
    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>>;

    /// The start of a redirect login: the identity provider's URL carrying `state` and the
    /// hub's `callback_url`.
    fn begin_redirect<'a>(
        &'a self,
        state: &'a str,
        callback_url: &'a str,
    ) -> BoxFuture<'a, Result<Redirect, AuthError>> {
        let _ = (state, callback_url);
        Box::pin(async move {
            Err(AuthError::NotSupported(format!(
                "{} has no redirect login",
                self.class()
            )))
        })
    }

    /// The name on the login page's "Sign in with ..." button (`login_service`); empty for
    /// a form.
    fn login_service(&self) -> &str {
        ""
    }

    /// Where the browser goes after logout (`logout_redirect_url`); empty: the login page.
    fn logout_redirect_url(&self) -> &str {
        ""
    }

    /// What a person who authenticated but may not use the hub is told
    /// (`custom_403_message`); empty: the hub's own wording.
    fn refused_message(&self) -> &str {
        ""
    }

    /// Whether a user's authentication is still good (`auth_refresh_age`, `refresh_pre_spawn`).
    fn refresh<'a>(
        &'a self,
        user: &'a str,
        auth_state: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Refreshed, AuthError>> {
        let _ = (user, auth_state);
        Box::pin(async { Ok(Refreshed::Unchanged) })
    }

    /// Adjust a spawn before it starts (`pre_spawn_start`: pass tokens from `auth_state` into
    /// the server's environment, say).
    fn pre_spawn<'a>(
        &'a self,
        auth_state: Option<&'a Value>,
        request: &'a mut SpawnRequest,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        let _ = (auth_state, request);
        Box::pin(async { Ok(()) })
    }

    /// The backend's own allow rule (`allowed_groups` of a `Local*` authenticator), OR-ed with
    /// `allowed_users`; not asked when `allow_all` is on.
    fn check_allowed<'a>(
        &'a self,
        name: &'a str,
        model: &'a Authenticated,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        let _ = (name, model);
        Box::pin(async { Ok(false) })
    }

    /// Called before the hub creates a user (a first login, `POST /users`, the start-up lists):
    /// a `Local*` authenticator makes sure the system user exists, creating it when
    /// `create_system_users` is on. An error refuses the new user.
    fn add_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        let _ = name;
        Box::pin(async { Ok(()) })
    }

    /// Whether everyone who authenticates is allowed when no allow rule is configured.
    fn allow_all_by_default(&self) -> bool {
        false
    }

    /// The accounts this authenticator keeps itself (sign-up, approval, passwords), if any.
    fn accounts(&self) -> Option<&dyn crate::accounts::Accounts> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Form;
    impl Authenticator for Form {
        fn class(&self) -> &str {
            "Form"
        }
        fn authenticate<'a>(
            &'a self,
            request: &'a LoginRequest,
        ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
            Box::pin(async move { Ok(Some(Authenticated::named(request.field("username")))) })
        }
    }

    #[test]
    fn defaults_say_what_a_form_authenticator_cannot_do() {
        let a = Form;
        assert_eq!(a.flow(), LoginFlow::Form);
        assert!(!a.allow_all_by_default());
        assert_eq!(a.login_service(), "");
        assert_eq!(a.logout_redirect_url(), "");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(matches!(
            rt.block_on(a.begin_redirect("s", "/cb")),
            Err(AuthError::NotSupported(m)) if m.contains("Form")
        ));
    }

    #[test]
    fn fields_of_forms_and_callbacks() {
        let form = LoginRequest::password("alice", "pw");
        assert_eq!(form.field("username"), "alice");
        assert_eq!(form.field("password"), "pw");
        assert_eq!(form.field("otp"), "");
        let cb = LoginRequest::Callback {
            params: BTreeMap::from([("code".to_owned(), "c1".to_owned())]),
            callback_url: "/hub/oauth_callback".into(),
            kept: Value::Null,
        };
        assert_eq!(cb.field("code"), "c1");
    }
}
