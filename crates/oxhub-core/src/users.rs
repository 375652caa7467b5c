//! Users: listing, creating (with their default roles), deleting (servers stopped first),
//! and PATCH (validated in full, then one transactional write); `auth_state` for admins.

use crate::clock::now_ms;
use crate::error::{clip, HubError};
use crate::hub::{Hub, ADMIN_ROLE, USER_ROLE};
use crate::identity::{Groups, Identity, Subject};
use oxhub_model::names::UserName;
use oxhub_model::scope::Resource;
use oxhub_store::{UserQuery, UserRow};
use std::sync::Arc;

/// A PATCH of a user, as parsed from the request.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub new_name: Option<String>,
    pub admin: Option<bool>,
    pub groups: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
    /// `Some(Null)` clears it.
    pub auth_state: Option<serde_json::Value>,
}

impl Hub {
    /// A page of users matching the query, with the total.
    pub async fn users_page(&self, query: &UserQuery) -> Result<(Vec<UserRow>, i64), HubError> {
        Ok(self.store.users(query).await?)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>, HubError> {
        Ok(self.store.user(name).await?)
    }

    /// Create users (existing ones are skipped); every new user gets the `user` role, and the
    /// `admin` role when `admin`. Only an admin may create admins.
    pub async fn create_users(
        &self,
        who: &Identity,
        names: &[String],
        admin: bool,
    ) -> Result<Vec<UserRow>, HubError> {
        // Each name is its own resource: a filtered admin:users that does not cover a name
        // hides it (404), as JupyterHub's needs_scope does.
        for n in names {
            HubError::from_access(
                who.scopes
                    .check(&["admin:users"], &Resource::User(n), &Groups::default()),
                &["admin:users"],
                &format!("user {}", clip(n)),
            )?;
        }
        if admin && !who.subject.is_admin() {
            return Err(HubError::Refused(
                "Only admins can grant admin permissions".into(),
            ));
        }
        let mut valid = Vec::new();
        for n in names {
            let parsed = UserName::parse(n)
                .map_err(|e| HubError::Invalid(format!("Invalid username: {}: {e}", clip(n))))?;
            valid.push(parsed.as_str().to_owned());
        }
        let mut created = Vec::new();
        for name in valid {
            if self.store.user(&name).await?.is_some() {
                continue;
            }
            created.push(self.create_user_unchecked(&name, admin).await?);
        }
        Ok(created)
    }

    /// Create one user (the caller has checked permissions and the name). The authenticator's
    /// `add_user` runs first: a `Local*` authenticator refuses a name with no system account.
    pub async fn create_user_unchecked(
        &self,
        name: &str,
        admin: bool,
    ) -> Result<UserRow, HubError> {
        self.authenticator
            .add_user(name)
            .await
            .map_err(|e| match e {
                oxhub_plugin::auth::AuthError::Invalid(why) => {
                    HubError::Invalid(format!("Failed to create user {name}: {why}"))
                }
                other => HubError::from(other),
            })?;
        let cookie_id = crate::hub::new_secret()?;
        let roles: &[&str] = if admin {
            &[USER_ROLE, ADMIN_ROLE]
        } else {
            &[USER_ROLE]
        };
        let row = self
            .store
            .create_user(name, admin, &cookie_id, now_ms(), roles)
            .await?;
        tracing::info!("Created user {name}{}", if admin { " (admin)" } else { "" });
        Ok(row)
    }

    /// Delete a user: their servers are stopped first (routes removed, processes gone), as
    /// JupyterHub does; refused while one of them is pending a spawn or stop.
    pub async fn delete_user(self: &Arc<Self>, who: &Identity, name: &str) -> Result<(), HubError> {
        self.require(who, &["delete:users"], Resource::User(name))
            .await?;
        if let Subject::User { name: me, .. } = &who.subject {
            if me == name {
                return Err(HubError::Invalid("Cannot delete yourself!".into()));
            }
        }
        let target = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("No such user: {name}")))?;
        if target.admin && !who.subject.is_admin() {
            return Err(HubError::Refused("Only admins can modify admins".into()));
        }
        self.stop_all_of_user(name).await?;
        // What the spawner keeps for stopped servers (a PVC) goes with the user.
        let rows = self
            .store
            .servers_of_users(&[name])
            .await?
            .remove(name)
            .unwrap_or_default();
        for row in &rows {
            self.spawner
                .delete_forever(name, &row.name, &row.state)
                .await?;
        }
        self.store.delete_user(name).await?;
        if let Some(accounts) = self.authenticator.accounts() {
            accounts.forget(name).await?;
        }
        tracing::info!("Deleted user {name}");
        Ok(())
    }

    /// `PATCH /users/{name}`: rename, admin flag, group membership (set exactly). Returns the
    /// user's (possibly new) name.
    /// PATCH a user: everything is checked first, then written in one transaction.
    pub async fn patch_user(
        &self,
        who: &Identity,
        name: &str,
        patch: UserChanges,
    ) -> Result<String, HubError> {
        self.require(who, &["admin:users"], Resource::User(name))
            .await?;
        let target = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("No such user: {name}")))?;
        if !who.subject.is_admin() {
            if target.admin {
                return Err(HubError::Refused(
                    "Only admins can modify other admins".into(),
                ));
            }
            if patch.admin == Some(true) {
                return Err(HubError::Refused(
                    "Only admins can grant admin permissions".into(),
                ));
            }
            if patch.roles.is_some() {
                return Err(HubError::Refused("Only admins can assign roles".into()));
            }
        }
        let mut store_patch = oxhub_store::UserPatch {
            admin: patch.admin,
            groups: patch.groups.clone(),
            roles: patch.roles.clone(),
            ..Default::default()
        };
        if let Some(new) = patch.new_name.as_deref().filter(|n| *n != name) {
            let new = UserName::parse(new)
                .map_err(|e| HubError::Invalid(format!("Invalid username {}: {e}", clip(new))))?;
            if self.store.user(new.as_str()).await?.is_some() {
                return Err(HubError::Invalid(format!(
                    "User {} already exists, username must be unique",
                    new.as_str()
                )));
            }
            store_patch.new_name = Some(new.as_str().to_owned());
        }
        if let Some(groups) = &patch.groups {
            for g in groups {
                if self.store.group(g).await?.is_none() {
                    return Err(HubError::Invalid(format!("No such group: {g}")));
                }
            }
            let current = self
                .groups_of(&[name])
                .await?
                .0
                .remove(name)
                .unwrap_or_default();
            let added: Vec<String> = groups
                .iter()
                .filter(|g| !current.contains(*g))
                .cloned()
                .collect();
            let removed: Vec<String> = current
                .iter()
                .filter(|g| !groups.contains(g))
                .cloned()
                .collect();
            self.check_membership_change(who, name, &added, &removed)
                .await?;
        }
        if let Some(roles) = &patch.roles {
            let known: Vec<String> = self
                .store
                .roles()
                .await?
                .into_iter()
                .map(|r| r.name)
                .collect();
            if let Some(r) = roles.iter().find(|r| !known.contains(r)) {
                return Err(HubError::Invalid(format!("No such role: {r}")));
            }
            if patch
                .admin
                .is_some_and(|a| a != roles.iter().any(|r| r == ADMIN_ROLE))
            {
                return Err(HubError::Invalid(
                    "admin and roles disagree about the admin role".into(),
                ));
            }
        }
        if let Some(state) = &patch.auth_state {
            self.require(who, &["admin:auth_state"], Resource::User(name))
                .await?;
            store_patch.auth_state = Some(match state {
                serde_json::Value::Null => None,
                value => Some(
                    self.crypt
                        .encrypt(value)
                        .map_err(|e| HubError::Invalid(e.to_string()))?,
                ),
            });
        }
        self.store
            .patch_user(name, &store_patch, ADMIN_ROLE)
            .await
            .map_err(|e| match e {
                oxhub_store::StoreError::Conflict(_) => HubError::Invalid(format!(
                    "User {} already exists, username must be unique",
                    store_patch.new_name.as_deref().unwrap_or(name)
                )),
                oxhub_store::StoreError::NotFound => HubError::Conflict(format!(
                    "User {name}, a group or a role changed while patching; nothing was changed"
                )),
                other => other.into(),
            })?;
        let current = store_patch.new_name.unwrap_or_else(|| name.to_owned());
        tracing::info!("{} patched user {current}", who.subject.name());
        Ok(current)
    }

    /// The decrypted `auth_state` of a user if the caller holds `admin:auth_state` for them
    /// (`Some(null)` when there is none).
    pub async fn auth_state_for(
        &self,
        who: &Identity,
        name: &str,
    ) -> Result<Option<serde_json::Value>, HubError> {
        if self
            .require(who, &["admin:auth_state"], Resource::User(name))
            .await
            .is_err()
        {
            return Ok(None);
        }
        let Some(view) = self.user_view(name).await? else {
            return Ok(None);
        };
        Ok(Some(match &view.row.auth_state {
            None => serde_json::Value::Null,
            Some(data) => match self.crypt.decrypt(data) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("auth_state of {name}: {e}");
                    serde_json::Value::Null
                }
            },
        }))
    }
}
