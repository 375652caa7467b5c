//! One regression test per published JupyterHub advisory that the implemented API touches
//! or the pages (`shared/reference/security-advisories.md`), named after the advisory.
//!
//! The OAuthenticator advisories need a real identity provider, so their regression checks are
//! in `tests/e2e/oxhub_logins.py`, named after them: CVE-2018-7206 (GitLab groups),
//! GHSA-384w-5v3f-q499 (the deprecated GitHub allow-list; the config side is in
//! `config.rs`), GHSA-r7v4-jwx9-wx43 (CILogon's `idp`), GHSA-55m3-44xf-hg4h (Google's `hd`),
//! GHSA-rrvg-cxh4-qhrv (Auth0's `email_verified`). GHSA-gprj-3p75-f996 (Globus) is here.

mod cve_2019_10255;
mod ghsa_3vff_hjqv_m7h8;
mod ghsa_69wv_m5fw_2fhp;
mod ghsa_7r3h_4ph8_w38g;
mod ghsa_9x4q_3gxw_849f;
mod ghsa_c4gm_pwx9_9w8j;
mod ghsa_cw7p_q79f_m2v7;
mod ghsa_gprj_3p75_f996;
mod ghsa_h56g_gq9v_vc8r;
mod ghsa_hrw6_wg82_cm62;
mod ghsa_m68r_v472_jgq9;
mod ghsa_p43p_whwx_q52h;

use crate::api::Hub;

/// A hub whose services hold exactly the scopes an advisory is about.
pub fn hub_with_roles(roles: &str) -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = 0
c.JupyterHub.authenticator_class = 'null'
c.JupyterHub.db_url = 'sqlite:///hub.sqlite'
c.ConfigurableHTTPProxy.should_start = False
c.Authenticator.admin_users = {{'admin'}}
c.Authenticator.allowed_users = {{'alice', 'bob', 'carol'}}
c.JupyterHub.services = [
    {{'name': 'useradmin', 'api_token': 'useradmin-token-0123456789'}},
    {{'name': 'groupadmin', 'api_token': 'groupadmin-token-0123456789'}},
]
c.JupyterHub.load_roles = {roles}
"#
    );
    std::fs::write(dir.path().join("jupyterhub_config.py"), config).unwrap();
    let hub = Hub::start(dir.path());
    (dir, hub)
}
