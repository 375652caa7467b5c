//! Loading a whole configuration: the main file, `jupyterhub_config.d/*.py` in sorted order,
//! then command-line overrides; each file natively or through the Python bridge.

use crate::bridge::{self, Python};
use crate::error::{ConfigError, ErrorKind, Location, Origin, Warning};
use crate::hub::HubConfig;
use crate::pyconfig::{self, Environment};
use crate::raw::RawConfig;
use crate::resolve::{self, Effective};
use crate::traits::{self, TraitType};
use crate::value::Value;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The config file JupyterHub reads from the working directory when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "jupyterhub_config.py";

/// `--Class.trait=value` from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub class: String,
    pub name: String,
    pub value: Value,
    /// The argument as given, for `show-config`.
    pub arg: String,
}

impl Override {
    /// Parse the value of `--Class.trait=value` by the trait's type, as traitlets does: ints,
    /// `True`/`False`, Python literals for containers, plain text for strings.
    pub fn parse(class: &str, name: &str, text: &str, arg: &str) -> Result<Override, ConfigError> {
        let ty = traits::lookup(class, name).map(|t| t.ty).or_else(|| {
            traits::renamed(class, name)
                .and_then(|r| r.to)
                .and_then(|(c, n)| traits::lookup(c, n))
                .map(|t| t.ty)
        });
        let bad = |why: String| ConfigError::new(ErrorKind::Invalid, None, format!("{arg}: {why}"));
        let literal = |t: &str| pyconfig::evaluate_expression(t, arg);
        let looks_literal = |t: &str| {
            let t = t.trim_start();
            t.starts_with(['[', '(', '{', '\'', '"'])
        };
        let value = match ty {
            Some(TraitType::Int) => Value::Int(
                text.trim()
                    .parse()
                    .map_err(|_| bad(format!("{text:?} is not an int")))?,
            ),
            Some(TraitType::Float) => Value::Float(
                text.trim()
                    .parse()
                    .map_err(|_| bad(format!("{text:?} is not a number")))?,
            ),
            Some(TraitType::Bool) => match text.trim() {
                "True" | "true" | "1" | "yes" => Value::Bool(true),
                "False" | "false" | "0" | "no" => Value::Bool(false),
                other => return Err(bad(format!("{other:?} is not True or False"))),
            },
            Some(TraitType::LogLevel) => text
                .trim()
                .parse()
                .map_or_else(|_| Value::Str(text.into()), Value::Int),
            Some(TraitType::ByteSpec) => text
                .trim()
                .parse()
                .map_or_else(|_| Value::Str(text.into()), Value::Int),
            Some(
                TraitType::List
                | TraitType::ListStr
                | TraitType::SetStr
                | TraitType::Command
                | TraitType::ListDict
                | TraitType::StrOrList,
            ) => {
                if looks_literal(text) {
                    literal(text)?
                } else {
                    Value::List(vec![Value::Str(text.into())])
                }
            }
            Some(TraitType::Dict | TraitType::DictStr) => {
                if looks_literal(text) {
                    literal(text)?
                } else {
                    let (k, v) = text
                        .split_once('=')
                        .ok_or_else(|| bad("give key=value, or a dict literal".into()))?;
                    Value::Dict(vec![(Value::Str(k.into()), Value::Str(v.into()))])
                }
            }
            _ => {
                if text.trim_start().starts_with(['\'', '"']) {
                    literal(text)?
                } else {
                    Value::Str(text.into())
                }
            }
        };
        Ok(Override {
            class: class.into(),
            name: name.into(),
            value,
            arg: arg.into(),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f FILE`; `None` reads `./jupyterhub_config.py` when it exists.
    pub config_file: Option<PathBuf>,
    pub overrides: Vec<Override>,
    /// `--strict-config`: unknown classes and traits are errors.
    pub strict: bool,
    /// Never use the Python bridge (tests of the native path, locked-down hosts).
    pub no_bridge: bool,
}

/// How one file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Native,
    PythonBridge,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub file: String,
    pub kind: SourceKind,
    /// Why the bridge was needed (the native evaluator's refusal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub sources: Vec<Source>,
    pub raw: RawConfig,
    pub effective: Effective,
    pub config: HubConfig,
    pub warnings: Vec<Warning>,
}

/// Load, check and type the whole configuration.
pub fn load(options: &LoadOptions, env: &dyn Environment) -> Result<Loaded, ConfigError> {
    let mut raw = RawConfig::default();
    let mut sources = Vec::new();
    let python = if options.no_bridge {
        None
    } else {
        Python::discover()
    };

    let main = match &options.config_file {
        Some(path) => {
            if !path.is_file() {
                return Err(ConfigError::new(
                    ErrorKind::Io,
                    None,
                    format!("config file {} does not exist", path.display()),
                ));
            }
            Some(path.clone())
        }
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
    };
    let dir = main
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let mut files: Vec<PathBuf> = main.into_iter().collect();
    files.extend(config_d_files(&dir.join("jupyterhub_config.d"))?);

    for file in &files {
        sources.push(load_file(
            file,
            env,
            python.as_ref(),
            options.no_bridge,
            &mut raw,
        )?);
    }
    for o in &options.overrides {
        raw.set(
            &o.class,
            &o.name,
            o.value.clone(),
            Origin::CommandLine { arg: o.arg.clone() },
        );
    }

    let effective = resolve::resolve(&raw, options.strict)?;
    let config = HubConfig::from_effective(&effective)?;
    let warnings = effective.warnings.clone();
    Ok(Loaded {
        sources,
        raw,
        effective,
        config,
        warnings,
    })
}

/// `jupyterhub_config.d/*.py`, sorted by name.
fn config_d_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ConfigError::new(
            ErrorKind::Io,
            None,
            format!("cannot read {}: {e}", dir.display()),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn load_file(
    path: &Path,
    env: &dyn Environment,
    python: Option<&Python>,
    bridge_off: bool,
    raw: &mut RawConfig,
) -> Result<Source, ConfigError> {
    let shown = path.to_string_lossy().into_owned();
    let source = std::fs::read(path).map_err(|e| {
        ConfigError::new(
            ErrorKind::Io,
            Some(Location {
                file: shown.clone(),
                line: 1,
                col: 1,
            }),
            format!("cannot read: {e}"),
        )
    })?;
    let source = String::from_utf8(source).map_err(|e| {
        ConfigError::new(
            ErrorKind::Syntax,
            Some(Location {
                file: shown.clone(),
                line: 1,
                col: 1,
            }),
            format!("not UTF-8: {e}"),
        )
    })?;
    // Evaluate into a copy, so a file that falls back to the bridge leaves no partial writes.
    let mut attempt = raw.clone();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match pyconfig::evaluate_as(
        &shown,
        &absolute.to_string_lossy(),
        &source,
        env,
        &mut attempt,
    ) {
        Ok(()) => {
            *raw = attempt;
            tracing::info!(target: "oxhub::config", "loaded {} with the native evaluator", shown);
            Ok(Source {
                file: shown,
                kind: SourceKind::Native,
                reason: None,
            })
        }
        Err(refusal) if refusal.kind == ErrorKind::Unsupported => match python {
            Some(python) => {
                tracing::info!(target: "oxhub::config", "loading {} through the Python bridge ({}): {}", shown, python.program, refusal);
                bridge::run(python, path, &shown, raw)?;
                Ok(Source {
                    file: shown,
                    kind: SourceKind::PythonBridge,
                    reason: Some(refusal.to_string()),
                })
            }
            None => {
                let hint = refusal.hint.clone().unwrap_or_default();
                let why = if bridge_off {
                    "the Python bridge is turned off"
                } else {
                    "no python3 was found for the Python bridge; set OXHUB_PYTHON to use one"
                };
                Err(refusal.hint(format!("{hint} ({why})")))
            }
        },
        Err(e) => Err(e),
    }
}
