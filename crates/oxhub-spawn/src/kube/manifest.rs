//! The objects KubeSpawner 7.1.0 creates for one server (`get_pod_manifest`, `make_pod`,
//! `get_pvc_manifest`, `get_service_manifest`), as the JSON the API server receives: the same
//! names, labels, annotations, environment order and field spellings, so an existing
//! deployment's pods, PVCs and network policies keep matching.

use super::models::{
    CONTAINER, ENV_VAR, LIFECYCLE, NODE_SELECTOR_TERM, OBJECT_REFERENCE, POD_AFFINITY_TERM,
    POD_SPEC, PREFERRED_TERM, TOLERATION, VOLUME, VOLUME_MOUNT, WEIGHTED_TERM,
};
use super::settings::{KubeSettings, SlugScheme};
use super::slugs;
use crate::template::{format_named, Vars};
use oxhub_plugin::spawn::{SpawnRequest, SERVICE_URL_VAR};
use serde_json::{json, Map, Value};

/// The KubeSpawner version the objects and state claim to come from.
pub const KUBESPAWNER_VERSION: &str = "7.1.0";
/// The JupyterHub version in `hub.jupyter.org/jupyterhub-version`.
pub const JUPYTERHUB_VERSION: &str = "6.1.1";

/// Where the service account's namespace is, for a hub running in a cluster.
const NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The namespace the hub runs in: the service account's, else `default`.
pub fn hub_namespace() -> String {
    std::fs::read_to_string(NAMESPACE_FILE)
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// The names of one server's objects and the fields of KubeSpawner's templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Names {
    pub namespace: String,
    pub pod_name: String,
    pub pvc_name: String,
    pub dns_name: String,
    vars: Vars,
}

impl Names {
    /// `_expand_user_properties` for `template`: strict `str.format`, and trailing `-`
    /// stripped unless the template itself ends with one.
    pub fn expand(&self, template: &str) -> Result<String, String> {
        let rendered = format_named(template, &self.vars)?;
        Ok(if template.ends_with('-') {
            rendered
        } else {
            rendered.trim_end_matches('-').to_owned()
        })
    }

