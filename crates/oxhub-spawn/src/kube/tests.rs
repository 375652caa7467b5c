//! Unit tests of the KubeSpawner pieces that need no cluster; the manifests are compared with
//! the real KubeSpawner's in crates/oxhub/tests/it/kube.rs.

use super::manifest::{names, objects};
use super::settings::{apply_overrides, KubeSettings};
use oxhub_plugin::spawn::{Resources, SpawnRequest};
use serde_json::{json, Map, Value};

fn settings(traits: Value) -> KubeSettings {
    let Value::Object(t) = traits else { panic!() };
    KubeSettings::from_traits(&t, Map::new(), 0, "", 60).unwrap()
}

fn request(user: &str, server: &str) -> SpawnRequest {
    SpawnRequest {
        user: user.into(),
        server: server.into(),
        spawn_id: "n".into(),
        cmd: vec!["jupyterhub-singleuser".into()],
        args: vec!["--debug".into()],
        env: vec![("JUPYTERHUB_API_TOKEN".into(), "t".into())],
        notebook_dir: String::new(),
        user_options: Value::Null,
        resources: Resources::default(),
        ip: String::new(),
        port: 0,
        service_prefix: format!("/user/{user}/"),
        overrides: Map::new(),
    }
}

#[test]
fn names_follow_the_templates_and_the_slug_scheme() {
    let s = settings(json!({}));
    let n = names(&s, "alice", "", "default").unwrap();
    assert_eq!(n.pod_name, "jupyter-alice");
    assert_eq!(n.pvc_name, "claim-alice");
    assert_eq!(n.namespace, "default");
    assert_eq!(n.dns_name, "jupyter-alice.default.svc.cluster.local");
    let n = names(&s, "alice", "gpu", "default").unwrap();
    assert_eq!(n.pod_name, "jupyter-alice--gpu");
    let s = settings(
        json!({"slug_scheme": "escape", "pod_name_template": "nb-{username}-{servername}"}),
    );
    assert_eq!(
        names(&s, "Alice", "", "jhub").unwrap().pod_name,
        "nb--41lice"
    );
    let s = settings(json!({"enable_user_namespaces": true}));
    let n = names(&s, "alice", "", "default").unwrap();
    assert_eq!(
        n.namespace, "user-alice",
        "{{hubnamespace}} 'default' becomes 'user'"
    );
    let s = settings(json!({"pod_name_template": "jupyter-{nope}"}));
    assert!(names(&s, "alice", "", "default")
        .unwrap_err()
        .contains("nope"));
}

#[test]
fn overrides_merge_dicts_and_none_deletes_a_key() {
    let mut traits = json!({"node_selector": {"a": "1", "b": "2"}, "image": "x:1"})
        .as_object()
        .cloned()
        .unwrap();
    let over = json!({"node_selector": {"b": null, "c": "3"}, "image": "y:2", "tolerations": []});
    apply_overrides(&mut traits, over.as_object().unwrap());
    assert_eq!(traits["node_selector"], json!({"a": "1", "c": "3"}));
    assert_eq!(traits["image"], "y:2");
    assert_eq!(traits["tolerations"], json!([]));
}

#[test]
fn the_environment_is_ordered_by_references_then_names() {
    let Value::Object(environment) = json!({
        "B": "$(A)/b",
        "A": "a",
        "C": "$(B)/c",
        "LOOP1": "$(LOOP2)",
        "LOOP2": "$(LOOP1)",
        "DB": {"valueFrom": {"secretKeyRef": {"name": "db-{username}", "key": "pw"}}},
    }) else {
        panic!()
    };
    let s = KubeSettings::from_traits(&Map::new(), environment, 0, "", 60).unwrap();
    let n = names(&s, "alice", "", "default").unwrap();
    let o = objects(&s, n, &request("alice", "")).unwrap();
    let env = o.pod["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    let order: Vec<&str> = env.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
    assert!(pos("A") < pos("B") && pos("B") < pos("C"), "{order:?}");
    assert!(
        pos("C") < pos("LOOP1") && pos("LOOP1") < pos("LOOP2"),
        "cycles last: {order:?}"
    );
    assert_eq!(
        env[pos("DB")]["valueFrom"]["secretKeyRef"]["name"],
        "db-alice"
    );
    assert_eq!(
        env[pos("JUPYTERHUB_SERVICE_URL")]["value"],
        "http://0.0.0.0:8888/user/alice/"
    );
    assert_eq!(
        env[pos("JUPYTER_IMAGE")]["value"],
        "quay.io/jupyterhub/singleuser:latest"
    );
}

#[test]
fn cmd_goes_into_args_and_without_it_the_args_are_dropped() {
    let s = settings(json!({}));
    let n = names(&s, "alice", "", "default").unwrap();
    let o = objects(&s, n.clone(), &request("alice", "")).unwrap();
    let c = &o.pod["spec"]["containers"][0];
    assert_eq!(c["args"], json!(["jupyterhub-singleuser", "--debug"]));
    assert!(c.get("command").is_none());
    let mut r = request("alice", "");
    r.cmd.clear();
    let o = objects(&s, n, &r).unwrap();
    assert!(o.pod["spec"]["containers"][0].get("args").is_none());
}

#[test]
fn unknown_pod_spec_fields_are_refused_and_snake_case_is_accepted() {
    let s = settings(json!({"extra_pod_config": {"dns_policy": "None", "hostIPC": true}}));
    let n = names(&s, "alice", "", "default").unwrap();
    let o = objects(&s, n.clone(), &request("alice", "")).unwrap();
    assert_eq!(o.pod["spec"]["dnsPolicy"], "None");
    assert_eq!(o.pod["spec"]["hostIPC"], true);
    let s = settings(json!({"extra_pod_config": {"not_a_field": 1}}));
    let e = objects(&s, n, &request("alice", "")).unwrap_err();
    assert!(e.contains("V1PodSpec") && e.contains("not_a_field"), "{e}");
}

#[test]
fn bad_trait_types_name_the_trait() {
    let Value::Object(t) = json!({"uid": "root"}) else {
        panic!()
    };
    let e = KubeSettings::from_traits(&t, Map::new(), 0, "", 60).unwrap_err();
    assert_eq!(e, "KubeSpawner.uid must be an integer");
}
