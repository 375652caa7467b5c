//! Check every assignment against the trait table: renamed traits mapped, unknown classes and
//! traits warned about (with suggestions), values coerced to their trait's type, class traits
//! mapped to built-in implementations. The result answers "what is the value of X.y for class
//! C" with traitlets' inheritance: the most specific class that sets it wins.

use crate::error::{ConfigError, ErrorKind, Origin, Warning};
use crate::raw::RawConfig;
use crate::traits::{self, ClassKind, Dflt, Implementation, TraitDef, TraitType};
use crate::value::Value;
use std::collections::BTreeMap;

/// One effective value.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub def: &'static TraitDef,
    pub value: Value,
    pub origin: Origin,
    /// The class the value was set on (`Spawner` for `c.Spawner.cmd`), or `None` for a default.
    pub set_on: Option<String>,
}

/// The checked configuration: values by the class they were set on, and the implementations
/// the class traits selected.
#[derive(Debug, Clone)]
pub struct Effective {
    set: BTreeMap<(String, String), (Value, Origin)>,
    pub authenticator: &'static Implementation,
    pub spawner: &'static Implementation,
    pub proxy: &'static Implementation,
    pub warnings: Vec<Warning>,
}

impl Effective {
    /// The value of `name` as class `class` sees it: set on it or an ancestor, else the default.
    pub fn get(&self, class: &str, name: &str) -> Option<Resolved> {
        let def = traits::lookup(class, name)?;
        for c in traits::lineage(class) {
            if let Some((value, origin)) = self.set.get(&(c.to_owned(), name.to_owned())) {
                return Some(Resolved {
                    def,
                    value: value.clone(),
                    origin: origin.clone(),
                    set_on: Some(c.to_owned()),
                });
            }
        }
        Some(Resolved {
            def,
            value: default_value(def),
            origin: Origin::Default,
            set_on: None,
        })
    }

    /// Every value that was set, by (class, trait).
    pub fn set_values(&self) -> impl Iterator<Item = (&str, &str, &Value, &Origin)> {
        self.set
            .iter()
            .map(|((c, n), (v, o))| (c.as_str(), n.as_str(), v, o))
    }

    /// The classes whose traits are in force: the hub's, and the selected plug-ins' lineages.
    pub fn classes_in_use(&self) -> Vec<&'static str> {
        let mut out = vec!["JupyterHub"];
        for imp in [self.authenticator, self.spawner, self.proxy] {
            out.push(imp.class);
        }
        out.push("CryptKeeper");
        out
    }
}

/// A trait's default as a value (`None` for computed defaults).
pub fn default_value(def: &TraitDef) -> Value {
    match def.default {
        Dflt::Lit(lit) => crate::pyconfig::evaluate_expression(lit, "default")
            .ok()
            .and_then(|v| coerce(def, v).ok())
            .unwrap_or(Value::None),
        Dflt::Computed => Value::None,
    }
}

