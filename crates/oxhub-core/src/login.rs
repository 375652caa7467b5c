//! The login pipeline, the only caller of the [`Authenticator`] contract: every login runs
//! `authenticate`, then the stages every authenticator shares (authenticators.md §1.2):
//! `normalize_username`, name validation, the block and allow rules, admin, and persisting
//! the auth model (admin flag, managed groups, `auth_state`); then a login session.
//!
//! A login session is an API token owned by the user, tied to the browser's
//! `jupyterhub-session-id` and issued to the internal client [`LOGIN_CLIENT`]; the signed hub
//! cookie carries it. Logout deletes every token of the session (its OAuth tokens too), so a
//! cookie captured before logout stops working.
//!
//! [`Authenticator`]: oxhub_plugin::auth::Authenticator

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::{Hub, ADMIN_ROLE};
use crate::tokens::{LOGIN_CLIENT, LOGIN_NOTE};
use oxhub_model::names::{GroupName, UserName};
use oxhub_plugin::auth::{Authenticated, LoginRequest};
use oxhub_store::{UserPatch, UserRow};
use std::net::IpAddr;

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

    /// Check the login attempt and the allow rules, create or update the user, and start a
    /// login session bound to `session_id`.
    ///
    /// Repeated failures for one name, or from one `client` address, make the next attempts
    /// wait ([`HubError::Busy`], with the seconds to wait), whatever the authenticator.
    pub async fn login(
        &self,
        request: &LoginRequest,
        session_id: &str,
        client: Option<IpAddr>,
    ) -> Result<Result<Login, LoginRefused>, HubError> {
        // The name as typed, normalised, keys the per-name count (empty for redirect logins).
        let key = self.normalize_username(request.field("username"));
        let now = now_ms();
        if let Some(ms) = self.throttle.wait(&key, client, now) {
            let secs = u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1);
            tracing::warn!(
                "Login for {} from {} refused: too many failed attempts (retry in {secs} s)",
                crate::error::clip(&key),
                client.map_or_else(|| "?".to_owned(), |c| c.to_string())
            );
            return Err(HubError::Busy(
                format!("Too many failed login attempts. Try again in {secs} seconds."),
                secs,
            ));
        }
        // Accounts the hub keeps are stored by normalised name (as sign-up made them), so
        // their authenticator is asked with that name; others see the name as typed.
        let normalised;
        let request = match request {
            LoginRequest::Form(fields) if self.authenticator.accounts().is_some() => {
                let mut fields = fields.clone();
                fields.insert("username".into(), key.clone());
                normalised = LoginRequest::Form(fields);
                &normalised
            }
            other => other,
        };
        let Some(model) = self.authenticator.authenticate(request).await? else {
            tracing::warn!(
                "Failed login for {} from {}",
                crate::error::clip(&key),
                client.map_or_else(|| "?".to_owned(), |c| c.to_string())
            );
            self.throttle.failed(&key, client, now);
            return Ok(Err(LoginRefused::BadCredentials));
        };
        self.throttle.succeeded(&key);
        let name = self.normalize_username(&model.name);
        if UserName::parse(&name).is_err() || !self.username_allowed_by_pattern(&name) {
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
            || (existing.is_some() && a.allow_existing_users)
            || self.authenticator.check_allowed(&name, &model).await?;
        if !allowed {
            tracing::warn!("User {} not allowed", crate::error::clip(&name));
            return Ok(Err(LoginRefused::NotAllowed));
        }
        // `admin_users` only grants; the authenticator's word (admin groups) grants and revokes.
        let mut model = model;
        model.name = name;
        if a.admin_users.contains(&model.name) {
            model.admin = Some(true);
        }
        // `post_auth_hook` (a command here) sees and may change the model; a name it changes
        // is checked again.
        if !a.post_auth_hook.is_empty() {
            let Some(changed) = crate::hooks::run_post_auth_hook(&a.post_auth_hook, &model).await?
            else {
                return Ok(Err(LoginRefused::NotAllowed));
            };
            if changed.name != model.name
                && (UserName::parse(&changed.name).is_err()
                    || a.blocked_users.contains(&changed.name))
            {
                tracing::warn!(
                    "post_auth_hook named {} (refused)",
                    crate::error::clip(&changed.name)
                );
                return Ok(Err(LoginRefused::InvalidName));
            }
            model = changed;
        }
        let name = model.name.clone();
        let admin = model.admin;
        let existing = if existing.as_ref().is_some_and(|u| u.name == name) {
            existing
        } else {
            self.store.user(&name).await?
        };
        let user = match existing {
            Some(user) => user,
            None => {
                self.create_user_unchecked(&name, admin.unwrap_or(false))
                    .await?
            }
        };
        self.persist_auth_model(&user, &model, admin).await?;
        // A login is as fresh as authentication gets.
        self.refreshed.mark(&name, now_ms());
        let token = self.start_session(&name, session_id).await?;
        tracing::info!("User logged in: {name}");
        Ok(Ok(Login { user: name, token }))
    }

    /// `username_pattern`, anchored at the start as Python's `re.match` is.
    pub(crate) fn username_allowed_by_pattern(&self, name: &str) -> bool {
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

    /// Write what the auth model says about an existing user (`auth_to_user`): the admin flag
    /// when it is set and differs, the groups when `manage_groups` is on (missing groups are
    /// created; the list becomes exactly the user's groups), and `auth_state` (stored encrypted
    /// when `enable_auth_state` is on, cleared when it is off). One transaction.
    pub(crate) async fn persist_auth_model(
        &self,
        user: &UserRow,
        model: &Authenticated,
        admin: Option<bool>,
    ) -> Result<(), HubError> {
        let a = &self.config.authenticator;
        let mut patch = UserPatch {
            admin: admin.filter(|want| *want != user.admin),
            ..UserPatch::default()
        };
        if a.manage_groups {
            if let Some(groups) = &model.groups {
                let mut names = Vec::with_capacity(groups.len());
                for g in groups {
                    match GroupName::parse(g) {
                        Ok(name) => names.push(name.as_str().to_owned()),
                        Err(e) => tracing::warn!(
                            "ignoring group {} of {}: {e}",
                            crate::error::clip(g),
                            user.name
                        ),
                    }
                }
                names.sort();
                names.dedup();
                for g in &names {
                    if self.store.group(g).await?.is_none() {
                        match self.store.create_group(g, &serde_json::json!({})).await {
                            Ok(_) | Err(oxhub_store::StoreError::Conflict(_)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                patch.groups = Some(names);
            }
        }
        if a.manage_roles {
            if let Some(roles) = &model.roles {
                let mut names = self.managed_roles(&user.name, roles).await?;
                // The admin flag decides the admin role, whatever the list says.
                if admin.unwrap_or(user.admin) {
                    names.push(ADMIN_ROLE.to_owned());
                }
                patch.roles = Some(names);
            }
        }
        if a.enable_auth_state {
            if let Some(state) = &model.auth_state {
                let sealed = self
                    .crypt
                    .encrypt(state)
                    .map_err(|e| HubError::Internal(format!("auth_state: {e}")))?;
                patch.auth_state = Some(Some(sealed));
            }
        } else if user.auth_state.is_some() {
            patch.auth_state = Some(None);
        }
        let changes = patch.admin.is_some()
            || patch.groups.is_some()
            || patch.roles.is_some()
            || patch.auth_state.is_some();
        if changes {
            self.store
                .patch_user(&user.name, &patch, ADMIN_ROLE)
                .await?;
        }
        Ok(())
    }

    /// `manage_roles`: the roles an auth model names, each created or updated when it comes
    /// with scopes (the default roles cannot be redefined; a bad scope refuses the login).
    /// Returns the user's direct roles: these, the default `user` role, and `admin` when the
    /// user is an admin (the admin flag decides that one).
    async fn managed_roles(
        &self,
        user: &str,
        roles: &[serde_json::Value],
    ) -> Result<Vec<String>, HubError> {
        let mut names = vec![crate::hub::USER_ROLE.to_owned()];
        for role in roles {
            let (name, spec) = match role {
                serde_json::Value::String(name) => (name.clone(), None),
                serde_json::Value::Object(map) => match map.get("name").and_then(|n| n.as_str()) {
                    Some(name) => (name.to_owned(), Some(map)),
                    None => {
                        return Err(HubError::Invalid(format!(
                            "manage_roles: a role of {user} has no name"
                        )))
                    }
                },
                _ => {
                    return Err(HubError::Invalid(format!(
                        "manage_roles: a role of {user} is neither a name nor a role"
                    )))
                }
            };
            let builtin = oxhub_model::scope::DEFAULT_ROLES
                .iter()
                .any(|r| r.name == name);
            if let Some(spec) = spec.filter(|s| s.contains_key("scopes")) {
                if builtin {
                    tracing::warn!("manage_roles: the default role {name} cannot be redefined");
                } else {
                    let scopes: Vec<String> = spec["scopes"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    for s in &scopes {
                        self.vocab.check(s).map_err(|e| {
                            HubError::Invalid(format!("manage_roles: role {name}: {e}"))
                        })?;
                    }
                    let description = spec
                        .get("description")
                        .and_then(|d| d.as_str())
                        .unwrap_or("");
                    self.store.upsert_role(&name, description, &scopes).await?;
                }
            } else if !self.store.roles().await?.iter().any(|r| r.name == name) {
                return Err(HubError::Invalid(format!(
                    "manage_roles: {user}'s role {name} does not exist and comes without scopes"
                )));
            }
            if name != ADMIN_ROLE && !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(names)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Behaviour, TestAuthenticator, TestSpawner};
    use serde_json::json;
    use std::sync::Arc;

    /// A hub with a copy of `auth` (which shares its table of users, so a test can change
    /// what the authenticator says between logins).
    async fn hub_with(config: oxhub_config::HubConfig, auth: &TestAuthenticator) -> Arc<Hub> {
        let spawner = TestSpawner::new(Behaviour::Instant);
        testing::hub(config, Box::new(auth.clone()), spawner).await
    }

    async fn login(hub: &Hub, user: &str) -> Result<Login, LoginRefused> {
        hub.login(&LoginRequest::password(user, "pw"), "session", None)
            .await
            .unwrap()
    }

    async fn groups(hub: &Hub, user: &str) -> Vec<String> {
        let mut g = hub.store.user_groups(user).await.unwrap();
        g.sort();
        g
    }

    fn accepting(names: &[&str]) -> TestAuthenticator {
        let auth = TestAuthenticator::default();
        for n in names {
            auth.accept(n, Authenticated::named(n));
        }
        auth
    }

    #[tokio::test]
    async fn allow_and_block_rules_apply_to_every_authenticator() {
        let mut config = testing::config();
        config.authenticator.allowed_users = vec!["alice".into(), "carol".into()];
        config.authenticator.blocked_users = vec!["carol".into()];
        let hub = hub_with(config, &accepting(&["alice", "bob", "carol"])).await;
        let ok = login(&hub, "alice").await.unwrap();
        assert_eq!(ok.user, "alice");
        // The session token is a working credential of alice's.
        let id = hub.authenticate(&ok.token).await.unwrap().unwrap();
        assert_eq!(id.subject.name(), "alice");
        assert_eq!(id.session_id.as_deref(), Some("session"));
        assert_eq!(
            login(&hub, "bob").await.unwrap_err(),
            LoginRefused::NotAllowed
        );
        assert_eq!(
            login(&hub, "carol").await.unwrap_err(),
            LoginRefused::Blocked
        );
        assert_eq!(
            login(&hub, "mallory").await.unwrap_err(),
            LoginRefused::BadCredentials
        );
        assert!(hub.store.user("bob").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn nobody_is_allowed_by_default_unless_the_authenticator_says_so() {
        let hub = hub_with(testing::config(), &accepting(&["alice"])).await;
        assert_eq!(
            login(&hub, "alice").await.unwrap_err(),
            LoginRefused::NotAllowed
        );
        let mut auth = accepting(&["alice"]);
        auth.allow_all_by_default = true;
        let hub = hub_with(testing::config(), &auth).await;
        assert!(login(&hub, "alice").await.is_ok());
    }

    #[tokio::test]
    async fn names_are_normalised_then_validated() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        config.authenticator.username_map = oxhub_config::Value::Dict(vec![(
            oxhub_config::Value::Str("bobby".into()),
            oxhub_config::Value::Str("robert".into()),
        )]);
        config.authenticator.username_pattern = "^[a-z]+$".into();
        let auth = TestAuthenticator::default();
        auth.accept("Alice", Authenticated::named("ALICE"));
        auth.accept("bobby", Authenticated::named("Bobby"));
        auth.accept("evil", Authenticated::named("../x"));
        auth.accept("digits", Authenticated::named("abc123"));
        let hub = hub_with(config, &auth).await;
        assert_eq!(login(&hub, "Alice").await.unwrap().user, "alice");
        assert_eq!(login(&hub, "bobby").await.unwrap().user, "robert");
        assert_eq!(
            login(&hub, "evil").await.unwrap_err(),
            LoginRefused::InvalidName
        );
        assert_eq!(
            login(&hub, "digits").await.unwrap_err(),
            LoginRefused::InvalidName
        );
    }

    #[tokio::test]
    async fn admin_comes_from_admin_users_or_the_authenticator() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        let auth = TestAuthenticator::default();
        auth.accept("admin", Authenticated::named("admin"));
        auth.accept(
            "eve",
            Authenticated {
                admin: Some(true),
                ..Authenticated::named("eve")
            },
        );
        let hub = hub_with(config, &auth).await;
        login(&hub, "admin").await.unwrap();
        assert!(hub.store.user("admin").await.unwrap().unwrap().admin);
        login(&hub, "eve").await.unwrap();
        let eve = testing::identity(&hub, "eve").await;
        assert!(eve.subject.is_admin());
        // The authenticator takes it away again: flag and role both.
        auth.accept(
            "eve",
            Authenticated {
                admin: Some(false),
                ..Authenticated::named("eve")
            },
        );
        login(&hub, "eve").await.unwrap();
        let eve = testing::identity(&hub, "eve").await;
        assert!(!eve.subject.is_admin());
    }

    #[tokio::test]
    async fn managed_groups_become_exactly_the_authenticators_list() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        config.authenticator.manage_groups = true;
        let auth = TestAuthenticator::default();
        auth.accept(
            "alice",
            Authenticated {
                groups: Some(vec!["physics".into(), "staff".into(), "bad/name".into()]),
                ..Authenticated::named("alice")
            },
        );
        let hub = hub_with(config, &auth).await;
        login(&hub, "alice").await.unwrap();
        assert_eq!(groups(&hub, "alice").await, ["physics", "staff"]);
        auth.accept(
            "alice",
            Authenticated {
                groups: Some(vec!["staff".into()]),
                ..Authenticated::named("alice")
            },
        );
        login(&hub, "alice").await.unwrap();
        assert_eq!(groups(&hub, "alice").await, ["staff"]);
        // `None` leaves membership alone.
        auth.accept("alice", Authenticated::named("alice"));
        login(&hub, "alice").await.unwrap();
        assert_eq!(groups(&hub, "alice").await, ["staff"]);
    }

    #[tokio::test]
    async fn groups_are_left_alone_without_manage_groups() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        let auth = TestAuthenticator::default();
        auth.accept(
            "alice",
            Authenticated {
                groups: Some(vec!["physics".into()]),
                ..Authenticated::named("alice")
            },
        );
        let hub = hub_with(config, &auth).await;
        login(&hub, "alice").await.unwrap();
        assert!(groups(&hub, "alice").await.is_empty());
        assert!(hub.store.group("physics").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn auth_state_is_stored_encrypted_and_cleared_when_disabled() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        config.authenticator.enable_auth_state = true;
        let auth = TestAuthenticator::default();
        let state = json!({ "access_token": "t0ps3cret" });
        auth.accept(
            "alice",
            Authenticated {
                auth_state: Some(state.clone()),
                roles: None,
                ..Authenticated::named("alice")
            },
        );
        let hub = hub_with(config.clone(), &auth).await;
        login(&hub, "alice").await.unwrap();
        let sealed = hub
            .store
            .user("alice")
            .await
            .unwrap()
            .unwrap()
            .auth_state
            .unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("t0ps3cret"));
        let admin = testing::identity(&hub, "admin").await;
        assert_eq!(
            hub.auth_state_for(&admin, "alice").await.unwrap(),
            Some(state)
        );

        // The same database under a hub with auth state off: the next login clears it.
        let store = hub.store.clone();
        config.authenticator.enable_auth_state = false;
        let auth = accepting(&["alice"]);
        let parts = crate::hub::Parts {
            authenticator: Box::new(auth),
            spawner: TestSpawner::new(Behaviour::Instant),
            proxy: None,
            environment: Default::default(),
        };
        let hub = Hub::new(config, store, parts).unwrap();
        login(&hub, "alice").await.unwrap();
        assert!(hub
            .store
            .user("alice")
            .await
            .unwrap()
            .unwrap()
            .auth_state
            .is_none());
    }

    #[tokio::test]
    async fn the_backends_allow_rule_adds_to_allowed_users() {
        let mut config = testing::config();
        config.authenticator.allowed_users = vec!["alice".into()];
        let mut auth = accepting(&["alice", "bob", "carol"]);
        auth.backend_allows = vec!["bob".into()];
        let hub = hub_with(config, &auth).await;
        assert!(login(&hub, "alice").await.is_ok());
        assert!(login(&hub, "bob").await.is_ok());
        assert_eq!(
            login(&hub, "carol").await.unwrap_err(),
            LoginRefused::NotAllowed
        );
    }

    #[tokio::test]
    async fn admin_users_wins_over_the_authenticators_no() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        let auth = TestAuthenticator::default();
        auth.accept(
            "admin",
            Authenticated {
                admin: Some(false),
                ..Authenticated::named("admin")
            },
        );
        let hub = hub_with(config, &auth).await;
        login(&hub, "admin").await.unwrap();
        assert!(hub.store.user("admin").await.unwrap().unwrap().admin);
    }

    #[tokio::test]
    async fn a_user_without_a_system_account_is_not_created() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        let mut auth = accepting(&["alice", "bob"]);
        auth.system_users = Some(vec!["admin".into(), "alice".into()]);
        let hub = hub_with(config, &auth).await;
        assert!(login(&hub, "alice").await.is_ok());
        let err = hub
            .login(&LoginRequest::password("bob", "pw"), "s", None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HubError::Invalid(m) if m.starts_with("Failed to create user bob")),
            "{err}"
        );
        assert!(hub.store.user("bob").await.unwrap().is_none());
        // The API refuses the same way (JupyterHub answers 400).
        let admin = testing::identity(&hub, "admin").await;
        let err = hub
            .create_users(&admin, &["bob".into()], false)
            .await
            .unwrap_err();
        assert!(matches!(err, HubError::Invalid(_)), "{err}");
    }

    #[tokio::test]
    async fn repeated_failures_for_a_name_make_it_wait() {
        let mut config = testing::config();
        config.authenticator.allow_all = true;
        let hub = hub_with(config, &accepting(&["alice"])).await;
        for _ in 0..6 {
            assert_eq!(
                login(&hub, "mallory").await.unwrap_err(),
                LoginRefused::BadCredentials
            );
        }
        let err = hub
            .login(&LoginRequest::password("Mallory", "pw"), "s", None)
            .await
            .unwrap_err();
        assert!(matches!(err, HubError::Busy(_, 1)), "{err}");
        // Other names are not slowed down by mallory's failures.
        assert!(login(&hub, "alice").await.is_ok());
    }

    #[tokio::test]
    async fn an_identity_source_that_is_down_is_an_outage_not_a_refusal() {
        let hub = hub_with(testing::config(), &accepting(&["alice"])).await;
        let err = hub
            .login(&LoginRequest::password("alice", "down"), "s", None)
            .await
            .unwrap_err();
        assert!(matches!(err, HubError::Outage(_)), "{err}");
    }
}