    /// `_expand_all`: every string inside lists and dict values (not keys).
    pub fn expand_all(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => Value::String(self.expand(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.expand_all(i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(self.expand_map(m)?),
            other => other.clone(),
        })
    }

    fn expand_map(&self, m: &Map<String, Value>) -> Result<Map<String, Value>, String> {
        m.iter()
            .map(|(k, v)| Ok((k.clone(), self.expand_all(v)?)))
            .collect()
    }
}

/// Compute the names as KubeSpawner does when it is created: the namespace first (the user
/// namespace template may use the others' fields), then the pod, DNS and PVC names.
pub fn names(
    settings: &KubeSettings,
    user: &str,
    server: &str,
    hub_ns: &str,
) -> Result<Names, String> {
    const MAX: usize = slugs::SLUG_MAX_LENGTH;
    let safe_username = slugs::safe_slug(user, MAX);
    let safe_servername = if server.is_empty() {
        String::new()
    } else {
        slugs::safe_slug(server, MAX)
    };
    let safe_user_server = if safe_username.len() + safe_servername.len() + 2 > MAX {
        slugs::multi_slug(&[user, server], MAX)
    } else if server.is_empty() {
        safe_username.clone()
    } else {
        format!("{safe_username}--{safe_servername}")
    };
    let escaped_username = slugs::escape_slug(user);
    let escaped_servername = slugs::escape_slug(server);
    let (username, servername, user_server) = match settings.slug_scheme {
        SlugScheme::Safe => (
            safe_username.clone(),
            safe_servername.clone(),
            safe_user_server.clone(),
        ),
        SlugScheme::Escape => (
            escaped_username.clone(),
            escaped_servername.clone(),
            if server.is_empty() {
                escaped_username.clone()
            } else {
                format!("{escaped_username}--{escaped_servername}")
            },
        ),
    };
    let hubnamespace = if hub_ns == "default" { "user" } else { hub_ns };
    let mut vars = Vars::new();
    for (k, v) in [
        ("unescaped_username", user),
        ("unescaped_servername", server),
        ("hubnamespace", hubnamespace),
        ("username", &username),
        ("servername", &servername),
        ("user_server", &user_server),
        ("safe_username", &safe_username),
        ("safe_servername", &safe_servername),
        ("safe_user_server", &safe_user_server),
        ("escaped_username", &escaped_username),
        ("escaped_servername", &escaped_servername),
        (
            "escaped_user_server",
            &format!("{escaped_username}--{escaped_servername}"),
        ),
        ("pod_name", "pod_name_unavailable!"),
        ("pvc_name", "pvc_name_unavailable!"),
    ] {
        vars.insert(k.into(), Value::String(v.to_owned()));
    }
    let configured_ns = if settings.namespace.is_empty() {
        hub_ns.to_owned()
    } else {
        settings.namespace.clone()
    };
    vars.insert("namespace".into(), Value::String(configured_ns.clone()));
    let mut names = Names {
        namespace: configured_ns,
        pod_name: String::new(),
        pvc_name: String::new(),
        dns_name: String::new(),
        vars,
    };
    if settings.enable_user_namespaces {
        names.namespace = names
            .expand(&settings.user_namespace_template)
            .map_err(|e| format!("KubeSpawner.user_namespace_template: {e}"))?;
        names
            .vars
            .insert("namespace".into(), Value::String(names.namespace.clone()));
    }
    names.pod_name = names
        .expand(&settings.pod_name_template)
        .map_err(|e| format!("KubeSpawner.pod_name_template: {e}"))?;
    names
        .vars
        .insert("pod_name".into(), Value::String(names.pod_name.clone()));
    let mut dns_vars = Vars::new();
    dns_vars.insert("name".into(), Value::String(names.pod_name.clone()));
    dns_vars.insert("namespace".into(), Value::String(names.namespace.clone()));
    names.dns_name = format_named(&settings.dns_name_template, &dns_vars)
        .map_err(|e| format!("KubeSpawner.dns_name_template: {e}"))?;
    names.pvc_name = names
        .expand(&settings.pvc_name_template)
        .map_err(|e| format!("KubeSpawner.pvc_name_template: {e}"))?;
    names
        .vars
        .insert("pvc_name".into(), Value::String(names.pvc_name.clone()));
    Ok(names)
}

fn labels_common(
    settings: &KubeSettings,
    user: &str,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert(
        "hub.jupyter.org/username".into(),
        Value::String(slugs::label_slug(user)),
    );
    labels.extend(extra.clone());
    labels.extend(settings.common_labels.clone());
    labels
}

fn labels_pod(
    settings: &KubeSettings,
    user: &str,
    server: &str,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let mut labels = labels_common(settings, user, extra);
    let component = Value::String(settings.component_label.clone());
    labels.insert("app.kubernetes.io/component".into(), component.clone());
    labels.insert("component".into(), component);
    labels.insert(
        "hub.jupyter.org/servername".into(),
        Value::String(slugs::label_slug(server)),
    );
    labels
}

fn annotations_common(user: &str, server: &str, extra: &Map<String, Value>) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert(
        "hub.jupyter.org/username".into(),
        Value::String(user.into()),
    );
    if !server.is_empty() {
        a.insert(
            "hub.jupyter.org/servername".into(),
            Value::String(server.into()),
        );
    }
    a.insert(
        "hub.jupyter.org/kubespawner-version".into(),
        Value::String(KUBESPAWNER_VERSION.into()),
    );
    a.insert(
        "hub.jupyter.org/jupyterhub-version".into(),
        Value::String(JUPYTERHUB_VERSION.into()),
    );
    a.extend(extra.clone());
    a
}

/// The Service's labels, annotations and selector (the pod's labels).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMeta {
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    pub selector: Map<String, Value>,
}

