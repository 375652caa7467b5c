//! Accounts an authenticator keeps itself (NativeAuthenticator's sign-up users): the hub
//! stores them for it ([`AccountStore`], one JSON record per name in the hub's database), and
//! its pages manage them through [`Accounts`].

use crate::auth::AuthError;
use crate::BoxFuture;
use serde_json::Value;

/// Per-name JSON records in the hub's database, handed to an authenticator that keeps its
/// own accounts. Names are the hub's normalised names.
pub trait AccountStore: Send + Sync {
    fn load<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Value>, AuthError>>;
    fn save<'a>(&'a self, name: &'a str, record: &'a Value)
        -> BoxFuture<'a, Result<(), AuthError>>;
    /// Whether there was a record.
    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AuthError>>;
    /// Every record, by name.
    fn all(&self) -> BoxFuture<'_, Result<Vec<(String, Value)>, AuthError>>;
}

/// A sign-up as the form sends it; `name` is already normalised and valid.
#[derive(Debug, Clone, Default)]
pub struct Signup {
    pub name: String,
    pub password: String,
    pub confirmation: String,
    pub email: String,
    pub two_factor: bool,
    /// The hub says this name may skip approval (it is in `allowed_users` or `admin_users`).
    pub preauthorized: bool,
}

/// What became of a sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupOutcome {
    /// The account exists; `authorized` says whether it may log in yet. With two-factor
    /// authentication, the base32 secret to enter in an authenticator app.
    Created {
        authorized: bool,
        otp_secret: Option<String>,
    },
    /// Refused, with what to tell the person (a taken name, a weak password, ...).
    Refused(String),
}

/// One account as the approval page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub authorized: bool,
    pub email: String,
    pub two_factor: bool,
    /// Failed logins since the last success.
    pub failed_logins: u32,
}

/// What the sign-up, approval and password pages ask of an authenticator with accounts.
pub trait Accounts: Send + Sync {
    /// Whether `/hub/signup` is offered (`enable_signup`).
    fn signup_enabled(&self) -> bool;
    /// Whether sign-up asks for an e-mail address (`ask_email_on_signup`).
    fn asks_email(&self) -> bool;
    /// Whether sign-up offers two-factor authentication (`allow_2fa`).
    fn offers_two_factor(&self) -> bool;
    fn signup<'a>(&'a self, request: &'a Signup)
        -> BoxFuture<'a, Result<SignupOutcome, AuthError>>;
    fn list(&self) -> BoxFuture<'_, Result<Vec<Account>, AuthError>>;
    /// Approve or withdraw approval; `false` when there is no such account.
    fn set_authorized<'a>(
        &'a self,
        name: &'a str,
        authorized: bool,
    ) -> BoxFuture<'a, Result<bool, AuthError>>;
    /// Delete an account that was never approved; `false` when there is none (or it is approved).
    fn discard<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AuthError>>;
    /// Set a password: `old` is checked when given (a user changing their own); an admin
    /// passes `None`. `Ok(Err(why))` when refused.
    fn set_password<'a>(
        &'a self,
        name: &'a str,
        old: Option<&'a str>,
        new: &'a str,
        confirmation: &'a str,
    ) -> BoxFuture<'a, Result<Result<(), String>, AuthError>>;
    /// Forget the account of a deleted hub user.
    fn forget<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthError>>;
}
