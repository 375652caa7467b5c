//! GHSA-c4gm-pwx9-9w8j: `next` (and any request value) is HTML-escaped in pages.

use crate::pages::{hub, Browser};

#[test]
fn next_is_escaped_in_pages() {
    let (_dir, hub) = hub("");
    let payload = "%22%3E%3Cscript%3Ealert(1)%3C/script%3E";
    let mut b = Browser::default();
    let page = b.get(&hub, &format!("/hub/login?next={payload}"));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    // A username that looks like markup comes back escaped in the refused-login form.
    let xsrf = Browser::form_xsrf(&page);
    let r = b.send(
        &hub,
        "POST",
        "/hub/login",
        Some(&format!(
            "_xsrf={}&username=%22%3E%3Cscript%3Ex%3C%2Fscript%3E&password=wrong",
            crate::pages::encode(&xsrf)
        )),
        &[],
    );
    assert_eq!(r.status, 403);
    assert!(!r.body.contains("<script>x"), "{}", r.body);
    assert!(
        r.body.contains("&quot;&gt;&lt;script&gt;") || r.body.contains("&#34;&gt;&lt;script&gt;"),
        "{}",
        r.body
    );
}
