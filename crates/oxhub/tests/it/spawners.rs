//! The batch spawners through the real binary: their traits in show-config, errors at start-up,
//! `spawner-dry-run`, and a whole start → port report → ready → stop on a scripted batch
//! system (shell commands standing in for sbatch / squeue / scancel; the real Slurm runs in
//! the e2e suite, tests/e2e/oxhub_spawners.py).

use crate::api::Hub;
use crate::hub_state::{call, start};
use crate::{oxhub, show_config, stderr, stdout};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

fn slurm_config(dir: &std::path::Path, extra: &str) {
    std::fs::write(
        dir.join("jupyterhub_config.py"),
        format!("c.JupyterHub.spawner_class = 'batchspawner.SlurmSpawner'\n{extra}"),
    )
    .unwrap();
}

#[test]
fn batch_traits_show_with_batchspawners_defaults() {
    let dir = tempfile::tempdir().unwrap();
    slurm_config(dir.path(), "c.SlurmSpawner.req_partition = 'gpu'\n");
    let json = show_config(dir.path(), &[]);
    // The selected class with every trait it has, its own and BatchSpawnerBase's.
    let cfg = &json["config"]["SlurmSpawner"];
    assert_eq!(json["selected"]["spawner"], "SlurmSpawner");
    assert_eq!(cfg["exec_prefix"]["value"], "sudo -E -u {username}");
    assert_eq!(cfg["startup_poll_interval"]["value"], 0.5);
    assert_eq!(cfg["ip"]["value"], "0.0.0.0");
    assert_eq!(cfg["start_timeout"]["value"], 300);
    assert_eq!(cfg["req_partition"]["value"], "gpu");
    assert_eq!(cfg["req_partition"]["source"], "jupyterhub_config.py:2:1");
    assert_eq!(
        cfg["batch_submit_cmd"]["value"],
        Value::Null,
        "computed from the preset"
    );
    for class in ["TorqueSpawner", "MoabSpawner", "PBSSpawner", "LsfSpawner"] {
        slurm_config(
            dir.path(),
            &format!("c.JupyterHub.spawner_class = 'batchspawner.{class}'\n"),
        );
        assert_eq!(show_config(dir.path(), &[])["selected"]["spawner"], class);
    }
}