/// One server's objects, ready to create (or to print in a dry run).
#[derive(Debug, Clone, PartialEq)]
pub struct Objects {
    pub names: Names,
    pub pod: Value,
    pub pvc: Option<Value>,
    /// The user's namespace, with `enable_user_namespaces`.
    pub namespace: Option<Value>,
    /// Without its owner reference, which needs the created pod's uid.
    pub service_labels: Option<ServiceMeta>,
}

impl Objects {
    /// The Service for the pod with uid `pod_uid` (`services_enabled`).
    pub fn service(&self, pod_uid: &str, port: u16) -> Option<Value> {
        let ServiceMeta {
            labels,
            annotations,
            selector,
        } = self.service_labels.as_ref()?;
        Some(json!({
            "kind": "Service",
            "metadata": {
                "name": self.names.pod_name,
                "annotations": annotations,
                "labels": labels,
                "ownerReferences": [{
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": self.names.pod_name,
                    "uid": pod_uid,
                    "blockOwnerDeletion": true,
                    "controller": false,
                }],
            },
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "http", "port": port, "targetPort": port}],
                "selector": selector,
            },
        }))
    }
}

/// The environment of the notebook container: the hub's (the single-user protocol), the
/// image, and the configured `environment` expanded again with the name fields (a dict value
/// is a whole EnvVar); in KubeSpawner's order, variables whose `$(VAR)` references are
/// defined before them first, each round sorted by name.
fn environment(
    settings: &KubeSettings,
    request: &SpawnRequest,
    names: &Names,
) -> Result<Vec<Value>, String> {
    let mut vars: Map<String, Value> = Map::new();
    for (k, v) in &request.env {
        vars.insert(k.clone(), Value::String(v.clone()));
    }
    vars.insert(
        SERVICE_URL_VAR.into(),
        Value::String(request.service_url(&settings.ip, settings.port)),
    );
    vars.insert(
        "JUPYTER_IMAGE_SPEC".into(),
        Value::String(settings.image.clone()),
    );
    vars.insert(
        "JUPYTER_IMAGE".into(),
        Value::String(settings.image.clone()),
    );
    for (k, v) in &settings.environment {
        if matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_)) {
            let expanded = names
                .expand_all(v)
                .map_err(|e| format!("Spawner.environment[{k:?}]: {e}"))?;
            vars.insert(k.clone(), expanded);
        }
    }
    let mut pending: Vec<(String, Value, Vec<String>)> = Vec::new();
    for (key, v) in vars {
        let var = match v {
            Value::Object(m) => {
                let mut m = m;
                m.entry("name")
                    .or_insert_with(|| Value::String(key.clone()));
                ENV_VAR.of(&format!("environment[{key:?}]"), &Value::Object(m))?
            }
            Value::String(s) => json!({"name": key, "value": s}),
            other => json!({"name": key, "value": other}),
        };
        let name = var["name"].as_str().unwrap_or(&key).to_owned();
        let deps = references(var.get("value").and_then(Value::as_str).unwrap_or(""))
            .into_iter()
            .filter(|d| *d != name)
            .collect();
        pending.push((key, var, deps));
    }
    let mut sorted: Vec<Value> = Vec::new();
    let mut defined: Vec<String> = Vec::new();
    loop {
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(_, _, deps)| deps.iter().all(|d| defined.contains(d)));
        pending = rest;
        if ready.is_empty() {
            let mut rest = pending;
            rest.sort_by(|a, b| a.0.cmp(&b.0));
            sorted.extend(rest.into_iter().map(|(_, v, _)| v));
            break;
        }
        let mut ready = ready;
        ready.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, v, _) in ready {
            if let Some(n) = v["name"].as_str() {
                defined.push(n.to_owned());
            }
            sorted.push(v);
        }
    }
    Ok(sorted)
}

/// The `$(NAME)` references of an environment value.
fn references(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find("$(") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) if end > 0 => {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            _ => break,
        }
    }
    out
}

