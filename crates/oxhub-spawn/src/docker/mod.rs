//! DockerSpawner 14.0.0 (and SystemUserSpawner): each server a container, created and
//! driven through the Docker Engine API with bollard (podman's Docker-compatible API works the
//! same). `start` picks the image (`allowed_images`), pulls it by `pull_policy`, creates the
//! container of [`body::create_body`] under its `name_template` name, starts it and answers
//! with where it listens: the published port on `host_ip`, or its address on `network_name`
//! (`use_internal_ip`). `poll` inspects it; `stop` stops it and, with `remove`, removes it with
//! its anonymous volumes. State: `object_id` and `object_name`, as DockerSpawner keeps them.
//!
//! Unlike DockerSpawner, a stopped container left by `remove = False` is replaced at the next
//! start rather than started again: its environment holds the API token of the earlier start,
//! which the hub revoked at the stop. User files belong on `volumes`.

pub mod body;

use bollard::errors::Error as DockerError;
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, RemoveContainerOptions,
    StopContainerOptions,
};
use oxhub_plugin::spawn::{ProgressSink, SpawnError, SpawnRequest, Spawner, Started, Status};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::OnceCell;

/// `allowed_images`: what a user may ask for in `user_options["image"]`.
#[derive(Debug, Clone, PartialEq)]
pub enum AllowedImages {
    /// `"*"`: any image.
    Any,
    /// Label → image (a list `[x]` is `{x: x}`); empty: none, only the configured `image`.
    Listed(BTreeMap<String, String>),
}

/// `pull_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    IfNotPresent,
    Always,
    Never,
    Skip,
}

impl PullPolicy {
    pub fn parse(text: &str) -> Result<PullPolicy, String> {
        match text.to_ascii_lowercase().as_str() {
            "ifnotpresent" => Ok(PullPolicy::IfNotPresent),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            "skip" => Ok(PullPolicy::Skip),
            other => Err(format!(
                "pull_policy {other:?} is not one of ifnotpresent, always, never, skip"
            )),
        }
    }
}

/// SystemUserSpawner's settings.
#[derive(Debug, Clone)]
pub struct SystemUser {
    /// The home on the hub's host (`{username}`); empty: the account's home.
    pub host_homedir_format_string: Option<String>,
    pub image_homedir_format_string: String,
    pub run_as_root: bool,
}

/// The settings of a Docker spawner, as configured.
#[derive(Debug, Clone)]
pub struct DockerSettings {
    /// `unix:///var/run/docker.sock`, `tcp://host:2375`: `DOCKER_HOST` or `client_kwargs`.
    pub docker_host: String,
    pub image: String,
    pub allowed_images: AllowedImages,
    pub name_template: Option<String>,
    pub prefix: String,
    pub network_name: String,
    /// `None`: true unless `network_name` is `bridge` or `host`.
    pub use_internal_ip: Option<bool>,
    /// Where published ports are bound (and reached) on the Docker host.
    pub host_ip: String,
    /// What the server binds inside the container (DockerSpawner's `ip`, `0.0.0.0`).
    pub ip: String,
    /// The port the server listens on inside the container (8888).
    pub port: u16,
    /// Host path or volume name → container path, or a dict with `bind`, `mode`, `propagation`.
    pub volumes: BTreeMap<String, Value>,
    pub read_only_volumes: BTreeMap<String, String>,
    pub links: BTreeMap<String, String>,
    pub remove: bool,
    pub pull_policy: PullPolicy,
    /// docker-py `create_container` keyword arguments, merged into the create body.
    pub extra_create_kwargs: Map<String, Value>,
    /// docker-py `create_host_config` keyword arguments, merged into `HostConfig`.
    pub extra_host_config: Map<String, Value>,
    pub system_user: Option<SystemUser>,
}

impl DockerSettings {
    /// DockerSpawner's defaults for the settings that have one.
    pub fn new(docker_host: String) -> DockerSettings {
        DockerSettings {
            docker_host,
            image: "quay.io/jupyterhub/singleuser:6.1".into(),
            allowed_images: AllowedImages::Listed(BTreeMap::new()),
            name_template: None,
            prefix: "jupyter".into(),
            network_name: "bridge".into(),
            use_internal_ip: None,
            host_ip: "127.0.0.1".into(),
            ip: "0.0.0.0".into(),
            port: 8888,
            volumes: BTreeMap::new(),
            read_only_volumes: BTreeMap::new(),
            links: BTreeMap::new(),
            remove: false,
            pull_policy: PullPolicy::IfNotPresent,
            extra_create_kwargs: Map::new(),
            extra_host_config: Map::new(),
            system_user: None,
        }
    }

