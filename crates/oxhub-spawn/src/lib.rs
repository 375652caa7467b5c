//! Spawners: implementations of [`oxhub_plugin::spawn::Spawner`]. Each is built from plain
//! settings by the binary, which maps `spawner_class` to a constructor; none reads the hub's
//! configuration.
//!
//! Built in: `LocalProcessSpawner` and `SimpleLocalProcessSpawner` ([`local`]); batchspawner's
//! `SlurmSpawner`, `TorqueSpawner`, `MoabSpawner`, `PBSSpawner` and `LsfSpawner` ([`batch`]).

pub mod batch;
pub mod local;
mod process;

pub use local::LocalProcess;
pub use process::NONCE_VAR;
