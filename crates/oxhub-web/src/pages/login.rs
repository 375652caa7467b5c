//! Logging in and out: the login form, its submission through the core's login pipeline
//! (a new session id and XSRF token on success), and logout.

use super::*;
use crate::caller::ClientAddr;
use axum::body::Bytes;
use oxhub_plugin::auth::LoginRequest;
use serde_json::json;
use std::collections::BTreeMap;

/// The XSRF check of the login form, made against the browser's pre-login session.
fn check_form_xsrf(hub: &Hub, headers: &HeaderMap, form: &str) -> Result<(), &'static str> {
    let presented = form_value(form, "_xsrf");
    check_xsrf(hub, headers, presented_xsrf(headers, presented.as_deref()))
}

fn login_page(
    hub: &Hub,
    headers: &HeaderMap,
    uri: &http::Uri,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let ctx = Ctx::of(hub);
    let (xsrf, cookies) = pre_login_xsrf(hub, headers);
    let mut login_url = ctx.hub("login");
    if let Some(next) = query_value(uri, "next") {
        login_url.push_str(&format!("?next={}", encode(&next)));
    }
    // `Authenticator.request_otp`: a one-time password field (PAM passes it as the answer to
    // a second hidden prompt).
    let setting = |k: &str| hub.config.authenticator.extra.get(k).map(|v| v.to_json());
    let otp = setting("request_otp").and_then(|v| v.as_bool()) == Some(true);
    let otp_prompt = setting("otp_prompt")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "OTP:".into());
    let (service, _, _) = hub.login_texts();
    let redirect_flow = hub.login_flow() == oxhub_plugin::auth::LoginFlow::Redirect;
    let mut authenticator_login_url = ctx.hub("oauth_login");
    if let Some(next) = query_value(uri, "next") {
        authenticator_login_url.push_str(&format!("?next={}", encode(&next)));
    }
    let resp = render(
        status,
        "login.html",
        json!({
            "redirect_flow": redirect_flow,
            "signup_url": hub.accounts().filter(|a| a.signup_enabled()).map(|_| ctx.hub("signup")),
            "two_factor": hub.accounts().is_some_and(|a| a.offers_two_factor()),
            "login_service": service,
            "authenticator_login_url": authenticator_login_url,
            "user": null,
            "xsrf": xsrf,
            "login_url": login_url,
            // A name too long to be valid is not echoed back.
            "username": if username.len() <= 255 { username } else { "" },
            "login_error": error,
            "request_otp": otp,
            "otp_prompt": otp_prompt,
        }),
    );
    with_cookies(resp, cookies)
}

pub(super) async fn form(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    user: Option<PageUser>,
) -> Response {
    if let Some(user) = user {
        let next = query_value(&uri, "next");
        return redirect(&next_or_default(&hub, &headers, next.as_deref(), &user.name).await);
    }
    // `auto_login`: straight on to the identity provider, `next` and all.
    if hub.config.authenticator.auto_login
        && hub.login_flow() == oxhub_plugin::auth::LoginFlow::Redirect
    {
        let mut to = Ctx::of(&hub).hub("oauth_login");
        if let Some(next) = query_value(&uri, "next") {
            to.push_str(&format!("?next={}", encode(&next)));
        }
        return redirect(&to);
    }
    login_page(&hub, &headers, &uri, StatusCode::OK, "", None)
}

