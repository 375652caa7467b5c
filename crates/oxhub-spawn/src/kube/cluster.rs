//! The Kubernetes side: one API client, and list+watch caches of the user pods (by the label
//! `component=<component_label>`) and of pod events (`involvedObject.kind=Pod`), as
//! KubeSpawner's reflectors keep them. Objects are sent as the JSON KubeSpawner sends (so
//! resource quantities stay numbers, which the API server accepts) and read back as JSON.

use super::manifest::Objects;
use super::settings::KubeSettings;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, PersistentVolumeClaim, Pod, Service};
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::ApiResource;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use oxhub_plugin::spawn::{ProgressSink, SpawnError};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// KubeSpawner's `k8s_api_request_retry_timeout`: how long an API call, or the first list of
/// a cache, may take.
const API_TIMEOUT: Duration = Duration::from_secs(30);

/// The API client and the caches; the watch tasks end with it.
pub struct Cluster {
    client: Client,
    pods: Store<DynamicObject>,
    events: Store<DynamicObject>,
    pod_type: ApiResource,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The latest error of a watch, cleared by its next success.
    last_error: Arc<Mutex<Option<String>>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn api_error(what: &str, e: kube::Error) -> SpawnError {
    match e {
        kube::Error::Api(s) if (400..500).contains(&s.code) && s.code != 429 => {
            SpawnError::Invalid(format!("{what}: {} ({})", s.message, s.code))
        }
        e => SpawnError::Unavailable(format!("{what}: Kubernetes API: {e}")),
    }
}

fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

async fn timed<T>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<Result<T, kube::Error>, SpawnError> {
    tokio::time::timeout(API_TIMEOUT, f).await.map_err(|_| {
        SpawnError::Unavailable(format!(
            "{what}: no answer from the Kubernetes API in {} s",
            API_TIMEOUT.as_secs()
        ))
    })
}

/// What start and poll need of a cached pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    pub phase: Option<String>,
    pub ip: Option<String>,
    pub deleting: bool,
    pub has_container_statuses: bool,
    pub all_ready: bool,
    /// The `notebook` container's exit code, once it has terminated.
    pub notebook_exit_code: Option<i32>,
}

impl PodView {
    fn of(pod: &DynamicObject) -> PodView {
        let status = pod.data.get("status").cloned().unwrap_or(Value::Null);
        let statuses = status.get("containerStatuses").and_then(Value::as_array);
        PodView {
            phase: status
                .get("phase")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ip: status
                .get("podIP")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            deleting: pod.metadata.deletion_timestamp.is_some(),
            has_container_statuses: statuses.is_some(),
            all_ready: statuses.is_some_and(|s| {
                s.iter()
                    .all(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
            }),
            notebook_exit_code: statuses.and_then(|s| {
                s.iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some("notebook"))?
                    .pointer("/state/terminated/exitCode")?
                    .as_i64()
                    .and_then(|c| i32::try_from(c).ok())
            }),
        }
    }

    /// KubeSpawner's `is_pod_running`: Running, with an IP, not being deleted, and every
    /// container ready.
    pub fn is_running(&self) -> bool {
        self.phase.as_deref() == Some("Running")
            && self.ip.is_some()
            && !self.deleting
            && self.has_container_statuses
            && self.all_ready
    }
}

/// The KubeSpawner progress of a start: one event per new Event of the pod, each moving the
/// bar a third of the way to 90.
pub struct EventProgress {
    seen: HashSet<String>,
    enabled: bool,
    progress: f64,
}

impl EventProgress {
    pub fn new(seen: HashSet<String>, enabled: bool) -> EventProgress {
        EventProgress {
            seen,
            enabled,
            progress: 0.0,
        }
    }

    pub fn report(&mut self, cluster: &Cluster, ns: &str, pod: &str, sink: &dyn ProgressSink) {
        if !self.enabled {
            return;
        }
        let mut new: Vec<(String, String, Value)> = cluster
            .pod_events(ns, pod)
            .into_iter()
            .filter(|(uid, _, _)| !self.seen.contains(uid))
            .collect();
        new.sort_by(|a, b| a.1.cmp(&b.1));
        for (uid, when, event) in new {
            self.seen.insert(uid);
            self.progress += (90.0 - self.progress) / 3.0;
            let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
            let message = event.get("message").and_then(Value::as_str).unwrap_or("");
            // Truncation, not rounding: 30, 50, 63, 72, 78, ...
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let percent = self.progress as u8;
            sink.event(json!({
                "progress": percent,
                "message": format!("{when} [{kind}] {message}"),
                "raw_event": event,
            }));
        }
    }
}

