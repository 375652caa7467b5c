//! The Python bridge: for config files beyond the native subset, run the file with a real
//! `python3` in a subprocess, against a stand-in `c` object, and import the plain values it
//! assigned. Functions and classes assigned to traits come back as [`Value::Callable`] and are
//! refused when the config is resolved, with the declarative alternative.

use crate::error::{ConfigError, ErrorKind, Location, Origin};
use crate::raw::RawConfig;
use crate::value::Value;
use serde_json::Value as Json;
use std::path::Path;
use std::process::{Command, Stdio};

const SCRIPT: &str = include_str!("bridge.py");
/// Seconds a config file may run in the bridge before Python is stopped (SIGALRM).
pub const TIMEOUT_SECS: u32 = 30;

/// How the bridge finds Python.
#[derive(Debug, Clone)]
pub struct Python {
    pub program: String,
}

impl Python {
    /// `$OXHUB_PYTHON`, else `python3` from PATH, if it runs.
    pub fn discover() -> Option<Python> {
        let program = std::env::var("OXHUB_PYTHON").unwrap_or_else(|_| "python3".into());
        let ok = Command::new(&program)
            .arg("-c")
            .arg("import sys; sys.exit(0 if sys.version_info >= (3, 7) else 1)")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Python { program })
    }
}

/// Run `path` (shown as `display` in locations) and add what it assigns to `config`.
pub fn run(
    python: &Python,
    path: &Path,
    display: &str,
    config: &mut RawConfig,
) -> Result<(), ConfigError> {
    let io_err = |msg: String| {
        ConfigError::new(
            ErrorKind::Io,
            Some(Location {
                file: display.into(),
                line: 1,
                col: 1,
            }),
            msg,
        )
    };
    let prelude = format!("import signal\nsignal.alarm({TIMEOUT_SECS})\n");
    let output = Command::new(&python.program)
        .arg("-c")
        .arg(format!("{prelude}{SCRIPT}"))
        .arg(path)
        .current_dir(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            io_err(format!(
                "cannot run {} for the Python bridge: {e}",
                python.program
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: Json = serde_json::from_str(&stdout).map_err(|_| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        io_err(format!(
            "the Python bridge failed ({}): {tail}",
            output.status
        ))
    })?;
    let at = |line: u64| Location {
        file: display.into(),
        line: u32::try_from(line).unwrap_or(0),
        col: 1,
    };
    if let Some(err) = parsed.get("error").filter(|e| !e.is_null()) {
        let line = err.get("line").and_then(Json::as_u64).unwrap_or(0);
        let message = err
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or("error")
            .to_owned();
        return Err(ConfigError::new(
            ErrorKind::Runtime,
            Some(at(line)),
            format!("running the file in Python: {message}"),
        ));
    }
    let records = parsed
        .get("records")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    for rec in records {
        let (Some(class), Some(name)) = (
            rec.get("class").and_then(Json::as_str),
            rec.get("trait").and_then(Json::as_str),
        ) else {
            continue;
        };
        let line = rec.get("line").and_then(Json::as_u64).unwrap_or(0);
        let origin = Origin::File { at: at(line) };
        let raw_value = rec.get("value").unwrap_or(&Json::Null);
        if let Some(ops) = raw_value.get("$ops").and_then(Json::as_array) {
            let mut current = match config.get(class, name) {
                Some(entry) => entry.value.clone(),
                None => crate::traits::lookup(class, name)
                    .map(crate::resolve::default_value)
                    .unwrap_or(Value::None),
            };
            for op in ops {
                apply_op(&mut current, op).map_err(|m| {
                    ConfigError::new(
                        ErrorKind::Runtime,
                        Some(at(line)),
                        format!("c.{class}.{name}: {m}"),
                    )
                })?;
            }
            config.set(class, name, current, origin);
        } else {
            config.set(class, name, decode(raw_value), origin);
        }
    }
    Ok(())
}

/// The tagged JSON the bridge script writes, back to a [`Value`].
fn decode(j: &Json) -> Value {
    match j {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(decode).collect()),
        Json::Object(o) => {
            let items = |k: &str| {
                o.get(k)
                    .and_then(Json::as_array)
                    .map(|a| a.iter().map(decode).collect::<Vec<_>>())
                    .unwrap_or_default()
            };
            if o.contains_key("$tuple") {
                Value::Tuple(items("$tuple"))
            } else if o.contains_key("$set") {
                let mut out = Vec::new();
                for v in items("$set") {
                    Value::set_add(&mut out, v);
                }
                Value::Set(out)
            } else if let Some(hex) = o.get("$bytes").and_then(Json::as_str) {
                Value::Bytes(
                    (0..hex.len() / 2)
                        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                        .collect(),
                )
            } else if let Some(pairs) = o.get("$dict").and_then(Json::as_array) {
                Value::Dict(
                    pairs
                        .iter()
                        .filter_map(|p| {
                            p.as_array()
                                .filter(|p| p.len() == 2)
                                .map(|p| (decode(&p[0]), decode(&p[1])))
                        })
                        .collect(),
                )
            } else if let Some(path) = o.get("$class").and_then(Json::as_str) {
                Value::Class(path.to_owned())
            } else if let Some(name) = o.get("$callable").and_then(Json::as_str) {
                let line = o.get("line").and_then(Json::as_u64).unwrap_or(0);
                Value::Callable {
                    name: name.to_owned(),
                    line: u32::try_from(line).unwrap_or(0),
                }
            } else {
                let repr = o.get("$object").and_then(Json::as_str).unwrap_or("object");
                Value::Callable {
                    name: repr.to_owned(),
                    line: 0,
                }
            }
        }
    }
}

fn apply_op(target: &mut Value, op: &Json) -> Result<(), String> {
    let op = op.as_array().ok_or("bad op")?;
    let name = op.first().and_then(Json::as_str).ok_or("bad op")?;
    let arg = |i: usize| op.get(i).map(decode).unwrap_or(Value::None);
    if *target == Value::None {
        *target = match name {
            "update" | "setitem" => Value::Dict(vec![]),
            "add" => Value::Set(vec![]),
            _ => Value::List(vec![]),
        };
    }
    match (target, name) {
        (Value::List(items), "append") => items.push(arg(1)),
        (Value::List(items), "extend") => {
            if let Value::List(more) = arg(1) {
                items.extend(more);
            }
        }
        (Value::List(items), "prepend") => {
            if let Value::List(mut more) = arg(1) {
                more.append(items);
                *items = more;
            }
        }
        (Value::List(items), "insert") => {
            let at = match arg(1) {
                Value::Int(i) => usize::try_from(i).unwrap_or(0).min(items.len()),
                _ => items.len(),
            };
            items.insert(at, arg(2));
        }
        (Value::Set(items) | Value::List(items), "add") => Value::set_add(items, arg(1)),
        (Value::Dict(pairs), "update") => {
            if let Value::Dict(more) = arg(1) {
                for (k, v) in more {
                    Value::dict_set(pairs, k, v);
                }
            }
        }
        (Value::Set(items), "update") => {
            if let Value::Dict(more) = arg(1) {
                for (k, _) in more {
                    Value::set_add(items, k);
                }
            }
        }
        (Value::Dict(pairs), "setitem") => Value::dict_set(pairs, arg(1), arg(2)),
        (other, op) => return Err(format!("cannot {op} on a {}", other.type_name())),
    }
    Ok(())
}
