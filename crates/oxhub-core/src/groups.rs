//! Groups: creation, deletion, properties and membership, with the rule that membership
//! grants nothing the caller could not grant itself.

use crate::error::{clip, HubError};
use crate::hub::Hub;
use crate::identity::{Groups, Identity};
use oxhub_model::names::GroupName;
use oxhub_model::scope::{Owner, Resource};

impl Hub {
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
        HubError::from_access(
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
        HubError::from_access(
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
            for user in users {
                self.may_join(who, user, name).await?;
            }
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

    /// A caller changing `user`'s membership of groups (`added`, `removed`) needs the `groups`
    /// scope for each of them (filters apply), and may not add `user` to a group whose roles
    /// grant scopes the caller does not hold itself.
    pub(crate) async fn check_membership_change(
        &self,
        who: &Identity,
        user: &str,
        added: &[String],
        removed: &[String],
    ) -> Result<(), HubError> {
        for g in added.iter().chain(removed) {
            HubError::from_access(
                who.scopes
                    .check(&["groups"], &Resource::Group(g), &Groups::default()),
                &["groups"],
                &format!("group {}", clip(g)),
            )
            .map_err(|e| match e {
                HubError::Forbidden(_) | HubError::NotFound(_) => HubError::Refused(format!(
                    "Changing the members of group {} requires the groups scope for it",
                    clip(g)
                )),
                other => other,
            })?;
        }
        for g in added {
            self.may_join(who, user, g).await?;
        }
        Ok(())
    }

    /// Refuse to add `user` to `group` when the group's roles grant `user` scopes the caller
    /// does not hold: membership must not be a way around "nobody grants more than they
    /// hold" (JupyterHub has no rule here; its PATCH fails with a 500).
    async fn may_join(&self, who: &Identity, user: &str, group: &str) -> Result<(), HubError> {
        let roles = self
            .store
            .member_roles(oxhub_store::MemberKind::Group, group)
            .await?;
        let raw: Vec<String> = roles.into_iter().flat_map(|r| r.scopes).collect();
        if raw.is_empty() {
            return Ok(());
        }
        let granted = self
            .vocab
            .expand(&raw, Some(Owner::User(user)), None)
            .map_err(|e| HubError::Internal(format!("role scopes of group {group}: {e}")))?
            .scopes;
        let mut membership = self.groups_of(&[user]).await?;
        membership
            .0
            .entry(user.to_owned())
            .or_default()
            .insert(group.to_owned());
        let held = granted.intersect(&who.scopes, &membership);
        let beyond = granted.difference(&held);
        if beyond.is_empty() {
            Ok(())
        } else {
            Err(HubError::Refused(format!(
                "Cannot add {} to group {}: its roles grant scopes you do not hold ({})",
                clip(user),
                clip(group),
                clip(&beyond.join(", "))
            )))
        }
    }
}
