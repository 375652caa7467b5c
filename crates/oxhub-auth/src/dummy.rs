//! `DummyAuthenticator` (any name; one shared password when set) and the `null`
//! authenticator (no interactive login).

use oxhub_plugin::auth::{AuthError, Authenticated, Authenticator, LoginFlow, LoginRequest};
use oxhub_plugin::BoxFuture;

/// `DummyAuthenticator`: any username; when `password` is set, it must match.
pub struct DummyAuthenticator {
    password: String,
}

impl DummyAuthenticator {
    pub fn new(password: String) -> DummyAuthenticator {
        DummyAuthenticator { password }
    }
}

impl Authenticator for DummyAuthenticator {
    fn class(&self) -> &str {
        "DummyAuthenticator"
    }

    fn authenticate<'a>(
        &'a self,
        request: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(async move {
            let given = request.field("password");
            let ok = self.password.is_empty()
                || bool::from(subtle::ConstantTimeEq::ct_eq(
                    self.password.as_bytes(),
                    given.as_bytes(),
                ));
            Ok(ok.then(|| Authenticated::named(request.field("username"))))
        })
    }

    fn allow_all_by_default(&self) -> bool {
        true
    }
}

/// `NullAuthenticator`: refuses every login; the hub is used with API tokens only.
pub struct NullAuthenticator;

impl Authenticator for NullAuthenticator {
    fn class(&self) -> &str {
        "NullAuthenticator"
    }

    fn flow(&self) -> LoginFlow {
        LoginFlow::ApiOnly
    }

    fn authenticate<'a>(
        &'a self,
        _: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<Option<Authenticated>, AuthError>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dummy_with_a_password_checks_it() {
        let a = DummyAuthenticator::new("s3cret".into());
        let ok = a
            .authenticate(&LoginRequest::password("Alice", "s3cret"))
            .await;
        assert_eq!(ok, Ok(Some(Authenticated::named("Alice"))));
        let bad = a
            .authenticate(&LoginRequest::password("alice", "nope"))
            .await;
        assert_eq!(bad, Ok(None));
        assert!(a.allow_all_by_default());
    }

    #[tokio::test]
    async fn dummy_without_a_password_takes_anyone() {
        let a = DummyAuthenticator::new(String::new());
        let ok = a.authenticate(&LoginRequest::password("bob", "")).await;
        assert_eq!(ok, Ok(Some(Authenticated::named("bob"))));
    }

    #[tokio::test]
    async fn null_refuses_everyone() {
        let a = NullAuthenticator;
        assert_eq!(a.flow(), LoginFlow::ApiOnly);
        let r = a.authenticate(&LoginRequest::password("bob", "x")).await;
        assert_eq!(r, Ok(None));
    }
}
