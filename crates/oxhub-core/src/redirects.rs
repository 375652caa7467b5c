//! Redirect logins (OAuth, OpenID Connect): the hub's half. Starting one records a pending
//! login under a fresh random `state` — what the authenticator asked to keep (a PKCE
//! verifier, a nonce), where to go afterwards — and the web layer binds that state to the
//! browser with a cookie. The callback must bring the same state in its URL and its cookie;
//! the record is taken out on first use, so a state works once, and only for ten minutes.
//! The verifier and nonce never leave the hub.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::Hub;
use crate::login::{Login, LoginRefused};
use oxhub_plugin::auth::{LoginFlow, LoginRequest};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// How long a started login may take to come back.
const TTL_MS: i64 = 10 * 60 * 1000;
/// At most this many logins in flight; the oldest go first.
const MAX_PENDING: usize = 10_000;

struct Pending {
    keep: Value,
    callback_url: String,
    next: Option<String>,
    created_ms: i64,
}

/// Logins sent to an identity provider and not yet back.
pub(crate) struct PendingLogins {
    by_state: Mutex<HashMap<String, Pending>>,
    max: usize,
}

impl Default for PendingLogins {
    fn default() -> PendingLogins {
        PendingLogins {
            by_state: Mutex::new(HashMap::new()),
            max: MAX_PENDING,
        }
    }
}

impl PendingLogins {
    fn insert(&self, state: String, pending: Pending, now: i64) {
        let mut map = self.by_state.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, p| now - p.created_ms < TTL_MS);
        if map.len() >= self.max {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, p)| p.created_ms)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(state, pending);
    }

    fn take(&self, state: &str, now: i64) -> Option<Pending> {
        let p = self
            .by_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(state)?;
        (now - p.created_ms < TTL_MS).then_some(p)
    }
}

/// A started redirect login.
#[derive(Debug, Clone)]
pub struct RedirectStart {
    /// Goes in the browser's state cookie.
    pub state: String,
    /// The identity provider's authorize URL.
    pub url: String,
}

/// A finished redirect login, or why not.
#[derive(Debug)]
pub enum RedirectOutcome {
    LoggedIn { login: Login, next: Option<String> },
    Refused(LoginRefused),
}

impl Hub {
    /// Whether logins go through an identity provider.
    pub fn login_flow(&self) -> LoginFlow {
        self.authenticator.flow()
    }

    /// The "Sign in with ..." name, the post-logout URL and the refusal text of the
    /// authenticator (empty when it has none).
    pub fn login_texts(&self) -> (&str, &str, &str) {
        let a = &self.authenticator;
        (
            a.login_service(),
            a.logout_redirect_url(),
            a.refused_message(),
        )
    }

    /// Start a redirect login coming back to `callback_url`, then to `next`.
    pub async fn begin_redirect_login(
        &self,
        callback_url: &str,
        next: Option<String>,
    ) -> Result<RedirectStart, HubError> {
        let state = crate::tokens::generate()
            .map_err(|e| HubError::Internal(format!("no randomness for an OAuth state: {e}")))?;
        let redirect = self
            .authenticator
            .begin_redirect(&state, callback_url)
            .await?;
        self.pending_logins.insert(
            state.clone(),
            Pending {
                keep: redirect.keep,
                callback_url: callback_url.to_owned(),
                next,
                created_ms: now_ms(),
            },
            now_ms(),
        );
        Ok(RedirectStart {
            state,
            url: redirect.url,
        })
    }

    /// Finish a redirect login: `cookie_state` from the browser's cookie, `params` from the
    /// callback's query. A missing, different, used or expired state is a 400.
    pub async fn finish_redirect_login(
        &self,
        cookie_state: Option<&str>,
        params: BTreeMap<String, String>,
        session_id: &str,
        client: Option<IpAddr>,
    ) -> Result<RedirectOutcome, HubError> {
        if let Some(error) = params.get("error") {
            let why = params.get("error_description").unwrap_or(error);
            return Err(HubError::Invalid(format!(
                "OAuth error: {}",
                oxhub_model::names::clip(why)
            )));
        }
        if params.get("code").is_none_or(|c| c.is_empty()) {
            return Err(HubError::Invalid(
                "OAuth callback made without a code".into(),
            ));
        }
        let Some(cookie_state) = cookie_state.filter(|s| !s.is_empty()) else {
            return Err(HubError::Invalid("OAuth state missing from cookies".into()));
        };
        let Some(url_state) = params.get("state").filter(|s| !s.is_empty()) else {
            return Err(HubError::Invalid(
                "OAuth state missing from the callback".into(),
            ));
        };
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(cookie_state.as_bytes(), url_state.as_bytes()).into();
        if !same {
            return Err(HubError::Invalid("OAuth state mismatch".into()));
        }
        let Some(pending) = self.pending_logins.take(url_state, now_ms()) else {
            return Err(HubError::Invalid(
                "OAuth state expired or already used; please log in again".into(),
            ));
        };
        let request = LoginRequest::Callback {
            params,
            callback_url: pending.callback_url,
            kept: pending.keep,
        };
        Ok(match self.login(&request, session_id, client).await? {
            Ok(login) => RedirectOutcome::LoggedIn {
                login,
                next: pending.next,
            },
            Err(refused) => RedirectOutcome::Refused(refused),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(at: i64) -> Pending {
        Pending {
            keep: Value::Null,
            callback_url: "/cb".into(),
            next: None,
            created_ms: at,
        }
    }

    #[test]
    fn a_state_works_once_and_not_after_ten_minutes() {
        let p = PendingLogins::default();
        p.insert("a".into(), pending(0), 0);
        p.insert("b".into(), pending(0), 0);
        assert!(p.take("a", 1000).is_some());
        assert!(p.take("a", 1000).is_none(), "single use");
        assert!(p.take("b", TTL_MS).is_none(), "expired");
        assert!(p.take("nope", 0).is_none());
    }

    #[test]
    fn the_table_is_bounded() {
        let p = PendingLogins {
            max: 50,
            ..PendingLogins::default()
        };
        for i in 0..55 {
            p.insert(format!("s{i}"), pending(i), i);
        }
        assert_eq!(p.by_state.lock().unwrap().len(), 50);
        assert!(p.take("s0", 60).is_none(), "the oldest went first");
        assert!(p.take("s54", 60).is_some());
    }
}