fn cpu(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// The pod, PVC and service of `request`'s server.
pub fn objects(
    settings: &KubeSettings,
    names: Names,
    request: &SpawnRequest,
) -> Result<Objects, String> {
    let user = request.user.as_str();
    let server = request.server.as_str();
    let expand = |what: &str, v: &Value| {
        names
            .expand_all(v)
            .map_err(|e| format!("KubeSpawner.{what}: {e}"))
    };
    let expand_map = |what: &str, m: &Map<String, Value>| -> Result<Map<String, Value>, String> {
        match expand(what, &Value::Object(m.clone()))? {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    };

    let extra_labels = expand_map("extra_labels", &settings.extra_labels)?;
    let extra_annotations = expand_map("extra_annotations", &settings.extra_annotations)?;
    let labels = labels_pod(settings, user, server, &extra_labels);
    let annotations = annotations_common(user, server, &extra_annotations);

    let mut spec = Map::new();
    spec.insert("restartPolicy".into(), json!("OnFailure"));
    {
        let secrets = settings
            .image_pull_secrets
            .iter()
            .map(|s| match s {
                Value::String(name) => Ok(json!({ "name": name })),
                other => OBJECT_REFERENCE.of("KubeSpawner.image_pull_secrets", other),
            })
            .collect::<Result<Vec<_>, _>>()?;
        spec.insert("imagePullSecrets".into(), Value::Array(secrets));
    }
    if !settings.node_selector.is_empty() {
        spec.insert(
            "nodeSelector".into(),
            Value::Object(settings.node_selector.clone()),
        );
    }
    let mut psc = Map::new();
    if let Some(g) = settings.fs_gid {
        psc.insert("fsGroup".into(), json!(g));
    }
    if !settings.supplemental_gids.is_empty() {
        psc.insert(
            "supplementalGroups".into(),
            json!(settings.supplemental_gids),
        );
    }
    for (k, v) in &settings.pod_security_context {
        if k.contains('_') {
            return Err(format!(
                "pod_security_context's keys should have k8s camelCase names, got '{k}'"
            ));
        }
        psc.insert(k.clone(), v.clone());
    }
    if !psc.is_empty() {
        spec.insert("securityContext".into(), Value::Object(psc));
    }
    let mut csc = Map::new();
    if let Some(u) = settings.uid {
        csc.insert("runAsUser".into(), json!(u));
    }
    if let Some(g) = settings.gid {
        csc.insert("runAsGroup".into(), json!(g));
    }
    if settings.privileged {
        csc.insert("privileged".into(), json!(true));
    }
    if let Some(b) = settings.allow_privilege_escalation {
        csc.insert("allowPrivilegeEscalation".into(), json!(b));
    }
    for (k, v) in &settings.container_security_context {
        if k.contains('_') {
            return Err(format!(
                "container_security_context's keys should have k8s camelCase names, got '{k}'"
            ));
        }
        csc.insert(k.clone(), v.clone());
    }

    let env = environment(settings, request, &names)?;
    let mut container = Map::new();
    container.insert("name".into(), json!("notebook"));
    container.insert("image".into(), json!(settings.image));
    if let Some(dir) = &settings.working_dir {
        let dir = names
            .expand(dir)
            .map_err(|e| format!("KubeSpawner.working_dir: {e}"))?;
        container.insert("workingDir".into(), json!(dir));
    }
    container.insert(
        "ports".into(),
        json!([{"name": "notebook-port", "containerPort": settings.port}]),
    );
    container.insert("env".into(), Value::Array(env));
    // cmd + args as the container's args: the image's ENTRYPOINT stays. Without a cmd the
    // image's own command runs, and the arguments are dropped, as KubeSpawner does.
    if !request.cmd.is_empty() {
        let args: Vec<&String> = request.cmd.iter().chain(request.args.iter()).collect();
        container.insert("args".into(), json!(args));
    }
    if let Some(policy) = &settings.image_pull_policy {
        container.insert("imagePullPolicy".into(), json!(policy));
    }
    // Present even when empty, as KubeSpawner sends it.
    container.insert(
        "lifecycle".into(),
        LIFECYCLE.of(
            "KubeSpawner.lifecycle_hooks",
            &Value::Object(settings.lifecycle_hooks.clone()),
        )?,
    );
    let mut requests = Map::new();
    let res = &request.resources;
    if let Some(c) = res.cpu_guarantee.filter(|c| *c != 0.0) {
        requests.insert("cpu".into(), cpu(c));
    }
    if let Some(m) = res.mem_guarantee.filter(|m| *m != 0) {
        requests.insert("memory".into(), json!(m));
    }
    requests.extend(settings.extra_resource_guarantees.clone());
    let mut limits = Map::new();
    if let Some(c) = res.cpu_limit.filter(|c| *c != 0.0) {
        limits.insert("cpu".into(), cpu(c));
    }
    if let Some(m) = res.mem_limit.filter(|m| *m != 0) {
        limits.insert("memory".into(), json!(m));
    }
    limits.extend(settings.extra_resource_limits.clone());
    container.insert(
        "resources".into(),
        json!({"limits": limits, "requests": requests}),
    );
    let mounts = VOLUME_MOUNT.list(
        "KubeSpawner.volume_mounts",
        &expand("volume_mounts", &settings.volume_mounts)?,
    )?;
    container.insert("volumeMounts".into(), Value::Array(mounts));
    if !csc.is_empty() {
        container.insert("securityContext".into(), Value::Object(csc));
    }
    CONTAINER.update(
        "KubeSpawner.extra_container_config",
        &mut container,
        &settings.extra_container_config,
    )?;

    if let Some(sa) = &settings.service_account {
        let sa = names
            .expand(sa)
            .map_err(|e| format!("KubeSpawner.service_account: {e}"))?;
        spec.insert("serviceAccountName".into(), json!(sa));
    }
    match settings.automount_service_account_token {
        None if settings.service_account.is_none() => {
            spec.insert("automountServiceAccountToken".into(), json!(false));
        }
        None => {}
        Some(b) => {
            spec.insert("automountServiceAccountToken".into(), json!(b));
        }
    }
    let mut containers = vec![Value::Object(container)];
    containers.extend(CONTAINER.list(
        "KubeSpawner.extra_containers",
        &expand("extra_containers", &settings.extra_containers)?,
    )?);
    spec.insert("containers".into(), Value::Array(containers));
    let tolerations = TOLERATION.list("KubeSpawner.tolerations", &settings.tolerations)?;
    if !tolerations.is_empty() {
        spec.insert("tolerations".into(), Value::Array(tolerations));
    }
    let init = CONTAINER.list(
        "KubeSpawner.init_containers",
        &expand("init_containers", &settings.init_containers)?,
    )?;
    if !init.is_empty() {
        spec.insert("initContainers".into(), Value::Array(init));
    }
    let volumes = VOLUME.list(
        "KubeSpawner.volumes",
        &expand("volumes", &settings.volumes)?,
    )?;
    spec.insert("volumes".into(), Value::Array(volumes));
    if let Some(s) = settings.scheduler_name.as_ref().filter(|s| !s.is_empty()) {
        spec.insert("schedulerName".into(), json!(s));
    }
    if let Some(affinity) = affinity(settings)? {
        spec.insert("affinity".into(), affinity);
    }
    if let Some(p) = settings
        .priority_class_name
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        spec.insert("priorityClassName".into(), json!(p));
    }
    let extra_pod_config = expand_map("extra_pod_config", &settings.extra_pod_config)?;
    POD_SPEC.update("KubeSpawner.extra_pod_config", &mut spec, &extra_pod_config)?;

    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": names.pod_name, "labels": labels, "annotations": annotations},
        "spec": spec,
    });

    let pvc = if settings.storage_pvc_ensure {
        let mut labels = labels_common(
            settings,
            user,
            &expand_map("storage_extra_labels", &settings.storage_extra_labels)?,
        );
        labels.insert(
            "app.kubernetes.io/component".into(),
            Value::String(settings.component_label.clone()),
        );
        labels.insert("component".into(), json!("singleuser-storage"));
        let mut annotations = annotations_common(
            user,
            server,
            &expand_map(
                "storage_extra_annotations",
                &settings.storage_extra_annotations,
            )?,
        );
        let mut spec = Map::new();
        spec.insert("accessModes".into(), json!(settings.storage_access_modes));
        spec.insert(
            "resources".into(),
            json!({"requests": {"storage": settings.storage_capacity}}),
        );
        if let Some(class) = &settings.storage_class {
            annotations.insert(
                "volume.beta.kubernetes.io/storage-class".into(),
                json!(class),
            );
            spec.insert("storageClassName".into(), json!(class));
        }
        let selector = expand_map("storage_selector", &settings.storage_selector)?;
        if !selector.is_empty() {
            spec.insert("selector".into(), Value::Object(selector));
        }
        Some(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": names.pvc_name, "labels": labels, "annotations": annotations},
            "spec": spec,
        }))
    } else {
        None
    };
    let service_labels = settings.services_enabled.then(|| ServiceMeta {
        labels: labels_common(settings, user, &extra_labels),
        annotations: annotations_common(user, server, &extra_annotations),
        selector: labels_pod(settings, user, server, &extra_labels),
    });
    let namespace = if settings.enable_user_namespaces {
        Some(json!({"metadata": {
            "name": names.namespace,
            "labels": expand_map("user_namespace_labels", &settings.user_namespace_labels)?,
            "annotations": expand_map("user_namespace_annotations", &settings.user_namespace_annotations)?,
        }}))
    } else {
        None
    };
    Ok(Objects {
        names,
        pod,
        pvc,
        namespace,
        service_labels,
    })
}