/// Check `raw` against the trait table. `strict` turns unknown classes and traits into errors.
pub fn resolve(raw: &RawConfig, strict: bool) -> Result<Effective, ConfigError> {
    let mut warnings = Vec::new();
    let mut set: BTreeMap<(String, String), (Value, Origin)> = BTreeMap::new();
    let mut moved: Vec<(String, String, Value, Origin)> = Vec::new();

    for (class, name, entry) in raw.iter() {
        let at = match &entry.origin {
            Origin::File { at } => Some(at.clone()),
            _ => None,
        };
        if traits::class(class).is_none() {
            let close = traits::closest(class, traits::CLASSES.iter().map(|c| c.name));
            let message = format!(
                "unknown class `{class}`: c.{class}.{name} is ignored{}",
                suggestion(&close)
            );
            if strict {
                return Err(ConfigError::new(ErrorKind::Unknown, at, message));
            }
            warnings.push(Warning {
                at,
                message,
                unknown: true,
            });
            continue;
        }
        if let Some(r) = traits::renamed(class, name) {
            match r.to {
                Some((to_class, to_name)) => {
                    let target_class = if traits::lineage(class).contains(&to_class) {
                        class
                    } else {
                        to_class
                    };
                    warnings.push(Warning {
                        at,
                        message: format!("{class}.{name} is deprecated ({}): its value is used as {target_class}.{to_name}", r.note),
                        unknown: false,
                    });
                    moved.push((
                        target_class.to_owned(),
                        to_name.to_owned(),
                        entry.value.clone(),
                        entry.origin.clone(),
                    ));
                }
                None => warnings.push(Warning {
                    at,
                    message: format!("{class}.{name} is ignored: {}", r.note),
                    unknown: false,
                }),
            }
            continue;
        }
        if traits::lookup(class, name).is_none() {
            let close = traits::closest(name, traits::traits_of(class).into_iter().map(|t| t.name));
            let message = format!(
                "unknown trait `{name}` of class {class}: c.{class}.{name} is ignored{}",
                suggestion(&close)
            );
            if strict {
                return Err(ConfigError::new(ErrorKind::Unknown, at, message));
            }
            warnings.push(Warning {
                at,
                message,
                unknown: true,
            });
            continue;
        }
        set.insert(
            (class.to_owned(), name.to_owned()),
            (entry.value.clone(), entry.origin.clone()),
        );
    }

    for (class, name, value, origin) in moved {
        let key = (class.clone(), name.clone());
        if let Some((existing, existing_origin)) = set.get(&key) {
            if !existing.py_eq(&value) {
                return Err(ConfigError::new(
                    ErrorKind::Invalid,
                    location(&origin),
                    format!("both a deprecated name and {class}.{name} (set at {existing_origin}) are set, to different values"),
                )
                .hint(format!("remove the deprecated name and keep {class}.{name}")));
            }
            continue;
        }
        set.insert(key, (value, origin));
    }

    // Types.
    for ((class, name), (value, origin)) in set.iter_mut() {
        let Some(def) = traits::lookup(class, name) else {
            continue;
        };
        let given = std::mem::replace(value, Value::None);
        let given_copy = given.clone();
        *value = coerce(def, given).map_err(|problem| match problem {
            Problem::Type(msg) => ConfigError::new(ErrorKind::Invalid, location(origin), format!("c.{class}.{name}: {msg}")),
            Problem::Hook => ConfigError::new(
                ErrorKind::Unsupported,
                location(origin),
                format!("c.{class}.{name}: Python callables and classes defined in the config are not supported{}", callable_note(&given_copy)),
            )
            .hint(traits::hook_alternative(class, name)),
        })?;
    }

    let pick =
        |kind: ClassKind, trait_name: &str| -> Result<&'static Implementation, ConfigError> {
            let (given, origin) = match set.get(&("JupyterHub".to_owned(), trait_name.to_owned())) {
                Some((v, o)) => (v.clone(), o.clone()),
                None => (
                    traits::lookup("JupyterHub", trait_name)
                        .map(default_value)
                        .unwrap_or(Value::None),
                    Origin::Default,
                ),
            };
            let name = match &given {
                Value::Str(s) | Value::Class(s) => s.clone(),
                other => other.repr(),
            };
            traits::implementation(kind, &name).ok_or_else(|| {
                ConfigError::new(
                    ErrorKind::Invalid,
                    location(&origin),
                    format!("c.JupyterHub.{trait_name}: no built-in {kind:?} named {name:?}"),
                )
                .hint(format!(
                    "choose one of: {}",
                    traits::implementation_names(kind).join(", ")
                ))
            })
        };
    let authenticator = pick(ClassKind::Authenticator, "authenticator_class")?;
    let spawner = pick(ClassKind::Spawner, "spawner_class")?;
    let proxy = pick(ClassKind::Proxy, "proxy_class")?;

    warnings.sort_by(|a, b| {
        let key = |w: &Warning| w.at.as_ref().map(|l| (l.file.clone(), l.line, l.col));
        key(a).cmp(&key(b))
    });
    Ok(Effective {
        set,
        authenticator,
        spawner,
        proxy,
        warnings,
    })
}

/// Names the function or class a hook trait was given, and where it was defined.
fn callable_note(v: &Value) -> String {
    let mut found = None;
    find_callable(v, &mut found);
    match found {
        Some((name, line)) if line > 0 => format!(" (`{name}`, defined at line {line})"),
        Some((name, _)) => format!(" (`{name}`)"),
        None => String::new(),
    }
}

fn find_callable(v: &Value, found: &mut Option<(String, u32)>) {
    match v {
        Value::Callable { name, line } if found.is_none() => *found = Some((name.clone(), *line)),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            items.iter().for_each(|i| find_callable(i, found))
        }
        Value::Dict(pairs) => pairs.iter().for_each(|(_, i)| find_callable(i, found)),
        _ => {}
    }
}

