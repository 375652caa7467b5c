//! THE mapping from errors to HTTP: JupyterHub's `{"status": N, "message": "..."}` body for
//! the API ([`ApiError`]), and error pages for the HTML side ([`PageError`]).
//! Internal errors are logged here and answered with a generic message.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use oxhub_core::HubError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for `Retry-After` (429 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: "Not Found".into(),
            retry_after: None,
        }
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        let status = match &e {
            HubError::Unauthenticated | HubError::Forbidden(_) | HubError::Refused(_) => {
                StatusCode::FORBIDDEN
            }
            HubError::NotFound(_) => StatusCode::NOT_FOUND,
            HubError::Invalid(_) => StatusCode::BAD_REQUEST,
            HubError::Conflict(_) => StatusCode::CONFLICT,
            HubError::NotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            HubError::Unavailable(detail) => {
                tracing::error!("{detail}");
                StatusCode::BAD_GATEWAY
            }
            HubError::Outage(detail) => {
                tracing::error!("{detail}");
                StatusCode::SERVICE_UNAVAILABLE
            }
            HubError::Busy(message, retry_after) => {
                return ApiError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    message: message.clone(),
                    retry_after: Some(*retry_after),
                };
            }
            HubError::SpawnFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HubError::Internal(detail) => {
                tracing::error!("internal error: {detail}");
                return ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "Internal Server Error".into(),
                    retry_after: None,
                };
            }
        };
        ApiError {
            status,
            message: e.to_string(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "status": self.status.as_u16(), "message": self.message }));
        let mut resp = (self.status, body).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(s));
        }
        resp
    }
}

/// An answer of a page that did not go as asked: an HTML error page (status, message, and
/// the user the page header names), or a redirect (to the login page). Page errors from the
/// hub take their status and message from the one mapping above.
#[derive(Debug)]
pub enum PageError {
    Page {
        user: Option<String>,
        status: StatusCode,
        message: String,
    },
    Redirect(String),
}

impl PageError {
    pub fn new(user: Option<&str>, status: StatusCode, message: &str) -> Self {
        PageError::Page {
            user: user.map(str::to_owned),
            status,
            message: message.to_owned(),
        }
    }

    /// A hub error as a page: the status and (safe) message of [`ApiError`].
    pub fn from_hub(user: Option<&str>, e: HubError) -> Self {
        let e = ApiError::from(e);
        PageError::new(user, e.status, &e.message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Page {
                user,
                status,
                message,
            } => crate::pages::render::error_page(user.as_deref(), status, &message),
            PageError::Redirect(to) => crate::pages::render::redirect(&to),
        }
    }
}
