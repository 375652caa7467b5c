use super::body::*;
use super::*;
use oxhub_plugin::spawn::Resources;

fn request(user: &str, server: &str, user_options: Value) -> SpawnRequest {
    SpawnRequest {
        user: user.into(),
        server: server.into(),
        spawn_id: "nonce-1".into(),
        cmd: vec![],
        args: vec![],
        env: vec![("JUPYTERHUB_API_TOKEN".into(), "secret".into())],
        notebook_dir: String::new(),
        user_options,
        resources: Resources::default(),
        ip: String::new(),
        port: 0,
        service_prefix: format!("/user/{user}/"),
        overrides: Map::new(),
    }
}

fn settings() -> DockerSettings {
    DockerSettings::new("unix:///run/podman.sock".into())
}

#[test]
fn names_are_escaped_as_dockerspawner_escapes_them() {
    assert_eq!(
        escape("alice.smith@example.com"),
        "alice-2esmith-40example-2ecom"
    );
    assert_eq!(escape("user-1"), "user-2d1");
    assert_eq!(escape("Zoë"), "-5ao-c3-ab");
    let s = settings();
    let r = request("alice.smith", "", Value::Null);
    assert_eq!(
        container_name(&s, &r, "img").unwrap(),
        "jupyter-alice-2esmith"
    );
    let r = request("bob", "My Server", Value::Null);
    assert_eq!(
        container_name(&s, &r, "img").unwrap(),
        "jupyter-bob--my-20server"
    );
    let s = DockerSettings {
        name_template: Some("{prefix}-{imagename}-{raw_username}".into()),
        ..settings()
    };
    assert_eq!(
        container_name(&s, &r, "quay.io/jupyter/base:2024").unwrap(),
        "jupyter-quay.io-jupyter-base-2024-bob"
    );
    let s = DockerSettings {
        name_template: Some("{nope}".into()),
        ..settings()
    };
    assert!(
        matches!(container_name(&s, &r, "i"), Err(SpawnError::Invalid(m)) if m.contains("name_template"))
    );
}

#[test]
fn the_default_create_body_is_dockerspawners() {
    let s = settings();
    let r = request("alice", "", Value::Null);
    let body = create_body(&s, &r, "quay.io/jupyterhub/singleuser:6.1", None).unwrap();
    assert_eq!(
        body,
        json!({
            "Image": "quay.io/jupyterhub/singleuser:6.1",
            "Env": [
                "JUPYTERHUB_API_TOKEN=secret",
                "JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/user/alice/",
                "JUPYTER_IMAGE_SPEC=quay.io/jupyterhub/singleuser:6.1",
            ],
            "ExposedPorts": {"8888/tcp": {}},
            "Volumes": {},
            "Labels": {NONCE_LABEL: "nonce-1"},
            "HostConfig": {
                "Binds": [],
                "AutoRemove": false,
                "PortBindings": {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
                "NetworkMode": "bridge",
            },
        })
    );
    // The body is what bollard sends.
    let typed: bollard::models::ContainerCreateBody = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&typed).unwrap()["HostConfig"]["PortBindings"],
        body["HostConfig"]["PortBindings"]
    );
}