    fn internal_ip(&self) -> bool {
        self.use_internal_ip
            .unwrap_or(!matches!(self.network_name.as_str(), "bridge" | "host"))
    }

    /// The network mode the container gets: `extra_host_config`'s, else `network_name`.
    fn network_mode(&self) -> &str {
        self.extra_host_config
            .get("network_mode")
            .and_then(Value::as_str)
            .unwrap_or(&self.network_name)
    }
}

/// A Docker spawner: the settings, and one API client made at first use.
pub struct Docker {
    class: String,
    settings: DockerSettings,
    client: OnceCell<bollard::Docker>,
}

/// A Docker API failure as the contract's error: the daemon's 4xx answers (a bad image name,
/// a bad setting) are the configuration's or the user's, anything else the daemon's.
fn api_error(what: &str, e: DockerError) -> SpawnError {
    match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } if (400..500).contains(&status_code) => SpawnError::Invalid(format!("{what}: {message}")),
        other => SpawnError::Unavailable(format!("{what}: {other}")),
    }
}

/// The status code of a daemon answer, if it was one.
fn status_of(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl Docker {
    /// Check the settings once, at start-up: a bad setting stops the hub, not a spawn.
    pub fn new(class: &str, settings: DockerSettings) -> Result<Docker, String> {
        body::host_config_fields(&settings.extra_host_config)?;
        body::create_fields(&settings.extra_create_kwargs)?;
        if !settings.docker_host.starts_with("unix://")
            && !settings.docker_host.starts_with("tcp://")
            && !settings.docker_host.starts_with("http://")
        {
            return Err(format!(
                "the Docker host {:?} is not a unix://, tcp:// or http:// URL",
                settings.docker_host
            ));
        }
        Ok(Docker {
            class: class.to_owned(),
            settings,
            client: OnceCell::new(),
        })
    }

    async fn client(&self) -> Result<&bollard::Docker, SpawnError> {
        let host = &self.settings.docker_host;
        self.client
            .get_or_try_init(|| async {
                let client = bollard::Docker::connect_with_host(host).map_err(|e| {
                    SpawnError::Unavailable(format!("the Docker API at {host}: {e}"))
                })?;
                // podman answers with an older API version than bollard's default.
                client.negotiate_version().await.map_err(|e| {
                    SpawnError::Unavailable(format!(
                        "the Docker API at {host} does not answer: {e}"
                    ))
                })
            })
            .await
    }

    /// Pull by `pull_policy`; answers the image's `Cmd`.
    async fn ensure_image(&self, image: &str) -> Result<Option<Vec<String>>, SpawnError> {
        let docker = self.client().await?;
        let policy = self.settings.pull_policy;
        let inspect = || async {
            match docker.inspect_image(image).await {
                Ok(i) => Ok(Some(i.config.and_then(|c| c.cmd).unwrap_or_default())),
                Err(e) if status_of(&e) == Some(404) => Ok(None),
                Err(e) => Err(api_error(&format!("inspecting image {image}"), e)),
            }
        };
        if policy == PullPolicy::Skip {
            return Ok(None);
        }
        let present = if policy == PullPolicy::Always {
            None
        } else {
            inspect().await?
        };
        if present.is_some() {
            return Ok(present);
        }
        if policy == PullPolicy::Never {
            return Err(SpawnError::Invalid(format!(
                "image {image} is not present and pull_policy is never"
            )));
        }
        // repo:tag only when the last path segment has a tag, else `latest`.
        let (repo, tag) = match image
            .rsplit_once('/')
            .map_or(image, |(_, last)| last)
            .rsplit_once(':')
        {
            Some((_, tag)) => (&image[..image.len() - tag.len() - 1], tag),
            None => (image, "latest"),
        };
        tracing::info!("pulling image {repo}:{tag}");
        let options = CreateImageOptions {
            from_image: Some(repo.to_owned()),
            tag: Some(tag.to_owned()),
            ..Default::default()
        };
        let mut stream = docker.create_image(Some(options), None, None);
        use futures_util::StreamExt;
        while let Some(step) = stream.next().await {
            step.map_err(|e| api_error(&format!("pulling image {image}"), e))?;
        }
        inspect().await?.map(Some).ok_or_else(|| {
            SpawnError::Unavailable(format!("image {image} is still missing after the pull"))
        })
    }

    /// Remove a container, with its anonymous volumes; gone or already going is fine.
    async fn remove(&self, name: &str) -> Result<(), SpawnError> {
        let docker = self.client().await?;
        let options = RemoveContainerOptions {
            v: true,
            force: true,
            ..Default::default()
        };
        match docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if matches!(status_of(&e), Some(404 | 409)) => Ok(()),
            Err(e) => Err(api_error(&format!("removing container {name}"), e)),
        }
    }

    /// Where the hub reaches a started container.
    async fn address(&self, id: &str) -> Result<String, SpawnError> {
        let s = &self.settings;
        if s.network_mode() == "host" {
            return Ok(format!("http://{}:{}", s.host_ip, s.port));
        }
        let docker = self.client().await?;
        let info = docker
            .inspect_container(id, None)
            .await
            .map_err(|e| api_error("inspecting the new container", e))?;
        let net = info.network_settings.unwrap_or_default();
        if s.internal_ip() {
            let ip = net
                .networks
                .as_ref()
                .and_then(|n| n.get(&s.network_name))
                .and_then(|e| e.ip_address.clone())
                .filter(|ip| !ip.is_empty())
                .ok_or_else(|| {
                    SpawnError::Invalid(format!(
                        "the container has no address on network {:?}",
                        s.network_name
                    ))
                })?;
            return Ok(format!("http://{ip}:{}", s.port));
        }
        let key = format!("{}/tcp", s.port);
        let binding = net
            .ports
            .as_ref()
            .and_then(|p| p.get(&key))
            .and_then(|b| b.as_ref())
            .and_then(|b| b.first())
            .cloned()
            .ok_or_else(|| {
                SpawnError::Unavailable(format!("the container published no host port for {key}"))
            })?;
        let port = binding.host_port.unwrap_or_default();
        let host = match binding.host_ip.as_deref() {
            None | Some("" | "0.0.0.0") => self.docker_hostname(),
            Some(ip) => ip.to_owned(),
        };
        Ok(format!(
            "http://{}:{port}",
            oxhub_plugin::spawn::connect_host(&host)
        ))
    }

    /// The host of a `tcp://` Docker URL, else loopback.
    fn docker_hostname(&self) -> String {
        let h = &self.settings.docker_host;
        h.strip_prefix("tcp://")
            .or_else(|| h.strip_prefix("http://"))
            .and_then(|rest| rest.rsplit_once(':').map(|(host, _)| host.to_owned()))
            .unwrap_or_else(|| "127.0.0.1".into())
    }

    async fn start_inner(
        &self,
        request: &SpawnRequest,
        progress: &dyn ProgressSink,
    ) -> Result<Started, SpawnError> {
        let image = body::chosen_image(&self.settings, request)?;
        let name = body::container_name(&self.settings, request, &image)?;
        progress.message(&format!("Pulling image {image} if needed"));
        let image_cmd = self.ensure_image(&image).await?;
        let body = body::create_body(&self.settings, request, &image, image_cmd.as_deref())?;
        let docker = self.client().await?;
        match docker.inspect_container(&name, None).await {
            Ok(old) => {
                let running = old.state.and_then(|s| s.running).unwrap_or(false);
                tracing::warn!(
                    "replacing the {} container {name} of an earlier start (oxhub does not resume stopped containers)",
                    if running { "running" } else { "stopped" }
                );
                self.remove(&name).await?;
            }
            // 500: an unhealthy node; DockerSpawner treats the container as gone.
            Err(e) if matches!(status_of(&e), Some(404 | 500)) => {}
            Err(e) => return Err(api_error(&format!("inspecting container {name}"), e)),
        }
        let config: bollard::models::ContainerCreateBody = serde_json::from_value(body)
            .map_err(|e| SpawnError::Invalid(format!("the container's create body: {e}")))?;
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let created = docker
            .create_container(Some(options), config)
            .await
            .map_err(|e| api_error(&format!("creating container {name}"), e))?;
        let state = json!({"object_id": created.id, "object_name": name});
        progress.checkpoint(&state);
        progress.message(&format!("Starting container {name}"));
        docker
            .start_container(&created.id, None)
            .await
            .map_err(|e| api_error(&format!("starting container {name}"), e))?;
        let url = self.address(&created.id).await?;
        progress.progress(50, &format!("Container {name} is running at {url}"));
        Ok(Started { url, state })
    }

    /// The container a state names (`object_id`, DockerSpawner's legacy `container_id`, or
    /// `object_name`); for a state with only a nonce, the container labelled with it.
    async fn target(&self, state: &Value) -> Result<Option<String>, SpawnError> {
        for key in ["object_id", "container_id", "object_name"] {
            if let Some(id) = state
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                return Ok(Some(id.to_owned()));
            }
        }
        let Some(nonce) = state.get("nonce").and_then(Value::as_str) else {
            return Ok(None);
        };
        let docker = self.client().await?;
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{}={nonce}", body::NONCE_LABEL)],
        )]);
        let found = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| api_error("listing containers", e))?;
        Ok(found.into_iter().find_map(|c| c.id))
    }

    async fn poll_inner(&self, state: &Value) -> Result<Status, SpawnError> {
        let Some(id) = self.target(state).await? else {
            return Ok(Status::Exited(None));
        };
        let docker = self.client().await?;
        match docker.inspect_container(&id, None).await {
            Ok(info) => {
                let s = info.state.unwrap_or_default();
                if s.running.unwrap_or(false) {
                    Ok(Status::Running)
                } else {
                    Ok(Status::Exited(
                        s.exit_code.and_then(|c| i32::try_from(c).ok()),
                    ))
                }
            }
            Err(e) if matches!(status_of(&e), Some(404 | 500)) => Ok(Status::Exited(Some(0))),
            Err(e) => Err(api_error("inspecting the container", e)),
        }
    }

    async fn stop_inner(&self, state: &Value) -> Result<(), SpawnError> {
        let Some(id) = self.target(state).await? else {
            return Ok(());
        };
        let docker = self.client().await?;
        match docker
            .stop_container(&id, None::<StopContainerOptions>)
            .await
        {
            Ok(()) => {}
            // 304: already stopped; 404: already gone.
            Err(e) if matches!(status_of(&e), Some(304 | 404)) => {}
            Err(e) => return Err(api_error("stopping the container", e)),
        }
        if self.settings.remove {
            self.remove(&id).await?;
        }
        Ok(())
    }
}

