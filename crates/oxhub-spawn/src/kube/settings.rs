//! KubeSpawner's traits, read from a JSON map of trait name → value (the configuration's
//! `c.KubeSpawner.*`, with a profile's `kubespawner_override` merged in per spawn).

use serde_json::{Map, Value};

/// `slug_scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugScheme {
    /// 7.x: valid names unchanged, anything else cleaned and hashed.
    Safe,
    /// ≤ 6.x: escapism.
    Escape,
}

/// Where the hub's API client connects: the in-cluster service account, else the kubeconfig
/// (`KUBECONFIG`, `~/.kube/config`), with KubeSpawner's overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiSettings {
    /// `k8s_api_host`: the API server's URL instead of the inferred one.
    pub host: Option<String>,
    /// `k8s_api_ssl_ca_cert`: a CA bundle file.
    pub ssl_ca_cert: Option<String>,
    /// `k8s_api_verify_ssl`: false accepts any certificate.
    pub verify_ssl: Option<bool>,
}

/// The settings of one spawn (the configured traits with the chosen profile's applied).
#[derive(Debug, Clone, PartialEq)]
pub struct KubeSettings {
    /// `namespace`; empty: the hub's own.
    pub namespace: String,
    pub enable_user_namespaces: bool,
    pub user_namespace_template: String,
    pub user_namespace_labels: Map<String, Value>,
    pub user_namespace_annotations: Map<String, Value>,
    pub pod_name_template: String,
    pub pvc_name_template: String,
    pub dns_name_template: String,
    pub pod_connect_ip: Option<String>,
    pub slug_scheme: SlugScheme,
    pub image: String,
    pub image_pull_policy: Option<String>,
    pub image_pull_secrets: Vec<Value>,
    pub working_dir: Option<String>,
    pub uid: Option<i64>,
    pub gid: Option<i64>,
    pub fs_gid: Option<i64>,
    pub supplemental_gids: Vec<i64>,
    pub privileged: bool,
    pub allow_privilege_escalation: Option<bool>,
    pub container_security_context: Map<String, Value>,
    pub pod_security_context: Map<String, Value>,
    pub node_selector: Map<String, Value>,
    pub tolerations: Value,
    pub node_affinity_required: Value,
    pub node_affinity_preferred: Value,
    pub pod_affinity_required: Value,
    pub pod_affinity_preferred: Value,
    pub pod_anti_affinity_required: Value,
    pub pod_anti_affinity_preferred: Value,
    pub volumes: Value,
    pub volume_mounts: Value,
    pub init_containers: Value,
    pub extra_containers: Value,
    pub lifecycle_hooks: Map<String, Value>,
    pub extra_pod_config: Map<String, Value>,
    pub extra_container_config: Map<String, Value>,
    pub extra_labels: Map<String, Value>,
    pub extra_annotations: Map<String, Value>,
    pub common_labels: Map<String, Value>,
    pub component_label: String,
    pub extra_resource_limits: Map<String, Value>,
    pub extra_resource_guarantees: Map<String, Value>,
    pub service_account: Option<String>,
    pub automount_service_account_token: Option<bool>,
    pub scheduler_name: Option<String>,
    pub priority_class_name: Option<String>,
    pub storage_pvc_ensure: bool,
    pub storage_capacity: Option<String>,
    pub storage_class: Option<String>,
    pub storage_access_modes: Vec<String>,
    pub storage_selector: Map<String, Value>,
    pub storage_extra_labels: Map<String, Value>,
    pub storage_extra_annotations: Map<String, Value>,
    pub services_enabled: bool,
    pub delete_grace_period: i64,
    pub delete_stopped_pods: bool,
    pub events_enabled: bool,
    pub delete_pvc: bool,
    pub remember_pvc_name: bool,
    /// `Spawner.environment` as configured: KubeSpawner expands its values again with the
    /// name fields, and a dict value is a whole EnvVar (`valueFrom`).
    pub environment: Map<String, Value>,
    /// `Spawner.cmd` was configured (KubeSpawner's default is the image's own command).
    pub port: u16,
    pub ip: String,
    /// Seconds; the wait for a running pod and for a deleted one.
    pub start_timeout: u64,
    pub api: ApiSettings,
}

