//! `NativeAuthenticator`: accounts the hub keeps itself, compatible with NativeAuthenticator
//! 1.3.0's traits and pages (authenticators.md §4) — which cannot log anyone in under
//! JupyterHub 6.x — with sounder defaults:
//!
//! - passwords hashed with Argon2id (PHC strings, a fresh salt each), checked in constant time;
//! - sign-up refuses passwords under `minimum_password_length` (8) or on the common-password
//!   list (`check_common_password`, on), or equal to the name;
//! - lockout (`allowed_failed_logins`, `seconds_before_next_try`) is kept in the database,
//!   so a restart does not unlock anyone;
//! - TOTP (SHA-1, 6 digits, 30 s) accepts the step before and after the current one;
//! - an approved account is allowed to log in (upstream needs `allow_all` on JupyterHub ≥ 5).
//!
//! Records are JSON in the hub's [`AccountStore`]: `password` (PHC), `authorized`, `email`,
//! `two_factor`, `otp_secret` (base32), `failed_logins`, `last_failure_ms`, `created_ms`.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use oxhub_plugin::accounts::{Account, AccountStore, Accounts, Signup, SignupOutcome};
use oxhub_plugin::auth::{AuthError, Authenticated, Authenticator, LoginRequest};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Value};
use std::sync::Arc;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// `NativeAuthenticator`'s traits.
#[derive(Clone)]
pub struct NativeSettings {
    pub enable_signup: bool,
    pub open_signup: bool,
    pub minimum_password_length: usize,
    pub check_common_password: bool,
    /// 0: no lockout.
    pub allowed_failed_logins: u32,
    pub seconds_before_next_try: u64,
    pub ask_email_on_signup: bool,
    pub allow_2fa: bool,
    /// Milliseconds since the Unix epoch (the hub's clock).
    pub clock: fn() -> i64,
}

impl Default for NativeSettings {
    fn default() -> NativeSettings {
        NativeSettings {
            enable_signup: true,
            open_signup: false,
            minimum_password_length: 8,
            check_common_password: true,
            allowed_failed_logins: 0,
            seconds_before_next_try: 600,
            ask_email_on_signup: false,
            allow_2fa: false,
            clock: || 0,
        }
    }
}

pub struct NativeAuthenticator {
    settings: NativeSettings,
    store: Arc<dyn AccountStore>,
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(format!("NativeAuthenticator: {e}"))
}

/// An Argon2id PHC string for `password`.
fn hash(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(internal)
}

/// Whether `password` matches the stored PHC string (argon2 compares in constant time).
fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether `code` is the TOTP of `secret` (base32) at `now_ms`, give or take one step.
fn totp_ok(secret: &str, code: &str, now_ms: i64) -> bool {
    let Ok(bytes) = totp_rs::Secret::Encoded(secret.to_owned()).to_bytes() else {
        return false;
    };
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    let secs = u64::try_from(now_ms / 1000).unwrap_or(0);
    totp.check(code.trim(), secs)
}

fn new_otp_secret() -> Result<String, AuthError> {
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes).map_err(internal)?;
    match totp_rs::Secret::Raw(bytes.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(s) => Ok(s),
        totp_rs::Secret::Raw(_) => Err(internal("base32 encoding failed")),
    }
}

/// NativeAuthenticator's e-mail rule.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+_-".contains(c));
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    local_ok && domain_ok
}

impl NativeAuthenticator {
    pub fn new(settings: NativeSettings, store: Arc<dyn AccountStore>) -> NativeAuthenticator {
        NativeAuthenticator { settings, store }
    }

    /// Why a password is not good enough, if it is not.
    fn weak(&self, name: &str, password: &str) -> Option<String> {
        let s = &self.settings;
        if password.chars().count() < s.minimum_password_length {
            return Some(format!(
                "The password must be at least {} characters long.",
                s.minimum_password_length
            ));
        }
        if s.check_common_password {
            let lower = password.to_lowercase();
            let common = COMMON_PASSWORDS
                .lines()
                .filter(|l| !l.starts_with('#'))
                .any(|l| l == lower);
            if common || lower == name.to_lowercase() {
                return Some("This password is too common or too easy to guess.".into());
            }
        }
        None
    }

    fn locked(&self, record: &Value, now: i64) -> Option<u64> {
        let s = &self.settings;
        if s.allowed_failed_logins == 0 {
            return None;
        }
        let failed = record["failed_logins"].as_u64().unwrap_or(0);
        if failed < u64::from(s.allowed_failed_logins) {
            return None;
        }
        let last = record["last_failure_ms"].as_i64().unwrap_or(0);
        let wait_ms = i64::try_from(s.seconds_before_next_try)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let until = last.saturating_add(wait_ms);
        (now < until).then(|| u64::try_from((until - now + 999) / 1000).unwrap_or(1))
    }

