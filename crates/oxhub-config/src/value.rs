//! Plain Python values, as a config file assigns them.

use serde_json::{json, Value as Json};
use std::fmt::Write as _;

/// A value assigned to a trait: the plain data a config file can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Insertion-ordered, without duplicates.
    Set(Vec<Value>),
    /// Insertion-ordered pairs with unique keys.
    Dict(Vec<(Value, Value)>),
    /// A class named by its import path (`from oauthenticator.github import GitHubOAuthenticator`).
    Class(String),
    /// A function or class defined in the config file itself (only the Python bridge reports these).
    Callable {
        name: String,
        line: u32,
    },
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(_) => "set",
            Value::Dict(_) => "dict",
            Value::Class(_) => "class",
            Value::Callable { .. } => "function",
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => !v.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            Value::Class(_) | Value::Callable { .. } => true,
        }
    }

    /// Python equality (1 == 1.0 == True).
    pub fn py_eq(&self, other: &Value) -> bool {
        match (self.as_number(), other.as_number()) {
            (Some(a), Some(b)) => a == b,
            _ => match (self, other) {
                (Value::Set(a), Value::Set(b)) => {
                    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| x.py_eq(y)))
                }
                (Value::Dict(a), Value::Dict(b)) => {
                    a.len() == b.len()
                        && a.iter()
                            .all(|(k, v)| b.iter().any(|(k2, v2)| k.py_eq(k2) && v.py_eq(v2)))
                }
                (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
                }
                _ => self == other,
            },
        }
    }

    fn as_number(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value may be a dict key or set member (Python's hashable types).
    pub fn hashable(&self) -> bool {
        match self {
            Value::List(_) | Value::Set(_) | Value::Dict(_) => false,
            Value::Tuple(items) => items.iter().all(Value::hashable),
            _ => true,
        }
    }

    pub fn dict_get<'a>(pairs: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
        pairs.iter().find(|(k, _)| k.py_eq(key)).map(|(_, v)| v)
    }

    pub fn dict_set(pairs: &mut Vec<(Value, Value)>, key: Value, value: Value) {
        match pairs.iter_mut().find(|(k, _)| k.py_eq(&key)) {
            Some(slot) => slot.1 = value,
            None => pairs.push((key, value)),
        }
    }

    pub fn set_add(items: &mut Vec<Value>, value: Value) {
        if !items.iter().any(|v| v.py_eq(&value)) {
            items.push(value);
        }
    }

    /// The value as Python's `repr()` writes it: used by generate-config and error messages.
    pub fn repr(&self) -> String {
        let mut out = String::new();
        self.write_repr(&mut out);
        out
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            Value::None => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&float_repr(*f)),
            Value::Str(s) => out.push_str(&str_repr(s)),
            Value::Bytes(b) => {
                out.push_str("b'");
                for byte in b {
                    match byte {
                        b'\\' => out.push_str("\\\\"),
                        b'\'' => out.push_str("\\'"),
                        0x20..=0x7e => out.push(char::from(*byte)),
                        _ => {
                            let _ = write!(out, "\\x{byte:02x}");
                        }
                    }
                }
                out.push('\'');
            }
            Value::List(items) => write_seq(out, "[", "]", items, false),
            Value::Tuple(items) => write_seq(out, "(", ")", items, items.len() == 1),
            Value::Set(items) if items.is_empty() => out.push_str("set()"),
            Value::Set(items) => write_seq(out, "{", "}", items, false),
            Value::Dict(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
            Value::Class(path) => out.push_str(&str_repr(path)),
            Value::Callable { name, .. } => {
                let _ = write!(out, "<function {name}>");
            }
        }
    }

    /// JSON for `show-config` and snapshots. Sets and tuples become arrays, bytes a hex string
    /// tagged as such, non-string dict keys their repr.
    pub fn to_json(&self) -> Json {
        match self {
            Value::None => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) => json!(i),
            Value::Float(f) => json!(f),
            Value::Str(s) => json!(s),
            Value::Bytes(b) => {
                json!({ "bytes_hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
            }
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
                Json::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Dict(pairs) => Json::Object(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().map_or_else(|| k.repr(), str::to_owned),
                            v.to_json(),
                        )
                    })
                    .collect(),
            ),
            Value::Class(path) => json!({ "class": path }),
            Value::Callable { name, line } => json!({ "callable": name, "line": line }),
        }
    }
}

fn write_seq(out: &mut String, open: &str, close: &str, items: &[Value], trailing_comma: bool) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_repr(out);
    }
    if trailing_comma {
        out.push(',');
    }
    out.push_str(close);
}

pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "float('nan')".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "float('inf')".into()
        } else {
            "float('-inf')".into()
        }
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(Value::Str("it's".into()).repr(), "\"it's\"");
        assert_eq!(Value::Str("a\nb".into()).repr(), "'a\\nb'");
        assert_eq!(Value::Tuple(vec![Value::Int(1)]).repr(), "(1,)");
        assert_eq!(Value::Set(vec![]).repr(), "set()");
        assert_eq!(Value::Float(14.0).repr(), "14.0");
        assert_eq!(Value::Float(0.1).repr(), "0.1");
        assert_eq!(Value::Bytes(vec![0, b'a']).repr(), "b'\\x00a'");
        assert_eq!(
            Value::Dict(vec![(Value::Str("a".into()), Value::None)]).repr(),
            "{'a': None}"
        );
    }

    #[test]
    fn python_equality_and_truth() {
        assert!(Value::Int(1).py_eq(&Value::Bool(true)));
        assert!(Value::Int(2).py_eq(&Value::Float(2.0)));
        assert!(!Value::Str("".into()).truthy());
        assert!(Value::List(vec![Value::None]).truthy());
    }
}
