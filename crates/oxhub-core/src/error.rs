//! The domain error of the hub. `oxhub-web/src/error.rs` is the one place that maps it to HTTP.

use oxhub_model::scope::Access;
use oxhub_plugin::auth::AuthError;
use oxhub_plugin::proxy::ProxyError;
use oxhub_plugin::spawn::SpawnError;
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
    /// The proxy cannot be reached or refused; the text says which and why.
    #[error("{0}")]
    Unavailable(String),
    /// A plug-in's backend (a batch system, a cluster API, an identity provider) cannot be
    /// reached or failed; the text says which and why.
    #[error("{0}")]
    Outage(String),
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

impl HubError {
    /// THE mapping of a scope check's answer to an error: the one place where "not visible"
    /// becomes 404 and "visible but not permitted" becomes 403. `what` names the resource in
    /// the 404 message.
    pub fn from_access(access: Access, required: &[&str], what: &str) -> Result<(), HubError> {
        match access {
            Access::Allowed => Ok(()),
            Access::NotFound => Err(HubError::NotFound(if what.is_empty() {
                "No access to resources or resources not found".to_owned()
            } else {
                format!("No access to resources or resources not found: {what}")
            })),
            Access::Forbidden => Err(HubError::Forbidden(required.join(", "))),
        }
    }
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

/// A proxy that cannot be reached or refuses is an outage (503).
impl From<ProxyError> for HubError {
    fn from(e: ProxyError) -> Self {
        HubError::Unavailable(e.to_string())
    }
}

impl From<SpawnError> for HubError {
    fn from(e: SpawnError) -> Self {
        match e {
            SpawnError::Invalid(m) => HubError::Invalid(m),
            SpawnError::Unavailable(m) => HubError::Outage(m),
            SpawnError::Internal(m) => HubError::Internal(m),
        }
    }
}

impl From<AuthError> for HubError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid(m) => HubError::Invalid(m),
            AuthError::Unavailable(m) => HubError::Outage(m),
            AuthError::NotSupported(m) => HubError::NotFound(m),
            AuthError::Internal(m) => HubError::Internal(m),
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