fn suggestion(close: &[&str]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!(
            " (did you mean {}?)",
            close
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

pub(crate) fn location(origin: &Origin) -> Option<crate::error::Location> {
    match origin {
        Origin::File { at } => Some(at.clone()),
        _ => None,
    }
}

enum Problem {
    Type(String),
    Hook,
}

/// Check and convert a value to its trait's type.
fn coerce(def: &TraitDef, value: Value) -> Result<Value, Problem> {
    let mut callable = None;
    find_callable(&value, &mut callable);
    if callable.is_some() {
        return Err(Problem::Hook);
    }
    if value == Value::None {
        let nullable = matches!(def.default, Dflt::Lit("None") | Dflt::Computed)
            || def.ty == TraitType::BoolOrNone;
        return if nullable || matches!(def.ty, TraitType::Hook) {
            Ok(Value::None)
        } else {
            Err(Problem::Type(format!(
                "None is not allowed; expected {}",
                def.ty.describe()
            )))
        };
    }
    let wrong = |v: &Value| {
        Problem::Type(format!(
            "expected {}, got {} {}",
            def.ty.describe(),
            v.type_name(),
            short_repr(v, def.secret)
        ))
    };
    let strings = |items: Vec<Value>| -> Result<Vec<Value>, Problem> {
        items
            .into_iter()
            .map(|i| match i {
                Value::Str(_) => Ok(i),
                Value::Bytes(b) => String::from_utf8(b)
                    .map(Value::Str)
                    .map_err(|_| Problem::Type("bytes that are not UTF-8".into())),
                other => Err(Problem::Type(format!(
                    "expected a list of str, found {} {}",
                    other.type_name(),
                    short_repr(&other, def.secret)
                ))),
            })
            .collect()
    };
    Ok(match (def.ty, value) {
        (TraitType::Bool | TraitType::BoolOrNone, Value::Bool(b)) => Value::Bool(b),
        (TraitType::Bool, Value::Int(i)) if i == 0 || i == 1 => Value::Bool(i == 1),
        (TraitType::Int, Value::Int(i)) => Value::Int(i),
        (TraitType::Float, Value::Int(i)) => Value::Float(i as f64),
        (TraitType::Float, Value::Float(f)) => Value::Float(f),
        (TraitType::Str | TraitType::UrlPrefix, Value::Bytes(b)) => {
            let s = String::from_utf8(b)
                .map_err(|_| Problem::Type("bytes that are not UTF-8".into()))?;
            return coerce(def, Value::Str(s));
        }
        (TraitType::Str, Value::Str(s)) => Value::Str(s),
        (TraitType::UrlPrefix, Value::Str(s)) => {
            let mut p = s.trim().to_owned();
            if !p.starts_with('/') {
                p.insert(0, '/');
            }
            if !p.ends_with('/') {
                p.push('/');
            }
            Value::Str(p)
        }
        (TraitType::Secret, v @ (Value::Str(_) | Value::Bytes(_))) => v,
        (TraitType::List, Value::List(v) | Value::Tuple(v)) => Value::List(v),
        (TraitType::ListStr, Value::List(v) | Value::Tuple(v)) => Value::List(strings(v)?),
        (TraitType::SetStr, Value::List(v) | Value::Tuple(v) | Value::Set(v)) => {
            let mut out = Vec::new();
            for s in strings(v)? {
                Value::set_add(&mut out, s);
            }
            Value::Set(out)
        }
        (TraitType::Dict, Value::Dict(d)) => Value::Dict(d),
        (TraitType::DictStr, Value::Dict(d)) => {
            let mut out = Vec::new();
            for (k, v) in d {
                match v {
                    Value::Str(_) => out.push((k, v)),
                    other => {
                        return Err(Problem::Type(format!(
                            "values must be str; {} has {} {}",
                            k.repr(),
                            other.type_name(),
                            short_repr(&other, def.secret)
                        )))
                    }
                }
            }
            Value::Dict(out)
        }
        (TraitType::ListDict, Value::List(v) | Value::Tuple(v)) => {
            for (i, item) in v.iter().enumerate() {
                if let Value::Callable { .. } = item {
                    return Err(Problem::Hook);
                }
                if !matches!(item, Value::Dict(_)) {
                    return Err(Problem::Type(format!(
                        "item {i} must be a dict, got {}",
                        item.type_name()
                    )));
                }
            }
            Value::List(v)
        }
        (TraitType::Command | TraitType::StrOrList, Value::Str(s)) => {
            if def.ty == TraitType::Command {
                Value::List(vec![Value::Str(s)])
            } else {
                Value::Str(s)
            }
        }
        (TraitType::Command | TraitType::StrOrList, Value::List(v) | Value::Tuple(v)) => {
            Value::List(strings(v)?)
        }
        (TraitType::StrListOrDict, Value::Str(s)) => Value::Str(s),
        (TraitType::StrListOrDict, Value::List(v) | Value::Tuple(v)) => Value::List(strings(v)?),
        (TraitType::StrListOrDict, Value::Dict(d)) => {
            let ty = TraitDef {
                ty: TraitType::DictStr,
                ..*def
            };
            return coerce(&ty, Value::Dict(d));
        }
        (TraitType::StrListOrDict, Value::Callable { .. }) => return Err(Problem::Hook),
        (TraitType::ListOrDict, Value::List(v) | Value::Tuple(v)) => Value::List(v),
        (TraitType::ListOrDict, Value::Dict(d)) => Value::Dict(d),
        (TraitType::ByteSpec, Value::Int(i)) if i >= 0 => Value::Int(i),
        (TraitType::ByteSpec, Value::Float(f)) if (0.0..9.2e18).contains(&f) => {
            Value::Int(f as i64)
        }
        (TraitType::ByteSpec, Value::Str(s)) => Value::Int(parse_bytes(&s).ok_or_else(|| {
            Problem::Type(format!(
                "{s:?} is not a size: use a number with an optional K, M, G or T suffix, e.g. '2G'"
            ))
        })?),
        (TraitType::LogLevel, Value::Int(i)) if (0..=50).contains(&i) => Value::Int(i),
        (TraitType::LogLevel, Value::Str(s)) => Value::Int(match s.to_ascii_uppercase().as_str() {
            "DEBUG" => 10,
            "INFO" => 20,
            "WARN" | "WARNING" => 30,
            "ERROR" => 40,
            "CRITICAL" | "FATAL" => 50,
            _ => {
                return Err(Problem::Type(format!(
                    "{s:?} is not a log level (DEBUG, INFO, WARN, ERROR, CRITICAL or 0-50)"
                )))
            }
        }),
        (TraitType::Enum(options), Value::Str(s)) => {
            match options.iter().find(|o| o.eq_ignore_ascii_case(&s)) {
                Some(o) => Value::Str((*o).to_owned()),
                None => return Err(Problem::Type(format!("{s:?} is not one of {options:?}"))),
            }
        }
        (TraitType::Class(_), v @ (Value::Str(_) | Value::Class(_))) => v,
        (TraitType::Hook, _) => return Err(Problem::Hook),
        (TraitType::Unsupported, Value::List(v)) if v.is_empty() => Value::List(v),
        (TraitType::Unsupported, _) => {
            return Err(Problem::Type(
                "Python objects are not supported here".into(),
            ))
        }
        (_, v) => return Err(wrong(&v)),
    })
}

fn short_repr(v: &Value, secret: bool) -> String {
    if secret {
        return "(secret)".into();
    }
    let r = v.repr();
    if r.chars().count() > 60 {
        format!("{}…", r.chars().take(60).collect::<String>())
    } else {
        r
    }
}

/// `'1G'` → 1073741824, like JupyterHub's ByteSpecification (binary multiples).
pub fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1i64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let total = n * mult as f64;
    (total < 9.2e18).then_some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(class: &str, name: &str) -> &'static TraitDef {
        traits::lookup(class, name).expect("trait")
    }

    #[test]
    fn coercions_follow_traitlets() {
        let ok = |c, n, v| coerce(def(c, n), v).ok();
        assert_eq!(
            ok("JupyterHub", "base_url", Value::Str("jh".into())),
            Some(Value::Str("/jh/".into()))
        );
        assert_eq!(
            ok("Spawner", "mem_limit", Value::Str("2G".into())),
            Some(Value::Int(2 << 30))
        );
        assert_eq!(
            ok("Spawner", "cmd", Value::Str("jupyterhub-singleuser".into())),
            Some(Value::List(vec![Value::Str(
                "jupyterhub-singleuser".into()
            )]))
        );
        assert_eq!(
            ok("JupyterHub", "log_level", Value::Str("debug".into())),
            Some(Value::Int(10))
        );
        assert_eq!(
            ok(
                "Authenticator",
                "admin_users",
                Value::List(vec![Value::Str("a".into()), Value::Str("a".into())])
            ),
            Some(Value::Set(vec![Value::Str("a".into())]))
        );
        assert!(ok("JupyterHub", "port", Value::Str("8000".into())).is_none());
        assert!(ok("JupyterHub", "ip", Value::None).is_none());
        assert!(ok("Spawner", "cpu_limit", Value::None).is_some());
        assert!(matches!(
            coerce(def("Spawner", "auth_state_hook"), Value::Str("x".into())),
            Err(Problem::Hook)
        ));
    }

    #[test]
    fn every_literal_default_fits_its_type() {
        for t in traits::TRAIT_TABLE {
            if let Dflt::Lit(lit) = t.default {
                let v = crate::pyconfig::evaluate_expression(lit, "default")
                    .unwrap_or_else(|e| panic!("{}.{}: {e}", t.class, t.name));
                coerce(t, v).unwrap_or_else(|_| {
                    panic!(
                        "{}.{} default {lit} does not fit {:?}",
                        t.class, t.name, t.ty
                    )
                });
            }
        }
    }
}
