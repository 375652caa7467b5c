//! `pre_spawn_hook` and `post_stop_hook`, which oxhub takes as commands (a Python callable
//! cannot run here): run with `JUPYTERHUB_USER` and `JUPYTERHUB_SERVER_NAME` set.

use crate::error::{clip, HubError};

/// Run the hook command `name` (`pre_spawn_hook`, ...); a non-zero exit is an error (a failing
/// pre-spawn hook fails the spawn).
pub(crate) async fn run_hook(
    name: &str,
    cmd: &[String],
    user: &str,
    server: &str,
) -> Result<(), HubError> {
    let Some((program, args)) = cmd.split_first() else {
        return Ok(());
    };
    let out = tokio::process::Command::new(program)
        .args(args)
        .env("JUPYTERHUB_USER", user)
        .env("JUPYTERHUB_SERVER_NAME", server)
        .stdin(std::process::Stdio::null())
        // A hook cut off by start_timeout must not outlive it.
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| HubError::Invalid(format!("{name} {}: {e}", clip(program))))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(HubError::Invalid(format!(
            "{name} {} failed ({}): {}",
            clip(program),
            out.status,
            clip(stderr.trim())
        )));
    }
    Ok(())
}

/// `{username}`, `{servername}` and `{user_server}` in a configured string.
pub(crate) fn expand(template: &str, user: &str, server: &str) -> String {
    template
        .replace("{username}", user)
        .replace("{servername}", server)
        .replace("{user_server}", &format!("{user}{server}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_hook_says_why() {
        let cmd = ["sh", "-c", "echo nope >&2; exit 3"].map(String::from);
        let err = run_hook("pre_spawn_hook", &cmd, "alice", "")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("pre_spawn_hook \"sh\" failed") && err.contains("nope"),
            "{err}"
        );
        let ok = ["sh", "-c", "test \"$JUPYTERHUB_USER\" = alice"].map(String::from);
        run_hook("pre_spawn_hook", &ok, "alice", "").await.unwrap();
    }

    #[test]
    fn expands_the_three_fields() {
        assert_eq!(
            expand("/h/{username}/{servername}/{user_server}", "al", "s1"),
            "/h/al/s1/als1"
        );
    }
}
