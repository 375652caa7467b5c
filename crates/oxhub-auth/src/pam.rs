//! `PAMAuthenticator`, JupyterHub's default: the login form's username and password (and
//! `otp` when the form has one) through the system's PAM stack for `service`, then the
//! account stack (`check_account`). PAM calls block, so each login runs on a blocking thread.

use crate::local::{ensure_system_user, in_any_group, LocalSettings};
use oxhub_plugin::auth::{AuthError, Authenticated, Authenticator, LoginRequest};
use oxhub_plugin::BoxFuture;
use pam_client::{ConversationHandler, ErrorCode, Flag};
use std::ffi::{CStr, CString};

/// The settings of `PAMAuthenticator`.
#[derive(Debug, Clone, PartialEq)]
pub struct PamSettings {
    /// The PAM service (`/etc/pam.d/<service>`), `login` by default.
    pub service: String,
    /// Run the account stack after a good password (expired or locked accounts fail).
    pub check_account: bool,
    pub local: LocalSettings,
}

impl Default for PamSettings {
    fn default() -> Self {
        PamSettings {
            service: "login".into(),
            check_account: true,
            local: LocalSettings::default(),
        }
    }
}

pub struct PamAuthenticator {
    settings: PamSettings,
}

impl PamAuthenticator {
    pub fn new(settings: PamSettings) -> PamAuthenticator {
        PamAuthenticator { settings }
    }
}

/// Answers PAM's prompts: the username when it echoes, the password for the first hidden
/// prompt and the one-time password for the second.
struct Answers {
    username: CString,
    secrets: Vec<CString>,
    asked: usize,
}

impl ConversationHandler for Answers {
    fn prompt_echo_on(&mut self, _prompt: &CStr) -> Result<CString, ErrorCode> {
        Ok(self.username.clone())
    }

    fn prompt_echo_off(&mut self, _prompt: &CStr) -> Result<CString, ErrorCode> {
        let answer = self.secrets.get(self.asked).cloned();
        self.asked += 1;
        answer.ok_or(ErrorCode::CONV_ERR)
    }

    fn text_info(&mut self, msg: &CStr) {
        tracing::debug!("PAM: {}", msg.to_string_lossy());
    }

    fn error_msg(&mut self, msg: &CStr) {
        tracing::warn!("PAM: {}", msg.to_string_lossy());
    }
}

/// The name as logs show it: at most 32 characters, else the first 16 and the length.
fn shown(name: &str) -> String {
    let n = name.chars().count();
    if n <= 32 {
        name.to_owned()
    } else {
        format!(
            "{}...({n} chars)",
            name.chars().take(16).collect::<String>()
        )
    }
}

/// One PAM transaction; `Ok(false)` for refused credentials.
fn check(
    service: &str,
    check_account: bool,
    user: &str,
    secrets: Vec<String>,
) -> Result<bool, AuthError> {
    let cstring = |s: String| {
        CString::new(s).map_err(|_| AuthError::Invalid("credentials may not contain NUL".into()))
    };
    let answers = Answers {
        username: cstring(user.to_owned())?,
        secrets: secrets.into_iter().map(cstring).collect::<Result<_, _>>()?,
        asked: 0,
    };
    let mut ctx = pam_client::Context::new(service, Some(user), answers)
        .map_err(|e| AuthError::Internal(format!("PAM service {service:?}: {e}")))?;
    if let Err(e) = ctx.authenticate(Flag::NONE) {
        tracing::warn!("PAM Authentication failed ({}): {e}", shown(user));
        return Ok(false);
    }
    if check_account {
        if let Err(e) = ctx.acct_mgmt(Flag::NONE) {
            tracing::warn!("PAM Account Check failed ({}): {e}", shown(user));
            return Ok(false);
        }
    }
    Ok(true)
}

impl Authenticator for PamAuthenticator {
    fn class(&self) -> &str {
        "PAMAuthenticator"
    }

    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(async move {
            let user = request.field("username").to_owned();
            if user.is_empty() {
                return Ok(None);
            }
            let mut secrets = vec![request.field("password").to_owned()];
            if let LoginRequest::Form(fields) = request {
                if let Some(otp) = fields.get("otp") {
                    secrets.push(otp.clone());
                }
            }
            let (service, check_account) =
                (self.settings.service.clone(), self.settings.check_account);
            let name = user.clone();
            let ok =
                tokio::task::spawn_blocking(move || check(&service, check_account, &name, secrets))
                    .await
                    .map_err(|e| AuthError::Internal(format!("PAM thread: {e}")))??;
            if !ok {
                return Ok(None);
            }
            let mut model = Authenticated::named(&user);
            // admin_groups is authoritative: members are admins, others are not.
            let admin_groups = &self.settings.local.admin_groups;
            if !admin_groups.is_empty() {
                model.admin = Some(in_any_group(&user, admin_groups)?);
            }
            Ok(Some(model))
        })
    }

    fn check_allowed<'a>(
        &'a self,
        name: &'a str,
        _model: &'a Authenticated,
    ) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move { in_any_group(name, &self.settings.local.allowed_groups) })
    }

    fn add_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(ensure_system_user(&self.settings.local, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_in_logs() {
        assert_eq!(shown("alice"), "alice");
        let long = "x".repeat(40);
        assert_eq!(shown(&long), format!("{}...(40 chars)", "x".repeat(16)));
    }

    #[tokio::test]
    async fn an_unknown_service_or_user_logs_nobody_in() {
        let a = PamAuthenticator::new(PamSettings::default());
        let r = a
            .authenticate(&LoginRequest::password("no-such-user-oxhub", "x"))
            .await;
        assert_eq!(r, Ok(None));
        let r = a.authenticate(&LoginRequest::password("", "x")).await;
        assert_eq!(r, Ok(None));
        let r = a.authenticate(&LoginRequest::password("a\0b", "x")).await;
        assert!(matches!(r, Err(AuthError::Invalid(_))), "{r:?}");
    }
}