#[test]
fn volumes_limits_cmd_and_networks() {
    let s = DockerSettings {
        volumes: BTreeMap::from([
            (
                "jupyterhub-user-{username}".into(),
                json!("/home/jovyan/work"),
            ),
            ("/srv/data".into(), json!({"bind": "/data", "mode": "ro"})),
            (
                "/srv/prop".into(),
                json!({"bind": "/prop", "mode": "rw", "propagation": "rslave"}),
            ),
        ]),
        read_only_volumes: BTreeMap::from([(
            "/srv/shared".into(),
            "/shared/{raw_username}".into(),
        )]),
        network_name: "jupyterhub".into(),
        remove: true,
        ..settings()
    };
    let mut r = request("a.b", "", Value::Null);
    r.cmd = vec!["jupyterhub-singleuser".into()];
    r.args = vec!["--debug".into()];
    r.resources = Resources {
        mem_limit: Some(512 << 20),
        cpu_limit: Some(1.5),
        ..Resources::default()
    };
    let body = create_body(&s, &r, "img", None).unwrap();
    let host = &body["HostConfig"];
    assert_eq!(
        host["Binds"],
        json!([
            "/srv/data:/data:ro",
            "/srv/prop:/prop:rw,rslave",
            "jupyterhub-user-a-2eb:/home/jovyan/work:rw",
            "/srv/shared:/shared/a.b:ro",
        ])
    );
    assert_eq!(
        body["Volumes"],
        json!({"/data": {}, "/home/jovyan/work": {}, "/prop": {}, "/shared/a.b": {}})
    );
    assert_eq!(host["Memory"], json!(536_870_912));
    assert_eq!(host["CpuPeriod"], json!(100_000));
    assert_eq!(host["CpuQuota"], json!(150_000));
    assert_eq!(host["AutoRemove"], json!(true));
    assert_eq!(host["NetworkMode"], json!("jupyterhub"));
    // On a user-defined network the hub reaches the container's own address: no published port.
    assert!(host.get("PortBindings").is_none());
    assert_eq!(body["Cmd"], json!(["jupyterhub-singleuser", "--debug"]));
    // With no cmd, the image's CMD gets the args.
    r.cmd.clear();
    let body = create_body(&s, &r, "img", Some(&["start.sh".to_owned()])).unwrap();
    assert_eq!(body["Cmd"], json!(["start.sh", "--debug"]));
    let bad = DockerSettings {
        volumes: BTreeMap::from([("/x".into(), json!({"bind": "/y", "mode": "rx"}))]),
        ..settings()
    };
    assert!(
        matches!(create_body(&bad, &r, "img", None), Err(SpawnError::Invalid(m)) if m.contains("mode"))
    );
}

#[test]
fn docker_py_keyword_arguments_become_api_fields() {
    let s = DockerSettings {
        extra_create_kwargs: json!({"user": "1001", "working_dir": "/home/{username}", "labels": {"team": "x"}})
            .as_object()
            .unwrap()
            .clone(),
        extra_host_config: json!({
            "mem_limit": "1g", "shm_size": "64m", "cpu_period": 50000, "network_mode": "host",
            "extra_hosts": {"db": "10.0.0.2"}, "devices": ["/dev/fuse"],
            "device_requests": [{"driver": "nvidia", "count": -1, "device_ids": ["0"], "capabilities": [["gpu"]]}],
            "cap_add": ["SYS_ADMIN"],
        })
        .as_object()
        .unwrap()
        .clone(),
        ..settings()
    };
    let mut r = request("alice", "", Value::Null);
    r.resources.cpu_limit = Some(2.0);
    let body = create_body(&s, &r, "img", None).unwrap();
    assert_eq!(body["User"], json!("1001"));
    assert_eq!(body["WorkingDir"], json!("/home/alice"));
    assert_eq!(body["Labels"]["team"], json!("x"));
    assert_eq!(body["Labels"][NONCE_LABEL], json!("nonce-1"));
    let host = &body["HostConfig"];
    assert_eq!(host["Memory"], json!(1_073_741_824));
    assert_eq!(host["ShmSize"], json!(67_108_864));
    assert_eq!(host["CpuPeriod"], json!(50_000));
    assert_eq!(host["CpuQuota"], json!(100_000));
    assert_eq!(host["NetworkMode"], json!("host"));
    assert!(
        host.get("PortBindings").is_none(),
        "no published port on the host network"
    );
    assert_eq!(host["ExtraHosts"], json!(["db:10.0.0.2"]));
    assert_eq!(
        host["Devices"],
        json!([{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}])
    );
    assert_eq!(
        host["DeviceRequests"],
        json!([{"Driver": "nvidia", "Count": -1, "DeviceIDs": ["0"], "Capabilities": [["gpu"]]}])
    );
    assert_eq!(host["CapAdd"], json!(["SYS_ADMIN"]));
    serde_json::from_value::<bollard::models::ContainerCreateBody>(body).unwrap();
    // Unknown arguments stop the hub at start-up instead of vanishing.
    let bad = DockerSettings {
        extra_host_config: json!({"mem_limt": "1g"}).as_object().unwrap().clone(),
        ..settings()
    };
    let err = Docker::new("DockerSpawner", bad).err().unwrap();
    assert!(err.contains("mem_limt"), "{err}");
    assert!(bytes("x", &json!("12q")).is_err());
    assert_eq!(bytes("x", &json!("2k")), Ok(2048));
    assert!(Docker::new("DockerSpawner", DockerSettings::new("ssh://h".into())).is_err());
}

