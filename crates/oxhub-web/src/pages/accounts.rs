//! The pages of an authenticator that keeps its own accounts (NativeAuthenticator):
//! `/hub/signup`, the approval page `/hub/authorize` (approve, withdraw and discard are POSTs
//! with the XSRF token, where NativeAuthenticator used GETs), and `/hub/change-password`
//! (one's own, with the old password; `/hub/change-password/<name>` for admins). Each answers
//! 404 when the authenticator keeps no accounts.

use super::*;
use crate::caller::PageForm;
use axum::body::Bytes;
use oxhub_plugin::accounts::{Signup, SignupOutcome};
use serde_json::json;

fn not_found(hub: &Hub) -> Response {
    Ctx::of(hub).page_error(None, StatusCode::NOT_FOUND, "Page not found")
}

/// `NativeAuthenticator.tos`: text shown with a checkbox the sign-up form requires.
fn terms_of_service(hub: &Hub) -> String {
    hub.config
        .authenticator
        .extra
        .get("tos")
        .and_then(|v| v.to_json().as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn signup_page(
    hub: &Hub,
    headers: &HeaderMap,
    status: StatusCode,
    result: serde_json::Value,
) -> Response {
    let Some(accounts) = hub.accounts() else {
        return not_found(hub);
    };
    let (xsrf, cookies) = pre_login_xsrf(hub, headers);
    let tos = terms_of_service(hub);
    let resp = render(
        status,
        "signup.html",
        json!({
            "user": null,
            "xsrf": xsrf,
            "ask_email": accounts.asks_email(),
            "two_factor": accounts.offers_two_factor(),
            "tos": tos,
            "result": result,
        }),
    );
    with_cookies(resp, cookies)
}

pub(super) async fn signup_form(State(hub): S, headers: HeaderMap) -> Response {
    match hub.accounts() {
        Some(a) if a.signup_enabled() => signup_page(&hub, &headers, StatusCode::OK, json!(null)),
        _ => not_found(&hub),
    }
}

pub(super) async fn signup_submit(State(hub): S, headers: HeaderMap, body: Bytes) -> Response {
    if !hub.accounts().is_some_and(|a| a.signup_enabled()) {
        return not_found(&hub);
    }
    let form = String::from_utf8_lossy(&body).into_owned();
    let presented = form_value(&form, "_xsrf");
    if let Err(why) = check_xsrf(
        &hub,
        &headers,
        presented_xsrf(&headers, presented.as_deref()),
    ) {
        return Ctx::of(&hub).page_error(None, StatusCode::FORBIDDEN, why);
    }
    let field = |k: &str| form_value(&form, k).unwrap_or_default();
    let tos = terms_of_service(&hub);
    if !tos.is_empty() && field("tos").is_empty() {
        let result = json!({"ok": false, "message": "Please accept the terms of service."});
        return signup_page(&hub, &headers, StatusCode::BAD_REQUEST, result);
    }
    let request = Signup {
        name: field("username"),
        password: field("signup_password"),
        confirmation: field("signup_password_confirmation"),
        email: field("email"),
        two_factor: !field("2fa").is_empty(),
        preauthorized: false,
    };
    let (status, result) = match hub.signup(request).await {
        Ok(SignupOutcome::Created {
            authorized,
            otp_secret,
        }) => {
            let message = if authorized {
                "The account was created. You can log in now."
            } else {
                "The account was created. An administrator has to approve it before you can log in."
            };
            (
                StatusCode::OK,
                json!({"ok": true, "message": message, "otp_secret": otp_secret}),
            )
        }
        Ok(SignupOutcome::Refused(why)) => (
            StatusCode::BAD_REQUEST,
            json!({"ok": false, "message": why}),
        ),
        Err(e) => {
            tracing::error!("sign-up: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"ok": false, "message": "The account could not be created."}),
            )
        }
    };
    signup_page(&hub, &headers, status, result)
}

pub(super) async fn authorize_page(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    if hub.accounts().is_none() {
        return not_found(&hub);
    }
    let accounts = match hub.list_accounts(&page.who).await {
        Ok(list) => list,
        Err(e) => return crate::PageError::from_hub(Some(&page.name), e).into_response(),
    };
    let rows: Vec<serde_json::Value> = accounts
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "path": path_segment(&a.name),
                "authorized": a.authorized,
                "email": a.email,
                "two_factor": a.two_factor,
                "failed_logins": a.failed_logins,
            })
        })
        .collect();
    let session = session_id(&headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(&hub, &headers, &session);
    let resp = render(
        StatusCode::OK,
        "authorize.html",
        json!({"user": page.name, "xsrf": xsrf, "accounts": rows}),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

pub(super) async fn authorize_post(
    State(hub): S,
    Path(name): Path<String>,
    form: PageForm,
) -> Response {
    let ctx = Ctx::of(&hub);
    let authorized = form.field("authorized") == Some("1");
    match hub
        .authorize_account(&form.user.who, &name, authorized)
        .await
    {
        Ok(()) => redirect(&format!("{}#{}", ctx.hub("authorize"), path_segment(&name))),
        Err(e) => crate::PageError::from_hub(Some(&form.user.name), e).into_response(),
    }
}

pub(super) async fn discard_post(
    State(hub): S,
    Path(name): Path<String>,
    form: PageForm,
) -> Response {
    let ctx = Ctx::of(&hub);
    match hub.discard_account(&form.user.who, &name).await {
        Ok(()) => redirect(&ctx.hub("authorize")),
        Err(e) => crate::PageError::from_hub(Some(&form.user.name), e).into_response(),
    }
}

fn password_page(
    hub: &Hub,
    headers: &HeaderMap,
    user: &str,
    target: Option<&str>,
    status: StatusCode,
    result: serde_json::Value,
) -> Response {
    let ctx = Ctx::of(hub);
    if hub.accounts().is_none() {
        return not_found(hub);
    }
    let session = session_id(headers).unwrap_or_default();
    let (xsrf, cookie) = ensure_xsrf(hub, headers, &session);
    let action = match target {
        Some(t) => ctx.hub(&format!("change-password/{}", path_segment(t))),
        None => ctx.hub("change-password"),
    };
    let resp = render(
        status,
        "change-password.html",
        json!({
            "user": user,
            "xsrf": xsrf,
            "target": target,
            "action": action,
            "result": result,
        }),
    );
    with_cookies(resp, cookie.into_iter().collect())
}

pub(super) async fn password_form(State(hub): S, headers: HeaderMap, page: PageUser) -> Response {
    password_page(
        &hub,
        &headers,
        &page.name,
        None,
        StatusCode::OK,
        json!(null),
    )
}

pub(super) async fn password_form_for(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    page: PageUser,
) -> Response {
    // Only someone who may change it sees the form.
    if let Err(e) = hub
        .require(
            &page.who,
            &["admin:users"],
            oxhub_model::scope::Resource::User(&name),
        )
        .await
    {
        return crate::PageError::from_hub(Some(&page.name), e).into_response();
    }
    password_page(
        &hub,
        &headers,
        &page.name,
        Some(&name),
        StatusCode::OK,
        json!(null),
    )
}

async fn change(hub: &Hub, headers: &HeaderMap, form: PageForm, target: Option<&str>) -> Response {
    let name = target.unwrap_or(&form.user.name).to_owned();
    let old = if target.is_some() {
        None
    } else {
        form.field("old_password")
    };
    let new = form.field("new_password").unwrap_or("");
    let confirmation = form.field("new_password_confirmation").unwrap_or("");
    let (status, result) = match hub
        .change_password(&form.user.who, &name, old, new, confirmation)
        .await
    {
        Ok(Ok(())) => (
            StatusCode::OK,
            json!({"ok": true, "message": "The password was changed."}),
        ),
        Ok(Err(why)) => (
            StatusCode::BAD_REQUEST,
            json!({"ok": false, "message": why}),
        ),
        Err(e) => return crate::PageError::from_hub(Some(&form.user.name), e).into_response(),
    };
    password_page(hub, headers, &form.user.name, target, status, result)
}

pub(super) async fn password_submit(State(hub): S, headers: HeaderMap, form: PageForm) -> Response {
    change(&hub, &headers, form, None).await
}

pub(super) async fn password_submit_for(
    State(hub): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: PageForm,
) -> Response {
    change(&hub, &headers, form, Some(&name)).await
}
