//! A safe evaluator for the Python subset real `jupyterhub_config.py` files use
//! (`shared/reference/config-file-subset.md`, "Proposed subset").
//!
//! The file is parsed with `rustpython-parser` and walked statement by statement. Nothing is
//! executed: the only effects are assignments into a [`RawConfig`], log lines for `print()`,
//! read-only looks at environment variables and path existence. Everything else is refused with
//! the file, line and column, the construct, and what to write instead.
//!
//! Work is bounded: sources over 1 MiB, nesting deeper than 64, more than 2,000,000 evaluation
//! steps and values over 16 MiB are refused, so no input can hang or exhaust the evaluator.

mod env;
mod eval;
mod format;
mod lines;

pub use env::{Environment, FixedEnv, PathKind, ProcessEnv};

use crate::error::{ConfigError, ErrorKind, Location};
use crate::raw::RawConfig;

/// Largest config file the evaluator reads.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// Evaluate one config file into `config`. `file` is the name used in locations, and the
/// file's `__file__`.
pub fn evaluate(
    file: &str,
    source: &str,
    env: &dyn Environment,
    config: &mut RawConfig,
) -> Result<(), ConfigError> {
    evaluate_as(file, file, source, env, config)
}

/// [`evaluate`], with `__file__` set to `path` (traitlets gives a config file its absolute
/// path there; configs use it to find files beside themselves).
pub fn evaluate_as(
    file: &str,
    path: &str,
    source: &str,
    env: &dyn Environment,
    config: &mut RawConfig,
) -> Result<(), ConfigError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ConfigError::new(
            ErrorKind::Invalid,
            Some(Location {
                file: file.into(),
                line: 1,
                col: 1,
            }),
            format!(
                "config file is {} bytes; the limit is {MAX_SOURCE_BYTES}",
                source.len()
            ),
        ));
    }
    let index = lines::LineIndex::new(source);
    if let Some(offset) = lines::too_deep(source, 64) {
        return Err(ConfigError::new(
            ErrorKind::Unsupported,
            Some(index.location(file, offset)),
            "expression nested more than 64 levels deep",
        ));
    }
    // A deep expression also makes a deep syntax tree; parse, walk and drop it on a thread with
    // room for that, so no input can overflow the caller's stack.
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("pyconfig".into())
            .stack_size(64 << 20)
            .spawn_scoped(scope, || {
                parse_and_run(file, path, source, &index, env, config)
            });
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(ConfigError::new(
                    ErrorKind::Io,
                    None,
                    "the config evaluator failed unexpectedly",
                ))
            }),
            Err(e) => Err(ConfigError::new(
                ErrorKind::Io,
                None,
                format!("cannot start the config evaluator: {e}"),
            )),
        }
    })
}

fn parse_and_run(
    file: &str,
    path: &str,
    source: &str,
    index: &lines::LineIndex,
    env: &dyn Environment,
    config: &mut RawConfig,
) -> Result<(), ConfigError> {
    use rustpython_parser::Parse;
    let suite = rustpython_parser::ast::Suite::parse(source, file).map_err(|e| {
        // An error at the end of input (unexpected EOF, an unclosed bracket or string) is on
        // the last line that has code, as Python reports it, not on the empty line after it.
        let content_end = source.trim_end().len();
        let offset = e.offset.to_usize().min(content_end);
        ConfigError::new(
            ErrorKind::Syntax,
            Some(index.location(file, offset)),
            format!("Python syntax error: {}", e.error),
        )
    })?;
    let mut machine = eval::Machine::new(file, index, env, config);
    machine.set_local("__file__", crate::value::Value::Str(path.to_owned()));
    machine.run(&suite)
}

/// Evaluate one Python expression (a command-line value such as `['a', 'b']`).
pub fn evaluate_expression(
    text: &str,
    origin_name: &str,
) -> Result<crate::value::Value, ConfigError> {
    let source = format!("__value__ = ({text}\n)");
    let mut scratch = RawConfig::default();
    let env = FixedEnv::default();
    let index = lines::LineIndex::new(&source);
    if lines::too_deep(&source, 64).is_some() || source.len() > MAX_SOURCE_BYTES {
        return Err(ConfigError::new(
            ErrorKind::Invalid,
            None,
            format!("{origin_name}: value too large"),
        ));
    }
    use rustpython_parser::Parse;
    let suite = rustpython_parser::ast::Suite::parse(&source, origin_name).map_err(|e| {
        ConfigError::new(
            ErrorKind::Syntax,
            None,
            format!("{origin_name}: not a Python literal: {}", e.error),
        )
    })?;
    let mut machine = eval::Machine::new(origin_name, &index, &env, &mut scratch);
    machine.run(&suite)?;
    machine.local("__value__").ok_or_else(|| {
        ConfigError::new(ErrorKind::Invalid, None, format!("{origin_name}: no value"))
    })
}

#[cfg(test)]
mod tests;
