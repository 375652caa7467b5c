//! batchspawner's spawners (`SlurmSpawner`, `TorqueSpawner`, `MoabSpawner`, `PBSSpawner`,
//! `LsfSpawner`): the server runs as a batch job. `start` renders the batch script, submits
//! it through the shell as the user (`exec_prefix`, default `sudo -E -u {username}`) with the
//! server's environment, follows the job from pending to running on a host, and waits for the
//! server to report the port it picked there (`batchspawner-singleuser` posts it to
//! `/hub/api/batchspawner`). The job id is checkpointed as soon as it is known, so a start
//! that times out, or a hub that dies meanwhile, cancels the job. State: `job_id` and
//! `job_status` (the last query's raw output), as batchspawner keeps them, and the `user` the
//! commands run as.

mod presets;

pub use presets::{JobId, Preset, System};

use crate::process::account;
use crate::template::{self, Vars};
use oxhub_model::names::clip;
use oxhub_plugin::spawn::{
    ProgressSink, SpawnError, SpawnRequest, Spawner, Started, Status, SERVICE_URL_VAR,
};
use oxhub_plugin::BoxFuture;
use regex_lite::Regex;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long one batch command may run before it counts as "the batch system does not answer".
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the queue position is asked for while a job is pending.
const POSITION_EVERY: Duration = Duration::from_secs(5);

/// The settings of a batch spawner, as configured (`None`: the system's default).
#[derive(Debug, Clone, Default)]
pub struct BatchSettings {
    pub exec_prefix: Option<String>,
    pub batch_script: Option<String>,
    pub batch_submit_cmd: Option<String>,
    pub batch_query_cmd: Option<String>,
    pub batch_cancel_cmd: Option<String>,
    pub state_pending_re: Option<String>,
    pub state_running_re: Option<String>,
    pub state_unknown_re: Option<String>,
    pub state_exechost_re: Option<String>,
    pub state_exechost_exp: String,
    pub startup_poll_interval: Option<Duration>,
    pub batchspawner_singleuser_cmd: Option<String>,
    /// The `req_*` traits as configured, without the prefix (`partition`, `memory`, ...).
    pub req: BTreeMap<String, String>,
}

/// A submission: the submit command, the batch script (its stdin) and the job's environment.
type Submission = (String, String, Vec<(String, String)>);

/// What a query of the batch system says about a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobState {
    Pending,
    Running,
    /// The batch system did not answer (`state_unknown_re`).
    Unknown,
    /// Finished, failed, cancelled or never heard of.
    NotFound,
}

/// One batch spawner: a preset with the configured replacements, regexes compiled.
pub struct Batch {
    preset: Preset,
    exec_prefix: String,
    script: String,
    submit: String,
    query: String,
    cancel: String,
    pending: Regex,
    running: Regex,
    unknown: Option<Regex>,
    exechost: Regex,
    exechost_exp: String,
    poll_interval: Duration,
    singleuser_cmd: String,
    req: BTreeMap<String, String>,
}

fn compile(what: &str, re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("{what}: {e}"))
}

