//! The hub's HTTP surface on axum: the JupyterHub REST API (`api/`), the pages (`pages/`) and
//! the OAuth provider's endpoints (`oauth.rs`). Handlers are thin: they learn who is calling
//! from `caller.rs` (the one place: token, or cookie + XSRF), parse the request, call
//! `oxhub-core`, and build JupyterHub's JSON or a page. `error.rs` is the only place that
//! picks a status code for an error.

mod api;
mod caller;
mod error;
mod models;
mod oauth;
mod pages;
mod session;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use http::{HeaderName, HeaderValue};
use oxhub_core::Hub;
use std::sync::Arc;

pub use error::{ApiError, PageError};

/// The JupyterHub version oxhub is compatible with; sent as `X-JupyterHub-Version`.
pub const JUPYTERHUB_VERSION: &str = "6.1.1";

async fn default_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // The OAuth endpoints live under /hub/api/ but answer as pages (authorize) or in OAuth's
    // own JSON (token).
    let is_oauth = path.contains("/hub/api/oauth2/");
    let is_api = path.contains("/hub/api") && !is_oauth;
    let mut resp = if is_api && req.method() == http::Method::OPTIONS {
        Response::new(axum::body::Body::empty())
    } else {
        next.run(req).await
    };
    if is_api {
        resp = json_errors(resp);
    }
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("x-jupyterhub-version"),
        HeaderValue::from_static(JUPYTERHUB_VERSION),
    );
    h.insert(
        HeaderName::from_static("access-control-allow-headers"),
        HeaderValue::from_static("accept, content-type, authorization"),
    );
    let csp = if is_api {
        "frame-ancestors 'none'; report-uri /hub/security/csp-report; default-src 'none'"
    } else {
        "frame-ancestors 'none'; report-uri /hub/security/csp-report"
    };
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(csp),
    );
    resp
}

/// API errors produced outside the handlers (body too large, unparseable path parameters,
/// unsupported media types) get JupyterHub's JSON error body too.
fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let message = status.canonical_reason().unwrap_or("Error");
    let mut out = ApiError::with_status(status, message).into_response();
    for (k, v) in resp.headers() {
        if k != http::header::CONTENT_TYPE && k != http::header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// The largest request body the hub reads: bodies announced larger are refused before they
/// are read, and the body extractors stop at it for bodies of unannounced length.
pub const MAX_BODY_BYTES: u64 = 2 * 1024 * 1024;
/// How much of an oversized body is read and thrown away after answering, and for how long.
const DRAIN_BYTES: u64 = 1 << 30;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// A body announced larger than the hub takes is answered 413 at once, before it is read
/// (GHSA-p43p-whwx-q52h: a huge login POST must not cost the hub). The rest of the body is
/// read and dropped in the background for a while, as a lingering close: closing with unread
/// data sends a TCP reset that can destroy the answer before a proxy in front reads it.
async fn refuse_oversized(req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match announced {
        Some(n) if n > MAX_BODY_BYTES => {
            tracing::warn!(
                "413 {} {}: body of {n} bytes (the limit is {MAX_BODY_BYTES})",
                req.method(),
                req.uri().path()
            );
            let body = req.into_body();
            tokio::spawn(async move {
                use http_body_util::BodyExt;
                let mut body = body;
                let mut seen = 0u64;
                let drain = async {
                    while let Some(Ok(frame)) = body.frame().await {
                        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                        if seen > DRAIN_BYTES {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            });
            let mut resp = ApiError::with_status(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body too large: the limit is {MAX_BODY_BYTES} bytes"),
            )
            .into_response();
            resp.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        _ => next.run(req).await,
    }
}

fn panic_answer(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!("a request handler panicked: {what}");
    ApiError::with_status(
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "Unhandled error in the hub; the log has the details",
    )
    .into_response()
}

/// Compile the page templates as `JupyterHub.template_paths` resolve them: a broken custom
/// template is an error at startup (`template <file>:<line>: …`), not a broken page later.
pub fn check_templates(config: &oxhub_config::HubSettings) -> Result<(), String> {
    pages::render::Templates::new(&config.template_paths).check()
}

/// The hub's router, mounted under `base_url`.
pub fn router(hub: Arc<Hub>) -> Router {
    let base = hub.config.hub.base_url.trim_end_matches('/').to_owned();
    let api = api::routes()
        .merge(oauth::routes())
        .with_state(Arc::clone(&hub));
    let inner = Router::new()
        .route("/hub/health", get(api::health).head(api::health))
        .nest("/hub/api", api)
        .route("/hub/api/", get(api::root))
        .merge(pages::routes().with_state(Arc::clone(&hub)))
        // Every page a handler answers with is rendered here, with the common namespace.
        .layer(middleware::from_fn_with_state(
            Arc::new(pages::render::Shell {
                templates: pages::render::Templates::new(&hub.config.hub.template_paths),
                hub: Arc::clone(&hub),
            }),
            pages::render::finish,
        ));
    let app = if base.is_empty() {
        inner
    } else {
        Router::new().nest(&base, inner)
    };
    // A panic in a handler is a bug; the last line of defence turns it into a logged 500
    // JSON answer instead of a dropped connection.
    let app = app
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_answer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            usize::try_from(MAX_BODY_BYTES).unwrap_or(usize::MAX),
        ))
        .layer(middleware::from_fn(refuse_oversized))
        .layer(middleware::from_fn(default_headers));
    // Rewrites that must happen before routing wrap the whole router.
    Router::new().fallback_service(tower::util::MapRequest::new(app, api::mark_default_server))
}
