//! The config layer's one error type, and where values came from.

use serde::Serialize;
use std::fmt;

/// A place in a config file: 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    Default,
    /// Assigned (or last changed) at this place in a config file.
    File {
        at: Location,
    },
    /// Given on the command line as this argument.
    CommandLine {
        arg: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { at } => write!(f, "{at}"),
            Origin::CommandLine { arg } => write!(f, "command line `{arg}`"),
        }
    }
}

/// What kind of problem a config error is. Only `Unsupported` sends a file to the Python bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Python syntax error.
    Syntax,
    /// Valid Python that the native evaluator does not run (functions, classes, file I/O...).
    Unsupported,
    /// The file ran into an error Python would raise too (missing env var, bad operand types...).
    Runtime,
    /// A value that does not fit its trait's type, or an unknown class name.
    Invalid,
    /// An unknown trait or class under `--strict-config`.
    Unknown,
    /// A file that cannot be read, or a Python bridge that failed.
    Io,
}

/// A config error: where, what construct, what is wrong, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ConfigError {
    pub kind: ErrorKind,
    /// `None` only for errors that belong to no file (e.g. an unreadable directory).
    pub at: Option<Location>,
    /// The construct, e.g. "def", "with", "call to open()".
    pub construct: Option<String>,
    pub message: String,
    /// What to write instead.
    pub hint: Option<String>,
}

impl ConfigError {
    pub fn new(kind: ErrorKind, at: Option<Location>, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            at,
            construct: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn construct(mut self, construct: impl Into<String>) -> Self {
        self.construct = Some(construct.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        if let Some(construct) = &self.construct {
            write!(f, "{construct}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A warning about the config that does not stop the hub (an error under `--strict-config` when
/// it is about an unknown class or trait).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub at: Option<Location>,
    pub message: String,
    /// Unknown class or trait: an error under `--strict-config`.
    pub unknown: bool,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
