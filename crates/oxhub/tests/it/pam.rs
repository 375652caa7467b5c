//! `PAMAuthenticator`, the default, against the machine's real PAM stack (service `login`,
//! pam_unix): system users and groups are created for the test (useradd, chpasswd, groupadd)
//! and removed after it. Needs root; `OXHUB_TEST_REQUIRE_PAM=1` (set by scripts/test.sh)
//! makes running without root a failure rather than a skip.

use crate::api::Hub;
use crate::pages::Browser;
use std::process::Command;

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// System accounts and groups made for one test, removed when it ends.
#[derive(Default)]
struct Accounts {
    users: Vec<String>,
    groups: Vec<String>,
}

impl Accounts {
    fn group(&mut self, name: &str) {
        run("groupadd", &[name]);
        self.groups.push(name.to_owned());
    }

    fn user(&mut self, name: &str, password: &str, groups: &[&str]) {
        let mut args = vec!["-M", "-s", "/bin/sh"];
        let list = groups.join(",");
        if !groups.is_empty() {
            args.extend(["-G", list.as_str()]);
        }
        args.push(name);
        run("useradd", &args);
        self.users.push(name.to_owned());
        let mut child = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{name}:{password}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// A user the hub will create: removed at the end too.
    fn expect(&mut self, name: &str) {
        self.users.push(name.to_owned());
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for u in &self.users {
            let _ = Command::new("userdel").args(["-f", u]).output();
        }
        for g in &self.groups {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

fn exists(name: &str) -> bool {
    Command::new("id")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn root_or_skip() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("OXHUB_TEST_REQUIRE_PAM").ok().as_deref() != Some("1"),
        "the PAM tests need root (to create system users)"
    );
    eprintln!("skipping the PAM test: not root");
    false
}

/// A config that names no authenticator logs system users in through PAM: the right password
/// works, a wrong one does not; `allowed_groups` admits by UNIX group, `admin_groups` makes
/// admins; a name with no system account cannot be created through the API, unless
/// `create_system_users` is on, when the hub runs `adduser` for it.
#[test]
fn pam_is_the_default_and_uses_system_accounts() {
    if !root_or_skip() {
        return;
    }
    let tag = std::process::id();
    let (lab, adm) = (format!("oxlab{tag}"), format!("oxadm{tag}"));
    let (ann, bob, eve) = (
        format!("oxann{tag}"),
        format!("oxbob{tag}"),
        format!("oxeve{tag}"),
    );
    let mut acct = Accounts::default();
    acct.group(&lab);
    acct.group(&adm);
    acct.user(&ann, "Ann-pw 1", &[&lab, &adm]);
    acct.user(&bob, "Bob-pw", &[&lab]);
    acct.user(&eve, "Eve-pw", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        format!(
            "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\n\
             c.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\n\
             c.LocalAuthenticator.allowed_groups = {{'{lab}'}}\nc.PAMAuthenticator.admin_groups = {{'{adm}'}}\n"
        ),
    )
    .unwrap();
    let hub = Hub::start(dir.path());

    // The password with a space in it is the password: only the username is trimmed.
    let mut b = Browser::default();
    let r = b.login_with(&hub, &format!(" {ann} "), "Ann-pw 1");
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(b.cookies.contains_key("jupyterhub-hub-login"));
    let r = Browser::default().login_with(&hub, &ann, "wrong");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Invalid username or password"));
    // In the allowed group: in; outside it: refused although the password is right.
    assert_eq!(
        Browser::default().login_with(&hub, &bob, "Bob-pw").status,
        302
    );
    assert_eq!(
        Browser::default().login_with(&hub, &eve, "Eve-pw").status,
        403
    );
    let refused = format!("User \"{eve}\" not allowed");
    let log = hub.log_containing(&refused);
    assert!(log.contains(&refused), "{log}");
    assert!(
        !log.contains("Eve-pw") && !log.contains("Ann-pw"),
        "a password was logged"
    );

    // admin_groups decides admin; ann's token shows it, bob is not one.
    let token = crate::api::user_token(dir.path(), &ann);
    let (status, _, me) = hub.call("GET", "/hub/api/user", Some(&token), None, &[]);
    assert_eq!(status, 200);
    assert_eq!(me["admin"], true, "{me}");
    let (_, _, bob_model) = hub.call(
        "GET",
        &format!("/hub/api/users/{bob}"),
        Some(&token),
        None,
        &[],
    );
    assert_eq!(bob_model["admin"], false, "{bob_model}");

    // No system account, no hub user (JupyterHub answers 400 the same way).
    let ghost = format!("oxghost{tag}");
    let body = format!("{{\"usernames\": [\"{ghost}\"]}}");
    let (status, _, reply) = hub.call("POST", "/hub/api/users", Some(&token), Some(&body), &[]);
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("does not exist on the system"),
        "{reply}"
    );
    hub.stop();

    // With create_system_users the hub creates the account (adduser, as JupyterHub runs it).
    let config = std::fs::read_to_string(dir.path().join("jupyterhub_config.py")).unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        format!("{config}c.LocalAuthenticator.create_system_users = True\n"),
    )
    .unwrap();
    let hub = Hub::start(dir.path());
    let fresh = format!("oxnew{tag}");
    acct.expect(&fresh);
    let body = format!("{{\"usernames\": [\"{fresh}\"]}}");
    let (status, _, reply) = hub.call("POST", "/hub/api/users", Some(&token), Some(&body), &[]);
    assert_eq!(status, 201, "{reply}");
    assert!(exists(&fresh), "adduser did not create {fresh}");
    hub.stop();
}
