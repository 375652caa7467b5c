//! GHSA-hrw6-wg82-cm62: the hub never opens a path a request names (absolute, UNC, `..`),
//! for static assets, the logo or templates: `/hub/static/` serves only its embedded assets
//! by exact name, and a custom template cannot pull in a file outside `template_paths`.

use crate::pages::{hub, Browser};

#[test]
fn request_paths_never_reach_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "top secret").unwrap();
    let (_hub_dir, hub) = hub("");
    let mut b = Browser::default();
    let abs = secret.display().to_string();
    for path in [
        format!("/hub/static/{abs}"),
        format!("/hub/static/{}", crate::pages::encode(&abs)),
        "/hub/static/%5C%5Cattacker%5Cshare%5Cx.css".to_owned(),
        "/hub/static/\\\\attacker\\share\\x.css".to_owned(),
        "/hub/static/..%2f..%2f..%2fetc%2fpasswd".to_owned(),
        "/hub/static/css/../../../../etc/passwd".to_owned(),
        format!("/hub/logo/{abs}"),
    ] {
        let r = b.get(&hub, &path);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        assert!(
            !r.body.contains("top secret") && !r.body.contains("root:"),
            "{path}"
        );
    }
}

#[test]
fn templates_cannot_include_files_outside_their_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
    std::fs::create_dir(dir.path().join("t")).unwrap();
    let outside = dir.path().join("secret.txt").display().to_string();
    std::fs::write(
        dir.path().join("t/404.html"),
        format!(
            "{{% extends \"error.html\" %}}{{% block error_detail %}}[{{% include \"../secret.txt\" ignore missing %}}][{{% include \"{outside}\" ignore missing %}}]{{% endblock %}}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\nc.JupyterHub.db_url = 'sqlite:///hub.sqlite'\n\
         c.ConfigurableHTTPProxy.should_start = False\nc.JupyterHub.authenticator_class = 'dummy'\n\
         c.JupyterHub.template_paths = ['t']\n",
    )
    .unwrap();
    let hub = crate::api::Hub::start(dir.path());
    let r = Browser::default().get(&hub, "/hub/nothing-here");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("[][]"), "{}", r.body);
    assert!(!r.body.contains("top secret"));
}
