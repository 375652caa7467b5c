//! The hub as an OAuth2 provider, over HTTP: `/hub/api/oauth2/authorize` (an HTML endpoint
//! despite its path: the consent page, or a redirect back with a code) and
//! `/hub/api/oauth2/token` (OAuth's own JSON answers, never cached). The rules are the
//! core's (`oxhub_core::oauth`).

use crate::caller::{PageForm, PageUser};
use crate::error::{ApiError, PageError};
use crate::pages::{ensure_session, ensure_xsrf, redirect, render, with_cookies};
use crate::session::{form_pairs, form_value, session_id};
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use oxhub_core::oauth::{Authorize, AuthorizeRequest};
use oxhub_core::Hub;
use serde_json::json;
use std::sync::Arc;

/// The provider's endpoints, mounted under `/hub/api` beside the REST API.
pub(crate) fn routes() -> axum::Router<Arc<Hub>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/oauth2/authorize", get(authorize).post(authorize_post))
        .route("/oauth2/token", post(token))
}

type S = State<Arc<Hub>>;

fn authorize_request(query: &str) -> AuthorizeRequest {
    let get = |k: &str| form_value(query, k);
    AuthorizeRequest {
        client_id: get("client_id").unwrap_or_default(),
        response_type: get("response_type").unwrap_or_default(),
        redirect_uri: get("redirect_uri"),
        state: get("state"),
        scope: get("scope").map(|s| s.split_whitespace().map(str::to_owned).collect()),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    }
}

fn authorize_answer(me: &str, xsrf: &str, outcome: Authorize) -> Response {
    match outcome {
        Authorize::Redirect(to) => redirect(&to),
        Authorize::Fatal(message) => {
            PageError::new(Some(me), StatusCode::BAD_REQUEST, &message).into_response()
        }
        Authorize::Forbidden(message) => {
            PageError::new(Some(me), StatusCode::FORBIDDEN, &message).into_response()
        }
        Authorize::Consent {
            description,
            scopes,
        } => render(
            StatusCode::OK,
            "oauth.html",
            json!({
                "user": me, "xsrf": xsrf, "description": description, "scopes": scopes,
                "scope_descriptions": crate::pages::scope_descriptions(&scopes),
            }),
        ),
    }
}

/// `GET /hub/api/oauth2/authorize` (an HTML endpoint despite its path).
pub async fn authorize(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    PageUser { who, name: me }: PageUser,
) -> Response {
    let (session, session_cookie) = ensure_session(&hub, &headers);
    let (xsrf, xsrf_cookie) = ensure_xsrf(&hub, &headers, &session);
    let req = authorize_request(uri.query().unwrap_or(""));
    let resp = match hub.authorize(&who, &req, &session).await {
        Ok(outcome) => authorize_answer(&me, &xsrf, outcome),
        Err(e) => PageError::from_hub(Some(&me), e).into_response(),
    };
    with_cookies(
        resp,
        session_cookie.into_iter().chain(xsrf_cookie).collect(),
    )
}

/// `POST /hub/api/oauth2/authorize`: the consent form.
pub async fn authorize_post(
    State(hub): S,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    form: PageForm,
) -> Response {
    let scopes: Vec<String> = form
        .fields
        .iter()
        .filter(|(k, _)| k == "scopes")
        .map(|(_, v)| v.clone())
        .collect();
    let session = session_id(&headers).unwrap_or_default();
    let req = authorize_request(uri.query().unwrap_or(""));
    let PageUser { who, name: me } = &form.user;
    match hub.authorize_confirmed(who, &req, &scopes, &session).await {
        Ok(outcome) => authorize_answer(me, form.field("_xsrf").unwrap_or_default(), outcome),
        Err(e) => PageError::from_hub(Some(me), e).into_response(),
    }
}

/// `POST /hub/api/oauth2/token`: a code for a token (client secret in the form body).
pub async fn token(State(hub): S, body: Bytes) -> Response {
    let form: std::collections::HashMap<String, String> =
        form_pairs(&String::from_utf8_lossy(&body))
            .into_iter()
            .collect();
    let no_store = [
        (http::header::CACHE_CONTROL, "no-store"),
        (http::header::PRAGMA, "no-cache"),
    ];
    match hub.exchange_code(&form).await {
        Ok(Ok(answer)) => (StatusCode::OK, no_store, Json(answer)).into_response(),
        Ok(Err(e)) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (
                status,
                no_store,
                Json(json!({"error": e.error, "error_description": e.description})),
            )
                .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
