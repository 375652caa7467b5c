//! The domain error of the hub. `oxhub-web/src/error.rs` is the one place that maps it to HTTP.

use oxhub_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// No or invalid credentials.
    #[error("Missing or invalid credentials.")]
    Unauthenticated,
    /// The credential lacks every required scope.
    #[error("Action is not authorized with current scopes; requires any of [{0}]")]
    Forbidden(String),
    /// A specific refusal with its own message (e.g. only admins may grant admin).
    #[error("{0}")]
    Refused(String),
    /// The resource does not exist, or exists but may not be seen.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// A dependency (the proxy) cannot be reached or refused; the text says which and why.
    #[error("{0}")]
    Unavailable(String),
    /// The method does not apply to this resource.
    #[error("{0}")]
    NotAllowed(String),
    /// Too much at once (spawn limits): retry after this many seconds.
    #[error("{0}")]
    Busy(String, u64),
    /// A server failed to start; the text says why.
    #[error("{0}")]
    SpawnFailed(String),
    /// Internal failure; the text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => HubError::NotFound("Not found".into()),
            StoreError::Conflict(what) => HubError::Conflict(what),
            other => HubError::Internal(other.to_string()),
        }
    }
}

pub use oxhub_model::names::clip;

#[cfg(test)]
mod tests {
    #[test]
    fn clip_bounds_user_text() {
        assert_eq!(super::clip("alice"), "\"alice\"");
        let long = "x".repeat(100_000);
        let clipped = super::clip(&long);
        assert!(
            clipped.len() < 80 && clipped.ends_with("(100000 characters)"),
            "{clipped}"
        );
    }
}