    async fn login(&self, request: &LoginRequest) -> Result<Option<Authenticated>, AuthError> {
        // The hub hands accounts' authenticators the normalised name (lower case, mapped).
        let name = request.field("username").to_lowercase();
        let password = request.field("password");
        let Some(mut record) = self.store.load(&name).await? else {
            // The same work as for an existing account, so timing tells nothing.
            let _ = verify(password, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            return Ok(None);
        };
        let now = (self.settings.clock)();
        if let Some(wait) = self.locked(&record, now) {
            tracing::warn!("NativeAuthenticator: {name} is locked for {wait} more seconds");
            return Ok(None);
        }
        let password_ok = record["password"]
            .as_str()
            .is_some_and(|phc| verify(password, phc));
        let second_ok = record["two_factor"] != Value::Bool(true)
            || record["otp_secret"]
                .as_str()
                .is_some_and(|secret| totp_ok(secret, request.field("2fa"), now));
        let authorized = record["authorized"] == Value::Bool(true);
        if password_ok && second_ok && authorized {
            if record["failed_logins"].as_u64().unwrap_or(0) > 0 {
                record["failed_logins"] = json!(0);
                self.store.save(&name, &record).await?;
            }
            return Ok(Some(Authenticated::named(&name)));
        }
        if password_ok && second_ok {
            tracing::warn!(
                "NativeAuthenticator: {name} has not been authorized by an administrator yet"
            );
        } else {
            record["failed_logins"] = json!(record["failed_logins"].as_u64().unwrap_or(0) + 1);
            record["last_failure_ms"] = json!(now);
            self.store.save(&name, &record).await?;
        }
        Ok(None)
    }
}

impl Authenticator for NativeAuthenticator {
    fn class(&self) -> &str {
        "NativeAuthenticator"
    }

    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(self.login(request))
    }

    /// An approved account may log in: approval is this authenticator's allow rule.
    fn check_allowed<'a>(
        &'a self,
        name: &'a str,
        _model: &'a Authenticated,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move {
            Ok(self
                .store
                .load(name)
                .await?
                .is_some_and(|r| r["authorized"] == Value::Bool(true)))
        })
    }

    fn accounts(&self) -> Option<&dyn Accounts> {
        Some(self)
    }
}

impl Accounts for NativeAuthenticator {
    fn signup_enabled(&self) -> bool {
        self.settings.enable_signup
    }

    fn asks_email(&self) -> bool {
        self.settings.ask_email_on_signup
    }

    fn offers_two_factor(&self) -> bool {
        self.settings.allow_2fa
    }

