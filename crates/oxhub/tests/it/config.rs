//! The command line and configuration chores: --help-all, generate-config, show-config.

use crate::{oxhub, show_config, stderr, stdout};
use std::fs;

#[test]
fn help_all_lists_every_trait_with_type_and_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = oxhub(dir.path(), &["--help-all"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for t in oxhub_config::traits::TRAIT_TABLE {
        assert!(
            text.contains(&format!("--{}.{}=<{}>", t.class, t.name, t.ty.describe())),
            "{}.{} missing",
            t.class,
            t.name
        );
    }
    assert!(text.contains("--Authenticator.whitelist -> Authenticator.allowed_users"));
    assert!(text.contains("    Default: 8000"));
}

#[test]
fn generate_config_round_trips_through_show_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = oxhub(dir.path(), &["generate-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = fs::read_to_string(dir.path().join("jupyterhub_config.py")).unwrap();
    assert!(written.contains("# c.JupyterHub.port = 8000"));

    // Refuses to overwrite without -y; JupyterHub's --generate-config spelling works with -y.
    let again = oxhub(dir.path(), &["generate-config"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("pass -y"));
    let forced = oxhub(dir.path(), &["--generate-config", "-f", "other.py", "-y"]);
    assert!(forced.status.success());
    assert_eq!(
        fs::read_to_string(dir.path().join("other.py")).unwrap(),
        written
    );

    // ./jupyterhub_config.py is read by default; everything is at its default.
    let json = show_config(dir.path(), &[]);
    assert_eq!(json["sources"][0]["file"], "jupyterhub_config.py");
    assert_eq!(json["sources"][0]["kind"], "native");
    assert_eq!(json["warnings"].as_array().map(Vec::len), Some(0));
    assert_eq!(json["config"]["JupyterHub"]["port"]["value"], 8000);
    assert_eq!(json["config"]["JupyterHub"]["port"]["source"], "default");
    assert_eq!(json["selected"]["authenticator"], "PAMAuthenticator");
}

#[test]
fn show_config_tells_where_values_come_from() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hub.py"),
        "c = get_config()\nc.JupyterHub.authenticator_class = 'dummy'\nc.Spawner.default_url = '/lab'\nc.JupyterHub.port = 8001\n",
    )
    .unwrap();
    let json = show_config(
        dir.path(),
        &[
            "-f",
            "hub.py",
            "--port=9000",
            "--SimpleLocalProcessSpawner.home_dir_template=/srv/{username}",
            "--JupyterHub.spawner_class=simple",
        ],
    );
    let cfg = &json["config"];
    assert_eq!(cfg["JupyterHub"]["port"]["value"], 9000);
    assert_eq!(
        cfg["JupyterHub"]["port"]["source"],
        "command line `--port=9000`"
    );
    assert_eq!(
        cfg["SimpleLocalProcessSpawner"]["default_url"]["value"],
        "/lab"
    );
    assert_eq!(
        cfg["SimpleLocalProcessSpawner"]["default_url"]["source"],
        "hub.py:3:1"
    );
    assert_eq!(
        cfg["SimpleLocalProcessSpawner"]["default_url"]["set_on"],
        "Spawner"
    );
    assert_eq!(
        cfg["SimpleLocalProcessSpawner"]["home_dir_template"]["value"],
        "/srv/{username}"
    );
    assert_eq!(json["selected"]["authenticator"], "DummyAuthenticator");
    assert_eq!(json["selected"]["spawner"], "SimpleLocalProcessSpawner");
}

#[test]
fn config_d_files_load_in_sorted_order_after_the_main_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.port = 1\nc.JupyterHub.hub_port = 1\n",
    )
    .unwrap();
    fs::create_dir(dir.path().join("jupyterhub_config.d")).unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.d/20-b.py"),
        "c.JupyterHub.port = 3\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.d/10-a.py"),
        "c.JupyterHub.port = 2\nc.JupyterHub.hub_port = 2\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.d/README.txt"),
        "not python",
    )
    .unwrap();
    let json = show_config(dir.path(), &[]);
    let files: Vec<_> = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        files,
        [
            "jupyterhub_config.py",
            "jupyterhub_config.d/10-a.py",
            "jupyterhub_config.d/20-b.py"
        ]
    );
    assert_eq!(json["config"]["JupyterHub"]["port"]["value"], 3);
    assert_eq!(
        json["config"]["JupyterHub"]["port"]["source"],
        "jupyterhub_config.d/20-b.py:1:1"
    );
    assert_eq!(json["config"]["JupyterHub"]["hub_port"]["value"], 2);
}

