//! GHSA-gprj-3p75-f996 (GlobusOAuthenticator: an identity-provider restriction could be
//! bypassed). oxhub has no Globus preset; a hub configured with GlobusOAuthenticator must not
//! fall back to something that lets anyone in: every login is refused, and the log says why.

use crate::api::Hub;
use crate::pages::Browser;

#[test]
fn a_globus_config_logs_nobody_in() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\n\
         c.ConfigurableHTTPProxy.should_start = False\n\
         c.JupyterHub.authenticator_class = 'globus'\n\
         c.GlobusOAuthenticator.identity_provider = 'uchicago.edu'\n\
         c.Authenticator.allow_all = True\n",
    )
    .unwrap();
    let hub = Hub::start(dir.path());
    assert!(hub
        .log_containing("is not available in this build")
        .contains("GlobusOAuthenticator"));
    let mut b = Browser::default();
    assert_eq!(b.get(&hub, "/hub/oauth_login").status, 404);
    assert_eq!(b.login_with(&hub, "alice@uchicago.edu", "x").status, 403);
    assert_eq!(
        b.get(&hub, "/hub/oauth_callback?code=c&state=s").status,
        404
    );
}
