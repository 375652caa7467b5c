//! GHSA-9x4q-3gxw-849f (CVE-2024-41942): `admin:users` without the admin role must not be able
//! to make anyone an admin.

use super::hub_with_roles;

#[test]
fn admin_users_scope_cannot_grant_admin() {
    let (_dir, hub) = hub_with_roles(
        "[{'name': 'useradmin', 'scopes': ['admin:users'], 'services': ['useradmin']}]",
    );
    let token = Some("useradmin-token-0123456789");
    let (status, _, body) = hub.call(
        "POST",
        "/hub/api/users",
        token,
        Some(r#"{"usernames": ["mallory"], "admin": true}"#),
        &[],
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users/mallory",
            token,
            Some(r#"{"admin": true}"#),
            &[]
        )
        .0,
        403
    );
    assert_eq!(
        hub.get("/hub/api/users/mallory", Some("useradmin-token-0123456789"))
            .0,
        404,
        "nothing was created"
    );
    // Without the admin flag the same scope may create users, and may not delete an admin.
    assert_eq!(
        hub.call(
            "POST",
            "/hub/api/users",
            token,
            Some(r#"{"usernames": ["mallory"]}"#),
            &[]
        )
        .0,
        201
    );
    let (_, user) = hub.get("/hub/api/users/mallory", token);
    assert_eq!(user["admin"], false);
    hub.stop();
}

#[test]
fn admin_users_scope_cannot_patch_admin() {
    let (_dir, hub) = hub_with_roles(
        "[{'name': 'useradmin', 'scopes': ['admin:users'], 'services': ['useradmin']}]",
    );
    let token = Some("useradmin-token-0123456789");
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/alice",
            token,
            Some(r#"{"admin": true}"#),
            &[]
        )
        .0,
        403
    );
    assert_eq!(
        hub.call(
            "PATCH",
            "/hub/api/users/admin",
            token,
            Some(r#"{"name": "admin2"}"#),
            &[]
        )
        .0,
        403,
        "may not modify an admin"
    );
    assert_eq!(hub.get("/hub/api/users/alice", token).1["admin"], false);
    hub.stop();
}
