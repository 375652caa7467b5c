//! KubeSpawner 7.1.0: each server a pod (with an optional PVC and Service), created through
//! the Kubernetes API with kube-rs. The objects are exactly KubeSpawner's ([`manifest`]);
//! pods and their events are watched through list+watch caches ([`cluster`]), as
//! KubeSpawner's reflectors do, so start, progress and poll read memory rather than the API.
//!
//! State: `kubespawner_version`, `pod_name`, `namespace`, `dns_name` (and `pvc_name` once the
//! claim exists), checkpointed before the pod is created so a start that times out or a hub
//! that dies meanwhile can still delete it.

pub mod cluster;
pub mod manifest;
mod models;
pub mod settings;
pub mod slugs;
#[cfg(test)]
mod tests;

use cluster::{Cluster, PodView};
use manifest::{Objects, KUBESPAWNER_VERSION};
use oxhub_plugin::spawn::{ProgressSink, SpawnError, SpawnRequest, Spawner, Started, Status};
use oxhub_plugin::BoxFuture;
use serde_json::{json, Map, Value};
use settings::{apply_overrides, merge_dict, KubeSettings};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// What a dry run shows where the created pod's uid goes.
const POD_UID_PLACEHOLDER: &str = "<the pod's uid, known once it is created>";

/// The configuration KubeSpawner reads.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// `c.KubeSpawner.*` (and inherited `c.Spawner.*` it reads) as JSON, by trait name.
    pub traits: Map<String, Value>,
    /// `Spawner.environment` as configured.
    pub environment: Map<String, Value>,
    /// `Spawner.port` and `Spawner.ip` (0 and empty: 8888 and 0.0.0.0).
    pub port: u16,
    pub ip: String,
    /// `Spawner.start_timeout`, seconds.
    pub start_timeout: u64,
}

/// A Kubernetes spawner: the configuration, and the API client and caches made at first use.
pub struct Kube {
    config: KubeConfig,
    base: KubeSettings,
    hub_ns: String,
    cluster: OnceCell<Cluster>,
}

impl Kube {
    /// Check the configuration (the objects of a sample user must be buildable).
    pub fn new(config: KubeConfig) -> Result<Kube, String> {
        let base = KubeSettings::from_traits(
            &config.traits,
            config.environment.clone(),
            config.port,
            &config.ip,
            config.start_timeout,
        )?;
        let hub_ns = manifest::hub_namespace();
        manifest::names(&base, "user", "", &hub_ns)?;
        Ok(Kube {
            config,
            base,
            hub_ns,
            cluster: OnceCell::new(),
        })
    }

    /// The settings of this spawn: the configured traits with the profile's overrides (its
    /// `environment` merged into the configured one).
    fn settings(&self, request: &SpawnRequest) -> Result<KubeSettings, SpawnError> {
        let mut traits = self.config.traits.clone();
        apply_overrides(&mut traits, &request.overrides);
        let mut environment = self.config.environment.clone();
        if let Some(Value::Object(e)) = request.overrides.get("environment") {
            merge_dict(&mut environment, e);
        }
        KubeSettings::from_traits(
            &traits,
            environment,
            self.config.port,
            &self.config.ip,
            self.config.start_timeout,
        )
        .map_err(SpawnError::Invalid)
    }

    fn objects(&self, request: &SpawnRequest) -> Result<(KubeSettings, Objects), SpawnError> {
        let settings = self.settings(request)?;
        // KubeSpawner names the objects when it is made, before a profile applies: a profile
        // may move the pod to another namespace but does not rename it.
        let mut names = manifest::names(&self.base, &request.user, &request.server, &self.hub_ns)
            .map_err(SpawnError::Invalid)?;
        if !self.base.enable_user_namespaces && settings.namespace != self.base.namespace {
            names.namespace = if settings.namespace.is_empty() {
                self.hub_ns.clone()
            } else {
                settings.namespace.clone()
            };
        }
        let objects = manifest::objects(&settings, names, request).map_err(SpawnError::Invalid)?;
        Ok((settings, objects))
    }

