//! What a config file may observe of the outside world: environment variables and whether a
//! path exists. A trait so tests can pin it.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    File,
    Dir,
    Other,
}

pub trait Environment: Sync {
    fn var(&self, name: &str) -> Option<String>;
    /// `None` when nothing exists at `path`.
    fn path_kind(&self, path: &str) -> Option<PathKind>;
    fn home(&self) -> Option<String>;
    fn cwd(&self) -> String;
}

/// The real process environment and file system (read-only checks).
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn path_kind(&self, path: &str) -> Option<PathKind> {
        let meta = std::fs::metadata(Path::new(path)).ok()?;
        Some(if meta.is_file() {
            PathKind::File
        } else if meta.is_dir() {
            PathKind::Dir
        } else {
            PathKind::Other
        })
    }

    fn home(&self) -> Option<String> {
        std::env::var("HOME").ok()
    }

    fn cwd(&self) -> String {
        std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into())
    }
}

/// A fixed environment for tests: given variables, given paths, `/home/test` and `/srv/hub`.
#[derive(Debug, Clone, Default)]
pub struct FixedEnv {
    pub vars: BTreeMap<String, String>,
    pub paths: BTreeMap<String, PathKind>,
}

impl FixedEnv {
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn with_path(mut self, path: &str, kind: PathKind) -> Self {
        self.paths.insert(path.into(), kind);
        self
    }
}

impl Environment for FixedEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn path_kind(&self, path: &str) -> Option<PathKind> {
        self.paths.get(path).copied()
    }

    fn home(&self) -> Option<String> {
        Some("/home/test".into())
    }

    fn cwd(&self) -> String {
        "/srv/hub".into()
    }
}