#[test]
fn images_are_chosen_within_allowed_images() {
    let r = request("alice", "", json!({"image": "evil:latest"}));
    let s = settings();
    assert!(
        matches!(chosen_image(&s, &r), Err(SpawnError::Invalid(m)) if m == "Specifying image to launch is not allowed")
    );
    let s = DockerSettings {
        allowed_images: AllowedImages::Listed(BTreeMap::from([
            ("base".into(), "quay.io/jupyter/base-notebook".into()),
            ("scipy".into(), "quay.io/jupyter/scipy-notebook".into()),
        ])),
        ..settings()
    };
    assert!(
        matches!(chosen_image(&s, &r), Err(SpawnError::Invalid(m)) if m.contains("not in allowed list: base, scipy"))
    );
    let d = Docker::new("DockerSpawner", s.clone()).unwrap();
    assert!(
        matches!(d.check(&r), Err(SpawnError::Invalid(_))),
        "the hub refuses it before a spawn"
    );
    let r = request("alice", "", json!({"image": "scipy"}));
    assert!(d.check(&r).is_ok());
    assert_eq!(
        chosen_image(&s, &r).unwrap(),
        "quay.io/jupyter/scipy-notebook"
    );
    let s = DockerSettings {
        allowed_images: AllowedImages::Any,
        ..settings()
    };
    assert_eq!(
        chosen_image(&s, &request("a", "", json!({"image": "x:1"}))).unwrap(),
        "x:1"
    );
    // A profile's image (admin-configured) needs no listing.
    let mut r = request("alice", "", Value::Null);
    r.overrides.insert("image".into(), json!("profile/img:2"));
    assert_eq!(chosen_image(&settings(), &r).unwrap(), "profile/img:2");
    assert_eq!(
        chosen_image(&settings(), &request("a", "", Value::Null)).unwrap(),
        "quay.io/jupyterhub/singleuser:6.1"
    );
}

#[test]
fn system_user_spawner_binds_the_home_and_runs_as_the_user() {
    let s = DockerSettings {
        system_user: Some(SystemUser {
            host_homedir_format_string: Some("/srv/homes/{username}".into()),
            image_homedir_format_string: "/home/{username}".into(),
            run_as_root: false,
        }),
        ..settings()
    };
    let body = create_body(&s, &request("root", "", Value::Null), "img", None).unwrap();
    assert_eq!(
        body["HostConfig"]["Binds"],
        json!(["/srv/homes/root:/home/root:rw"])
    );
    assert_eq!(body["User"], json!("0:0"));
    assert_eq!(body["WorkingDir"], json!("/home/root"));
    let env = body["Env"].as_array().unwrap();
    for v in [
        "USER=root",
        "NB_USER=root",
        "NB_UID=0",
        "USER_ID=0",
        "HOME=/home/root",
        "NB_GID=0",
    ] {
        assert!(env.contains(&json!(v)), "{v} in {env:?}");
    }
    assert!(create_body(
        &s,
        &request("no-such-user-here", "", Value::Null),
        "img",
        None
    )
    .is_err());
}

#[test]
fn the_dry_run_shows_name_image_and_body() {
    let d = Docker::new("DockerSpawner", settings()).unwrap();
    let out = d.dry_run(&request("alice", "", Value::Null)).unwrap();
    assert_eq!(out["name"], json!("jupyter-alice"));
    assert_eq!(out["pull_policy"], json!("ifnotpresent"));
    assert_eq!(
        out["create"]["Image"],
        json!("quay.io/jupyterhub/singleuser:6.1")
    );
}