/// The names KubeSpawner reads; anything else in a profile override is another spawner's.
pub const TRAITS: &[&str] = &[
    "namespace",
    "enable_user_namespaces",
    "user_namespace_template",
    "user_namespace_labels",
    "user_namespace_annotations",
    "pod_name_template",
    "pvc_name_template",
    "dns_name_template",
    "pod_connect_ip",
    "slug_scheme",
    "image",
    "image_pull_policy",
    "image_pull_secrets",
    "working_dir",
    "uid",
    "gid",
    "fs_gid",
    "supplemental_gids",
    "privileged",
    "allow_privilege_escalation",
    "container_security_context",
    "pod_security_context",
    "node_selector",
    "tolerations",
    "node_affinity_required",
    "node_affinity_preferred",
    "pod_affinity_required",
    "pod_affinity_preferred",
    "pod_anti_affinity_required",
    "pod_anti_affinity_preferred",
    "volumes",
    "volume_mounts",
    "init_containers",
    "extra_containers",
    "lifecycle_hooks",
    "extra_pod_config",
    "extra_container_config",
    "extra_labels",
    "extra_annotations",
    "common_labels",
    "component_label",
    "extra_resource_limits",
    "extra_resource_guarantees",
    "service_account",
    "automount_service_account_token",
    "scheduler_name",
    "priority_class_name",
    "storage_pvc_ensure",
    "storage_capacity",
    "storage_class",
    "storage_access_modes",
    "storage_selector",
    "storage_extra_labels",
    "storage_extra_annotations",
    "services_enabled",
    "delete_grace_period",
    "delete_stopped_pods",
    "events_enabled",
    "delete_pvc",
    "remember_pvc_name",
    "k8s_api_host",
    "k8s_api_ssl_ca_cert",
    "k8s_api_verify_ssl",
];

/// KubeSpawner's `common_labels` default.
fn default_common_labels() -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("app.kubernetes.io/name", "jupyterhub"),
        ("app.kubernetes.io/managed-by", "kubespawner"),
        ("app", "jupyterhub"),
        ("heritage", "jupyterhub"),
    ] {
        m.insert(k.into(), Value::String(v.into()));
    }
    m
}

struct Reader<'a> {
    traits: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.traits.get(name).filter(|v| !v.is_null())
    }
    fn err(name: &str, what: &str) -> String {
        format!("KubeSpawner.{name} must be {what}")
    }
    fn text(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Self::err(name, "a string")),
        }
    }
    fn text_or(&self, name: &str, default: &str) -> Result<String, String> {
        Ok(self.text(name)?.unwrap_or_else(|| default.to_owned()))
    }
    fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        Ok(self.opt_flag(name)?.unwrap_or(default))
    }
    fn opt_flag(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Self::err(name, "True or False")),
        }
    }
    fn int(&self, name: &str) -> Result<Option<i64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::err(name, "an integer")),
        }
    }
    fn dict(&self, name: &str) -> Result<Map<String, Value>, String> {
        match self.get(name) {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(Self::err(name, "a dict")),
        }
    }
    /// A list, or a dict whose values are taken in key order.
    fn list_or_dict(&self, name: &str) -> Result<Value, String> {
        match self.get(name) {
            None => Ok(Value::Array(Vec::new())),
            Some(Value::Array(a)) => Ok(Value::Array(a.clone())),
            Some(Value::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Ok(Value::Array(
                    keys.into_iter().map(|k| m[k].clone()).collect(),
                ))
            }
            Some(_) => Err(Self::err(name, "a list or a dict")),
        }
    }
    fn strings(&self, name: &str, default: &[&str]) -> Result<Vec<String>, String> {
        match self.get(name) {
            None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Self::err(name, "a list of strings")),
            Some(_) => Err(Self::err(name, "a list of strings")),
        }
    }
}

