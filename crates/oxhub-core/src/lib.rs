//! The hub's behaviour, free of HTTP and SQL: who is asking and with which scopes
//! (`identity`), API tokens (`tokens`), start-up state from the configuration (`startup`), the
//! login pipeline (`login`) and the server lifecycle (`lifecycle`, `stopping`) — the only
//! callers of the plug-in contracts of `oxhub-plugin` — and the operations the REST API
//! exposes. It sees the store only through `oxhub-store`'s typed API, the configuration only
//! as a validated `HubConfig`, and plug-ins only through the contracts: the binary picks the
//! implementations and hands them over in [`hub::Parts`].

pub mod accounts;
pub mod clock;
pub mod cookies;
pub mod crypto;
mod environment;
pub mod error;
pub mod groups;
mod hooks;
pub mod hub;
pub mod identity;
pub mod lifecycle;
pub mod login;
pub mod managed;
pub mod oauth;
pub mod profiles;
pub mod progress;
pub mod proxy;
pub mod redirects;
pub mod refresh;
pub mod servers;
pub mod services;
pub mod shares;
pub mod startup;
pub mod stopping;
#[cfg(test)]
mod testing;
pub mod throttle;
pub mod tokens;
mod user_tokens;
pub mod users;
pub mod views;

pub use error::HubError;
pub use hub::{Hub, Parts};
pub use identity::{Identity, Subject};