impl Spawner for Docker {
    fn class(&self) -> &str {
        &self.class
    }

    fn start<'a>(
        &'a self,
        request: &'a SpawnRequest,
        progress: &'a dyn ProgressSink,
    ) -> BoxFuture<'a, Result<Started, SpawnError>> {
        Box::pin(self.start_inner(request, progress))
    }

    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<Status, SpawnError>> {
        Box::pin(self.poll_inner(state))
    }

    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<(), SpawnError>> {
        Box::pin(self.stop_inner(state))
    }

    fn check(&self, request: &SpawnRequest) -> Result<(), SpawnError> {
        let image = body::chosen_image(&self.settings, request)?;
        body::container_name(&self.settings, request, &image).map(drop)
    }

    fn dry_run(&self, request: &SpawnRequest) -> Result<Value, SpawnError> {
        let image = body::chosen_image(&self.settings, request)?;
        let name = body::container_name(&self.settings, request, &image)?;
        let create = body::create_body(&self.settings, request, &image, None)?;
        let mut plan = json!({
            "spawner": self.class,
            "docker_host": self.settings.docker_host,
            "image": image,
            "pull_policy": format!("{:?}", self.settings.pull_policy).to_lowercase(),
            "name": name,
            "create": create,
        });
        if request.cmd.is_empty() {
            plan["note"] = json!(if request.args.is_empty() {
                "no Cmd: the image's own CMD runs"
            } else {
                "Cmd is the image's CMD, read at start, followed by Spawner.args"
            });
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests;
