use super::*;
use oxhub_plugin::spawn::Resources;

/// A user every test machine has, with a home directory from passwd.
const USER: &str = "root";

fn request(user_options: Value) -> SpawnRequest {
    SpawnRequest {
        user: USER.into(),
        server: String::new(),
        spawn_id: "nonce-1".into(),
        cmd: vec!["jupyterhub-singleuser".into()],
        args: vec!["--debug".into()],
        env: vec![
            ("JUPYTERHUB_API_TOKEN".into(), "secret".into()),
            ("PATH".into(), "/usr/bin:/bin".into()),
        ],
        notebook_dir: String::new(),
        user_options,
        resources: Resources::default(),
        ip: String::new(),
        port: 0,
        service_prefix: "/user/root/".into(),
        overrides: Map::new(),
    }
}

fn slurm(settings: BatchSettings) -> Batch {
    Batch::new(System::Slurm, settings).unwrap()
}

fn home() -> String {
    account(USER).unwrap().home
}

#[test]
fn the_default_slurm_script_renders_as_batchspawner_renders_it() {
    let (submit, script, _) = slurm(BatchSettings::default())
        .submission(&request(Value::Null))
        .unwrap();
    assert_eq!(submit, "sudo -E -u root sbatch --parsable");
    let home = home();
    let expected = format!(
        "#!/bin/bash
#SBATCH --output={home}/jupyterhub_slurmspawner_%j.log
#SBATCH --job-name=spawner-jupyterhub
#SBATCH --chdir={home}
#SBATCH --export=JUPYTERHUB_API_TOKEN,PATH,USER,HOME,SHELL,JUPYTERHUB_SERVICE_URL
#SBATCH --get-user-env=L


set -euo pipefail

trap 'echo SIGTERM received' TERM

srun batchspawner-singleuser jupyterhub-singleuser --debug
echo \"jupyterhub-singleuser ended gracefully\"
"
    );
    assert_eq!(script, expected);
}