impl KubeSettings {
    /// Read the traits. `port` and `ip` are `Spawner.port`/`ip` (0 and empty: KubeSpawner's
    /// 8888 and 0.0.0.0), `start_timeout` in seconds.
    pub fn from_traits(
        traits: &Map<String, Value>,
        environment: Map<String, Value>,
        port: u16,
        ip: &str,
        start_timeout: u64,
    ) -> Result<KubeSettings, String> {
        let r = Reader { traits };
        let slug_scheme = match r.text_or("slug_scheme", "safe")?.as_str() {
            "safe" => SlugScheme::Safe,
            "escape" => SlugScheme::Escape,
            other => {
                return Err(format!(
                    "KubeSpawner.slug_scheme must be 'safe' or 'escape', not {other:?}"
                ))
            }
        };
        let image_pull_secrets = match r.get("image_pull_secrets") {
            None => Vec::new(),
            // A bare string is KubeSpawner's deprecated form of one secret.
            Some(Value::String(s)) => vec![Value::String(s.clone())],
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(Reader::err("image_pull_secrets", "a list")),
        };
        let supplemental_gids = match r.get("supplemental_gids") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(Value::as_i64)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Reader::err("supplemental_gids", "a list of integers"))?,
            Some(_) => return Err(Reader::err("supplemental_gids", "a list of integers")),
        };
        let storage_capacity = match r.get("storage_capacity") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(Reader::err("storage_capacity", "a string like '10Gi'")),
        };
        let common_labels = match r.get("common_labels") {
            None => default_common_labels(),
            Some(_) => r.dict("common_labels")?,
        };
        let allow_privilege_escalation = match traits.get("allow_privilege_escalation") {
            None => Some(false),
            Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(Reader::err(
                    "allow_privilege_escalation",
                    "True, False or None",
                ))
            }
        };
        let api = ApiSettings {
            host: r.text("k8s_api_host")?.filter(|h| !h.is_empty()),
            ssl_ca_cert: r.text("k8s_api_ssl_ca_cert")?.filter(|h| !h.is_empty()),
            verify_ssl: r.opt_flag("k8s_api_verify_ssl")?,
        };
        Ok(KubeSettings {
            namespace: r.text_or("namespace", "")?,
            enable_user_namespaces: r.flag("enable_user_namespaces", false)?,
            user_namespace_template: r
                .text_or("user_namespace_template", "{hubnamespace}-{username}")?,
            user_namespace_labels: r.dict("user_namespace_labels")?,
            user_namespace_annotations: r.dict("user_namespace_annotations")?,
            pod_name_template: r.text_or("pod_name_template", "jupyter-{user_server}")?,
            pvc_name_template: r.text_or("pvc_name_template", "claim-{user_server}")?,
            dns_name_template: r
                .text_or("dns_name_template", "{name}.{namespace}.svc.cluster.local")?,
            pod_connect_ip: r.text("pod_connect_ip")?.filter(|s| !s.is_empty()),
            slug_scheme,
            image: r.text_or("image", "quay.io/jupyterhub/singleuser:latest")?,
            image_pull_policy: r.text("image_pull_policy")?,
            image_pull_secrets,
            working_dir: r.text("working_dir")?,
            uid: r.int("uid")?,
            gid: r.int("gid")?,
            fs_gid: r.int("fs_gid")?,
            supplemental_gids,
            privileged: r.flag("privileged", false)?,
            allow_privilege_escalation,
            container_security_context: r.dict("container_security_context")?,
            pod_security_context: r.dict("pod_security_context")?,
            node_selector: r.dict("node_selector")?,
            tolerations: r.list_or_dict("tolerations")?,
            node_affinity_required: r.list_or_dict("node_affinity_required")?,
            node_affinity_preferred: r.list_or_dict("node_affinity_preferred")?,
            pod_affinity_required: r.list_or_dict("pod_affinity_required")?,
            pod_affinity_preferred: r.list_or_dict("pod_affinity_preferred")?,
            pod_anti_affinity_required: r.list_or_dict("pod_anti_affinity_required")?,
            pod_anti_affinity_preferred: r.list_or_dict("pod_anti_affinity_preferred")?,
            volumes: r.list_or_dict("volumes")?,
            volume_mounts: r.list_or_dict("volume_mounts")?,
            init_containers: r.list_or_dict("init_containers")?,
            extra_containers: r.list_or_dict("extra_containers")?,
            lifecycle_hooks: r.dict("lifecycle_hooks")?,
            extra_pod_config: r.dict("extra_pod_config")?,
            extra_container_config: r.dict("extra_container_config")?,
            extra_labels: r.dict("extra_labels")?,
            extra_annotations: r.dict("extra_annotations")?,
            common_labels,
            component_label: r.text_or("component_label", "singleuser-server")?,
            extra_resource_limits: r.dict("extra_resource_limits")?,
            extra_resource_guarantees: r.dict("extra_resource_guarantees")?,
            service_account: r.text("service_account")?,
            automount_service_account_token: r.opt_flag("automount_service_account_token")?,
            scheduler_name: r.text("scheduler_name")?,
            priority_class_name: r.text("priority_class_name")?,
            storage_pvc_ensure: r.flag("storage_pvc_ensure", false)?,
            storage_capacity,
            storage_class: r.text("storage_class")?,
            storage_access_modes: r.strings("storage_access_modes", &["ReadWriteOnce"])?,
            storage_selector: r.dict("storage_selector")?,
            storage_extra_labels: r.dict("storage_extra_labels")?,
            storage_extra_annotations: r.dict("storage_extra_annotations")?,
            services_enabled: r.flag("services_enabled", false)?,
            delete_grace_period: r.int("delete_grace_period")?.unwrap_or(1).max(0),
            delete_stopped_pods: r.flag("delete_stopped_pods", true)?,
            events_enabled: r.flag("events_enabled", true)?,
            delete_pvc: r.flag("delete_pvc", true)?,
            remember_pvc_name: r.flag("remember_pvc_name", true)?,
            environment,
            port: if port == 0 { 8888 } else { port },
            ip: if ip.is_empty() {
                "0.0.0.0".into()
            } else {
                ip.to_owned()
            },
            start_timeout: start_timeout.max(1),
            api,
        })
    }
}

/// KubeSpawner's `_apply_overrides` for dicts: merged recursively, `None` removing a key;
/// anything else replaces the configured value.
pub fn apply_overrides(traits: &mut Map<String, Value>, overrides: &Map<String, Value>) {
    for (k, v) in overrides {
        match (traits.get_mut(k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => merge_dict(old, new),
            _ => {
                traits.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Merge dict `from` into `into` recursively; a `None` value removes that key.
pub fn merge_dict(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (_, Value::Null) => {
                into.remove(k);
            }
            (Some(Value::Object(old)), Value::Object(new)) => merge_dict(old, new),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}
