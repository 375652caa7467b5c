//! GHSA-m68r-v472-jgq9: `Sec-Fetch-Mode: no-cors` must not let a cross-site form post skip
//! the `_xsrf` check (POST /hub/spawn here; the same check guards every page form).

use crate::pages::{hub, Browser};

#[test]
fn no_cors_cross_site_form_posts_need_xsrf() {
    let (_dir, hub) = hub("");
    let mut b = Browser::default();
    b.login(&hub, "alice", None);
    for headers in [
        vec![
            ("Sec-Fetch-Mode", "no-cors"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![
            ("Sec-Fetch-Mode", "no-cors"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        vec![("Sec-Fetch-Mode", "navigate")],
        vec![],
    ] {
        let mut h = headers.clone();
        h.push(("Content-Type", "application/x-www-form-urlencoded"));
        let r = b.send(&hub, "POST", "/hub/spawn", Some("x=1"), &h);
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
    }
    // Nothing was started.
    let (_, user) = hub.get("/hub/api/users/alice", Some(crate::pages::ADMIN_TOKEN));
    assert_eq!(user["servers"], serde_json::json!({}));
}