impl Cluster {
    /// Make the client (in-cluster, else the kubeconfig, with `k8s_api_*` overrides) and
    /// start the caches.
    pub async fn connect(base: &KubeSettings, hub_ns: &str) -> Result<Cluster, String> {
        let mut config = match kube::Config::infer().await {
            Ok(c) => c,
            Err(e) => match &base.api.host {
                Some(host) => kube::Config::new(
                    host.parse()
                        .map_err(|e| format!("KubeSpawner.k8s_api_host {host:?}: {e}"))?,
                ),
                None => {
                    return Err(format!(
                        "no Kubernetes API configured (not in a cluster, no kubeconfig): {e}"
                    ))
                }
            },
        };
        if let Some(host) = &base.api.host {
            config.cluster_url = host
                .parse()
                .map_err(|e| format!("KubeSpawner.k8s_api_host {host:?}: {e}"))?;
        }
        if base.api.verify_ssl == Some(false) {
            config.accept_invalid_certs = true;
        }
        if let Some(ca) = &base.api.ssl_ca_cert {
            config.root_cert_file = Some(ca.into());
        }
        if !base.namespace.is_empty() {
            config.default_namespace.clone_from(&base.namespace);
        }
        let client = Client::try_from(config).map_err(|e| format!("Kubernetes client: {e}"))?;
        let ns = if base.namespace.is_empty() {
            hub_ns
        } else {
            &base.namespace
        };
        let all = base.enable_user_namespaces;
        let pod_type = ApiResource::erase::<Pod>(&());
        let event_type = ApiResource::erase::<Event>(&());
        let api = |ar: &ApiResource| -> Api<DynamicObject> {
            if all {
                Api::all_with(client.clone(), ar)
            } else {
                Api::namespaced_with(client.clone(), ns, ar)
            }
        };
        let mut tasks = Vec::new();
        let last_error = Arc::new(Mutex::new(None));
        let pods = watch(
            api(&pod_type),
            &pod_type,
            watcher::Config::default().labels(&format!("component={}", base.component_label)),
            "pods",
            &mut tasks,
            &last_error,
        );
        let events = watch(
            api(&event_type),
            &event_type,
            watcher::Config::default().fields("involvedObject.kind=Pod"),
            "events",
            &mut tasks,
            &last_error,
        );
        Ok(Cluster {
            client,
            pods,
            events,
            pod_type,
            tasks,
            last_error,
        })
    }

    /// Wait for the first list of both caches (`API_TIMEOUT` at most, or `within` seconds).
    pub async fn ready(&self, within: u64) -> Result<(), SpawnError> {
        let limit = API_TIMEOUT.min(Duration::from_secs(within.max(1)));
        let began = Instant::now();
        let both = async {
            let _ = self.pods.wait_until_ready().await;
            let _ = self.events.wait_until_ready().await;
        };
        let mut both = std::pin::pin!(both);
        loop {
            let tick = tokio::time::sleep(Duration::from_millis(100));
            tokio::select! {
                () = &mut both => return Ok(()),
                () = tick => {}
            }
            // A first list that fails (no such host, refused, forbidden) is an answer too:
            // the watch keeps retrying, but this request learns why now.
            let failing = self.last_error.lock().ok().and_then(|e| e.clone());
            if let Some(e) = failing.filter(|_| began.elapsed() >= Duration::from_millis(500)) {
                return Err(SpawnError::Unavailable(format!("Kubernetes API: {e}")));
            }
            if began.elapsed() >= limit {
                return Err(SpawnError::Unavailable(format!(
                    "the Kubernetes API did not list pods and events in {} s",
                    limit.as_secs()
                )));
            }
        }
    }

