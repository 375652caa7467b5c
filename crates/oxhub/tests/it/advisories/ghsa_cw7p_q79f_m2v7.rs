//! GHSA-cw7p-q79f-m2v7: logout ends the session on the server side. Every cookie captured
//! before logout, replayed, fails at the hub; the session's tokens (login and OAuth) are gone.

use crate::pages::{hub, Browser, ADMIN_TOKEN};

#[test]
fn cookies_captured_before_logout_fail_after_it() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    b.login(&hub, "alice", None);
    let captured = b.clone();
    assert_eq!(b.send(&hub, "GET", "/hub/api/user", None, &[]).status, 200);
    b.get(&hub, "/hub/logout");
    let mut replay = captured.clone();
    assert_eq!(
        replay.send(&hub, "GET", "/hub/api/user", None, &[]).status,
        403
    );
    // Even with the old XSRF token, writes fail too.
    let xsrf = captured.cookies["_xsrf"].clone();
    let r = replay.send(
        &hub,
        "POST",
        "/hub/api/users/alice/tokens",
        Some("{}"),
        &[("X-XSRFToken", &xsrf)],
    );
    assert_eq!(r.status, 403);
    let (_, tokens) = hub.get("/hub/api/users/alice/tokens", Some(ADMIN_TOKEN));
    assert_eq!(tokens["api_tokens"], serde_json::json!([]));
}
