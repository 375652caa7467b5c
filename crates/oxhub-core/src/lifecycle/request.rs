//! What a spawner is asked to start: the [`SpawnRequest`] of one server, built the same way
//! for a real spawn and for `oxhub spawner-dry-run`.

use crate::environment::HubClient;
use crate::error::HubError;
use crate::hooks::expand;
use crate::hub::Hub;
use oxhub_model::names::{ServerName, UserName};
use oxhub_model::urls::server_client_id;
use oxhub_plugin::spawn::SpawnRequest;
use serde_json::Value;

/// What stands for the server's API token in a dry run: no token is issued.
pub const DRY_RUN_TOKEN: &str = "<the server's API token, issued at start>";

impl Hub {
    /// The request for `user`'s server `server` with `options`, its token and OAuth client
    /// already chosen; the chosen `profile_list` entry applied.
    pub(super) fn spawn_request(
        &self,
        user: &str,
        server: &str,
        options: &Value,
        token: &str,
        client_id: &str,
        spawn_id: String,
    ) -> Result<SpawnRequest, HubError> {
        let sp = &self.config.spawner;
        let prefix = self.routespec(user, server);
        let access_scopes = [
            format!("access:servers!server={user}/{server}"),
            format!("access:servers!user={user}"),
        ];
        let env = self.server_env(&HubClient {
            token,
            client_id,
            user,
            server,
            prefix: &prefix,
            access_scopes: &access_scopes,
        });
        let mut request = SpawnRequest {
            user: user.to_owned(),
            server: server.to_owned(),
            spawn_id,
            cmd: sp.cmd.iter().map(|a| expand(a, user, server)).collect(),
            args: sp.args.iter().map(|a| expand(a, user, server)).collect(),
            env,
            notebook_dir: expand(&sp.notebook_dir, user, server),
            user_options: options.clone(),
            resources: self.resources(),
            ip: sp.ip.clone(),
            port: sp.port,
            service_prefix: prefix,
            overrides: serde_json::Map::new(),
        };
        if let Some(chosen) = self.profiles.resolve(options).map_err(HubError::Invalid)? {
            tracing::info!(
                "{user}/{server}: profile {} ({} traits)",
                chosen.slug,
                chosen.overrides.len()
            );
            crate::profiles::apply(&mut request, chosen, |s| expand(s, user, server))
                .map_err(|e| HubError::Invalid(format!("profile_list: {e}")))?;
            crate::environment::resource_env(&mut request.env, &request.resources);
        }
        Ok(request)
    }

    /// The request a spawn with `options` would make, with placeholders for the token and the
    /// spawn id: what `Spawner::check` and `spawner_dry_run` look at.
    pub(crate) fn check_request(
        &self,
        user: &str,
        server: &str,
        options: &Value,
    ) -> Result<SpawnRequest, HubError> {
        let client_id = server_client_id(user, server);
        self.spawn_request(
            user,
            server,
            options,
            DRY_RUN_TOKEN,
            &client_id,
            "<spawn id>".into(),
        )
    }

    /// What the configured spawner would create for `user`'s server with `options`, without
    /// creating anything or touching the database: the request as the hub would build it (a
    /// placeholder for the token; the authenticator's pre-spawn step is not run) and the
    /// spawner's own description of what it would do.
    pub fn spawner_dry_run(
        &self,
        user: &str,
        server: &str,
        options: &Value,
    ) -> Result<Value, HubError> {
        UserName::parse(user).map_err(|e| HubError::Invalid(e.to_string()))?;
        ServerName::parse(server).map_err(|e| HubError::Invalid(e.to_string()))?;
        let request = self.check_request(user, server, options)?;
        let plan = self.spawner.dry_run(&request)?;
        Ok(serde_json::json!({
            "spawner_class": self.spawner.class(),
            "user": user,
            "server": server,
            "user_options": options,
            "cmd": request.cmd,
            "args": request.args,
            "spawner": plan,
        }))
    }
}
