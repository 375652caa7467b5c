//! `pre_spawn_hook`, `post_stop_hook` and `post_auth_hook`, which oxhub takes as commands (a
//! Python callable cannot run here): the spawn hooks run with `JUPYTERHUB_USER` and
//! `JUPYTERHUB_SERVER_NAME` set; the auth hook reads and writes the auth model as JSON
//! (`name`, `admin`, `groups`, `roles`, `auth_state`).

use crate::error::{clip, HubError};
use oxhub_plugin::auth::Authenticated;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `post_auth_hook` may take before the login is refused.
const AUTH_HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Run `post_auth_hook` on a successful login's model: stdin gets `{name, admin, groups,
/// roles, auth_state}`; stdout may give the model back changed (empty: unchanged). `Ok(None)` when the
/// hook refuses the login (a non-zero exit); a hook that cannot run, hangs or prints something
/// that is not a model refuses it too, with the reason logged.
pub(crate) async fn run_post_auth_hook(
    cmd: &[String],
    model: &Authenticated,
) -> Result<Option<Authenticated>, HubError> {
    use tokio::io::AsyncWriteExt;
    let Some((program, args)) = cmd.split_first() else {
        return Ok(Some(model.clone()));
    };
    let input = json!({
        "name": model.name,
        "admin": model.admin,
        "groups": model.groups,
        "roles": model.roles,
        "auth_state": model.auth_state,
    })
    .to_string();
    let refuse = |why: String| {
        tracing::warn!(
            "post_auth_hook refused the login of {}: {why}",
            clip(&model.name)
        );
        Ok(None)
    };
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .env("JUPYTERHUB_USER", &model.name)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return refuse(format!("{} cannot run: {e}", clip(program))),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its input still runs.
        let _ = stdin.write_all(input.as_bytes()).await;
    }
    let out = match tokio::time::timeout(AUTH_HOOK_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return refuse(format!("{e}")),
        Err(_) => {
            return refuse(format!(
                "no answer within {} s",
                AUTH_HOOK_TIMEOUT.as_secs()
            ))
        }
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return refuse(format!("{} ({})", clip(stderr.trim()), out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.trim().is_empty() {
        return Ok(Some(model.clone()));
    }
    let Ok(Value::Object(back)) = serde_json::from_str::<Value>(stdout.trim()) else {
        return refuse("its output is not a JSON object".into());
    };
    let mut changed = model.clone();
    if let Some(name) = back.get("name") {
        match name.as_str() {
            Some(n) if !n.is_empty() => changed.name = n.to_owned(),
            _ => return refuse("its \"name\" is not a string".into()),
        }
    }
    if let Some(admin) = back.get("admin") {
        changed.admin = admin.as_bool();
    }
    if let Some(groups) = back.get("groups") {
        changed.groups = match groups {
            Value::Null => None,
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => return refuse("its \"groups\" is not a list".into()),
        };
    }
    if let Some(roles) = back.get("roles") {
        changed.roles = match roles {
            Value::Null => None,
            Value::Array(items) => Some(items.clone()),
            _ => return refuse("its \"roles\" is not a list".into()),
        };
    }
    if let Some(state) = back.get("auth_state") {
        changed.auth_state = (!state.is_null()).then(|| state.clone());
    }
    Ok(Some(changed))
}

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

    #[tokio::test]
    async fn the_auth_hook_reads_and_rewrites_the_model() {
        let model = Authenticated {
            name: "alice".into(),
            admin: None,
            groups: Some(vec!["a".into()]),
            auth_state: Some(json!({"k": 1})),
            roles: None,
        };
        let sh = |script: &str| ["sh", "-c", script].map(String::from).to_vec();
        // Unchanged when the hook prints nothing.
        let same = run_post_auth_hook(&sh("cat >/dev/null"), &model)
            .await
            .unwrap();
        assert_eq!(same, Some(model.clone()));
        // The hook sees the model and may change it.
        let script = r#"read m; case "$m" in *'"name":"alice"'*) echo '{"admin": true, "groups": ["staff"]}';; *) exit 9;; esac"#;
        let changed = run_post_auth_hook(&sh(script), &model)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changed.admin, Some(true));
        assert_eq!(changed.groups, Some(vec!["staff".to_owned()]));
        assert_eq!(changed.auth_state, model.auth_state);
        // A non-zero exit, junk output or a missing program refuse the login.
        assert_eq!(
            run_post_auth_hook(&sh("exit 1"), &model).await.unwrap(),
            None
        );
        assert_eq!(
            run_post_auth_hook(&sh("echo nope"), &model).await.unwrap(),
            None
        );
        let missing = ["/nonexistent/hook".to_owned()];
        assert_eq!(run_post_auth_hook(&missing, &model).await.unwrap(), None);
    }

    #[test]
    fn expands_the_three_fields() {
        assert_eq!(
            expand("/h/{username}/{servername}/{user_server}", "al", "s1"),
            "/h/al/s1/als1"
        );
    }
}