#[test]
fn secrets_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.py"),
        r#"
c.JupyterHub.db_url = 'postgresql://hub:hunter2pw@db:5432/hub'
c.ConfigurableHTTPProxy.auth_token = 'proxytoken123'
c.JupyterHub.services = [{'name': 'svc', 'url': 'http://127.0.0.1:9999', 'api_token': 'servicetoken456'}]
c.JupyterHub.cookie_secret = bytes.fromhex('abcdef0123456789')
c.JupyterHub.authenticator_class = 'generic'
c.OAuthenticator.client_secret = 'oauthsecret789'
"#,
    )
    .unwrap();
    let out = oxhub(dir.path(), &["show-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for secret in [
        "hunter2pw",
        "proxytoken123",
        "servicetoken456",
        "abcdef0123456789",
        "oauthsecret789",
    ] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert!(text.contains("postgresql://hub:(redacted)@db:5432/hub"));
}

#[test]
fn invalid_values_fail_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("bad.py"),
        "c = get_config()\n\nc.JupyterHub.port = '8000'\n",
    )
    .unwrap();
    let out = oxhub(dir.path(), &["show-config", "-f", "bad.py"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad.py:3:1: c.JupyterHub.port: expected Int, got str '8000'"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    fs::write(
        dir.path().join("refused.py"),
        "c.JupyterHub.port = 8000\nc.JupyterHub.named_server_limit_per_user = lambda h: 2\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oxhub"))
        .args(["show-config", "-f", "refused.py"])
        .current_dir(dir.path())
        .env("OXHUB_NO_PYTHON_BRIDGE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("refused.py:2:44: lambda"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

use std::process::Command;

#[test]
fn unknown_names_warn_and_strict_config_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.Spawner.mem_limt = '1G'\nc.Spawnr.cmd = ['x']\n",
    )
    .unwrap();
    let json = show_config(dir.path(), &[]);
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("jupyterhub_config.py:1:1: unknown trait `mem_limt` of class Spawner"),
        "{warnings}"
    );
    assert!(warnings.contains("did you mean `mem_limit`"), "{warnings}");
    assert!(
        warnings.contains("unknown class `Spawnr`") && warnings.contains("`Spawner`"),
        "{warnings}"
    );
    let out = oxhub(dir.path(), &["show-config", "--strict-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("jupyterhub_config.py:1:1: unknown trait `mem_limt`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn deprecated_whitelist_is_mapped_never_ignored() {
    // GHSA-384w-5v3f-q499: a deprecated allow-list must never leave the hub open to everyone.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.authenticator_class = 'github'\nc.Authenticator.whitelist = {'alice'}\nc.GitHubOAuthenticator.github_organization_whitelist = {'org'}\nc.LocalAuthenticator.group_whitelist = {'staff'}\n",
    )
    .unwrap();
    let json = show_config(dir.path(), &[]);
    assert_eq!(
        json["config"]["GitHubOAuthenticator"]["allowed_users"]["value"],
        serde_json::json!(["alice"])
    );
    assert_eq!(
        json["config"]["GitHubOAuthenticator"]["allowed_organizations"]["value"],
        serde_json::json!(["org"])
    );
    assert_eq!(
        json["set_on_classes_not_in_use"]["LocalAuthenticator"]["allowed_groups"]["value"],
        serde_json::json!(["staff"])
    );
    assert!(json["warnings"]
        .to_string()
        .contains("whitelist is deprecated"));

    // Old and new names that disagree are an error, not a silent pick.
    fs::write(
        dir.path().join("both.py"),
        "c.Authenticator.whitelist = {'alice'}\nc.Authenticator.allowed_users = {'bob'}\n",
    )
    .unwrap();
    let out = oxhub(dir.path(), &["show-config", "-f", "both.py"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("both.py:1:1"), "{}", stderr(&out));
}

#[test]
fn class_traits_take_jupyterhub_names_or_list_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    for (name, class) in [
        ("'jupyterhub.auth.DummyAuthenticator'", "DummyAuthenticator"),
        ("'pam'", "PAMAuthenticator"),
        (
            "'oauthenticator.generic.GenericOAuthenticator'",
            "GenericOAuthenticator",
        ),
        ("'ldapauthenticator.LDAPAuthenticator'", "LDAPAuthenticator"),
    ] {
        fs::write(
            dir.path().join("jupyterhub_config.py"),
            format!("c.JupyterHub.authenticator_class = {name}\n"),
        )
        .unwrap();
        assert_eq!(
            show_config(dir.path(), &[])["selected"]["authenticator"],
            class
        );
    }
    let json = show_config(
        dir.path(),
        &["--JupyterHub.spawner_class=kubespawner.KubeSpawner"],
    );
    assert_eq!(json["selected"]["spawner"], "KubeSpawner");

    fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.spawner_class = 'mything.MySpawner'\n",
    )
    .unwrap();
    let out = oxhub(dir.path(), &["show-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("jupyterhub_config.py:1:1") && err.contains("mything.MySpawner"),
        "{err}"
    );
    assert!(
        err.contains("localprocess")
            && err.contains("simple")
            && err.contains("kubespawner.KubeSpawner"),
        "{err}"
    );
}

#[test]
fn command_line_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = oxhub(dir.path(), &["show-config", "--JupyterHub.port=eighty"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--JupyterHub.port=eighty: \"eighty\" is not an int"),
        "{}",
        stderr(&out)
    );
    let out = oxhub(dir.path(), &["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown option"));
    let out = oxhub(dir.path(), &["-f", "missing.py", "show-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.py does not exist"));
}