    fn typed_api(&self, ns: &str, ar: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), ns, ar)
    }

    /// The cached pod `ns/name`.
    pub fn pod(&self, ns: &str, name: &str) -> Option<PodView> {
        self.pods
            .get(&ObjectRef::new_with(name, self.pod_type.clone()).within(ns))
            .map(|p| PodView::of(&p))
    }

    /// The cached events of pod `ns/name`: uid, timestamp (`lastTimestamp`, else
    /// `eventTime`), and the event.
    pub fn pod_events(&self, ns: &str, pod: &str) -> Vec<(String, String, Value)> {
        self.events
            .state()
            .into_iter()
            .filter(|e| {
                let involved = e.data.get("involvedObject");
                let field = |k: &str| involved.and_then(|i| i.get(k)).and_then(Value::as_str);
                field("name") == Some(pod)
                    && field("namespace").is_none_or(|n| n == ns)
                    && e.metadata.namespace.as_deref().is_none_or(|n| n == ns)
            })
            .map(|e| {
                let when = ["lastTimestamp", "eventTime"]
                    .iter()
                    .find_map(|k| e.data.get(*k).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_owned();
                let mut event = e.data.clone();
                if let Value::Object(m) = &mut event {
                    m.insert("metadata".into(), json!(e.metadata));
                }
                (e.metadata.uid.clone().unwrap_or_default(), when, event)
            })
            .collect()
    }

    /// The uids of the events the pod has now, which a new start must not replay.
    pub fn event_uids(&self, ns: &str, pod: &str) -> HashSet<String> {
        self.pod_events(ns, pod)
            .into_iter()
            .map(|(u, _, _)| u)
            .collect()
    }

    /// Create the user's namespace (it may exist).
    pub async fn ensure_namespace(&self, name: &str, namespace: &Value) -> Result<(), SpawnError> {
        let ar = ApiResource::erase::<Namespace>(&());
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let mut body = namespace.clone();
        body["apiVersion"] = json!("v1");
        body["kind"] = json!("Namespace");
        match timed(
            "namespace",
            api.create(&PostParams::default(), &object(body)?),
        )
        .await?
        {
            Ok(_) => Ok(()),
            Err(e) if status_code(&e) == Some(409) => Ok(()),
            Err(e) => Err(api_error(&format!("namespace {name}"), e)),
        }
    }

    /// Create the PVC unless it exists (a 403 from a quota is fine if it does).
    pub async fn ensure_pvc(&self, ns: &str, name: &str, pvc: &Value) -> Result<(), SpawnError> {
        let ar = ApiResource::erase::<PersistentVolumeClaim>(&());
        let api = self.typed_api(ns, &ar);
        let what = format!("PVC {ns}/{name}");
        match timed(
            &what,
            api.create(&PostParams::default(), &object(pvc.clone())?),
        )
        .await?
        {
            Ok(_) => Ok(()),
            Err(e) if status_code(&e) == Some(409) => Ok(()),
            Err(e) if status_code(&e) == Some(403) => {
                match timed(&what, api.get_opt(name)).await? {
                    Ok(Some(_)) => Ok(()),
                    _ => Err(api_error(&what, e)),
                }
            }
            Err(e) => Err(api_error(&what, e)),
        }
    }

    /// Delete a PVC (gone already is fine).
    pub async fn delete_pvc(&self, ns: &str, name: &str) -> Result<(), SpawnError> {
        let ar = ApiResource::erase::<PersistentVolumeClaim>(&());
        let api = self.typed_api(ns, &ar);
        let what = format!("PVC {ns}/{name}");
        match timed(&what, api.delete(name, &DeleteParams::default())).await? {
            Ok(_) => {
                tracing::info!("deleted {what}");
                Ok(())
            }
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(api_error(&what, e)),
        }
    }

    /// Create the pod; one left from an earlier start (409) is deleted first. The new pod's uid.
    pub async fn create_pod(
        &self,
        ns: &str,
        name: &str,
        pod: &Value,
        timeout: u64,
    ) -> Result<String, SpawnError> {
        let api = self.typed_api(ns, &self.pod_type);
        let what = format!("pod {ns}/{name}");
        let body = object(pod.clone())?;
        for _ in 0..3 {
            match timed(&what, api.create(&PostParams::default(), &body)).await? {
                Ok(created) => return Ok(created.metadata.uid.unwrap_or_default()),
                Err(e) if status_code(&e) == Some(409) => {
                    tracing::warn!("{what} already exists; deleting it before starting again");
                    self.delete_pod(ns, name, 0, timeout).await?;
                }
                Err(e) => return Err(api_error(&what, e)),
            }
        }
        Err(SpawnError::Unavailable(format!(
            "{what} keeps existing after deletion"
        )))
    }

    /// Delete any Service of this name, then create `service`.
    pub async fn replace_service(
        &self,
        ns: &str,
        name: &str,
        service: &Value,
    ) -> Result<(), SpawnError> {
        let ar = ApiResource::erase::<Service>(&());
        let api = self.typed_api(ns, &ar);
        let what = format!("service {ns}/{name}");
        match timed(&what, api.delete(name, &DeleteParams::default())).await? {
            Ok(_) => {
                let deadline = Instant::now() + API_TIMEOUT;
                while let Ok(Some(_)) = timed(&what, api.get_opt(name)).await? {
                    if Instant::now() >= deadline {
                        return Err(SpawnError::Unavailable(format!("{what} was not deleted")));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            Err(e) if status_code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(&what, e)),
        }
        // KubeSpawner's Service carries no apiVersion; the typed client wants one.
        let mut body = service.clone();
        body["apiVersion"] = json!("v1");
        match timed(&what, api.create(&PostParams::default(), &object(body)?)).await? {
            Ok(_) => Ok(()),
            Err(e) => Err(api_error(&what, e)),
        }
    }

    /// Delete the pod with `grace` seconds to stop, and wait until the cache has lost it.
    pub async fn delete_pod(
        &self,
        ns: &str,
        name: &str,
        grace: u32,
        timeout: u64,
    ) -> Result<(), SpawnError> {
        let api = self.typed_api(ns, &self.pod_type);
        let what = format!("pod {ns}/{name}");
        let params = DeleteParams {
            grace_period_seconds: Some(grace),
            ..DeleteParams::default()
        };
        match timed(&what, api.delete(name, &params)).await? {
            Ok(_) => {}
            Err(e) if status_code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(&what, e)),
        }
        let deadline = Instant::now() + Duration::from_secs(timeout.max(1));
        while self.pod(ns, name).is_some() {
            if Instant::now() >= deadline {
                return Err(SpawnError::Unavailable(format!(
                    "{what} was not deleted in {timeout} seconds"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

/// Start a list+watch cache of `api`; the task restarts the watch with backoff on errors.
fn watch(
    api: Api<DynamicObject>,
    ar: &ApiResource,
    config: watcher::Config,
    what: &'static str,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    last_error: &Arc<Mutex<Option<String>>>,
) -> Store<DynamicObject> {
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    let stream = reflector::reflector(writer, watcher(api, config)).default_backoff();
    let last_error = Arc::clone(last_error);
    tasks.push(tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            let error = match item {
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!("watching {what}: {e}");
                    Some(e.to_string())
                }
            };
            if let Ok(mut last) = last_error.lock() {
                *last = error;
            }
        }
    }));
    store
}

fn object(value: Value) -> Result<DynamicObject, SpawnError> {
    serde_json::from_value(value).map_err(|e| SpawnError::Internal(format!("object: {e}")))
}

/// Resource quantities as the typed models hold them (strings).
fn quantities_as_text(value: &mut Value) {
    if let Some(containers) = value
        .pointer_mut("/spec/containers")
        .and_then(Value::as_array_mut)
    {
        for c in containers {
            for kind in ["limits", "requests"] {
                if let Some(Value::Object(m)) = c.pointer_mut(&format!("/resources/{kind}")) {
                    for v in m.values_mut() {
                        if let Value::Number(n) = v {
                            *v = Value::String(n.to_string());
                        }
                    }
                }
            }
        }
    }
}

/// Check that the objects are well-formed Kubernetes objects (the typed models parse them).
pub fn check_objects(objects: &Objects) -> Result<(), String> {
    let mut pod = objects.pod.clone();
    quantities_as_text(&mut pod);
    serde_json::from_value::<Pod>(pod).map_err(|e| format!("the pod would be invalid: {e}"))?;
    if let Some(pvc) = &objects.pvc {
        let mut pvc = pvc.clone();
        if let Some(Value::Object(m)) = pvc.pointer_mut("/spec/resources/requests") {
            m.retain(|_, v| !v.is_null());
        }
        serde_json::from_value::<PersistentVolumeClaim>(pvc)
            .map_err(|e| format!("the PVC would be invalid: {e}"))?;
    }
    Ok(())
}
