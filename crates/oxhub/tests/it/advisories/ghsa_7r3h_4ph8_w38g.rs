//! GHSA-7r3h-4ph8-w38g: a same-origin page cannot drive the API with the user's cookies alone:
//! cookie-authenticated API requests need the XSRF token even when `Sec-Fetch-Site` says
//! same-origin.

use crate::pages::{hub, Browser};

#[test]
fn same_origin_scripts_need_the_xsrf_token() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    b.login(&hub, "alice", None);
    for (method, path) in [
        ("POST", "/hub/api/users/alice/tokens"),
        ("GET", "/hub/api/users/alice/tokens"),
        ("DELETE", "/hub/api/users/alice/server"),
    ] {
        let r = b.send(
            &hub,
            method,
            path,
            Some("{}"),
            &[
                ("Sec-Fetch-Site", "same-origin"),
                ("Sec-Fetch-Mode", "cors"),
            ],
        );
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
}