impl Batch {
    /// The spawner for `system` with `settings`; a bad regex is an error here, at startup.
    pub fn new(system: System, settings: BatchSettings) -> Result<Batch, String> {
        let p = system.preset();
        let or = |v: Option<String>, d: &str| v.unwrap_or_else(|| d.to_owned());
        let unknown = or(settings.state_unknown_re, p.unknown_re);
        let mut req: BTreeMap<String, String> = [
            "queue",
            "host",
            "memory",
            "nprocs",
            "ngpus",
            "runtime",
            "partition",
            "account",
            "options",
            "prologue",
            "epilogue",
            "qos",
            "cluster",
            "reservation",
            "gres",
            "keepvars_extra",
        ]
        .iter()
        .map(|k| ((*k).to_owned(), String::new()))
        .collect();
        req.insert("srun".into(), p.srun.to_owned());
        req.extend(settings.req);
        Ok(Batch {
            exec_prefix: or(settings.exec_prefix, "sudo -E -u {username}"),
            script: or(settings.batch_script, p.script),
            submit: or(settings.batch_submit_cmd, p.submit),
            query: or(settings.batch_query_cmd, p.query),
            cancel: or(settings.batch_cancel_cmd, p.cancel),
            pending: compile(
                "state_pending_re",
                &or(settings.state_pending_re, p.pending_re),
            )?,
            running: compile(
                "state_running_re",
                &or(settings.state_running_re, p.running_re),
            )?,
            unknown: match unknown.as_str() {
                "" => None,
                re => Some(compile("state_unknown_re", re)?),
            },
            exechost: compile(
                "state_exechost_re",
                &or(settings.state_exechost_re, p.exechost_re),
            )?,
            exechost_exp: settings.state_exechost_exp,
            poll_interval: settings
                .startup_poll_interval
                .unwrap_or(Duration::from_millis(500))
                .max(Duration::from_millis(50)),
            singleuser_cmd: or(
                settings.batchspawner_singleuser_cmd,
                "batchspawner-singleuser",
            ),
            req,
            preset: p,
        })
    }

    /// The environment of the job: the hub's for the server, the user's `USER`, `HOME` and
    /// `SHELL` where the system wants them, and the service URL with port 0 (the wrapper
    /// puts the port it picks there).
    fn job_env(&self, request: &SpawnRequest) -> Vec<(String, String)> {
        let mut env = request.env.clone();
        let set = |env: &mut Vec<(String, String)>, k: &str, v: String| {
            env.retain(|(key, _)| key != k);
            env.push((k.to_owned(), v));
        };
        if self.preset.user_env {
            set(&mut env, "USER", request.user.clone());
            if let Some(acct) = account(&request.user) {
                if !acct.home.is_empty() {
                    set(&mut env, "HOME", acct.home);
                }
                if !acct.shell.is_empty() {
                    set(&mut env, "SHELL", acct.shell);
                }
            }
        }
        if request.env_var(SERVICE_URL_VAR).is_none() {
            let ip = if request.ip.is_empty() {
                "0.0.0.0"
            } else {
                &request.ip
            };
            set(&mut env, SERVICE_URL_VAR, request.service_url(ip, 0));
        }
        env
    }

    /// The `req_*` values of this request: the configured ones, and what the chosen
    /// `profile_list` entry sets (`kubespawner_override: {"req_gres": "gpu:1"}`).
    fn req_of(&self, request: &SpawnRequest) -> BTreeMap<String, String> {
        let mut req = self.req.clone();
        for (k, v) in &request.overrides {
            if let (Some(name), Some(v)) = (k.strip_prefix("req_"), v.as_str()) {
                req.insert(name.to_owned(), v.to_owned());
            }
        }
        req
    }