    async fn cluster(&self) -> Result<&Cluster, SpawnError> {
        self.cluster
            .get_or_try_init(|| Cluster::connect(&self.base, &self.hub_ns))
            .await
            .map_err(SpawnError::Unavailable)
    }

    fn state(objects: &Objects, pvc: bool) -> Value {
        let mut state = json!({
            "kubespawner_version": KUBESPAWNER_VERSION,
            "pod_name": objects.names.pod_name,
            "namespace": objects.names.namespace,
            "dns_name": objects.names.dns_name,
        });
        if pvc {
            state["pvc_name"] = json!(objects.names.pvc_name);
        }
        state
    }

    async fn start_pod(
        &self,
        request: &SpawnRequest,
        progress: &dyn ProgressSink,
    ) -> Result<Started, SpawnError> {
        let (settings, objects) = self.objects(request)?;
        let cluster = self.cluster().await?;
        let names = &objects.names;
        let ns = names.namespace.as_str();
        cluster.ready(settings.start_timeout).await?;
        if let Some(namespace) = &objects.namespace {
            cluster.ensure_namespace(ns, namespace).await?;
        }
        let seen_events = cluster.event_uids(ns, &names.pod_name);
        progress.checkpoint(&Self::state(&objects, false));
        if let Some(pvc) = &objects.pvc {
            cluster.ensure_pvc(ns, &names.pvc_name, pvc).await?;
        }
        let uid = cluster
            .create_pod(ns, &names.pod_name, &objects.pod, settings.start_timeout)
            .await?;
        if let Some(service) = objects.service(&uid, settings.port) {
            if let Err(e) = cluster.replace_service(ns, &names.pod_name, &service).await {
                let _ = cluster
                    .delete_pod(ns, &names.pod_name, 0, settings.start_timeout)
                    .await;
                return Err(e);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(settings.start_timeout);
        let mut events = cluster::EventProgress::new(seen_events, settings.events_enabled);
        let mut delay = Duration::from_millis(100);
        let pod = loop {
            events.report(cluster, ns, &names.pod_name, progress);
            if let Some(pod) = cluster.pod(ns, &names.pod_name).filter(PodView::is_running) {
                break pod;
            }
            if Instant::now() >= deadline {
                return Err(SpawnError::Unavailable(format!(
                    "pod {ns}/{} did not start in {} seconds!",
                    names.pod_name, settings.start_timeout
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        };
        events.report(cluster, ns, &names.pod_name, progress);
        let host = if settings.services_enabled {
            names.dns_name.clone()
        } else {
            match pod.ip.as_deref() {
                Some(ip) if ip.contains(':') => format!("[{ip}]"),
                Some(ip) => ip.to_owned(),
                None => return Err(SpawnError::Internal("running pod without an IP".into())),
            }
        };
        let host = match &settings.pod_connect_ip {
            Some(tpl) => tpl
                .split('.')
                .map(|part| {
                    if part.contains('{') {
                        names.expand(part).map_err(SpawnError::Invalid)
                    } else {
                        Ok(part.to_owned())
                    }
                })
                .collect::<Result<Vec<_>, _>>()?
                .join("."),
            None => host,
        };
        Ok(Started {
            url: format!("http://{host}:{}", settings.port),
            state: Self::state(&objects, objects.pvc.is_some()),
        })
    }

    async fn poll_pod(&self, state: &Value) -> Result<Status, SpawnError> {
        let Some((ns, name)) = pod_of(state) else {
            // Nothing was created: the hub died before the first checkpoint.
            return Ok(Status::Exited(None));
        };
        let cluster = self.cluster().await?;
        cluster.ready(self.base.start_timeout).await?;
        let Some(pod) = cluster.pod(ns, name) else {
            return Ok(Status::Exited(Some(1)));
        };
        if pod.phase.as_deref() == Some("Pending") {
            return Ok(Status::Running);
        }
        if !pod.has_container_statuses {
            return Ok(Status::Exited(Some(1)));
        }
        if let Some(code) = pod.notebook_exit_code {
            if self.base.delete_stopped_pods {
                cluster
                    .delete_pod(ns, name, 0, self.base.start_timeout)
                    .await?;
            }
            return Ok(Status::Exited(Some(code)));
        }
        Ok(Status::Running)
    }

    async fn stop_pod(&self, state: &Value) -> Result<(), SpawnError> {
        let Some((ns, name)) = pod_of(state) else {
            return Ok(());
        };
        let cluster = self.cluster().await?;
        cluster.ready(self.base.start_timeout).await?;
        let grace = u32::try_from(self.base.delete_grace_period).unwrap_or(u32::MAX);
        cluster
            .delete_pod(ns, name, grace, self.base.start_timeout)
            .await
    }
}

/// The namespace and name of the pod a state names.
fn pod_of(state: &Value) -> Option<(&str, &str)> {
    Some((
        state.get("namespace")?.as_str()?,
        state.get("pod_name")?.as_str()?,
    ))
}

impl Kube {
    /// KubeSpawner's `delete_forever`: the PVC goes, if `delete_pvc`, unless it is shared with
    /// the default server (a named server whose `pvc_name_template` lacks `{user_server}`).
    async fn delete_pvc(&self, user: &str, server: &str, state: &Value) -> Result<(), SpawnError> {
        if !self.base.delete_pvc
            || (!server.is_empty() && !self.base.pvc_name_template.contains("{user_server}"))
        {
            return Ok(());
        }
        let names =
            manifest::names(&self.base, user, server, &self.hub_ns).map_err(SpawnError::Invalid)?;
        let text = |k: &str| state.get(k).and_then(Value::as_str).map(str::to_owned);
        let pvc = text("pvc_name")
            .filter(|_| self.base.remember_pvc_name)
            .unwrap_or(names.pvc_name);
        let ns = text("namespace").unwrap_or(names.namespace);
        let cluster = self.cluster().await?;
        cluster.delete_pvc(&ns, &pvc).await
    }
}

impl Spawner for Kube {
    fn class(&self) -> &str {
        "KubeSpawner"
    }

    fn start<'a>(
        &'a self,
        request: &'a SpawnRequest,
        progress: &'a dyn ProgressSink,
    ) -> BoxFuture<'a, Result<Started, SpawnError>> {
        Box::pin(self.start_pod(request, progress))
    }

    fn poll<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<Status, SpawnError>> {
        Box::pin(self.poll_pod(state))
    }

    fn stop<'a>(&'a self, state: &'a Value) -> BoxFuture<'a, Result<(), SpawnError>> {
        Box::pin(self.stop_pod(state))
    }

    fn delete_forever<'a>(
        &'a self,
        user: &'a str,
        server: &'a str,
        state: &'a Value,
    ) -> BoxFuture<'a, Result<(), SpawnError>> {
        Box::pin(self.delete_pvc(user, server, state))
    }

    fn dry_run(&self, request: &SpawnRequest) -> Result<Value, SpawnError> {
        let (settings, objects) = self.objects(request)?;
        cluster::check_objects(&objects).map_err(SpawnError::Invalid)?;
        Ok(json!({
            "namespace": objects.names.namespace,
            "namespace_manifest": objects.namespace,
            "pod": objects.pod,
            "pvc": objects.pvc,
            "service": objects.service(POD_UID_PLACEHOLDER, settings.port),
            "state": Self::state(&objects, objects.pvc.is_some()),
        }))
    }

    fn check(&self, request: &SpawnRequest) -> Result<(), SpawnError> {
        let (_, objects) = self.objects(request)?;
        cluster::check_objects(&objects).map_err(SpawnError::Invalid)
    }
}