#[test]
fn hub_and_chores_validate_config_first() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.port = 70000\n",
    )
    .unwrap();
    for args in [&[][..], &["token", "alice"][..], &["upgrade-db"][..]] {
        let out = oxhub(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out)
                .contains("jupyterhub_config.py:1:1: c.JupyterHub.port: 70000 is not a TCP port"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn dunder_file_is_the_absolute_path_of_each_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(dir.path()).unwrap();
    fs::write(
        base.join("jupyterhub_config.py"),
        "import os\nhere = os.path.dirname(os.path.abspath(__file__))\nc.JupyterHub.cookie_secret_file = os.path.join(here, 'cookie_secret')\n",
    )
    .unwrap();
    fs::create_dir(base.join("jupyterhub_config.d")).unwrap();
    fs::write(
        base.join("jupyterhub_config.d/10-db.py"),
        "import os\nc.JupyterHub.db_url = 'sqlite:///' + os.path.join(os.path.dirname(__file__), 'hub.sqlite')\n",
    )
    .unwrap();
    let json = show_config(&base, &[]);
    assert_eq!(
        json["config"]["JupyterHub"]["cookie_secret_file"]["value"],
        base.join("cookie_secret").to_string_lossy().as_ref()
    );
    assert_eq!(
        json["config"]["JupyterHub"]["db_url"]["value"],
        format!(
            "sqlite:///{}",
            base.join("jupyterhub_config.d/hub.sqlite").display()
        )
    );
}

#[test]
fn oauthenticator_local_classes_are_known_and_inherit_their_bases_traits() {
    // Every authenticator OAuthenticator 17.4 ships, by entry point and by import string.
    for name in [
        "oauthenticator.LocalGitHubOAuthenticator",
        "oauthenticator.github.LocalGitHubOAuthenticator",
        "local-github",
        "oauthenticator.gitlab.LocalGitLabOAuthenticator",
        "oauthenticator.LocalGoogleOAuthenticator",
        "oauthenticator.generic.LocalGenericOAuthenticator",
        "oauthenticator.azuread.LocalAzureAdOAuthenticator",
        "oauthenticator.LocalBitbucketOAuthenticator",
        "oauthenticator.cilogon.LocalCILogonOAuthenticator",
        "oauthenticator.globus.LocalGlobusOAuthenticator",
        "oauthenticator.openshift.LocalOpenShiftOAuthenticator",
        "oauthenticator.auth0.LocalAuth0OAuthenticator",
        "auth0",
        "azuread",
        "mediawiki",
        "oauthenticator.mediawiki.MWOAuthenticator",
    ] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("jupyterhub_config.py"),
            format!("c.JupyterHub.authenticator_class = '{name}'\n"),
        )
        .unwrap();
        let out = oxhub(dir.path(), &["show-config", "--strict-config"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.authenticator_class = 'oauthenticator.LocalGitHubOAuthenticator'\nc.GitHubOAuthenticator.allowed_organizations = {'org'}\nc.OAuthenticator.client_id = 'abc'\nc.LocalAuthenticator.create_system_users = True\n",
    )
    .unwrap();
    let json = show_config(dir.path(), &[]);
    assert_eq!(
        json["selected"]["authenticator"],
        "LocalGitHubOAuthenticator"
    );
    let cfg = &json["config"]["LocalGitHubOAuthenticator"];
    assert_eq!(
        cfg["allowed_organizations"]["value"],
        serde_json::json!(["org"])
    );
    assert_eq!(cfg["client_id"]["value"], "abc");
    assert_eq!(cfg["create_system_users"]["value"], true);
}
