//! NativeAuthenticator against the real binary: sign-up, approval by an admin (POST + XSRF),
//! login, lockout kept in the database across a hub restart, password changes, the stored
//! hash's format, and who may see the approval page.

use crate::api::Hub;
use crate::pages::{encode, Browser, ADMIN_TOKEN};

const CONFIG: &str = "c.JupyterHub.hub_ip = '127.0.0.1'\nc.JupyterHub.hub_port = 0\n\
    c.JupyterHub.db_url = 'sqlite:///hub.sqlite'\nc.ConfigurableHTTPProxy.should_start = False\n\
    c.JupyterHub.authenticator_class = 'native'\nc.Authenticator.admin_users = {'admin'}\n\
    c.NativeAuthenticator.allowed_failed_logins = 3\nc.NativeAuthenticator.seconds_before_next_try = 3600\n";

fn start(dir: &std::path::Path) -> Hub {
    Hub::start(dir)
}

/// Post a form of a page the browser just loaded (its `_xsrf` included).
fn post(
    b: &mut Browser,
    hub: &Hub,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> crate::pages::Answer {
    let loaded = b.get(hub, page);
    assert_eq!(loaded.status, 200, "{page}: {}", loaded.body);
    let mut form = format!("_xsrf={}", encode(&Browser::form_xsrf(&loaded)));
    for (k, v) in fields {
        form.push_str(&format!("&{k}={}", encode(v)));
    }
    b.send(
        hub,
        "POST",
        action,
        Some(&form),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    )
}

fn signup(hub: &Hub, name: &str, password: &str) -> crate::pages::Answer {
    let mut b = Browser::default();
    post(
        &mut b,
        hub,
        "/hub/signup",
        "/hub/signup",
        &[
            ("username", name),
            ("signup_password", password),
            ("signup_password_confirmation", password),
        ],
    )
}

fn sqlite(dir: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sqlite3, sys; print('\\n'.join('|'.join(map(str, r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))"])
        .arg(dir.join("hub.sqlite"))
        .arg(sql)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn signup_approval_login_lockout_and_password_changes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        format!("{CONFIG}c.JupyterHub.api_tokens = {{'{ADMIN_TOKEN}': 'admin'}}\n"),
    )
    .unwrap();
    let hub = start(dir.path());

    // The login page links to sign-up; weak passwords are refused there.
    let mut b = Browser::default();
    let page = b.get(&hub, "/hub/login");
    assert!(page.body.contains("id=\"signup-link\""), "{}", page.body);
    let r = signup(&hub, "alice", "123456");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at least 8"), "{}", r.body);
    let r = signup(&hub, "alice", "password123");
    assert!(r.body.contains("too common"), "{}", r.body);
    let r = signup(&hub, "Alice", "correct horse battery");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("administrator has to approve"),
        "{}",
        r.body
    );
    let r = signup(&hub, "alice", "another passphrase");
    assert!(
        r.body.contains("already taken"),
        "normalised names collide: {}",
        r.body
    );

    // The hash at rest is Argon2id, never the password.
    let stored = sqlite(
        dir.path(),
        "SELECT data FROM auth_accounts WHERE name = 'alice'",
    );
    assert!(stored.contains("$argon2id$v=19$"), "{stored}");
    assert!(!stored.contains("correct horse"), "{stored}");

    // Not approved yet: refused. An admin signs up (pre-authorised: in admin_users) and approves.
    assert_eq!(
        Browser::default()
            .login_with(&hub, "alice", "correct horse battery")
            .status,
        403
    );
    let r = signup(&hub, "admin", "admin passphrase 1");
    assert!(r.body.contains("You can log in now"), "{}", r.body);
    let mut admin = Browser::default();
    assert_eq!(
        admin.login_with(&hub, "admin", "admin passphrase 1").status,
        302
    );
    let list = admin.get(&hub, "/hub/authorize");
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("data-account=\"alice\"") && list.body.contains("waiting"),
        "{}",
        list.body
    );
    // A state change needs the form's XSRF token (NativeAuthenticator used a bare GET).
    let bare = admin.send(
        &hub,
        "POST",
        "/hub/authorize/alice",
        Some("authorized=1"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(bare.status, 403, "{}", bare.body);
    let r = post(
        &mut admin,
        &hub,
        "/hub/authorize",
        "/hub/authorize/alice",
        &[("authorized", "1")],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(admin
        .get(&hub, "/hub/authorize")
        .body
        .contains("authorized"));

    // alice logs in; a user who is not an admin cannot see the approval page.
    let mut alice = Browser::default();
    assert_eq!(
        alice
            .login_with(&hub, "alice", "correct horse battery")
            .status,
        302
    );
    assert_eq!(alice.get(&hub, "/hub/authorize").status, 403);

    // Three wrong passwords lock the account, and the lock survives a restart.
    for _ in 0..3 {
        assert_eq!(
            Browser::default()
                .login_with(&hub, "alice", "wrong wrong wrong")
                .status,
            403
        );
    }
    assert_eq!(
        Browser::default()
            .login_with(&hub, "alice", "correct horse battery")
            .status,
        403
    );
    hub.stop();
    let hub = start(dir.path());
    assert_eq!(
        Browser::default()
            .login_with(&hub, "alice", "correct horse battery")
            .status,
        403,
        "still locked after a restart"
    );
    assert!(hub.log_containing("is locked").contains("is locked"));

    // An admin resets the password (which clears the count); alice then changes her own.
    let mut admin = Browser::default();
    assert_eq!(
        admin.login_with(&hub, "admin", "admin passphrase 1").status,
        302
    );
    let r = post(
        &mut admin,
        &hub,
        "/hub/change-password/alice",
        "/hub/change-password/alice",
        &[
            ("new_password", "reset by the admin"),
            ("new_password_confirmation", "reset by the admin"),
        ],
    );
    assert!(r.body.contains("The password was changed"), "{}", r.body);
    let mut alice = Browser::default();
    assert_eq!(
        alice.login_with(&hub, "alice", "reset by the admin").status,
        302
    );
    let r = post(
        &mut alice,
        &hub,
        "/hub/change-password",
        "/hub/change-password",
        &[
            ("old_password", "not it"),
            ("new_password", "mine again now"),
            ("new_password_confirmation", "mine again now"),
        ],
    );
    assert!(r.body.contains("current password is wrong"), "{}", r.body);
    let r = post(
        &mut alice,
        &hub,
        "/hub/change-password",
        "/hub/change-password",
        &[
            ("old_password", "reset by the admin"),
            ("new_password", "mine again now"),
            ("new_password_confirmation", "mine again now"),
        ],
    );
    assert!(r.body.contains("The password was changed"), "{}", r.body);
    assert_eq!(
        Browser::default()
            .login_with(&hub, "alice", "mine again now")
            .status,
        302
    );
    // alice may not change someone else's.
    assert_eq!(alice.get(&hub, "/hub/change-password/admin").status, 403);

    // An account never approved can be discarded; deleting a hub user forgets its account.
    signup(&hub, "mallory", "mallory passphrase");
    let r = post(
        &mut admin,
        &hub,
        "/hub/authorize",
        "/hub/discard/mallory",
        &[],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(!admin.get(&hub, "/hub/authorize").body.contains("mallory"));
    let (status, _, _) = hub.call(
        "DELETE",
        "/hub/api/users/alice",
        Some(ADMIN_TOKEN),
        None,
        &[],
    );
    assert_eq!(status, 204);
    assert_eq!(
        sqlite(
            dir.path(),
            "SELECT count(*) FROM auth_accounts WHERE name = 'alice'"
        )
        .trim(),
        "0"
    );
    hub.stop();
}

#[test]
fn signup_pages_are_absent_for_other_authenticators_and_when_disabled() {
    let (_dir, hub) = crate::pages::hub("");
    assert_eq!(Browser::default().get(&hub, "/hub/signup").status, 404);
    assert_eq!(
        Browser::default().get(&hub, "/hub/authorize").status,
        302,
        "login first"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("jupyterhub_config.py"),
        format!("{CONFIG}c.NativeAuthenticator.enable_signup = False\n"),
    )
    .unwrap();
    let hub = start(dir.path());
    let mut b = Browser::default();
    assert_eq!(b.get(&hub, "/hub/signup").status, 404);
    assert!(!b.get(&hub, "/hub/login").body.contains("signup-link"));
}