#[test]
fn req_settings_add_their_sbatch_lines() {
    let settings = BatchSettings {
        req: [
            ("partition", "gpu"),
            ("runtime", "1:00:00"),
            ("memory", "4G"),
            ("nprocs", "2"),
            ("options", "--qos=normal"),
            ("prologue", "module load python"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect(),
        ..BatchSettings::default()
    };
    let (_, script, _) = slurm(settings).submission(&request(Value::Null)).unwrap();
    for line in [
        "#SBATCH --partition=gpu\n",
        "#SBATCH --time=1:00:00\n",
        "#SBATCH --mem=4G\n",
        "#SBATCH --cpus-per-task=2\n",
        "#SBATCH --qos=normal\n",
        "\nmodule load python\n",
    ] {
        assert!(script.contains(line), "{line:?} missing from\n{script}");
    }
    assert!(!script.contains("--gres"), "{script}");
    assert!(!script.contains("--reservation"), "{script}");
}

#[test]
fn the_job_environment_is_the_servers_plus_the_users_with_port_zero() {
    let (_, _, env) = slurm(BatchSettings::default())
        .submission(&request(Value::Null))
        .unwrap();
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("JUPYTERHUB_API_TOKEN"), Some("secret"));
    assert_eq!(get("USER"), Some(USER));
    assert_eq!(get("HOME"), Some(home().as_str()));
    assert_eq!(
        get(SERVICE_URL_VAR),
        Some("http://0.0.0.0:0/user/root/"),
        "the wrapper replaces the port"
    );
}

#[test]
fn user_options_override_template_variables_but_not_the_submit_command() {
    let settings = BatchSettings {
        exec_prefix: Some("runuser -u {username} --".into()),
        batch_submit_cmd: Some("sbatch --parsable --partition={partition}".into()),
        req: [("partition".to_owned(), "cpu".to_owned())].into(),
        ..BatchSettings::default()
    };
    let (submit, script, _) = slurm(settings)
        .submission(&request(json!({"partition": "gpu", "options": "--hold"})))
        .unwrap();
    assert_eq!(
        submit,
        "runuser -u root -- sbatch --parsable --partition=cpu"
    );
    assert!(script.contains("#SBATCH --partition=gpu\n"), "{script}");
    assert!(script.contains("#SBATCH --hold"), "{script}");
}

#[test]
fn keepvars_extra_is_appended() {
    let settings = BatchSettings {
        req: [("keepvars_extra".to_owned(), "SLURM_CONF".to_owned())].into(),
        ..BatchSettings::default()
    };
    let (_, script, _) = slurm(settings).submission(&request(Value::Null)).unwrap();
    assert!(
        script.contains(",JUPYTERHUB_SERVICE_URL,SLURM_CONF\n"),
        "{script}"
    );
}

#[test]
fn a_bad_template_or_regex_is_a_clear_error() {
    let settings = BatchSettings {
        batch_script: Some("#!/bin/sh\n{{ cmd\n".into()),
        ..BatchSettings::default()
    };
    let err = slurm(settings)
        .submission(&request(Value::Null))
        .unwrap_err();
    assert!(
        matches!(&err, SpawnError::Invalid(m) if m.starts_with("batch_script")),
        "{err:?}"
    );
    let err = Batch::new(
        System::Slurm,
        BatchSettings {
            state_running_re: Some("(".into()),
            ..BatchSettings::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.starts_with("state_running_re"), "{err}");
    let err = slurm(BatchSettings::default())
        .submission(&SpawnRequest {
            user: "no-such-user-oxhub".into(),
            ..request(Value::Null)
        })
        .unwrap_err();
    assert!(matches!(err, SpawnError::Invalid(m) if m.contains("req_homedir")));
}

#[test]
fn real_squeue_answers_are_classified() {
    let b = slurm(BatchSettings::default());
    assert_eq!(b.classify("PENDING n/a"), JobState::Pending);
    assert_eq!(b.classify("RUNNING vm"), JobState::Running);
    assert_eq!(b.classify(""), JobState::NotFound);
    assert_eq!(
        b.classify("slurm_load_jobs error: Invalid job id specified"),
        JobState::NotFound
    );
    assert_eq!(
        b.classify("slurm_load_jobs error: Unable to contact slurm controller (connect failure)"),
        JobState::Unknown
    );
    assert_eq!(b.host_of("RUNNING vm").unwrap(), "vm");
    let b = slurm(BatchSettings {
        state_exechost_exp: r"\1.cluster.local".into(),
        ..BatchSettings::default()
    });
    assert_eq!(b.host_of("RUNNING node7").unwrap(), "node7.cluster.local");
}

#[tokio::test]
async fn commands_run_in_exactly_the_given_environment() {
    let out = run_shell(
        "cat; echo \" $A ${HOME:-nohome}\"",
        Some("in"),
        Some(&[("A".into(), "1".into())]),
    )
    .await
    .unwrap();
    assert_eq!(out, "in 1 nohome");
    let err = run_shell("echo oops >&2; exit 3", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Failed(e) if e == "oops"));
}

#[tokio::test]
async fn stop_without_a_job_id_does_nothing_and_poll_of_a_vanished_job_is_exited() {
    let b = slurm(BatchSettings {
        exec_prefix: Some(String::new()),
        batch_query_cmd: Some("true".into()),
        batch_cancel_cmd: Some("false".into()),
        ..BatchSettings::default()
    });
    b.stop(&json!({"nonce": "n"})).await.unwrap();
    assert_eq!(
        b.poll(&json!({"job_id": "7", "user": USER})).await.unwrap(),
        Status::Exited(Some(1))
    );
}

#[test]
fn the_dry_run_names_every_command() {
    let out = slurm(BatchSettings::default())
        .dry_run(&request(Value::Null))
        .unwrap();
    assert_eq!(out["spawner"], "SlurmSpawner");
    assert_eq!(out["submit_command"], "sudo -E -u root sbatch --parsable");
    assert_eq!(
        out["query_command"],
        "sudo -E -u root squeue -h -j {job_id} -o '%T %B'"
    );
    assert_eq!(out["cancel_command"], "sudo -E -u root scancel {job_id}");
    assert_eq!(out["environment"]["USER"], USER);
}

#[test]
fn a_profiles_req_overrides_reach_the_script() {
    let mut r = request(Value::Null);
    r.overrides.insert("req_gres".into(), json!("gpu:1"));
    r.overrides.insert("image".into(), json!("ignored"));
    let (_, script, _) = slurm(BatchSettings::default()).submission(&r).unwrap();
    assert!(script.contains("#SBATCH --gres=gpu:1\n"), "{script}");
}