    fn signup<'a>(&'a self, r: &'a Signup) -> BoxFuture<'a, Result<SignupOutcome, AuthError>> {
        Box::pin(async move {
            let refuse = |why: &str| Ok(SignupOutcome::Refused(why.to_owned()));
            if !self.settings.enable_signup {
                return refuse("Sign-up is not available.");
            }
            if r.name.contains([',', ' ', '/']) {
                return refuse("The username may not contain commas, spaces or slashes.");
            }
            if r.password != r.confirmation {
                return refuse("The passwords do not match.");
            }
            if let Some(why) = self.weak(&r.name, &r.password) {
                return refuse(&why);
            }
            let email = r.email.trim();
            if !email.is_empty() && !valid_email(email) {
                return refuse("That e-mail address is not valid.");
            }
            if self.settings.ask_email_on_signup && email.is_empty() {
                return refuse("Please give an e-mail address.");
            }
            if self.store.load(&r.name).await?.is_some() {
                return refuse("That username is already taken.");
            }
            let authorized = self.settings.open_signup || r.preauthorized;
            let two_factor = r.two_factor && self.settings.allow_2fa;
            let otp_secret = if two_factor {
                Some(new_otp_secret()?)
            } else {
                None
            };
            let record = json!({
                "password": hash(&r.password)?,
                "authorized": authorized,
                "email": email,
                "two_factor": two_factor,
                "otp_secret": otp_secret,
                "failed_logins": 0,
                "created_ms": (self.settings.clock)(),
            });
            self.store.save(&r.name, &record).await?;
            tracing::info!(
                "NativeAuthenticator: {} signed up ({})",
                r.name,
                if authorized {
                    "authorized"
                } else {
                    "waiting for approval"
                }
            );
            Ok(SignupOutcome::Created {
                authorized,
                otp_secret,
            })
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Account>, AuthError>> {
        Box::pin(async move {
            Ok(self
                .store
                .all()
                .await?
                .into_iter()
                .map(|(name, r)| Account {
                    name,
                    authorized: r["authorized"] == Value::Bool(true),
                    email: r["email"].as_str().unwrap_or("").to_owned(),
                    two_factor: r["two_factor"] == Value::Bool(true),
                    failed_logins: u32::try_from(r["failed_logins"].as_u64().unwrap_or(0))
                        .unwrap_or(u32::MAX),
                })
                .collect())
        })
    }

    fn set_authorized<'a>(
        &'a self,
        name: &'a str,
        authorized: bool,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move {
            let Some(mut record) = self.store.load(name).await? else {
                return Ok(false);
            };
            record["authorized"] = json!(authorized);
            self.store.save(name, &record).await?;
            Ok(true)
        })
    }

    fn discard<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move {
            match self.store.load(name).await? {
                Some(r) if r["authorized"] != Value::Bool(true) => self.store.remove(name).await,
                _ => Ok(false),
            }
        })
    }

    fn set_password<'a>(
        &'a self,
        name: &'a str,
        old: Option<&'a str>,
        new: &'a str,
        confirmation: &'a str,
    ) -> BoxFuture<'a, Result<Result<(), String>, AuthError>> {
        Box::pin(async move {
            let Some(mut record) = self.store.load(name).await? else {
                return Ok(Err(format!("No account named {name}.")));
            };
            if let Some(old) = old {
                if !record["password"]
                    .as_str()
                    .is_some_and(|phc| verify(old, phc))
                {
                    return Ok(Err("The current password is wrong.".into()));
                }
            }
            if new != confirmation {
                return Ok(Err("The new passwords do not match.".into()));
            }
            if let Some(why) = self.weak(name, new) {
                return Ok(Err(why));
            }
            record["password"] = json!(hash(new)?);
            record["failed_logins"] = json!(0);
            self.store.save(name, &record).await?;
            tracing::info!("NativeAuthenticator: the password of {name} was changed");
            Ok(Ok(()))
        })
    }

    fn forget<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            self.store.remove(name).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Memory(Mutex<BTreeMap<String, Value>>);

    impl AccountStore for Memory {
        fn load<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Value>, AuthError>> {
            Box::pin(async move { Ok(self.0.lock().unwrap().get(name).cloned()) })
        }
        fn save<'a>(
            &'a self,
            name: &'a str,
            record: &'a Value,
        ) -> BoxFuture<'a, Result<(), AuthError>> {
            Box::pin(async move {
                self.0
                    .lock()
                    .unwrap()
                    .insert(name.to_owned(), record.clone());
                Ok(())
            })
        }
        fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AuthError>> {
            Box::pin(async move { Ok(self.0.lock().unwrap().remove(name).is_some()) })
        }
        fn all(&self) -> BoxFuture<'_, Result<Vec<(String, Value)>, AuthError>> {
            Box::pin(async move { Ok(self.0.lock().unwrap().clone().into_iter().collect()) })
        }
    }

    /// The clock of every test but the lockout one, which moves its own.
    static NOW: AtomicI64 = AtomicI64::new(1_000_000);
    static LOCKOUT_NOW: AtomicI64 = AtomicI64::new(1_000_000);

    /// An authenticator on a memory store; the clock is [`NOW`] unless `settings` has one.
    fn native(settings: NativeSettings) -> (NativeAuthenticator, Arc<Memory>) {
        let store = Arc::new(Memory::default());
        (NativeAuthenticator::new(settings, store.clone()), store)
    }

    fn settings() -> NativeSettings {
        NativeSettings {
            clock: || NOW.load(Ordering::SeqCst),
            ..NativeSettings::default()
        }
    }

    fn signup(name: &str, pw: &str) -> Signup {
        Signup {
            name: name.into(),
            password: pw.into(),
            confirmation: pw.into(),
            ..Signup::default()
        }
    }

    async fn login(a: &NativeAuthenticator, name: &str, pw: &str) -> bool {
        a.authenticate(&LoginRequest::password(name, pw))
            .await
            .unwrap()
            .is_some()
    }

    #[tokio::test]
    async fn weak_passwords_and_bad_names_are_refused_at_signup() {
        let (a, _) = native(settings());
        for (name, pw, why) in [
            ("alice", "short", "at least 8"),
            ("alice", "Password1", "too common"),
            ("alice", "alice", "at least 8"),
            ("alicealice", "alicealice", "too common"),
            ("a b", "a-long-passphrase", "spaces"),
        ] {
            match a.signup(&signup(name, pw)).await.unwrap() {
                SignupOutcome::Refused(m) => assert!(m.contains(why), "{name}/{pw}: {m}"),
                other => panic!("{name}/{pw}: {other:?}"),
            }
        }
        let mut mismatch = signup("alice", "a-long-passphrase");
        mismatch.confirmation = "something else".into();
        assert!(matches!(
            a.signup(&mismatch).await.unwrap(),
            SignupOutcome::Refused(_)
        ));
    }

    #[tokio::test]
    async fn an_account_logs_in_once_approved_and_the_hash_is_argon2id() {
        let (a, store) = native(settings());
        let out = a
            .signup(&signup("alice", "correct horse battery"))
            .await
            .unwrap();
        assert_eq!(
            out,
            SignupOutcome::Created {
                authorized: false,
                otp_secret: None
            }
        );
        let phc = store.0.lock().unwrap()["alice"]["password"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(
            !login(&a, "alice", "correct horse battery").await,
            "not approved yet"
        );
        assert!(a.set_authorized("alice", true).await.unwrap());
        assert!(login(&a, "alice", "correct horse battery").await);
        assert!(
            login(&a, "Alice", "correct horse battery").await,
            "names in any case"
        );
        assert!(!login(&a, "alice", "wrong password!").await);
        assert!(
            !a.discard("alice").await.unwrap(),
            "an approved account is not discarded"
        );
        assert!(matches!(
            a.signup(&signup("alice", "another long one")).await.unwrap(),
            SignupOutcome::Refused(m) if m.contains("taken")
        ));
    }

    #[tokio::test]
    async fn lockout_counts_failures_and_expires() {
        let (a, _) = native(NativeSettings {
            open_signup: true,
            allowed_failed_logins: 2,
            seconds_before_next_try: 60,
            clock: || LOCKOUT_NOW.load(Ordering::SeqCst),
            ..settings()
        });
        a.signup(&signup("bob", "a fine passphrase")).await.unwrap();
        assert!(!login(&a, "bob", "nope nope nope").await);
        assert!(!login(&a, "bob", "nope nope nope").await);
        assert!(!login(&a, "bob", "a fine passphrase").await, "locked");
        LOCKOUT_NOW.fetch_add(61_000, Ordering::SeqCst);
        assert!(
            login(&a, "bob", "a fine passphrase").await,
            "unlocked after the wait"
        );
        assert_eq!(
            a.list().await.unwrap()[0].failed_logins,
            0,
            "a success clears the count"
        );
    }

    #[tokio::test]
    async fn two_factor_needs_the_current_code() {
        let (a, store) = native(NativeSettings {
            open_signup: true,
            allow_2fa: true,
            ..settings()
        });
        let mut r = signup("carol", "a fine passphrase");
        r.two_factor = true;
        let SignupOutcome::Created {
            otp_secret: Some(secret),
            ..
        } = a.signup(&r).await.unwrap()
        else {
            panic!("no secret");
        };
        assert_eq!(store.0.lock().unwrap()["carol"]["otp_secret"], secret);
        let bytes = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
        let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
        let now_s = u64::try_from(NOW.load(Ordering::SeqCst) / 1000).unwrap();
        let code = totp.generate(now_s);
        let with = |c: &str| {
            let mut f = BTreeMap::new();
            f.insert("username".to_owned(), "carol".to_owned());
            f.insert("password".to_owned(), "a fine passphrase".to_owned());
            f.insert("2fa".to_owned(), c.to_owned());
            LoginRequest::Form(f)
        };
        assert!(a.authenticate(&with(&code)).await.unwrap().is_some());
        let stale = totp.generate(now_s - 300);
        assert!(a.authenticate(&with(&stale)).await.unwrap().is_none());
        assert!(a.authenticate(&with("")).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn passwords_change_with_the_old_one_or_by_an_admin() {
        let (a, _) = native(NativeSettings {
            open_signup: true,
            ..settings()
        });
        a.signup(&signup("dave", "first passphrase")).await.unwrap();
        let r = a
            .set_password(
                "dave",
                Some("wrong"),
                "second passphrase",
                "second passphrase",
            )
            .await
            .unwrap();
        assert!(r.is_err());
        let r = a
            .set_password("dave", Some("first passphrase"), "123456", "123456")
            .await
            .unwrap();
        assert!(r.is_err(), "still strength-checked");
        let r = a
            .set_password(
                "dave",
                Some("first passphrase"),
                "second passphrase",
                "second passphrase",
            )
            .await
            .unwrap();
        assert!(r.is_ok());
        assert!(login(&a, "dave", "second passphrase").await);
        let r = a
            .set_password("dave", None, "third passphrase", "third passphrase")
            .await
            .unwrap();
        assert!(r.is_ok(), "an admin needs no old password");
        assert!(login(&a, "dave", "third passphrase").await);
        assert!(!login(&a, "dave", "second passphrase").await);
    }

    #[test]
    fn emails_are_checked_like_upstream() {
        assert!(valid_email("a.b+c@example.org"));
        assert!(!valid_email("no-at-sign"));
        assert!(!valid_email("a@nodot"));
        assert!(!valid_email("a b@example.org"));
    }
}
