//! Refreshing a user's authentication (JupyterHub's `refresh_user`): the authenticator is
//! asked again whether the login still holds — with OAuth, whether the stored access token
//! still reads the user's data, or a refresh token gets new ones — at most every
//! `auth_refresh_age` seconds per user (and on the first request after a restart), and
//! before every spawn when `refresh_pre_spawn` is on. New facts (admin, groups,
//! `auth_state`) are written as a login writes them. Allow and block rules are not run again,
//! as upstream.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::Hub;
use oxhub_plugin::auth::Refreshed;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// When each user's authentication was last found good.
#[derive(Default)]
pub(crate) struct RefreshTimes {
    by_user: Mutex<HashMap<String, i64>>,
}

impl RefreshTimes {
    fn due(&self, user: &str, age_ms: i64, now: i64) -> bool {
        let map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(user).is_none_or(|at| now - at >= age_ms)
    }

    pub(crate) fn mark(&self, user: &str, now: i64) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(user.to_owned(), now);
    }

    fn forget(&self, user: &str) {
        let mut map = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(user);
    }
}

impl Hub {
    /// Refresh `user`'s authentication if `auth_refresh_age` has passed (always when `force`):
    /// `Ok(false)` when the user must log in again.
    pub async fn refresh_user(&self, user: &str, force: bool) -> Result<bool, HubError> {
        let age_ms = self
            .config
            .authenticator
            .auth_refresh_age
            .saturating_mul(1000);
        let now = now_ms();
        if !force && !self.refreshed.due(user, age_ms, now) {
            return Ok(true);
        }
        let auth_state = self.stored_auth_state(user).await?;
        let refreshed = self.authenticator.refresh(user, auth_state.as_ref()).await;
        if refreshed.is_err() {
            // The identity provider is down: ask again after `auth_refresh_age`, not on every
            // request (each would wait for it to time out).
            self.refreshed.mark(user, now);
        }
        match refreshed? {
            Refreshed::Unchanged => {}
            Refreshed::Updated(model) => {
                let Some(row) = self.store.user(user).await? else {
                    return Ok(false);
                };
                let admin = if self
                    .config
                    .authenticator
                    .admin_users
                    .iter()
                    .any(|a| a == user)
                {
                    Some(true)
                } else {
                    model.admin
                };
                self.persist_auth_model(&row, &model, admin).await?;
            }
            Refreshed::Expired => {
                tracing::info!("Auth of {user} has expired; a new login is needed");
                self.refreshed.forget(user);
                return Ok(false);
            }
        }
        self.refreshed.mark(user, now);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_fall_due_after_the_age() {
        let t = RefreshTimes::default();
        assert!(t.due("alice", 300_000, 0), "never refreshed: due");
        t.mark("alice", 1_000);
        assert!(!t.due("alice", 300_000, 200_000));
        assert!(t.due("alice", 300_000, 301_000));
        t.forget("alice");
        assert!(t.due("alice", 300_000, 2_000));
    }
}
