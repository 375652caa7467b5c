//! Authenticators: implementations of [`oxhub_plugin::auth::Authenticator`]. Each is built
//! from plain settings by the binary, which maps `authenticator_class` to a constructor; none
//! reads the configuration or the environment itself.

mod dummy;

pub use dummy::{DummyAuthenticator, NullAuthenticator};
