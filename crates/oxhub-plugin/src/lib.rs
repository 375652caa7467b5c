//! The contracts between the hub's core and its plug-ins: how a login is checked
//! ([`auth::Authenticator`]), how a single-user server is run ([`spawn::Spawner`]) and how
//! requests are routed to it ([`proxy::Proxy`]).
//!
//! This crate is a leaf: it holds traits, the values that cross them and their errors, and no
//! behaviour. The core calls the contracts (its login pipeline and server lifecycle are their
//! only callers); implementation crates (`oxhub-auth`, `oxhub-spawn`, the binary's proxy
//! client) implement them; the binary picks an implementation by class name and hands it to
//! the core. Each contract has its own error enum, whose variants say what the hub should
//! answer: a request that cannot work (400), a backend that is down (503), or an internal
//! failure (500, logged, never shown).

pub mod accounts;
pub mod auth;
pub mod proxy;
pub mod spawn;

use std::future::Future;
use std::pin::Pin;

/// The future every contract method returns: boxed, so the traits stay object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