    /// The template variables: `req_*` without the prefix, `username`, `homedir`,
    /// `keepvars`, `cmd`, then every key of `user_options` (which win, `cmd` included).
    fn vars(&self, request: &SpawnRequest, env: &[(String, String)]) -> Result<Vars, SpawnError> {
        let req = self.req_of(request);
        let mut vars: Vars = req
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let text = |vars: &Vars, k: &str| {
            vars.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        if text(&vars, "username").is_empty() {
            vars.insert("username".into(), json!(request.user));
        }
        if text(&vars, "homedir").is_empty() {
            let home = account(&request.user).map(|a| a.home).ok_or_else(|| {
                SpawnError::Invalid(format!(
                    "No system user {} on the hub's machine to take the job's home directory from (set req_homedir)",
                    clip(&request.user)
                ))
            })?;
            vars.insert("homedir".into(), json!(home));
        }
        if text(&vars, "keepvars").is_empty() {
            let mut names: Vec<&str> = Vec::new();
            for (k, _) in env {
                if !names.contains(&k.as_str()) {
                    names.push(k);
                }
            }
            let mut keep = names.join(",");
            let extra = text(&vars, "keepvars_extra");
            if !extra.is_empty() {
                keep = format!("{keep},{extra}");
            }
            vars.insert("keepvars".into(), json!(keep));
        }
        let cmd: Vec<&str> = std::iter::once(self.singleuser_cmd.as_str())
            .chain(request.cmd.iter().map(String::as_str))
            .chain(request.args.iter().map(String::as_str))
            .collect();
        vars.insert("cmd".into(), json!(cmd.join(" ")));
        if let Value::Object(options) = &request.user_options {
            for (k, v) in options {
                vars.insert(k.clone(), v.clone());
            }
        }
        Ok(vars)
    }

    /// `exec_prefix` + `command`, both rendered.
    fn command(&self, what: &str, command: &str, vars: &Vars) -> Result<String, SpawnError> {
        let prefix = template::render("exec_prefix", &self.exec_prefix, vars)
            .map_err(SpawnError::Invalid)?;
        let cmd = template::render(what, command, vars).map_err(SpawnError::Invalid)?;
        Ok(format!("{prefix} {cmd}"))
    }

    /// The variables of a query or cancel (no user options, the job id added).
    fn job_vars(&self, user: &str, job_id: &str) -> Vars {
        let mut vars: Vars = self
            .req
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        vars.entry("username".into())
            .and_modify(|v| {
                if v.as_str() == Some("") {
                    *v = json!(user);
                }
            })
            .or_insert_with(|| json!(user));
        vars.insert("job_id".into(), json!(job_id));
        vars
    }

    /// What `start` submits: the command, the script and the environment.
    fn submission(&self, request: &SpawnRequest) -> Result<Submission, SpawnError> {
        let env = self.job_env(request);
        let mut vars = self.vars(request, &env)?;
        // The prefix and the submit command see the req_* values, not the user's options.
        let mut cmd_vars = vars.clone();
        let req = self.req_of(request);
        if let Value::Object(options) = &request.user_options {
            for k in options.keys() {
                match req.get(k) {
                    Some(v) => cmd_vars.insert(k.clone(), json!(v)),
                    None => cmd_vars.remove(k),
                };
            }
        }
        cmd_vars.insert("username".into(), json!(request.user));
        let submit = self.command("batch_submit_cmd", &self.submit, &cmd_vars)?;
        vars.entry("username".into())
            .or_insert_with(|| json!(request.user));
        let script =
            template::render("batch_script", &self.script, &vars).map_err(SpawnError::Invalid)?;
        Ok((submit, script, env))
    }

    fn classify(&self, status: &str) -> JobState {
        if status.is_empty() {
            return JobState::NotFound;
        }
        if self.running.is_match(status) {
            JobState::Running
        } else if self.pending.is_match(status) {
            JobState::Pending
        } else if self.unknown.as_ref().is_some_and(|re| re.is_match(status)) {
            JobState::Unknown
        } else {
            JobState::NotFound
        }
    }

    /// The host a running job's server is on, from its status.
    fn host_of(&self, status: &str) -> Result<String, SpawnError> {
        let caps = self.exechost.captures(status).ok_or_else(|| {
            SpawnError::Unavailable(format!(
                "cannot find the job's host in the batch system's answer {:?} (state_exechost_re)",
                clip(status)
            ))
        })?;
        let host = if self.exechost_exp.is_empty() {
            caps.get(1)
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default()
        } else {
            template::expand(&self.exechost_exp, &caps).map_err(SpawnError::Invalid)?
        };
        if host.is_empty() {
            return Err(SpawnError::Unavailable(format!(
                "the job's host is empty in {:?}",
                clip(status)
            )));
        }
        Ok(host)
    }

    /// Ask the batch system about a job: its state and the raw answer (stderr when the
    /// command failed, so `state_unknown_re` can match it).
    async fn query_job(&self, user: &str, job_id: &str) -> (JobState, String) {
        if job_id.is_empty() {
            return (JobState::NotFound, String::new());
        }
        let status =
            match self.command("batch_query_cmd", &self.query, &self.job_vars(user, job_id)) {
                Ok(cmd) => match run_shell(&cmd, None, None).await {
                    Ok(out) => out,
                    Err(RunError::Failed(stderr)) => stderr,
                    Err(RunError::Other(e)) => {
                        tracing::error!("querying job {job_id}: {e}");
                        String::new()
                    }
                },
                Err(e) => {
                    tracing::error!("querying job {job_id}: {e}");
                    String::new()
                }
            };
        (self.classify(&status), status)
    }

    async fn queue_position(&self, user: &str, job_id: &str) -> Option<(usize, usize)> {
        let cmd = self.preset.queue_order?;
        let cmd = self
            .command("queue order", cmd, &self.job_vars(user, job_id))
            .ok()?;
        let out = run_shell(&cmd, None, None).await.ok()?;
        let ids: Vec<&str> = out.split_whitespace().collect();
        let at = ids.iter().position(|id| *id == job_id)?;
        Some((at + 1, ids.len()))
    }

    async fn start_inner(
        &self,
        request: &SpawnRequest,
        progress: &dyn ProgressSink,
    ) -> Result<Started, SpawnError> {
        let (submit, script, env) = self.submission(request)?;
        tracing::info!(
            "{}: submitting for {}: {submit}",
            self.preset.class,
            request.user
        );
        let out = run_shell(&submit, Some(&script), Some(&env))
            .await
            .map_err(|e| match e {
                RunError::Failed(stderr) => SpawnError::Unavailable(format!(
                    "the batch job could not be submitted: {}",
                    clip(&stderr)
                )),
                RunError::Other(e) => SpawnError::Unavailable(e),
            })?;
        let job_id = self.preset.job_id.parse(&out).ok_or_else(|| {
            SpawnError::Unavailable(format!(
                "Jupyter batch job submission failure (no jobid in output {:?})",
                clip(&out)
            ))
        })?;
        progress.checkpoint(&json!({ "job_id": job_id, "user": request.user }));
        progress.progress(20, &format!("Submitted batch job {job_id}"));
        let user = request.user.as_str();
        let mut last_message = String::new();
        let mut position_asked: Option<Instant> = None;
        let status = loop {
            let (state, status) = self.query_job(user, &job_id).await;
            progress.checkpoint(&json!({ "job_id": job_id, "job_status": status, "user": user }));
            let message = match state {
                JobState::Running => break status,
                JobState::NotFound => {
                    return Err(SpawnError::Unavailable(format!(
                        "The Jupyter batch job {job_id} has disappeared while pending in the queue or died immediately after starting."
                    )))
                }
                JobState::Unknown => "Unknown status: the batch system does not answer...".to_owned(),
                JobState::Pending => {
                    let mut message = format!("Job {job_id} pending in queue...");
                    if position_asked.is_none_or(|t| t.elapsed() >= POSITION_EVERY) {
                        position_asked = Some(Instant::now());
                        if let Some((at, of)) = self.queue_position(user, &job_id).await {
                            message = format!("Job {job_id} pending in queue, position {at} of {of}...");
                        }
                    } else if last_message.starts_with(&message[..message.len() - 3]) {
                        message.clone_from(&last_message);
                    }
                    message
                }
            };
            if message != last_message {
                progress.message(&message);
                last_message = message;
            }
            tokio::time::sleep(self.poll_interval).await;
        };
        let host = self.host_of(&status)?;
        progress.progress(
            40,
            &format!("Cluster job {job_id} running on host {host}; waiting for the server to report its port"),
        );
        // batchspawner 1.3.0 waits for the port without looking at the job; a job that dies
        // now is noticed here instead of at start_timeout.
        let port = {
            let reported = progress.reported_port();
            tokio::pin!(reported);
            loop {
                tokio::select! {
                    port = &mut reported => break port,
                    () = tokio::time::sleep(self.poll_interval.max(Duration::from_secs(1))) => {
                        let (state, _) = self.query_job(user, &job_id).await;
                        if state == JobState::NotFound {
                            return Err(SpawnError::Unavailable(format!(
                                "The Jupyter batch job {job_id} started on {host} but ended before its server reported a port (see the job's output file)"
                            )));
                        }
                    }
                }
            }
        };
        let connect = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host
        };
        Ok(Started {
            url: format!("http://{connect}:{port}"),
            state: json!({ "job_id": job_id, "job_status": status, "user": user }),
        })
    }

