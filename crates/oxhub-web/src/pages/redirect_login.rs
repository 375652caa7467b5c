//! Redirect logins (OAuth, OpenID Connect): `/hub/oauth_login` starts one and binds its
//! `state` to the browser with the signed `oauthenticator-state` cookie; the identity
//! provider sends the browser back to `/hub/oauth_callback`, which hands the state from the
//! cookie and the URL to the core's login pipeline. The cookie is cleared on every callback.

use super::login::logged_in;
use super::*;
use crate::caller::ClientAddr;
use oxhub_core::redirects::RedirectOutcome;
use oxhub_plugin::auth::LoginFlow;

/// The cookie that binds a redirect login to the browser that started it.
pub(crate) const STATE_COOKIE: &str = "oauthenticator-state";
/// How long a started redirect login may take (the core forgets the state after as long).
const STATE_MAX_AGE_S: i64 = 600;

/// Where the identity provider sends the browser back: `oauth_callback_url` when the
/// authenticator has one, else this hub's callback on the public URL or the request's host.
fn callback_url(hub: &Hub, headers: &HeaderMap) -> String {
    let path = Ctx::of(hub).hub("oauth_callback");
    let public = hub.config.hub.public_url.trim_end_matches('/');
    if !public.is_empty() {
        let origin = public
            .split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")))
            .unwrap_or_default();
        return format!("{origin}{path}");
    }
    let scheme = if is_https(hub, headers) {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("{scheme}://{host}{path}")
}

/// `GET /hub/oauth_login`: off to the identity provider.
pub(super) async fn start(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let ctx = Ctx::of(&hub);
    if hub.login_flow() != LoginFlow::Redirect {
        return ctx.page_error(None, StatusCode::NOT_FOUND, "Page not found");
    }
    let next =
        query_value(&uri, "next").and_then(|n| safe_next(&n, &hub.config.hub.public_url, &headers));
    match hub
        .begin_redirect_login(&callback_url(&hub, &headers), next)
        .await
    {
        Ok(start) => {
            let signed = hub
                .cookies
                .sign(STATE_COOKIE, start.state.as_bytes(), now_s());
            let mut cookie = set_cookie(
                STATE_COOKIE,
                &signed,
                &ctx.hub(""),
                true,
                is_https(&hub, &headers),
                Some(STATE_MAX_AGE_S),
            );
            // The provider's redirect back is a top-level navigation: Lax cookies go with it.
            cookie.push_str("; SameSite=Lax");
            with_cookies(redirect(&start.url), vec![cookie])
        }
        Err(oxhub_core::HubError::Outage(why)) => {
            tracing::error!("login: the identity provider cannot be reached: {why}");
            ctx.page_error(
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "The login service is unavailable; try again in a moment",
            )
        }
        Err(e) => {
            tracing::error!("starting a login: {e}");
            ctx.page_error(None, StatusCode::INTERNAL_SERVER_ERROR, "Login failed")
        }
    }
}

/// `GET /hub/oauth_callback`: back from the identity provider.
pub(super) async fn callback(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    ClientAddr(client): ClientAddr,
) -> Response {
    let ctx = Ctx::of(&hub);
    let clear = clear_cookie(STATE_COOKIE, &ctx.hub(""));
    if hub.login_flow() != LoginFlow::Redirect {
        return ctx.page_error(None, StatusCode::NOT_FOUND, "Page not found");
    }
    let params = uri.query().map(form_pairs).unwrap_or_default();
    let params = params.into_iter().collect();
    let cookie_state = cookie(&headers, STATE_COOKIE)
        .and_then(|signed| {
            hub.cookies.verify(
                STATE_COOKIE,
                signed,
                STATE_MAX_AGE_S as f64 / 86_400.0,
                now_s(),
            )
        })
        .and_then(|v| String::from_utf8(v).ok());
    let old_session = session_id(&headers);
    let session = new_session_id();
    let outcome = hub
        .finish_redirect_login(cookie_state.as_deref(), params, &session, client)
        .await;
    let resp = match outcome {
        Ok(RedirectOutcome::LoggedIn { login, next }) => {
            logged_in(
                &hub,
                &headers,
                old_session.as_deref(),
                &session,
                &login,
                next.as_deref(),
            )
            .await
        }
        Ok(RedirectOutcome::Refused(_)) => {
            let (_, _, message) = hub.login_texts();
            let message = if message.is_empty() {
                "Sorry, you are not currently authorized to use this hub. Please contact the hub administrator."
            } else {
                message
            };
            ctx.page_error(None, StatusCode::FORBIDDEN, message)
        }
        Err(oxhub_core::HubError::Invalid(why)) => {
            tracing::warn!("login callback refused: {why}");
            ctx.page_error(None, StatusCode::BAD_REQUEST, &why)
        }
        Err(oxhub_core::HubError::Busy(message, secs)) => {
            let mut resp = ctx.page_error(None, StatusCode::TOO_MANY_REQUESTS, &message);
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            resp
        }
        Err(oxhub_core::HubError::Outage(why)) => {
            tracing::error!("login: the identity provider failed: {why}");
            ctx.page_error(
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "The login service is unavailable; try again in a moment",
            )
        }
        Err(e) => {
            tracing::error!("login callback: {e}");
            ctx.page_error(None, StatusCode::INTERNAL_SERVER_ERROR, "Login failed")
        }
    };
    with_cookies(resp, vec![clear])
}
