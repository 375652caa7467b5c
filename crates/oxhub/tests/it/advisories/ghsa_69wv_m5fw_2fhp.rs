//! GHSA-69wv-m5fw-2fhp: a filtered admin scope (`admin:users!group=g`) must not create users or
//! groups outside its filter, and lists only what the filter covers.

use super::hub_with_roles;

#[test]
fn filtered_admin_scope_stays_inside_its_filter() {
    let (dir, hub) = hub_with_roles(
        "[{'name': 'g-admin', 'scopes': ['admin:users!group=g'], 'services': ['groupadmin']}]",
    );
    let admin = crate::api::user_token(dir.path(), "admin");
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/groups/g",
            Some(&admin),
            Some(r#"{"users": ["alice"]}"#),
            &[]
        )
        .0,
        201
    );
    let token = Some("groupadmin-token-0123456789");
    // The filter cannot see a name outside g: 404, as JupyterHub's needs_scope answers.
    assert_eq!(
        hub.call("POST", "/hub/api/users/newname", token, None, &[])
            .0,
        404
    );
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users",
            token,
            Some(r#"{"usernames": ["newname"]}"#),
            &[]
        )
        .0,
        404
    );
    assert_eq!(
        hub.get("/hub/api/users/newname", Some(&admin)).0,
        404,
        "nothing was created"
    );
    assert_eq!(
        hub.call("POST", "/hub/api/groups/x", token, None, &[]).0,
        403
    );
    let (status, list) = hub.get("/hub/api/users", token);
    assert_eq!(status, 200);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alice"], "only members of g are listed");
    assert_eq!(hub.get("/hub/api/users/alice", token).0, 200);
    assert_eq!(
        hub.get("/hub/api/users/bob", token).0,
        404,
        "outside the filter: hidden"
    );
    // admin:users includes delete:users, for members of g only.
    assert_eq!(
        hub.call("DELETE", "/hub/api/users/bob", token, None, &[]).0,
        404
    );
    assert_eq!(
        hub.call("DELETE", "/hub/api/users/alice", token, None, &[])
            .0,
        204
    );
    hub.stop();
}