pub(super) async fn submit(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    ClientAddr(client): ClientAddr,
    body: Bytes,
) -> Response {
    let ctx = Ctx::of(&hub);
    let form = String::from_utf8_lossy(&body).into_owned();
    if let Err(why) = check_form_xsrf(&hub, &headers, &form) {
        return ctx.page_error(None, StatusCode::FORBIDDEN, why);
    }
    // Every field but `_xsrf` goes to the authenticator; only the username is trimmed (a
    // password may hold spaces), as JupyterHub does.
    let mut fields: BTreeMap<String, String> = form_pairs(&form)
        .into_iter()
        .filter(|(k, _)| k != "_xsrf")
        .collect();
    let username = fields
        .get("username")
        .map(|u| u.trim().to_owned())
        .unwrap_or_default();
    fields.insert("username".into(), username.clone());
    let request = LoginRequest::Form(fields);
    let Some(old_session) = session_id(&headers) else {
        return ctx.page_error(None, StatusCode::FORBIDDEN, "No session");
    };
    // A successful login starts a new browser session: a session id planted before the login
    // (a sibling subdomain can set cookies), and any XSRF token minted for it, are worth
    // nothing after it (session fixation).
    let session = new_session_id();
    match hub.login(&request, &session, client).await {
        Ok(Ok(login)) => {
            let next = query_value(&uri, "next");
            logged_in(
                &hub,
                &headers,
                Some(&old_session),
                &session,
                &login,
                next.as_deref(),
            )
            .await
        }
        Ok(Err(_refused)) => login_page(
            &hub,
            &headers,
            &uri,
            StatusCode::FORBIDDEN,
            &username,
            Some("Invalid username or password"),
        ),
        Err(oxhub_core::HubError::Busy(message, secs)) => {
            let mut resp = login_page(
                &hub,
                &headers,
                &uri,
                StatusCode::TOO_MANY_REQUESTS,
                &username,
                Some(&message),
            );
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            resp
        }
        Err(oxhub_core::HubError::Outage(why)) => {
            tracing::error!("login: the identity source failed: {why}");
            ctx.page_error(
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "The login service is unavailable; try again in a moment",
            )
        }
        Err(e) => {
            tracing::error!("login: {e}");
            ctx.page_error(None, StatusCode::INTERNAL_SERVER_ERROR, "Login failed")
        }
    }
}

/// After a successful login: the pre-login session ends, and the browser gets the new
/// session id, its XSRF token and the login cookie, and goes on to `next` (when it stays on
/// the hub) or the default page.
pub(super) async fn logged_in(
    hub: &Hub,
    headers: &HeaderMap,
    old_session: Option<&str>,
    session: &str,
    login: &oxhub_core::login::Login,
    next: Option<&str>,
) -> Response {
    if let Some(old) = old_session {
        if let Err(e) = hub.end_session(old).await {
            tracing::warn!("ending the pre-login session: {e}");
        }
    }
    let to = next_or_default(hub, headers, next, &login.user).await;
    let secure = is_https(hub, headers);
    let xsrf = xsrf_token(hub, session);
    with_cookies(
        redirect(&to),
        vec![
            session_cookie(hub, session, secure),
            xsrf_cookie(hub, &xsrf, secure),
            login_cookie(hub, &login.token, secure),
        ],
    )
}

pub(super) async fn logout(State(hub): S, headers: HeaderMap, user: Option<PageUser>) -> Response {
    let ctx = Ctx::of(&hub);
    if let Some(session) = session_id(&headers) {
        match hub.end_session(&session).await {
            Ok(n) => tracing::info!("Logged out; {n} tokens of the session revoked"),
            Err(e) => tracing::error!("logout: {e}"),
        }
    }
    if let Some(user) = &user {
        if hub.config.hub.shutdown_on_logout {
            if let Err(e) = hub.stop_servers_of(&user.who, &user.name).await {
                tracing::warn!("shutdown_on_logout {}: {e}", user.name);
            }
        }
    }
    let hub_path = ctx.hub("");
    let (_, logout_to, _) = hub.login_texts();
    // With `auto_login`, the login page would log the browser straight back in: a page
    // saying so instead (JupyterHub's logout.html), unless the authenticator names a page.
    let answer = if !logout_to.is_empty() {
        redirect(logout_to)
    } else if hub.config.authenticator.auto_login {
        render(StatusCode::OK, "logout.html", json!({ "user": null }))
    } else {
        redirect(&ctx.hub("login"))
    };
    with_cookies(
        answer,
        vec![
            clear_cookie(SESSION_COOKIE, &ctx.base),
            clear_cookie(LOGIN_COOKIE, &hub_path),
            clear_cookie("jupyterhub-services", &format!("{}services", ctx.base)),
            clear_cookie(XSRF_COOKIE, &hub_path),
            clear_cookie(super::redirect_login::STATE_COOKIE, &hub_path),
        ],
    )
}
