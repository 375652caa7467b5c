//! The hub's behaviour, free of HTTP, SQL and processes: who is asking and with which scopes
//! (`identity`), API tokens (`tokens`), start-up state from the configuration (`startup`), and
//! the operations the REST API exposes (`hub`). It sees the store only through `oxhub-store`'s
//! typed API and the configuration only as a validated `HubConfig`.

pub mod auth;
pub mod clock;
pub mod cookies;
pub mod crypto;
pub mod error;
pub mod groups;
pub mod hub;
pub mod identity;
pub mod lifecycle;
pub mod managed;
pub mod oauth;
pub mod proxy;
pub mod servers;
pub mod services;
pub mod shares;
pub mod spawner;
pub mod startup;
pub mod stopping;
pub mod tokens;

pub use error::HubError;
pub use hub::Hub;
pub use identity::{Identity, Subject};
