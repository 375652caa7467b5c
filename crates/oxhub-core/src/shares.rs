//! Sharing a server (JupyterHub 5): grants to users and groups, and share codes. A share's
//! scopes are always filtered to its one server; nobody can share more than they hold.

use crate::clock::now_ms;
use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::{Groups, Identity};
use crate::tokens;
use oxhub_model::scope::Resource;
use oxhub_store::{ShareCodeRow, ShareFilter, ShareRow, ShareTarget};

/// Share codes live at least a minute and at most a year; a day unless asked otherwise.
pub const CODE_MIN_EXPIRY_S: i64 = 60;
pub const CODE_MAX_EXPIRY_S: i64 = 525_600 * 60;
pub const CODE_DEFAULT_EXPIRY_S: i64 = 86_400;

/// The lookup prefix of a share code: the start of its random part.
pub fn code_prefix(code: &str) -> &str {
    tokens::prefix(code.strip_prefix("sc_").unwrap_or(code))
}

/// Who a share goes to, as the request named it.
pub enum ShareWith {
    User(String),
    Group(String),
}

impl Hub {
    /// `shares` on this server (the scope every sharing change needs).
    async fn require_shares(
        &self,
        who: &Identity,
        owner: &str,
        server: &str,
    ) -> Result<(), HubError> {
        self.require(
            who,
            &["shares"],
            Resource::Server {
                user: owner,
                server,
            },
        )
        .await
    }

    /// The owner must exist (404 otherwise).
    async fn share_owner(&self, owner: &str) -> Result<(), HubError> {
        match self.store.user(owner).await? {
            Some(_) => Ok(()),
            None => Err(HubError::NotFound(format!("No such user: {owner}"))),
        }
    }

    /// The server must exist; the default server always does for an existing user.
    async fn shared_server(&self, owner: &str, server: &str) -> Result<(), HubError> {
        let missing = || HubError::NotFound(format!("No such server: {owner}/{server}"));
        if server.is_empty() {
            if self.store.user(owner).await?.is_none() {
                return Err(missing());
            }
            self.store.ensure_server(owner, "").await?;
            return Ok(());
        }
        match self.store.server(owner, server).await? {
            Some(_) => Ok(()),
            None => Err(missing()),
        }
    }

