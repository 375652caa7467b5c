//! The Kubernetes models KubeSpawner turns dicts into (`get_k8s_model`, `update_k8s_model`):
//! their top-level fields, so a configured dict is checked and spelled as the Python client
//! sends it.

use serde_json::{Map, Value};

/// The top-level fields of the Kubernetes models KubeSpawner converts dicts into: a key may
/// be the camelCase field or the Python client's snake_case attribute; anything else is an
/// error, as in `get_k8s_model`.
pub struct Model {
    name: &'static str,
    fields: &'static [&'static str],
}

pub const POD_SPEC: Model = Model {
    name: "V1PodSpec",
    fields: &[
        "activeDeadlineSeconds",
        "affinity",
        "automountServiceAccountToken",
        "containers",
        "dnsConfig",
        "dnsPolicy",
        "enableServiceLinks",
        "ephemeralContainers",
        "hostAliases",
        "hostIPC",
        "hostNetwork",
        "hostPID",
        "hostUsers",
        "hostname",
        "hostnameOverride",
        "imagePullSecrets",
        "initContainers",
        "nodeName",
        "nodeSelector",
        "os",
        "overhead",
        "preemptionPolicy",
        "priority",
        "priorityClassName",
        "readinessGates",
        "resourceClaims",
        "resources",
        "restartPolicy",
        "runtimeClassName",
        "schedulerName",
        "schedulingGates",
        "schedulingGroup",
        "securityContext",
        "serviceAccount",
        "serviceAccountName",
        "setHostnameAsFQDN",
        "shareProcessNamespace",
        "subdomain",
        "terminationGracePeriodSeconds",
        "tolerations",
        "topologySpreadConstraints",
        "volumes",
    ],
};
pub const CONTAINER: Model = Model {
    name: "V1Container",
    fields: &[
        "args",
        "command",
        "env",
        "envFrom",
        "image",
        "imagePullPolicy",
        "lifecycle",
        "livenessProbe",
        "name",
        "ports",
        "readinessProbe",
        "resizePolicy",
        "resources",
        "restartPolicy",
        "restartPolicyRules",
        "securityContext",
        "startupProbe",
        "stdin",
        "stdinOnce",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "tty",
        "volumeDevices",
        "volumeMounts",
        "workingDir",
    ],
};
pub const VOLUME: Model = Model {
    name: "V1Volume",
    fields: &[
        "awsElasticBlockStore",
        "azureDisk",
        "azureFile",
        "cephfs",
        "cinder",
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "fc",
        "flexVolume",
        "flocker",
        "gcePersistentDisk",
        "gitRepo",
        "glusterfs",
        "hostPath",
        "image",
        "iscsi",
        "name",
        "nfs",
        "persistentVolumeClaim",
        "photonPersistentDisk",
        "portworxVolume",
        "projected",
        "quobyte",
        "rbd",
        "scaleIO",
        "secret",
        "storageos",
        "vsphereVolume",
    ],
};
pub const VOLUME_MOUNT: Model = Model {
    name: "V1VolumeMount",
    fields: &[
        "mountPath",
        "mountPropagation",
        "name",
        "readOnly",
        "recursiveReadOnly",
        "subPath",
        "subPathExpr",
    ],
};
pub const TOLERATION: Model = Model {
    name: "V1Toleration",
    fields: &["effect", "key", "operator", "tolerationSeconds", "value"],
};
pub const NODE_SELECTOR_TERM: Model = Model {
    name: "V1NodeSelectorTerm",
    fields: &["matchExpressions", "matchFields"],
};
pub const PREFERRED_TERM: Model = Model {
    name: "V1PreferredSchedulingTerm",
    fields: &["preference", "weight"],
};
pub const POD_AFFINITY_TERM: Model = Model {
    name: "V1PodAffinityTerm",
    fields: &[
        "labelSelector",
        "matchLabelKeys",
        "mismatchLabelKeys",
        "namespaceSelector",
        "namespaces",
        "topologyKey",
    ],
};
pub const WEIGHTED_TERM: Model = Model {
    name: "V1WeightedPodAffinityTerm",
    fields: &["podAffinityTerm", "weight"],
};
pub const LIFECYCLE: Model = Model {
    name: "V1Lifecycle",
    fields: &["postStart", "preStop", "stopSignal"],
};
pub const ENV_VAR: Model = Model {
    name: "V1EnvVar",
    fields: &["name", "value", "valueFrom"],
};
pub const OBJECT_REFERENCE: Model = Model {
    name: "V1LocalObjectReference",
    fields: &["name"],
};

/// The camelCase field of a snake_case attribute (`host_ipc` is `hostIPC`).
fn camel(field: &str) -> String {
    match field {
        "host_ipc" => return "hostIPC".into(),
        "host_pid" => return "hostPID".into(),
        "set_hostname_as_fqdn" => return "setHostnameAsFQDN".into(),
        "downward_api" => return "downwardAPI".into(),
        "scale_io" => return "scaleIO".into(),
        _ => {}
    }
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl Model {
    fn field(&self, key: &str) -> Result<String, String> {
        if self.fields.contains(&key) {
            return Ok(key.to_owned());
        }
        let c = camel(key);
        if self.fields.contains(&c.as_str()) {
            Ok(c)
        } else {
            Err(format!(
                "'{}' did not have an attribute matching '{key}'",
                self.name
            ))
        }
    }

    /// A dict as this model serializes it: top-level keys in camelCase, `None`s dropped;
    /// nested values exactly as given.
    pub fn of(&self, what: &str, value: &Value) -> Result<Value, String> {
        let Value::Object(m) = value else {
            return Err(format!(
                "{what}: expected a dict (a {}), got {value}",
                self.name
            ));
        };
        let mut out = Map::new();
        for (k, v) in m {
            let field = self.field(k).map_err(|e| format!("{what}: {e}"))?;
            if !v.is_null() {
                out.insert(field, v.clone());
            }
        }
        Ok(Value::Object(out))
    }

    pub fn list(&self, what: &str, items: &Value) -> Result<Vec<Value>, String> {
        match items {
            Value::Array(a) => a.iter().map(|i| self.of(what, i)).collect(),
            _ => Ok(Vec::new()),
        }
    }

    /// `update_k8s_model`: each key of `changes` replaces that field of `target`.
    pub fn update(
        &self,
        what: &str,
        target: &mut Map<String, Value>,
        changes: &Map<String, Value>,
    ) -> Result<(), String> {
        for (k, v) in changes {
            let field = self.field(k).map_err(|e| format!("{what}: {e}"))?;
            if v.is_null() {
                target.remove(&field);
            } else {
                target.insert(field, v.clone());
            }
        }
        Ok(())
    }
}
