//! The hub's side of accounts an authenticator keeps itself (NativeAuthenticator): sign-up
//! names go through the same normalisation and validation as a login, approval and other
//! people's passwords need `admin:users`, and a user changes their own password with the old
//! one.

use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::{Identity, Subject};
use oxhub_model::names::UserName;
use oxhub_model::scope::Resource;
use oxhub_plugin::accounts::{Account, Accounts, Signup, SignupOutcome};

impl Hub {
    /// The authenticator's accounts, when it keeps them.
    pub fn accounts(&self) -> Option<&dyn Accounts> {
        self.authenticator.accounts()
    }

    fn accounts_or_404(&self) -> Result<&dyn Accounts, HubError> {
        self.accounts()
            .ok_or_else(|| HubError::NotFound("This authenticator keeps no accounts".into()))
    }

    /// A sign-up from the form; `request.name` as typed.
    pub async fn signup(&self, mut request: Signup) -> Result<SignupOutcome, HubError> {
        let accounts = self.accounts_or_404()?;
        let name = self.normalize_username(request.name.trim());
        let a = &self.config.authenticator;
        if UserName::parse(&name).is_err() || !self.username_allowed_by_pattern(&name) {
            return Ok(SignupOutcome::Refused("That username is not valid.".into()));
        }
        if a.blocked_users.contains(&name) {
            return Ok(SignupOutcome::Refused(
                "That username is not available.".into(),
            ));
        }
        request.preauthorized = a.allowed_users.contains(&name) || a.admin_users.contains(&name);
        request.name = name;
        Ok(accounts.signup(&request).await?)
    }

    pub async fn list_accounts(&self, who: &Identity) -> Result<Vec<Account>, HubError> {
        self.require(who, &["admin:users"], Resource::Global)
            .await?;
        Ok(self.accounts_or_404()?.list().await?)
    }

    /// Approve (or withdraw approval of) an account.
    pub async fn authorize_account(
        &self,
        who: &Identity,
        name: &str,
        authorized: bool,
    ) -> Result<(), HubError> {
        self.require(who, &["admin:users"], Resource::User(name))
            .await?;
        if !self
            .accounts_or_404()?
            .set_authorized(name, authorized)
            .await?
        {
            return Err(HubError::NotFound(format!(
                "No account named {}",
                crate::error::clip(name)
            )));
        }
        tracing::info!(
            "{} {} the account {name}",
            who.subject.name(),
            if authorized {
                "authorized"
            } else {
                "withdrew the authorization of"
            }
        );
        Ok(())
    }

    /// Delete an account that was never approved.
    pub async fn discard_account(&self, who: &Identity, name: &str) -> Result<(), HubError> {
        self.require(who, &["admin:users"], Resource::User(name))
            .await?;
        if !self.accounts_or_404()?.discard(name).await? {
            return Err(HubError::Invalid(format!(
                "{} is not an account waiting for approval",
                crate::error::clip(name)
            )));
        }
        tracing::info!("{} discarded the account {name}", who.subject.name());
        Ok(())
    }

    /// Change a password: `name`'s own with `old`, or anyone's with `admin:users` (no old one).
    /// `Ok(Err(why))` when the new password is refused.
    pub async fn change_password(
        &self,
        who: &Identity,
        name: &str,
        old: Option<&str>,
        new: &str,
        confirmation: &str,
    ) -> Result<Result<(), String>, HubError> {
        let accounts = self.accounts_or_404()?;
        let own = matches!(&who.subject, Subject::User { name: me, .. } if me == name);
        let old = if own {
            Some(old.unwrap_or(""))
        } else {
            self.require(who, &["admin:users"], Resource::User(name))
                .await?;
            None
        };
        Ok(accounts.set_password(name, old, new, confirmation).await?)
    }
}
