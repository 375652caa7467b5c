//! CVE-2019-10255: open redirect through the login page's `next`. Whatever `next` holds, the
//! redirect after login stays on the hub: a path with exactly one leading `/`.

use crate::pages::{hub, Browser};

#[test]
fn login_next_never_leaves_the_hub() {
    let (_dir, hub) = hub("");
    let hostile = [
        "//evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "https://evil.com",
        "http://evil.com/hub/",
        "%2F%2Fevil.com",
        "/%09/evil.com",
        "/\t/evil.com",
        "///evil.com/x",
        "////evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "http://hub.test:8000@evil.com/",
        "http://hub.test:8000.evil.com/",
        "//hub.test:8000@evil.com",
        "/hub/home?x=http://evil.com",
    ];
    for next in hostile {
        let mut b = Browser::default();
        let r = b.login(&hub, "alice", Some(next));
        assert_eq!(r.status, 302, "{next}");
        let to = r.location().unwrap();
        let same_origin = to.starts_with('/') && !to.starts_with("//") && !to.starts_with("/\\");
        assert!(same_origin, "next={next:?} redirected to {to:?}");
        assert!(
            !to.contains("evil.com") || to.starts_with("/hub/home?") || to.starts_with("/%"),
            "next={next:?} -> {to:?}"
        );
    }
    // A same-origin next is honoured.
    let mut b = Browser::default();
    let r = b.login(&hub, "alice", Some("/hub/home"));
    assert_eq!(r.location().as_deref(), Some("/hub/home"));
}
