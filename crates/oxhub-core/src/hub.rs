//! The hub: the store, the validated configuration and the scope vocabulary, and the operations
//! the REST API exposes. Every mutating operation takes the caller's [`Identity`] and checks
//! the scopes itself, so no handler can skip a check.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::identity::{Groups, Identity, Subject};
use crate::tokens;
use oxhub_config::HubConfig;
use oxhub_model::names::{GroupName, UserName};
use oxhub_model::scope::{Access, Owner, Resource, ScopeSet, Vocabulary};
use oxhub_store::{Owner as TokenOwner, Store, UserQuery, UserRow};
use std::collections::BTreeSet;
use std::sync::Arc;

pub struct Hub {
    pub store: Store,
    pub config: Arc<HubConfig>,
    pub vocab: Vocabulary,
}

/// The roles that grant `admin=True` (scopes.md §4: kept in sync with the flag).
pub const ADMIN_ROLE: &str = "admin";
pub const USER_ROLE: &str = "user";

fn check(access: Access, required: &[&str], what: &str) -> Result<(), HubError> {
    match access {
        Access::Allowed => Ok(()),
        Access::NotFound => Err(HubError::NotFound(format!(
            "No access to resources or resources not found: {what}"
        ))),
        Access::Forbidden => Err(HubError::Forbidden(required.join(", "))),
    }
}

impl Hub {
    /// Open the database named by the configuration and build the scope vocabulary.
    pub async fn open(config: HubConfig) -> Result<Hub, HubError> {
        let store = Store::open(&config.hub.db_url)
            .await
            .map_err(|e| HubError::Internal(e.to_string()))?;
        let custom = match &config.hub.custom_scopes {
            oxhub_config::Value::Dict(_) => config.hub.custom_scopes.to_json(),
            _ => serde_json::Value::Object(serde_json::Map::new()),
        };
        let custom = custom.as_object().cloned().unwrap_or_default();
        let (vocab, warnings) = Vocabulary::with_custom_scopes(&custom)
            .map_err(|e| HubError::Invalid(format!("JupyterHub.custom_scopes: {e}")))?;
        for w in warnings {
            tracing::warn!("custom_scopes: {w}");
        }
        Ok(Hub {
            store,
            config: Arc::new(config),
            vocab,
        })
    }

    /// The expanded scopes an owner holds through its roles (a user's include their groups').
    pub async fn owner_scopes(&self, owner: Owner<'_>) -> Result<ScopeSet, HubError> {
        let roles = match owner {
            Owner::User(name) => self.store.user_roles(name).await?,
            Owner::Service(name) => {
                self.store
                    .member_roles(oxhub_store::MemberKind::Service, name)
                    .await?
            }
        };
        let mut raw: Vec<String> = Vec::new();
        for role in roles {
            raw.extend(role.scopes);
        }
        let expansion = self
            .vocab
            .expand(&raw, Some(owner), None)
            .map_err(|e| HubError::Internal(format!("role scopes: {e}")))?;
        Ok(expansion.scopes)
    }

    /// Group memberships of these users, for scope checks that name groups (one query).
    pub async fn groups_of(&self, users: &[&str]) -> Result<Groups, HubError> {
        let map = self.store.groups_of_users(users).await?;
        Ok(Groups(
            map.into_iter()
                .map(|(u, g)| (u, g.into_iter().collect::<BTreeSet<_>>()))
                .collect(),
        ))
    }