    /// Validate requested scopes (default `access:servers`) and filter each to the server;
    /// a different filter is refused.
    fn share_scopes(
        &self,
        requested: Option<Vec<String>>,
        owner: &str,
        server: &str,
    ) -> Result<Vec<String>, HubError> {
        let filter = format!("server={owner}/{server}");
        let requested = match requested {
            Some(s) if !s.is_empty() => s,
            _ => vec!["access:servers".to_owned()],
        };
        let mut out = Vec::new();
        for scope in requested {
            self.vocab
                .check(&scope)
                .map_err(|e| HubError::Invalid(format!("Cannot share {scope}: {e}")))?;
            let (base, f) = match scope.split_once('!') {
                Some((b, f)) => (b, Some(f)),
                None => (scope.as_str(), None),
            };
            if let Some(f) = f {
                if f != filter {
                    return Err(HubError::Invalid(format!(
                        "!{f} not allowed on sharing {scope}, only !{filter}"
                    )));
                }
            }
            out.push(format!("{base}!{filter}"));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The requester must hold every scope it shares.
    fn may_grant(
        &self,
        who: &Identity,
        scopes: &[String],
        owner: &str,
        server: &str,
    ) -> Result<(), HubError> {
        let res = Resource::Server {
            user: owner,
            server,
        };
        for scope in scopes {
            let base = scope.split('!').next().unwrap_or(scope);
            if !who.scopes.permits(base, &res, &Groups::default()) {
                return Err(HubError::Refused(format!(
                    "Do not have permission to grant share with scope {scope}"
                )));
            }
        }
        Ok(())
    }

    /// Shares of an owner's servers (`server` = `None`: all of them), paged.
    pub async fn server_shares(
        &self,
        who: &Identity,
        owner: &str,
        server: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ShareRow>, i64), HubError> {
        let res = match server {
            Some(s) => Resource::Server {
                user: owner,
                server: s,
            },
            None => Resource::User(owner),
        };
        self.require(who, &["read:shares"], res).await?;
        let filter = match server {
            Some(s) => {
                self.shared_server(owner, s).await?;
                ShareFilter::Server(owner, s)
            }
            None => {
                self.share_owner(owner).await?;
                ShareFilter::Owner(owner)
            }
        };
        Ok(self.store.shares(filter, offset, limit).await?)
    }

    /// Grant access to a server to a user or group.
    pub async fn grant_share(
        &self,
        who: &Identity,
        owner: &str,
        server: &str,
        with: ShareWith,
        scopes: Option<Vec<String>>,
    ) -> Result<ShareRow, HubError> {
        self.require_shares(who, owner, server).await?;
        let scopes = self.share_scopes(scopes, owner, server)?;
        self.shared_server(owner, server).await?;
        self.may_grant(who, &scopes, owner, server)?;
        let target = match with {
            ShareWith::User(u) => {
                let visible = self
                    .require(who, &["read:users:name"], Resource::User(&u))
                    .await
                    .is_ok();
                if !visible {
                    return Err(HubError::Refused(
                        "Need scope 'read:users:name' to share with users by name".into(),
                    ));
                }
                if self.store.user(&u).await?.is_none() {
                    return Err(HubError::Invalid(format!("No such user: {u}")));
                }
                ShareTarget::User(u)
            }
            ShareWith::Group(g) => {
                let visible = who.scopes.permits(
                    "read:groups:name",
                    &Resource::Group(&g),
                    &Groups::default(),
                );
                if !visible {
                    return Err(HubError::Refused(
                        "Need scope 'read:groups:name' to share with groups by name".into(),
                    ));
                }
                if self.store.group(&g).await?.is_none() {
                    return Err(HubError::Invalid(format!("No such group: {g}")));
                }
                ShareTarget::Group(g)
            }
        };
        let share = self
            .store
            .grant_share(owner, server, &target, &scopes, now_ms())
            .await?;
        tracing::info!("Shared {owner}/{server} with {target:?}: {scopes:?}");
        Ok(share)
    }

    /// Take scopes (all when `None`) from a share; `None` when nothing is left (or there was
    /// no such target: revoking from nobody is not an error).
    pub async fn revoke_share(
        &self,
        who: &Identity,
        owner: &str,
        server: &str,
        with: ShareWith,
        scopes: Option<Vec<String>>,
    ) -> Result<Option<ShareRow>, HubError> {
        self.require_shares(who, owner, server).await?;
        let scopes = match scopes {
            Some(s) if !s.is_empty() => Some(self.share_scopes(Some(s), owner, server)?),
            _ => None,
        };
        self.shared_server(owner, server).await?;
        let target = match with {
            ShareWith::User(u) => ShareTarget::User(u),
            ShareWith::Group(g) => ShareTarget::Group(g),
        };
        match self
            .store
            .revoke_share(owner, server, &target, scopes.as_deref())
            .await
        {
            Err(oxhub_store::StoreError::NotFound) => Ok(None),
            other => Ok(other?),
        }
    }

    /// Revoke every share of a server.
    pub async fn delete_shares(
        &self,
        who: &Identity,
        owner: &str,
        server: &str,
    ) -> Result<(), HubError> {
        self.require_shares(who, owner, server).await?;
        self.shared_server(owner, server).await?;
        let n = self.store.delete_shares(owner, server).await?;
        tracing::info!("Deleted {n} shares of {owner}/{server}");
        Ok(())
    }

    /// Shares a user received (directly or through groups), paged.
    pub async fn received_shares(
        &self,
        who: &Identity,
        user: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ShareRow>, i64), HubError> {
        self.require(who, &["read:users:shares"], Resource::User(user))
            .await?;
        if self.store.user(user).await?.is_none() {
            return Err(HubError::NotFound(format!("No such user: {user}")));
        }
        Ok(self
            .store
            .shares(ShareFilter::Receiver(user), offset, limit)
            .await?)
    }

    /// Shares a group received, paged.
    pub async fn group_shares(
        &self,
        who: &Identity,
        group: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ShareRow>, i64), HubError> {
        self.require(who, &["read:groups:shares"], Resource::Group(group))
            .await?;
        if self.store.group(group).await?.is_none() {
            return Err(HubError::NotFound(format!("No such group: {group}")));
        }
        Ok(self
            .store
            .shares(ShareFilter::Group(group), offset, limit)
            .await?)
    }

    /// One share received directly by a user or a group (`read` → read scope, else the
    /// revoke scope); deleting it when `delete`.
    pub async fn received_share(
        &self,
        who: &Identity,
        target: ShareWith,
        owner: &str,
        server: &str,
        delete: bool,
    ) -> Result<ShareRow, HubError> {
        let (target, scope, res, label) = match &target {
            ShareWith::User(u) => (
                ShareTarget::User(u.clone()),
                if delete {
                    "users:shares"
                } else {
                    "read:users:shares"
                },
                Resource::User(u),
                format!("user {u}"),
            ),
            ShareWith::Group(g) => (
                ShareTarget::Group(g.clone()),
                if delete {
                    "groups:shares"
                } else {
                    "read:groups:shares"
                },
                Resource::Group(g),
                format!("group {g}"),
            ),
        };
        self.require(who, &[scope], res).await?;
        let share = self
            .store
            .share(owner, server, &target)
            .await?
            .ok_or_else(|| {
                HubError::NotFound(format!("No such share for {label} on {owner}/{server}"))
            })?;
        if delete {
            self.store
                .revoke_share(owner, server, &target, None)
                .await?;
        }
        Ok(share)
    }

    /// Share codes of an owner's servers (`server` = `None`: all), paged.
    pub async fn share_codes(
        &self,
        who: &Identity,
        owner: &str,
        server: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ShareCodeRow>, i64), HubError> {
        let res = match server {
            Some(s) => Resource::Server {
                user: owner,
                server: s,
            },
            None => Resource::User(owner),
        };
        self.require(who, &["read:shares"], res).await?;
        match server {
            Some(s) => self.shared_server(owner, s).await?,
            None => self.share_owner(owner).await?,
        }
        Ok(self
            .store
            .share_codes(owner, server, now_ms(), offset, limit)
            .await?)
    }

    /// Issue a share code; returns the code (shown once) and its record.
    pub async fn create_share_code(
        &self,
        who: &Identity,
        owner: &str,
        server: &str,
        scopes: Option<Vec<String>>,
        expires_in_s: i64,
    ) -> Result<(String, ShareCodeRow), HubError> {
        self.require_shares(who, owner, server).await?;
        if !(CODE_MIN_EXPIRY_S..=CODE_MAX_EXPIRY_S).contains(&expires_in_s) {
            return Err(HubError::Invalid(format!(
                "expires_in must be between {CODE_MIN_EXPIRY_S} and {CODE_MAX_EXPIRY_S} seconds"
            )));
        }
        let scopes = self.share_scopes(scopes, owner, server)?;
        self.may_grant(who, &scopes, owner, server)?;
        self.shared_server(owner, server).await?;
        let code = format!("sc_{}", crate::hub::new_secret()?);
        let now = now_ms();
        let row = self
            .store
            .insert_share_code(
                owner,
                server,
                code_prefix(&code),
                &tokens::hash(&code),
                &scopes,
                now,
                now + expires_in_s * 1000,
            )
            .await?;
        Ok((code, row))
    }

    /// Delete one share code (by the code itself or by its `sc_<n>` id) or all of a server's.
    pub async fn delete_share_codes(
        &self,
        who: &Identity,
        owner: &str,
        server: &str,
        code: Option<&str>,
        id: Option<&str>,
    ) -> Result<(), HubError> {
        self.require_shares(who, owner, server).await?;
        self.shared_server(owner, server).await?;
        let target = if let Some(code) = code {
            let found = self
                .store
                .share_codes_by_prefix(code_prefix(code), now_ms())
                .await?
                .into_iter()
                .find(|c| {
                    c.owner == owner
                        && c.server == server
                        && tokens::same_hash(&c.hash, &tokens::hash(code))
                })
                .ok_or_else(|| HubError::NotFound("No matching code found".into()))?;
            Some(found.id)
        } else if let Some(id) = id {
            let n = id
                .strip_prefix("sc_")
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| HubError::NotFound(format!("No code found matching id={id}")))?;
            Some(n)
        } else {
            None
        };
        let n = self.store.delete_share_codes(owner, server, target).await?;
        if target.is_some() && n == 0 {
            return Err(HubError::NotFound(format!(
                "No code found matching id={}",
                id.unwrap_or("")
            )));
        }
        Ok(())
    }

    /// The share code `code` as the person invited sees it (`/hub/accept-share`): unknown or
    /// expired → 404, one's own server → 403.
    pub async fn invitation(&self, who: &Identity, code: &str) -> Result<ShareCodeRow, HubError> {
        let found = self
            .store
            .share_codes_by_prefix(code_prefix(code), now_ms())
            .await?
            .into_iter()
            .find(|c| tokens::same_hash(&c.hash, &tokens::hash(code)))
            .ok_or_else(|| HubError::NotFound("Share not found or expired".into()))?;
        match &who.subject {
            crate::identity::Subject::User { name, .. } if *name == found.owner => {
                Err(HubError::Refused("You can't share with yourself!".into()))
            }
            crate::identity::Subject::User { .. } => Ok(found),
            _ => Err(HubError::Refused("Only users can accept a share".into())),
        }
    }

    /// Accept an invitation: the code's scopes on its server become a share with the caller.
    pub async fn accept_invitation(
        &self,
        who: &Identity,
        code: &str,
    ) -> Result<ShareCodeRow, HubError> {
        let invitation = self.invitation(who, code).await?;
        let me = who.subject.name();
        self.store
            .exchange_share_code(invitation.id, me, now_ms())
            .await?;
        tracing::info!(
            "{me} accepted a share of {}'s server {:?}",
            invitation.owner,
            invitation.server
        );
        Ok(invitation)
    }
}
