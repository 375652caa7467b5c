//! oxhub's configuration: the `jupyterhub_config.py` evaluator, the trait table, and the typed,
//! validated configuration the rest of the hub receives.
//!
//! Flow: [`load`] reads the main file and `jupyterhub_config.d/*.py` (natively through
//! [`pyconfig`], or through the [`bridge`] when a file needs real Python), applies command-line
//! overrides, and hands the [`raw::RawConfig`] to [`resolve`], which checks every value against
//! the [`traits`] table and builds [`HubConfig`].

pub mod bridge;
pub mod error;
pub mod generate;
pub mod hub;
pub mod load;
pub mod pyconfig;
pub mod raw;
pub mod resolve;
pub mod traits;
mod traits_data;
pub mod value;

pub use error::{ConfigError, ErrorKind, Location, Origin, Warning};
pub use hub::{HubConfig, HubSettings};
pub use load::{load, LoadOptions, Loaded, Override, SourceKind};
pub use resolve::{resolve, Effective, Resolved};
pub use value::Value;
