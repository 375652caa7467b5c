//! Spawners: implementations of [`oxhub_plugin::spawn::Spawner`]. Each is built from plain
//! settings by the binary, which maps `spawner_class` to a constructor; none reads the hub's
//! configuration.
//!
//! Built in: `LocalProcessSpawner` and `SimpleLocalProcessSpawner` ([`local`]); batchspawner's
//! `SlurmSpawner`, `TorqueSpawner`, `MoabSpawner`, `PBSSpawner` and `LsfSpawner` ([`batch`]);
//! DockerSpawner's `DockerSpawner` and `SystemUserSpawner` (`docker`, feature `docker`);
//! KubeSpawner's `KubeSpawner` (`kube`, feature `kube`).

pub mod batch;
#[cfg(feature = "docker")]
pub mod docker;
#[cfg(feature = "kube")]
pub mod kube;
pub mod local;
mod process;
pub mod template;

pub use local::LocalProcess;
pub use process::NONCE_VAR;