    /// Resolve an API token to an identity; `None` for unknown, expired or over-long tokens.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Identity>, HubError> {
        if token.is_empty() || token.len() > tokens::MAX_LEN {
            return Ok(None);
        }
        let now = now_ms();
        let hash = tokens::hash(token);
        let candidates = self
            .store
            .tokens_by_prefix(tokens::prefix(token), now)
            .await?;
        let Some(row) = candidates
            .into_iter()
            .find(|t| tokens::same_hash(&t.hash, &hash))
        else {
            return Ok(None);
        };
        let mut user_activity = None;
        let (subject, owner_name) = match &row.owner {
            TokenOwner::User(name) => match self.store.user(name).await? {
                Some(u) => {
                    user_activity = u.last_activity;
                    (
                        Subject::User {
                            name: u.name.clone(),
                            admin: u.admin,
                        },
                        u.name,
                    )
                }
                None => return Ok(None),
            },
            TokenOwner::Service(name) => match self.store.service(name).await? {
                Some(s) => (
                    Subject::Service {
                        name: s.name.clone(),
                        admin: s.admin,
                    },
                    s.name,
                ),
                None => return Ok(None),
            },
        };
        let owner = match &subject {
            Subject::User { .. } => Owner::User(&owner_name),
            Subject::Service { .. } => Owner::Service(&owner_name),
        };
        let owner_scopes = self.owner_scopes(owner).await?;
        let membership = match owner {
            Owner::User(name) => self.groups_of(&[name]).await?,
            Owner::Service(_) => Groups::default(),
        };
        let effective = self
            .vocab
            .token_scopes(&row.scopes, owner, None, &owner_scopes, &membership)
            .map_err(|e| HubError::Internal(format!("token scopes: {e}")))?;
        if !effective.discarded.is_empty() {
            tracing::debug!(
                "token {} lost scopes its owner does not hold: {:?}",
                row.id,
                effective.discarded
            );
        }
        // Activity of the token and its user, throttled by activity_resolution (default 30 s),
        // so reading the API does not write to the database on every request.
        let resolution = self.config.hub.activity_resolution.max(0) * 1000;
        if row.last_activity.is_none_or(|t| now - t >= resolution) {
            self.store.touch_token(row.id, now).await?;
        }
        if let Subject::User { name, .. } = &subject {
            let stale = user_activity.is_none_or(|t| now - t >= resolution);
            if stale && !row.note.starts_with("Server at ") {
                self.store.touch_user(name, now).await?;
            }
        }
        Ok(Some(Identity {
            subject,
            scopes: effective.scopes,
            token_id: Some(row.id),
            session_id: row.session_id,
        }))
    }

    /// Require any of `required` for `resource`; group membership of the resource's user is
    /// loaded when the caller's scopes name groups.
    pub async fn require(
        &self,
        who: &Identity,
        required: &[&str],
        resource: Resource<'_>,
    ) -> Result<(), HubError> {
        let user = match resource {
            Resource::User(u) | Resource::Server { user: u, .. } => Some(u),
            _ => None,
        };
        let membership = match user {
            Some(u) => self.groups_of(&[u]).await?,
            None => Groups::default(),
        };
        check(
            who.scopes.check(required, &resource, &membership),
            required,
            &format!("{resource:?}"),
        )
    }

    /// Mint a token for `owner` with raw `scopes` (default `inherit`); returns the token.
    pub async fn mint_token(
        &self,
        owner: TokenOwner,
        scopes: Vec<String>,
        note: &str,
        expires_in_s: Option<i64>,
    ) -> Result<String, HubError> {
        let token =
            tokens::generate().map_err(|e| HubError::Internal(format!("randomness: {e}")))?;
        let now = now_ms();
        self.store
            .insert_token(
                &oxhub_store::NewToken {
                    prefix: tokens::prefix(&token).to_owned(),
                    hash: tokens::hash(&token),
                    owner,
                    scopes: if scopes.is_empty() {
                        vec!["inherit".into()]
                    } else {
                        scopes
                    },
                    note: note.to_owned(),
                    expires_at: expires_in_s.map(|s| now + s * 1000),
                    session_id: None,
                    oauth_client: None,
                },
                now,
            )
            .await?;
        Ok(token)
    }

    // ---- users ----

    /// A page of users (all matching `name_filter`), with the total.
    pub async fn users_page(
        &self,
        offset: i64,
        limit: i64,
        name_filter: Option<String>,
    ) -> Result<(Vec<UserRow>, i64), HubError> {
        Ok(self
            .store
            .users(&UserQuery {
                offset,
                limit,
                name_filter,
            })
            .await?)
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
        check(
            who.scopes
                .check(&["admin:users"], &Resource::Global, &Groups::default()),
            &["admin:users"],
            "users",
        )?;
        if admin && !who.subject.is_admin() {
            return Err(HubError::Refused(
                "Only admins can grant admin permissions".into(),
            ));
        }
        let mut valid = Vec::new();
        for n in names {
            let parsed = UserName::parse(n)
                .map_err(|e| HubError::Invalid(format!("Invalid username: {n:?}: {e}")))?;
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

    /// Create one user (the caller has checked permissions and the name).
    pub async fn create_user_unchecked(
        &self,
        name: &str,
        admin: bool,
    ) -> Result<UserRow, HubError> {
        let cookie_id =
            tokens::generate().map_err(|e| HubError::Internal(format!("randomness: {e}")))?;
        let row = self
            .store
            .create_user(name, admin, &cookie_id, now_ms())
            .await?;
        self.store
            .grant_role(USER_ROLE, oxhub_store::MemberKind::User, name)
            .await?;
        if admin {
            self.store
                .grant_role(ADMIN_ROLE, oxhub_store::MemberKind::User, name)
                .await?;
        }
        tracing::info!("Created user {name}{}", if admin { " (admin)" } else { "" });
        Ok(row)
    }

    pub async fn delete_user(&self, who: &Identity, name: &str) -> Result<(), HubError> {
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
        self.store.delete_user(name).await?;
        tracing::info!("Deleted user {name}");
        Ok(())
    }

    // ---- groups ----

    fn group_name(name: &str) -> Result<String, HubError> {
        GroupName::parse(name)
            .map(|g| g.as_str().to_owned())
            .map_err(|e| HubError::Invalid(format!("Invalid group name {name:?}: {e}")))
    }

    async fn existing_users(&self, users: &[String]) -> Result<(), HubError> {
        for u in users {
            if self.store.user(u).await?.is_none() {
                return Err(HubError::Invalid(format!("No such user: {u}")));
            }
        }
        Ok(())
    }

    /// `POST /groups` and `POST /groups/{name}`: all or none.
    pub async fn create_groups(
        &self,
        who: &Identity,
        names: &[String],
        users: &[String],
    ) -> Result<Vec<oxhub_store::GroupRow>, HubError> {
        let required = ["admin:groups"];
        check(
            who.scopes
                .check(&required, &Resource::Global, &Groups::default()),
            &required,
            "groups",
        )?;
        if names.is_empty() {
            return Err(HubError::Invalid(
                "Must specify at least one group to create".into(),
            ));
        }
        let names = names
            .iter()
            .map(|n| Self::group_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        for n in &names {
            if self.store.group(n).await?.is_some() {
                return Err(HubError::Conflict(format!("Group {n} already exists")));
            }
        }
        self.existing_users(users).await?;
        let created = self.store.create_groups(&names, users).await?;
        for g in &created {
            tracing::info!("Created group {}", g.name);
        }
        Ok(created)
    }

    async fn require_group(
        &self,
        who: &Identity,
        required: &[&str],
        name: &str,
    ) -> Result<(), HubError> {
        check(
            who.scopes
                .check(required, &Resource::Group(name), &Groups::default()),
            required,
            name,
        )?;
        if self.store.group(name).await?.is_none() {
            return Err(HubError::NotFound(format!("No such group: {name}")));
        }
        Ok(())
    }

    pub async fn delete_group(&self, who: &Identity, name: &str) -> Result<(), HubError> {
        self.require_group(who, &["delete:groups"], name).await?;
        self.store.delete_group(name).await?;
        tracing::info!("Deleted group {name}");
        Ok(())
    }

    /// Add (`add`) or remove users of a group.
    pub async fn change_group_users(
        &self,
        who: &Identity,
        name: &str,
        users: &[String],
        add: bool,
    ) -> Result<(), HubError> {
        self.require_group(who, &["groups"], name).await?;
        self.existing_users(users).await?;
        if add {
            self.store.add_group_members(name, users).await?;
        } else {
            self.store.remove_group_members(name, users).await?;
        }
        Ok(())
    }

    pub async fn set_group_properties(
        &self,
        who: &Identity,
        name: &str,
        properties: &serde_json::Value,
    ) -> Result<(), HubError> {
        self.require_group(who, &["groups"], name).await?;
        if !properties.is_object() {
            return Err(HubError::Invalid(
                "Group properties must be a JSON object".into(),
            ));
        }
        self.store.set_group_properties(name, properties).await?;
        Ok(())
    }

    // ---- tokens ----

    /// A user token's effective scopes, as the token model shows them.
    pub async fn effective_token_scopes(
        &self,
        user: &str,
        raw: &[String],
    ) -> Result<Vec<String>, HubError> {
        let owner_scopes = self.owner_scopes(Owner::User(user)).await?;
        let membership = self.groups_of(&[user]).await?;
        let effective = self
            .vocab
            .token_scopes(raw, Owner::User(user), None, &owner_scopes, &membership)
            .map_err(|e| HubError::Internal(format!("token scopes: {e}")))?;
        Ok(effective.scopes.to_strings())
    }

    async fn require_user_exists(
        &self,
        who: &Identity,
        required: &[&str],
        user: &str,
    ) -> Result<(), HubError> {
        self.require(who, required, Resource::User(user)).await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        Ok(())
    }

    /// A user's tokens (expired ones are purged first).
    pub async fn user_tokens(
        &self,
        who: &Identity,
        user: &str,
    ) -> Result<Vec<oxhub_store::TokenRow>, HubError> {
        self.require_user_exists(who, &["read:tokens"], user)
            .await?;
        self.store.purge_expired_tokens(now_ms()).await?;
        Ok(self
            .store
            .tokens_of(&TokenOwner::User(user.to_owned()))
            .await?)
    }

    pub async fn user_token(
        &self,
        who: &Identity,
        user: &str,
        id: &str,
    ) -> Result<oxhub_store::TokenRow, HubError> {
        let tokens = self.user_tokens(who, user).await?;
        let wanted = id.strip_prefix('a').and_then(|n| n.parse::<i64>().ok());
        tokens
            .into_iter()
            .find(|t| Some(t.id) == wanted)
            .ok_or_else(|| HubError::NotFound(format!("No such token: {id}")))
    }

    pub async fn delete_user_token(
        &self,
        who: &Identity,
        user: &str,
        id: &str,
    ) -> Result<(), HubError> {
        self.require_user_exists(who, &["tokens"], user).await?;
        let token = self.user_token(who, user, id).await?;
        self.store.delete_token(token.id).await?;
        Ok(())
    }

    /// `POST /users/{user}/tokens`: scopes (or the scopes of `roles`) must be held by the user.
    pub async fn create_user_token(
        &self,
        who: &Identity,
        user: &str,
        scopes: Option<Vec<String>>,
        roles: Option<Vec<String>>,
        note: Option<String>,
        expires_in: Option<i64>,
    ) -> Result<(String, oxhub_store::TokenRow), HubError> {
        let no_permission = || {
            HubError::Refused(format!(
                "User {user} not found or no permissions to generate tokens"
            ))
        };
        if self
            .require(who, &["tokens"], Resource::User(user))
            .await
            .is_err()
            || self.store.user(user).await?.is_none()
        {
            return Err(no_permission());
        }
        if scopes.is_some() && roles.is_some() {
            return Err(HubError::Invalid(
                "Specify only one of scopes or roles".into(),
            ));
        }
        let raw: Vec<String> = match (scopes, roles) {
            (Some(s), _) => s,
            (None, Some(role_names)) => {
                let all = self.store.roles().await?;
                let mut out = Vec::new();
                for name in role_names {
                    let role = all
                        .iter()
                        .find(|r| r.name == name)
                        .ok_or_else(|| HubError::Invalid(format!("No such role: {name}")))?;
                    out.extend(role.scopes.iter().cloned());
                }
                out
            }
            (None, None) => vec!["inherit".into()],
        };
        for s in &raw {
            self.vocab
                .check(s)
                .map_err(|e| HubError::Invalid(format!("Invalid scope {s:?}: {e}")))?;
        }
        if !raw.iter().any(|s| s == "inherit") {
            let requested = self
                .vocab
                .expand(&raw, Some(Owner::User(user)), None)
                .map_err(|e| HubError::Invalid(e.to_string()))?;
            let owner_scopes = self.owner_scopes(Owner::User(user)).await?;
            let membership = self.groups_of(&[user]).await?;
            let held = requested.scopes.intersect(&owner_scopes, &membership);
            let missing = requested.scopes.difference(&held);
            if !missing.is_empty() {
                return Err(HubError::Invalid(format!(
                    "Not assigning requested scopes {} not held by user {user}",
                    missing.join(", ")
                )));
            }
        }
        let max = self.config.hub.token_expires_in_max_seconds;
        let expires_in = match expires_in {
            Some(s) if s <= 0 => {
                return Err(HubError::Invalid(
                    "expires_in must be a positive number of seconds".into(),
                ))
            }
            Some(s) if max > 0 && s > max => {
                return Err(HubError::Invalid(format!(
                    "expires_in must not exceed {max} seconds"
                )))
            }
            Some(s) => Some(s),
            None if max > 0 => Some(max),
            None => None,
        };
        let note = note.unwrap_or_else(|| {
            let mut n = "Requested via api".to_owned();
            if who.subject.name() != user || matches!(who.subject, Subject::Service { .. }) {
                let kind = if matches!(who.subject, Subject::Service { .. }) {
                    "service"
                } else {
                    "user"
                };
                n.push_str(&format!(" by {kind} {}", who.subject.name()));
            }
            n
        });
        let token = self
            .mint_token(TokenOwner::User(user.to_owned()), raw, &note, expires_in)
            .await?;
        let hash = tokens::hash(&token);
        let row = self
            .store
            .tokens_by_prefix(tokens::prefix(&token), now_ms())
            .await?
            .into_iter()
            .find(|t| t.hash == hash)
            .ok_or_else(|| HubError::Internal("new token not found".into()))?;
        Ok((token, row))
    }

    /// `PATCH /users/{name}`: rename, admin flag, group membership (set exactly). Returns the
    /// user's (possibly new) name.
    pub async fn patch_user(
        &self,
        who: &Identity,
        name: &str,
        new_name: Option<&str>,
        admin: Option<bool>,
        groups: Option<&[String]>,
    ) -> Result<String, HubError> {
        self.require(who, &["admin:users"], Resource::User(name))
            .await?;
        let target = self
            .store
            .user(name)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("No such user: {name}")))?;
        if (target.admin || admin == Some(true)) && !who.subject.is_admin() {
            return Err(HubError::Refused(
                "Only admins can modify admins or grant admin permissions".into(),
            ));
        }
        let mut current = name.to_owned();
        if let Some(new) = new_name.filter(|n| *n != name) {
            let new = UserName::parse(new)
                .map_err(|e| HubError::Invalid(format!("Invalid username {new:?}: {e}")))?;
            if self.store.user(new.as_str()).await?.is_some() {
                return Err(HubError::Invalid(format!(
                    "User {} already exists, username must be unique",
                    new.as_str()
                )));
            }
            self.store
                .rename_user(name, new.as_str())
                .await
                .map_err(|e| match e {
                    oxhub_store::StoreError::Conflict(_) => HubError::Invalid(format!(
                        "User {} already exists, username must be unique",
                        new.as_str()
                    )),
                    other => other.into(),
                })?;
            tracing::info!("Renamed user {name} to {}", new.as_str());
            current = new.as_str().to_owned();
        }
        if let Some(admin) = admin {
            self.store.set_admin(&current, admin).await?;
            if admin {
                self.store
                    .grant_role(ADMIN_ROLE, oxhub_store::MemberKind::User, &current)
                    .await?;
            } else {
                let members: Vec<String> = self
                    .store
                    .role_members(ADMIN_ROLE, oxhub_store::MemberKind::User)
                    .await?
                    .into_iter()
                    .filter(|m| *m != current)
                    .collect();
                self.store
                    .set_role_members(ADMIN_ROLE, oxhub_store::MemberKind::User, &members)
                    .await?;
            }
        }
        if let Some(groups) = groups {
            for g in groups {
                if self.store.group(g).await?.is_none() {
                    return Err(HubError::Invalid(format!("No such group: {g}")));
                }
            }
            let before = self.store.user_groups(&current).await?;
            for g in before.iter().filter(|g| !groups.contains(g)) {
                self.store
                    .remove_group_members(g, std::slice::from_ref(&current))
                    .await?;
            }
            for g in groups.iter().filter(|g| !before.contains(g)) {
                self.store
                    .add_group_members(g, std::slice::from_ref(&current))
                    .await?;
            }
        }
        Ok(current)
    }
}
