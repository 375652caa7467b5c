//! What every `Local*` authenticator shares (JupyterHub's `LocalAuthenticator`): the hub's
//! users are the machine's users. A user the hub creates must exist in the system's account
//! database, or is created with `add_user_cmd` when `create_system_users` is on; members of
//! `allowed_groups` may log in; members of `admin_groups` are admins.

use oxhub_plugin::auth::AuthError;
use std::collections::BTreeMap;
use std::ffi::CString;

/// The settings of `LocalAuthenticator`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalSettings {
    pub create_system_users: bool,
    /// Empty: the Linux default, `adduser -q --gecos "" --disabled-password`.
    pub add_user_cmd: Vec<String>,
    /// Name → uid for accounts the hub creates.
    pub uids: BTreeMap<String, u32>,
    /// UNIX groups whose members may log in.
    pub allowed_groups: Vec<String>,
    /// UNIX groups whose members are admins (`PAMAuthenticator.admin_groups`).
    pub admin_groups: Vec<String>,
}

/// JupyterHub's Linux default; without a shell, the GECOS argument is the two characters `""`.
const DEFAULT_ADD_USER_CMD: [&str; 5] = ["adduser", "-q", "--gecos", "\"\"", "--disabled-password"];

impl LocalSettings {
    /// The command that creates `name`: `USERNAME` replaced in every element, `--uid <n>`
    /// when `uids` has one, then the name last.
    pub fn add_user_argv(&self, name: &str) -> Vec<String> {
        let mut argv: Vec<String> = if self.add_user_cmd.is_empty() {
            DEFAULT_ADD_USER_CMD
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        } else {
            self.add_user_cmd
                .iter()
                .map(|a| a.replace("USERNAME", name))
                .collect()
        };
        if let Some(uid) = self.uids.get(name) {
            argv.push("--uid".into());
            argv.push(uid.to_string());
        }
        argv.push(name.to_owned());
        argv
    }
}

/// Whether the system knows `name` (passwd, through NSS).
pub(crate) fn system_user_exists(name: &str) -> Result<bool, AuthError> {
    nix::unistd::User::from_name(name)
        .map(|u| u.is_some())
        .map_err(|e| AuthError::Internal(format!("looking up system user {name:?}: {e}")))
}

/// The names of the groups `name` belongs to (primary group included), as `getgrouplist`.
pub(crate) fn groups_of(name: &str) -> Result<Vec<String>, AuthError> {
    let user = nix::unistd::User::from_name(name)
        .map_err(|e| AuthError::Internal(format!("looking up system user {name:?}: {e}")))?
        .ok_or_else(|| AuthError::Invalid(format!("no system user {name:?}")))?;
    let cname = CString::new(name)
        .map_err(|_| AuthError::Invalid("a user name may not contain NUL".into()))?;
    let gids = nix::unistd::getgrouplist(&cname, user.gid)
        .map_err(|e| AuthError::Internal(format!("the groups of {name:?}: {e}")))?;
    let mut names = Vec::with_capacity(gids.len());
    for gid in gids {
        if let Ok(Some(g)) = nix::unistd::Group::from_gid(gid) {
            names.push(g.name);
        }
    }
    Ok(names)
}

/// Whether `name` is in any of `groups` (configured groups the system does not know are
/// logged and skipped, as JupyterHub does).
pub(crate) fn in_any_group(name: &str, groups: &[String]) -> Result<bool, AuthError> {
    if groups.is_empty() {
        return Ok(false);
    }
    for g in groups {
        if !matches!(nix::unistd::Group::from_name(g), Ok(Some(_))) {
            tracing::error!("No such group: {g:?}");
        }
    }
    let mine = groups_of(name)?;
    Ok(groups.iter().any(|g| mine.contains(g)))
}

/// `add_user`: make sure the system user exists, creating it when configured to.
pub(crate) async fn ensure_system_user(
    settings: &LocalSettings,
    name: &str,
) -> Result<(), AuthError> {
    if system_user_exists(name)? {
        return Ok(());
    }
    if !settings.create_system_users {
        return Err(AuthError::Invalid(format!(
            "User {name} does not exist on the system. Set LocalAuthenticator.create_system_users=True to automatically create system users from jupyterhub users."
        )));
    }
    let argv = settings.add_user_argv(name);
    tracing::info!("Creating system user {name}: {}", argv.join(" "));
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| AuthError::Internal("add_user_cmd is empty".into()))?;
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| AuthError::Internal(format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(AuthError::Internal(format!(
            "Failed to create system user {name}: {}",
            text.trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_add_user_command_is_jupyterhubs() {
        let mut s = LocalSettings::default();
        s.uids.insert("river".into(), 1001);
        assert_eq!(
            s.add_user_argv("river"),
            [
                "adduser",
                "-q",
                "--gecos",
                "\"\"",
                "--disabled-password",
                "--uid",
                "1001",
                "river"
            ]
        );
        s.add_user_cmd = vec![
            "useradd".into(),
            "-m".into(),
            "-c".into(),
            "USERNAME".into(),
        ];
        assert_eq!(
            s.add_user_argv("ann"),
            ["useradd", "-m", "-c", "ann", "ann"]
        );
    }

    #[test]
    fn root_exists_and_is_in_its_own_group() {
        assert!(system_user_exists("root").unwrap());
        assert!(!system_user_exists("no-such-user-oxhub").unwrap());
        assert!(groups_of("root").unwrap().contains(&"root".to_owned()));
        assert!(in_any_group("root", &["root".into()]).unwrap());
        assert!(!in_any_group("root", &["no-such-group-oxhub".into()]).unwrap());
    }
}