    async fn stop_inner(&self, state: &Value) -> Result<(), SpawnError> {
        let Some(job_id) = state.get("job_id").and_then(Value::as_str) else {
            if state.get("nonce").is_some() {
                tracing::warn!(
                    "{}: no job id recorded for this server; nothing to cancel",
                    self.preset.class
                );
            }
            return Ok(());
        };
        let user = state_user(state);
        let cmd = self.command(
            "batch_cancel_cmd",
            &self.cancel,
            &self.job_vars(&user, job_id),
        )?;
        tracing::info!("Cancelling job {job_id}: {cmd}");
        if let Err(e) = run_shell(&cmd, None, None).await {
            tracing::warn!("cancelling job {job_id}: {e}");
        }
        for _ in 0..10 {
            let (s, _) = self.query_job(&user, job_id).await;
            if !matches!(s, JobState::Running | JobState::Unknown) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tracing::warn!("Job {job_id} possibly failed to terminate");
        Ok(())
    }
}

/// The user a state's commands run as: recorded with the job.
fn state_user(state: &Value) -> String {
    state
        .get("user")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[derive(Debug)]
enum RunError {
    /// Exit status not zero: its stderr.
    Failed(String),
    Other(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Failed(e) | RunError::Other(e) => f.write_str(e),
        }
    }
}

/// Run `cmd` through `/bin/sh -c` (as batchspawner does), `input` on stdin; with `env`, the
/// process gets exactly that environment, else the hub's. Its stdout, trimmed.
async fn run_shell(
    cmd: &str,
    input: Option<&str>,
    env: Option<&[(String, String)]>,
) -> Result<String, RunError> {
    use tokio::io::AsyncWriteExt;
    let mut c = tokio::process::Command::new("/bin/sh");
    c.arg("-c").arg(cmd);
    if let Some(env) = env {
        c.env_clear();
        c.envs(env.iter().map(|(k, v)| (k, v)));
    }
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = c
        .spawn()
        .map_err(|e| RunError::Other(format!("cannot run /bin/sh: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.unwrap_or_default().as_bytes().to_vec();
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    let out = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            RunError::Other(format!(
                "{cmd}: no answer within {} s",
                COMMAND_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| RunError::Other(format!("{cmd}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        tracing::debug!("{cmd} exited with {}: {stderr}", out.status);
        return Err(RunError::Failed(stderr));
    }
    Ok(stdout)
}

impl Spawner for Batch {
    fn class(&self) -> &str {
        self.preset.class
    }

    fn start<'a>(
        &'a self,
        request: &'a SpawnRequest,
        progress: &'a dyn ProgressSink,
    ) -> BoxFuture<'a, Result<Started, SpawnError>> {
        Box::pin(self.start_inner(request, progress))
    }

    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<Status, SpawnError>> {
        Box::pin(async move {
            let job_id = state
                .get("job_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match self.query_job(&state_user(state), job_id).await {
                (JobState::Pending | JobState::Running, _) => Ok(Status::Running),
                (JobState::Unknown, status) => Err(SpawnError::Unavailable(format!(
                    "the batch system does not answer: {}",
                    clip(&status)
                ))),
                (JobState::NotFound, _) => Ok(Status::Exited(Some(1))),
            }
        })
    }

    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<(), SpawnError>> {
        Box::pin(self.stop_inner(state))
    }

    fn dry_run(&self, request: &SpawnRequest) -> Result<Value, SpawnError> {
        let (submit, script, env) = self.submission(request)?;
        let vars = self.job_vars(&request.user, "{job_id}");
        let environment: Map<String, Value> = env
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Ok(json!({
            "spawner": self.preset.class,
            "submit_command": submit,
            "batch_script": script,
            "environment": environment,
            "query_command": self.command("batch_query_cmd", &self.query, &vars)?,
            "cancel_command": self.command("batch_cancel_cmd", &self.cancel, &vars)?,
        }))
    }
}

#[cfg(test)]
mod tests;