#[test]
fn a_bad_batch_regex_or_template_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    slurm_config(dir.path(), "c.SlurmSpawner.state_running_re = '(RUNNING'\n");
    let out = oxhub(dir.path(), &["spawner-dry-run", "--user", "root"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("SlurmSpawner: state_running_re"),
        "{}",
        stderr(&out)
    );
    slurm_config(
        dir.path(),
        "c.SlurmSpawner.batch_script = '#!/bin/sh\\n{{ cmd\\n'\nc.SlurmSpawner.req_homedir = '/tmp'\n",
    );
    let out = oxhub(dir.path(), &["spawner-dry-run", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("batch_script"), "{}", stderr(&out));
}

#[test]
fn spawner_dry_run_prints_the_script_and_commands() {
    let dir = tempfile::tempdir().unwrap();
    slurm_config(
        dir.path(),
        "c.SlurmSpawner.req_homedir = '/home/{username}'\nc.SlurmSpawner.req_memory = '4G'\n\
         c.SlurmSpawner.exec_prefix = '/usr/sbin/runuser -u {username} --'\n\
         c.Spawner.profile_list = [{'display_name': 'Small', 'slug': 'small', 'default': True},\n\
         {'display_name': 'GPU', 'slug': 'gpu', 'kubespawner_override': {'req_gres': 'gpu:1'}}]\n",
    );
    let out = oxhub(
        dir.path(),
        &[
            "spawner-dry-run",
            "--user",
            "alice",
            "--profile",
            "gpu",
            "--user-options",
            r#"{"runtime": "2:00:00"}"#,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(plan["spawner_class"], "SlurmSpawner");
    assert_eq!(
        plan["user_options"],
        json!({"runtime": "2:00:00", "profile": "gpu"})
    );
    let s = &plan["spawner"];
    assert_eq!(
        s["submit_command"],
        "/usr/sbin/runuser -u alice -- sbatch --parsable"
    );
    let script = s["batch_script"].as_str().unwrap();
    // The literal `{username}` of req_homedir is not expanded (batchspawner formats once).
    for line in [
        "#SBATCH --mem=4G\n",
        "#SBATCH --time=2:00:00\n",
        "#SBATCH --gres=gpu:1\n",
        "srun batchspawner-singleuser jupyterhub-singleuser\n",
    ] {
        assert!(script.contains(line), "{line:?} not in\n{script}");
    }
    assert_eq!(s["environment"]["JUPYTERHUB_USER"], "alice");
    assert_eq!(
        s["environment"]["JUPYTERHUB_SERVICE_URL"],
        "http://0.0.0.0:0/user/alice/"
    );
    assert!(
        s["environment"]["JUPYTERHUB_API_TOKEN"]
            .as_str()
            .unwrap()
            .starts_with('<'),
        "no token is issued by a dry run"
    );
    assert!(
        !dir.path().join("jupyterhub.sqlite").exists(),
        "no database is created"
    );

    let out = oxhub(
        dir.path(),
        &["spawner-dry-run", "--user", "alice", "--user-options", "[1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--user-options is not JSON"));
    let out = oxhub(
        dir.path(),
        &["spawner-dry-run", "--user", "alice", "--profile", "none"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("profile"), "{}", stderr(&out));
    let out = oxhub(dir.path(), &["spawner-dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs --user"));
}

/// A server that answers every request with 200 until the test ends.
fn tiny_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    port
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn job_env(dir: &std::path::Path) -> Option<String> {
    let env = std::fs::read_to_string(dir.join("job.env")).ok()?;
    env.lines()
        .find_map(|l| l.strip_prefix("JUPYTERHUB_API_TOKEN="))
        .map(str::to_owned)
}

fn report(hub: &Hub, token: &str, body: &str) -> (u16, Value) {
    let (status, _, reply) = hub.call(
        "POST",
        "/hub/api/batchspawner",
        Some(token),
        Some(body),
        &[],
    );
    (status, reply)
}

#[test]
fn a_batch_job_reports_its_port_with_its_own_token_only() {
    let proxy = crate::proxy::ProxyProcess::start(&[]);
    // The "batch system": submit keeps the script and the job's environment and answers a
    // job id; the job runs until it is cancelled.
    let extra = format!(
        "c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{}'\nc.ConfigurableHTTPProxy.auth_token = 'robustness-token'\n\
         c.JupyterHub.spawner_class = 'batchspawner.SlurmSpawner'\n\
         c.SlurmSpawner.exec_prefix = ''\nc.SlurmSpawner.req_homedir = '/tmp'\n\
         c.SlurmSpawner.batch_submit_cmd = 'cat > job.sh; env > job.env; echo \"4242;hubtest\"'\n\
         c.SlurmSpawner.batch_query_cmd = 'if [ -f cancelled ]; then exit 0; fi; echo RUNNING 127.0.0.1'\n\
         c.SlurmSpawner.batch_cancel_cmd = 'echo {{job_id}} > cancelled'\n\
         c.SlurmSpawner.startup_poll_interval = 0.1\nc.Spawner.poll_interval = 1\n",
        proxy.api_port
    );
    let (dir, hub, admin) = start(&extra, &[]);
    let a = admin.as_str();
    std::thread::scope(|scope| {
        let spawn = scope.spawn(|| call(&hub, "POST", "/hub/api/users/alice/server", a, None));
        let token = wait_for("the job's environment", || job_env(dir.path()));
        let script = std::fs::read_to_string(dir.path().join("job.sh")).unwrap();
        assert!(script.contains("--chdir=/tmp\n"), "{script}");
        // Recorded as soon as it is submitted.
        let (_, model) = call(&hub, "GET", "/hub/api/users/alice", a, None);
        assert_eq!(model["servers"][""]["state"]["job_id"], "4242", "{model}");

        let (status, body) = report(&hub, a, r#"{"port": 1234}"#);
        assert_eq!(status, 400, "another token may not report: {body}");
        let (status, body) = report(&hub, &token, r#"{"port": 1234, "ip": "10.0.0.1"}"#);
        assert_eq!(status, 400, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("not \"ip\""),
            "{body}"
        );
        for bad in [
            r#"{"port": 0}"#,
            r#"{"port": 70000}"#,
            r#"{"port": "80"}"#,
            "[1]",
            "{",
        ] {
            let (status, body) = report(&hub, &token, bad);
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let (status, _) = report(&hub, "not-a-token", r#"{"port": 1234}"#);
        assert_eq!(status, 403);
        let port = tiny_server();
        let (status, body) = report(&hub, &token, &format!(r#"{{"port": {port}}}"#));
        assert_eq!(
            (status, body),
            (200, json!({"message": "BatchSpawner data configured"}))
        );
        let (status, body) = spawn.join().unwrap();
        assert!(status == 201 || status == 202, "{status} {body}");
        wait_for("the server to be ready", || {
            let (_, model) = call(&hub, "GET", "/hub/api/users/alice", a, None);
            (model["servers"][""]["ready"] == true).then_some(())
        });
        let (_, model) = call(&hub, "GET", "/hub/api/users/alice", a, None);
        assert_eq!(
            model["servers"][""]["state"],
            json!({"job_id": "4242", "job_status": "RUNNING 127.0.0.1", "user": "alice", "nonce": model["servers"][""]["state"]["nonce"]})
        );
        // Once started, the token reports nothing more.
        let (status, _) = report(&hub, &token, &format!(r#"{{"port": {port}}}"#));
        assert_eq!(status, 400);
    });
    let (status, _) = call(&hub, "DELETE", "/hub/api/users/alice/server", a, None);
    assert!(status == 204 || status == 202, "{status}");
    let cancelled = wait_for("the cancel", || {
        std::fs::read_to_string(dir.path().join("cancelled")).ok()
    });
    assert_eq!(cancelled.trim(), "4242");
    hub.stop();
}

#[test]
fn docker_traits_dry_run_and_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let config = |extra: &str| {
        std::fs::write(
            dir.path().join("jupyterhub_config.py"),
            format!(
                "c.JupyterHub.spawner_class = 'dockerspawner.DockerSpawner'\n\
                 c.DockerSpawner.client_kwargs = {{'base_url': 'unix:///nonexistent/docker.sock'}}\n\
                 c.DockerSpawner.volumes = {{'jupyterhub-user-{{username}}': '/home/jovyan/work'}}\n\
                 c.DockerSpawner.allowed_images = {{'base': 'quay.io/jupyter/base-notebook'}}\n\
                 c.Spawner.mem_limit = '1G'\n{extra}"
            ),
        )
        .unwrap();
    };
    config("");
    let json = show_config(dir.path(), &[]);
    let cfg = &json["config"]["DockerSpawner"];
    assert_eq!(json["selected"]["spawner"], "DockerSpawner");
    assert_eq!(cfg["image"]["value"], "quay.io/jupyterhub/singleuser:6.1");
    assert_eq!(cfg["port"]["value"], 8888);
    assert_eq!(cfg["ip"]["value"], "0.0.0.0");
    assert_eq!(cfg["pull_policy"]["value"], "ifnotpresent");
    assert_eq!(cfg["allowed_images"]["source"], "jupyterhub_config.py:4:1");
    // The dry run needs no Docker daemon: the socket above does not exist.
    let out = oxhub(
        dir.path(),
        &[
            "spawner-dry-run",
            "--user",
            "ann.lee",
            "--user-options",
            r#"{"image": "base"}"#,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let docker = &plan["spawner"];
    assert_eq!(docker["name"], "jupyter-ann-2elee");
    assert_eq!(docker["image"], "quay.io/jupyter/base-notebook");
    assert_eq!(
        docker["create"]["HostConfig"]["Binds"],
        json!(["jupyterhub-user-ann-2elee:/home/jovyan/work:rw"])
    );
    assert_eq!(docker["create"]["HostConfig"]["Memory"], 1 << 30);
    let out = oxhub(
        dir.path(),
        &[
            "spawner-dry-run",
            "--user",
            "ann",
            "--user-options",
            r#"{"image": "evil"}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Image evil not in allowed list: base"),
        "{}",
        stderr(&out)
    );
    // A docker-py argument oxhub does not know stops the hub at start-up, by name.
    config("c.DockerSpawner.extra_host_config = {'mem_limt': '1g'}\n");
    let out = oxhub(dir.path(), &["spawner-dry-run", "--user", "ann"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"mem_limt\" is not supported"),
        "{}",
        stderr(&out)
    );
}
