//! Authenticators: implementations of [`oxhub_plugin::auth::Authenticator`]. Each is built
//! from plain settings by the binary, which maps `authenticator_class` to a constructor; none
//! reads the configuration or the environment itself.
//!
//! Built in: `DummyAuthenticator` and the `null` authenticator ([`dummy`]), and, with the
//! `pam` feature (on by default), `PAMAuthenticator` ([`pam`]) on the `LocalAuthenticator`
//! rules every `Local*` class shares ([`local`]); OAuth 2.0 / OpenID Connect with the
//! GitHub, GitLab, Google, Auth0, CILogon and Azure AD presets ([`oauth`]); and, with
//! the `ldap` feature (on by default), `LDAPAuthenticator` ([`ldap`]).

mod dummy;
#[cfg(feature = "ldap")]
pub mod ldap;
pub mod local;
pub mod native;
pub mod oauth;
#[cfg(feature = "pam")]
pub mod pam;

pub use dummy::{DummyAuthenticator, NullAuthenticator};
#[cfg(feature = "ldap")]
pub use ldap::{LdapAuthenticator, LdapSettings, TlsStrategy};
pub use local::LocalSettings;
pub use native::{NativeAuthenticator, NativeSettings};
pub use oauth::{OAuthAuthenticator, OAuthSettings, Provider};
#[cfg(feature = "pam")]
pub use pam::{PamAuthenticator, PamSettings};