fn affinity(settings: &KubeSettings) -> Result<Option<Value>, String> {
    let mut affinity = Map::new();
    let na_req = NODE_SELECTOR_TERM.list(
        "KubeSpawner.node_affinity_required",
        &settings.node_affinity_required,
    )?;
    let na_pref = PREFERRED_TERM.list(
        "KubeSpawner.node_affinity_preferred",
        &settings.node_affinity_preferred,
    )?;
    if !na_req.is_empty() || !na_pref.is_empty() {
        let mut node = Map::new();
        if !na_pref.is_empty() {
            node.insert(
                "preferredDuringSchedulingIgnoredDuringExecution".into(),
                Value::Array(na_pref),
            );
        }
        if !na_req.is_empty() {
            node.insert(
                "requiredDuringSchedulingIgnoredDuringExecution".into(),
                json!({ "nodeSelectorTerms": na_req }),
            );
        }
        affinity.insert("nodeAffinity".into(), Value::Object(node));
    }
    for (key, required, preferred, what) in [
        (
            "podAffinity",
            &settings.pod_affinity_required,
            &settings.pod_affinity_preferred,
            "pod_affinity",
        ),
        (
            "podAntiAffinity",
            &settings.pod_anti_affinity_required,
            &settings.pod_anti_affinity_preferred,
            "pod_anti_affinity",
        ),
    ] {
        let req = POD_AFFINITY_TERM.list(&format!("KubeSpawner.{what}_required"), required)?;
        let pref = WEIGHTED_TERM.list(&format!("KubeSpawner.{what}_preferred"), preferred)?;
        if req.is_empty() && pref.is_empty() {
            continue;
        }
        let mut m = Map::new();
        if !pref.is_empty() {
            m.insert(
                "preferredDuringSchedulingIgnoredDuringExecution".into(),
                Value::Array(pref),
            );
        }
        if !req.is_empty() {
            m.insert(
                "requiredDuringSchedulingIgnoredDuringExecution".into(),
                Value::Array(req),
            );
        }
        affinity.insert(key.into(), Value::Object(m));
    }
    Ok((!affinity.is_empty()).then_some(Value::Object(affinity)))
}
