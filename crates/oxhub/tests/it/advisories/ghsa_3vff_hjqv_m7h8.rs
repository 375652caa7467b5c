//! GHSA-3vff-hjqv-m7h8: a `next` naming the hub's own origin whose path starts with `//` is
//! reduced to a path with exactly one leading slash, never a protocol-relative URL.

use crate::pages::{hub, Browser};

#[test]
fn self_host_next_with_double_slash_path_stays_a_path() {
    let (_dir, hub) = hub("");
    for next in [
        "http://hub.test:8000//evil.com/x",
        "//hub.test:8000//evil.com/x",
        "http://hub.test:8000///evil.com/x",
    ] {
        let mut b = Browser::default();
        let r = b.login(&hub, "alice", Some(next));
        assert_eq!(r.location().as_deref(), Some("/evil.com/x"), "{next}");
    }
}
