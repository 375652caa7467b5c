//! What JupyterHub does to the database at start-up, idempotently: default roles,
//! `load_groups`, `load_roles`, admin and allowed users, services (and their `api_token`s), `api_tokens`.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::{Hub, ADMIN_ROLE, USER_ROLE};
use crate::tokens;
use oxhub_config::Value;
use oxhub_model::names::{ServiceName, UserName};
use oxhub_model::scope::DEFAULT_ROLES;
use oxhub_store::{MemberKind, NewToken, Owner, StoreError};

fn dict_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Dict(pairs) => Value::dict_get(pairs, &Value::Str(key.into())),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

fn invalid(msg: String) -> HubError {
    HubError::Invalid(msg)
}

/// Store a token given in the configuration (idempotent: an existing hash is left alone).
async fn config_token(hub: &Hub, token: &str, owner: Owner, what: &str) -> Result<(), HubError> {
    if token.len() < 8 || token.len() > tokens::MAX_LEN {
        return Err(invalid(format!(
            "{what}: tokens must be 8 to {} characters",
            tokens::MAX_LEN
        )));
    }
    let new = NewToken {
        prefix: tokens::prefix(token).to_owned(),
        hash: tokens::hash(token),
        owner,
        scopes: vec!["inherit".into()],
        note: format!("from config ({what})"),
        expires_at: None,
        session_id: None,
        oauth_client: None,
    };
    match hub.store.insert_token(&new, now_ms()).await {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn ensure_user(hub: &Hub, name: &str, admin: bool) -> Result<(), HubError> {
    let name = UserName::parse(name).map_err(|e| invalid(format!("user {name:?}: {e}")))?;
    match hub.store.user(name.as_str()).await? {
        Some(u) => {
            hub.store
                .grant_role(USER_ROLE, MemberKind::User, name.as_str())
                .await?;
            if admin && !u.admin {
                hub.store.set_admin(name.as_str(), true).await?;
            }
        }
        None => {
            hub.create_user_unchecked(name.as_str(), admin).await?;
        }
    }
    if admin {
        hub.store
            .grant_role(ADMIN_ROLE, MemberKind::User, name.as_str())
            .await?;
    }
    Ok(())
}

/// Apply the configuration's start-up state to the database.
async fn check_stored_names(hub: &Hub) -> Result<(), HubError> {
    let query = oxhub_store::UserQuery {
        offset: 0,
        limit: i64::MAX,
        name_filter: None,
        state: None,
        sort: Default::default(),
    };
    let (users, _) = hub.store.users(&query).await?;
    for user in users {
        let name = &user.name;
        if UserName::parse(name).is_ok() && hub.username_allowed_by_pattern(name) {
            continue;
        }
        if !hub.config.authenticator.delete_invalid_users {
            return Err(invalid(format!(
                "user {name:?} in the database is not a valid username; set Authenticator.delete_invalid_users = True to delete such users at start-up"
            )));
        }
        tracing::warn!("Deleting invalid user {name:?} (delete_invalid_users)");
        hub.store.delete_user(name).await?;
    }
    Ok(())
}

pub async fn apply(hub: &Hub) -> Result<(), HubError> {
    let cfg = &hub.config;

    // Default roles; `user` also gets JupyterHub.extra_user_scopes.
    for role in DEFAULT_ROLES {
        let mut scopes: Vec<String> = role.scopes.iter().map(|s| (*s).to_owned()).collect();
        if role.name == USER_ROLE {
            scopes.extend(cfg.hub.extra_user_scopes.iter().cloned());
        }
        hub.store
            .upsert_role(role.name, role.description, &scopes)
            .await?;
    }

    // Services (before load_roles, which may name them).
    for (i, service) in cfg.hub.services.iter().enumerate() {
        let name = dict_get(service, "name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("JupyterHub.services[{i}] has no 'name'")))?;
        let name = ServiceName::parse(name)
            .map_err(|e| invalid(format!("JupyterHub.services[{i}]: {e}")))?;
        let admin = matches!(dict_get(service, "admin"), Some(Value::Bool(true)));
        hub.store.upsert_service(name.as_str(), admin, true).await?;
        if admin {
            hub.store
                .grant_role(ADMIN_ROLE, MemberKind::Service, name.as_str())
                .await?;
        }
        if let Some(token) = dict_get(service, "api_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            config_token(
                hub,
                token,
                Owner::Service(name.as_str().to_owned()),
                &format!("service {}", name.as_str()),
            )
            .await?;
            hub.register_service_client(service, name.as_str(), token)
                .await?;
        }
    }

    // Users in the database that today's name rules refuse (a changed username_pattern, say):
    // an error, or deleted with `delete_invalid_users`.
    check_stored_names(hub).await?;

    // Admin and allowed users.
    for name in &cfg.authenticator.admin_users {
        ensure_user(hub, name, true).await?;
    }
    // With sign-up accounts, admin_users are approved at sign-up: until an admin has signed up,
    // whoever signs up first under that name becomes an admin.
    if let Some(accounts) = hub.accounts() {
        let existing: Vec<String> = accounts.list().await?.into_iter().map(|a| a.name).collect();
        for name in &cfg.authenticator.admin_users {
            if !existing.contains(name) {
                tracing::warn!(
                    "admin user {name} has no account yet: sign up as {name} at /hub/signup now (whoever signs up first under that name becomes an admin)"
                );
            }
        }
    }
    for name in &cfg.authenticator.allowed_users {
        ensure_user(hub, name, false).await?;
    }

    // load_groups: {name: {"users": [...], "properties": {...}}} (or the old {name: [users]});
    // members are added (never removed), properties set when given.
    if let Value::Dict(pairs) = &cfg.hub.load_groups {
        for (key, spec) in pairs {
            let group = key.as_str().ok_or_else(|| {
                invalid("JupyterHub.load_groups: group names must be strings".into())
            })?;
            oxhub_model::names::GroupName::parse(group)
                .map_err(|e| invalid(format!("JupyterHub.load_groups: {group:?}: {e}")))?;
            let (users, properties) = match spec {
                Value::Dict(_) => (
                    strings(dict_get(spec, "users")).unwrap_or_default(),
                    dict_get(spec, "properties").map(Value::to_json),
                ),
                other => (
                    strings(Some(other)).ok_or_else(|| {
                        invalid(format!(
                    "JupyterHub.load_groups[{group:?}] must be a dict with 'users' and 'properties'"
                ))
                    })?,
                    None,
                ),
            };
            if hub.store.group(group).await?.is_none() {
                hub.store
                    .create_group(group, &serde_json::json!({}))
                    .await?;
            }
            for u in &users {
                ensure_user(hub, u, false).await?;
            }
            hub.store.add_group_members(group, &users).await?;
            if let Some(props) = properties.filter(serde_json::Value::is_object) {
                hub.store.set_group_properties(group, &props).await?;
            }
        }
    }

    // load_roles: scopes checked, members authoritative for each kind key present.
    let mut seen = std::collections::BTreeSet::new();
    for (i, role) in cfg.hub.load_roles.iter().enumerate() {
        let name = dict_get(role, "name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("JupyterHub.load_roles[{i}] has no 'name'")))?
            .to_owned();
        // With manage_roles the authenticator decides who holds which role.
        if cfg.authenticator.manage_roles
            && (dict_get(role, "users").is_some() || dict_get(role, "groups").is_some())
        {
            return Err(invalid(format!(
                "JupyterHub.load_roles[{i}] ({name}) assigns users or groups, but Authenticator.manage_roles is on: the authenticator assigns roles"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(invalid(format!(
                "JupyterHub.load_roles: role {name:?} is defined twice"
            )));
        }
        let default = DEFAULT_ROLES.iter().find(|r| r.name == name);
        let scopes = match strings(dict_get(role, "scopes")) {
            Some(s) => s,
            None => default
                .map(|d| d.scopes.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_default(),
        };
        for s in &scopes {
            hub.vocab
                .check(s)
                .map_err(|e| invalid(format!("JupyterHub.load_roles[{i}] ({name}): {e}")))?;
        }
        let description = dict_get(role, "description")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| default.map(|d| d.description.to_owned()))
            .unwrap_or_default();
        hub.store.upsert_role(&name, &description, &scopes).await?;
        if let Some(users) = strings(dict_get(role, "users")) {
            for u in &users {
                ensure_user(hub, u, name == ADMIN_ROLE).await?;
            }
            if name != USER_ROLE {
                hub.store
                    .set_role_members(&name, MemberKind::User, &users)
                    .await?;
            }
        }
        if let Some(groups) = strings(dict_get(role, "groups")) {
            for g in &groups {
                if hub.store.group(g).await?.is_none() {
                    hub.store.create_group(g, &serde_json::json!({})).await?;
                }
            }
            hub.store
                .set_role_members(&name, MemberKind::Group, &groups)
                .await?;
        }
        if let Some(services) = strings(dict_get(role, "services")) {
            for s in &services {
                if hub.store.service(s).await?.is_none() {
                    return Err(invalid(format!("JupyterHub.load_roles[{i}] ({name}): no service named {s:?} in JupyterHub.services")));
                }
            }
            hub.store
                .set_role_members(&name, MemberKind::Service, &services)
                .await?;
        }
    }

    // Holding the admin role is what makes a user or service an admin (load_roles may have
    // added or removed members): the stored flags follow the role.
    hub.store.sync_admin_flags().await?;

    // api_tokens: token → user name.
    for (token, user) in &cfg.hub.api_tokens {
        ensure_user(hub, user, false).await?;
        config_token(
            hub,
            token,
            Owner::User(user.clone()),
            &format!("api_tokens for {user}"),
        )
        .await?;
    }
    Ok(())
}
