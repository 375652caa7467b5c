//! str() / repr() / f-string / `%` / `.format()` and the non-mutating methods of plain values.

use crate::value::{float_repr, Value};

/// Python's `str(v)`.
pub fn to_str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Float(f) => float_repr(*f),
        Value::Class(p) => format!("<class '{p}'>"),
        other => other.repr(),
    }
}

/// One replacement field: `{v!r:spec}`.
pub fn format_field(v: &Value, conversion: Option<char>, spec: &str) -> Result<String, String> {
    let text = match conversion {
        Some('r') | Some('a') => v.repr(),
        _ => {
            if !spec.is_empty() {
                return apply_spec(v, spec);
            }
            to_str(v)
        }
    };
    if spec.is_empty() {
        Ok(text)
    } else {
        apply_spec(&Value::Str(text), spec)
    }
}

/// A small part of the format-spec mini-language: fill/align/width, `d`, `s`, `.Nf`, `x`.
fn apply_spec(v: &Value, spec: &str) -> Result<String, String> {
    let unsupported = || format!("format spec {spec:?} is not supported by the native evaluator");
    let mut chars: Vec<char> = spec.chars().collect();
    let ty = match chars.last() {
        Some(c) if c.is_ascii_alphabetic() => chars.pop(),
        _ => None,
    };
    let mut fill = ' ';
    let mut align = None;
    if chars.len() >= 2 && matches!(chars[1], '<' | '>' | '^') {
        fill = chars[0];
        align = Some(chars[1]);
        chars.drain(..2);
    } else if chars.first().is_some_and(|c| matches!(c, '<' | '>' | '^')) {
        align = Some(chars[0]);
        chars.remove(0);
    }
    let zero = chars.first() == Some(&'0');
    let rest: String = chars.iter().collect();
    let (width, precision) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().map_err(|_| unsupported())?)),
        None => (rest.as_str(), None),
    };
    let width: usize = if width.is_empty() {
        0
    } else {
        width.parse().map_err(|_| unsupported())?
    };
    let body = match (ty, v) {
        (None | Some('s'), Value::Str(s)) => match precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        (None | Some('d'), Value::Int(i)) => i.to_string(),
        (Some('x'), Value::Int(i)) => format!("{i:x}"),
        (Some('f'), Value::Float(f)) => format!("{f:.*}", precision.unwrap_or(6)),
        (Some('f'), Value::Int(i)) => format!("{:.*}", precision.unwrap_or(6), *i as f64),
        (None, Value::Float(f)) => match precision {
            Some(p) => format!("{f:.p$}"),
            None => float_repr(*f),
        },
        _ => return Err(unsupported()),
    };
    let len = body.chars().count();
    if len >= width {
        return Ok(body);
    }
    let pad = width - len;
    let numeric = matches!(v, Value::Int(_) | Value::Float(_));
    let fill = if zero && align.is_none() { '0' } else { fill };
    let pad_str = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    Ok(match align.unwrap_or(if numeric { '>' } else { '<' }) {
        '<' => format!("{body}{}", pad_str(pad)),
        '^' => format!("{}{body}{}", pad_str(pad / 2), pad_str(pad - pad / 2)),
        _ => format!("{}{body}", pad_str(pad)),
    })
}

/// `fmt % args`.
pub fn percent(fmt: &str, args: &Value) -> Result<String, String> {
    let positional: Vec<Value> = match args {
        Value::Tuple(items) => items.clone(),
        Value::Dict(_) => vec![],
        other => vec![other.clone()],
    };
    let mut next = positional.into_iter();
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut k = String::new();
            for c in chars.by_ref() {
                if c == ')' {
                    break;
                }
                k.push(c);
            }
            key = Some(k);
        }
        let mut spec = String::new();
        while let Some(c) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                spec.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let Some(conv) = chars.next() else {
            return Err("incomplete format".into());
        };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let value = match (&key, args) {
            (Some(k), Value::Dict(pairs)) => Value::dict_get(pairs, &Value::Str(k.clone()))
                .cloned()
                .ok_or_else(|| format!("KeyError: '{k}'"))?,
            (Some(_), _) => return Err("format requires a mapping".into()),
            (None, _) => next
                .next()
                .ok_or("not enough arguments for format string")?,
        };
        let text = match conv {
            's' => to_str(&value),
            'r' => value.repr(),
            'd' | 'i' => match value {
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => i64::from(b).to_string(),
                Value::Float(f) => (f.trunc() as i64).to_string(),
                other => {
                    return Err(format!(
                        "%d format: a number is required, not {}",
                        other.type_name()
                    ))
                }
            },
            'f' => match value {
                Value::Int(i) => format!("{:.6}", i as f64),
                Value::Float(f) => format!("{f:.6}"),
                other => {
                    return Err(format!(
                        "%f format: a number is required, not {}",
                        other.type_name()
                    ))
                }
            },
            other => return Err(format!("unsupported format character '{other}'")),
        };
        let width: usize = spec
            .trim_start_matches('-')
            .split('.')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        let n = text.chars().count();
        if n < width {
            let pad = " ".repeat(width - n);
            if spec.starts_with('-') {
                out.push_str(&text);
                out.push_str(&pad);
            } else {
                out.push_str(&pad);
                out.push_str(&text);
            }
        } else {
            out.push_str(&text);
        }
    }
    if next.next().is_some() {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

/// `"...".format(*args, **kwargs)`.
pub fn str_format(fmt: &str, args: &[Value], kwargs: &[(String, Value)]) -> Result<String, String> {
    let mut out = String::new();
    let mut auto = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    field.push(c);
                }
                if !closed {
                    return Err("Single '{' encountered in format string".into());
                }
                let (name_conv, spec) = field
                    .split_once(':')
                    .map_or((field.as_str(), ""), |(a, b)| (a, b));
                let (name, conv) = match name_conv.split_once('!') {
                    Some((n, c)) => (n, c.chars().next()),
                    None => (name_conv, None),
                };
                let value = if name.is_empty() {
                    let v = args
                        .get(auto)
                        .cloned()
                        .ok_or("Replacement index out of range")?;
                    auto += 1;
                    v
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i)
                        .cloned()
                        .ok_or("Replacement index out of range")?
                } else {
                    kwargs
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("KeyError: '{name}'"))?
                };
                out.push_str(&format_field(&value, conv, spec)?);
            }
            '}' => return Err("Single '}' encountered in format string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Non-mutating methods of plain values.
pub fn method(
    v: &Value,
    name: &str,
    args: &[Value],
    kwargs: &[(String, Value)],
) -> Result<Value, String> {
    let str_arg = |i: usize| -> Result<Option<&str>, String> {
        match args.get(i) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(format!(
                "{name}() argument must be str, not {}",
                other.type_name()
            )),
        }
    };
    let strs = |items: Vec<&str>| {
        Value::List(
            items
                .into_iter()
                .map(|s| Value::Str(s.to_owned()))
                .collect(),
        )
    };
    Ok(match (v, name) {
        (Value::Str(s), "format") => Value::Str(str_format(s, args, kwargs)?),
        (Value::Str(s), "split") => match (str_arg(0)?, args.get(1)) {
            (None, None) => strs(s.split_whitespace().collect()),
            (Some(""), _) => return Err("empty separator".into()),
            (Some(sep), None) => strs(s.split(sep).collect()),
            (sep, Some(Value::Int(n))) => {
                let n = usize::try_from(*n).map_or(usize::MAX, |n| n + 1);
                match sep {
                    Some(sep) => strs(s.splitn(n, sep).collect()),
                    None => strs(s.trim_start().splitn(n, char::is_whitespace).collect()),
                }
            }
            _ => return Err("split() takes a str separator and an int maxsplit".into()),
        },
        (Value::Str(s), "rsplit") => match str_arg(0)? {
            None => strs(s.split_whitespace().collect()),
            Some(sep) if !sep.is_empty() => match args.get(1) {
                Some(Value::Int(n)) => {
                    let n = usize::try_from(*n).map_or(usize::MAX, |n| n + 1);
                    let mut parts: Vec<&str> = s.rsplitn(n, sep).collect();
                    parts.reverse();
                    strs(parts)
                }
                _ => strs(s.split(sep).collect()),
            },
            Some(_) => return Err("empty separator".into()),
        },
        (Value::Str(s), "splitlines") => strs(s.lines().collect()),
        (Value::Str(s), "strip") => Value::Str(match str_arg(0)? {
            None => s.trim().to_owned(),
            Some(cs) => s.trim_matches(|c| cs.contains(c)).to_owned(),
        }),
        (Value::Str(s), "lstrip") => Value::Str(match str_arg(0)? {
            None => s.trim_start().to_owned(),
            Some(cs) => s.trim_start_matches(|c| cs.contains(c)).to_owned(),
        }),
        (Value::Str(s), "rstrip") => Value::Str(match str_arg(0)? {
            None => s.trim_end().to_owned(),
            Some(cs) => s.trim_end_matches(|c| cs.contains(c)).to_owned(),
        }),
        (Value::Str(s), "lower") => Value::Str(s.to_lowercase()),
        (Value::Str(s), "upper") => Value::Str(s.to_uppercase()),
        (Value::Str(s), "title") => Value::Str(
            s.split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or(String::new(), |f| {
                        f.to_uppercase()
                            .chain(c.flat_map(char::to_lowercase))
                            .collect()
                    })
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (Value::Str(s), "replace") => match (str_arg(0)?, str_arg(1)?) {
            (Some(a), Some(b)) if !a.is_empty() => {
                if s.len()
                    .saturating_add(s.matches(a).count().saturating_mul(b.len()))
                    > 16 << 20
                {
                    return Err("replace() result too large".into());
                }
                Value::Str(s.replace(a, b))
            }
            _ => return Err("replace() takes two str arguments".into()),
        },
        (Value::Str(s), "startswith") | (Value::Str(s), "endswith") => {
            let prefixes: Vec<String> = match args.first() {
                Some(Value::Str(p)) => vec![p.clone()],
                Some(Value::Tuple(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => return Err(format!("{name}() needs a str or tuple of str")),
            };
            Value::Bool(prefixes.iter().any(|p| {
                if name == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            }))
        }
        (Value::Str(s), "join") => {
            let items = match args.first() {
                Some(Value::List(v) | Value::Tuple(v) | Value::Set(v)) => v.clone(),
                _ => return Err("join() needs a list of str".into()),
            };
            let parts = items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_owned).ok_or_else(|| {
                        format!(
                            "sequence item: expected str instance, {} found",
                            i.type_name()
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Value::Str(parts.join(s))
        }
        (Value::Str(s), "isdigit") => {
            Value::Bool(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        }
        (Value::Str(s), "find") => match str_arg(0)? {
            Some(sub) => Value::Int(
                s.find(sub)
                    .map_or(-1, |i| i64::try_from(s[..i].chars().count()).unwrap_or(-1)),
            ),
            None => return Err("find() needs a str".into()),
        },
        (Value::Str(s), "count") => match str_arg(0)? {
            Some(sub) if !sub.is_empty() => {
                Value::Int(i64::try_from(s.matches(sub).count()).unwrap_or(i64::MAX))
            }
            _ => return Err("count() needs a non-empty str".into()),
        },
        (Value::Str(s), "encode") => Value::Bytes(s.as_bytes().to_vec()),
        (Value::Bytes(b), "decode") => Value::Str(
            String::from_utf8(b.clone()).map_err(|_| "bytes are not valid UTF-8".to_owned())?,
        ),
        (Value::Bytes(b), "hex") => Value::Str(b.iter().map(|x| format!("{x:02x}")).collect()),
        (Value::Dict(pairs), "get") => match args {
            [k] => Value::dict_get(pairs, k).cloned().unwrap_or(Value::None),
            [k, d] => Value::dict_get(pairs, k)
                .cloned()
                .unwrap_or_else(|| d.clone()),
            _ => return Err("get() takes 1 or 2 arguments".into()),
        },
        (Value::Dict(pairs), "keys") => Value::List(pairs.iter().map(|(k, _)| k.clone()).collect()),
        (Value::Dict(pairs), "values") => {
            Value::List(pairs.iter().map(|(_, v)| v.clone()).collect())
        }
        (Value::Dict(pairs), "items") => Value::List(
            pairs
                .iter()
                .map(|(k, v)| Value::Tuple(vec![k.clone(), v.clone()]))
                .collect(),
        ),
        (Value::Dict(_) | Value::List(_) | Value::Set(_), "copy") => v.clone(),
        (Value::List(items) | Value::Tuple(items), "index") => {
            let x = args.first().ok_or("index() takes one argument")?;
            Value::Int(
                items
                    .iter()
                    .position(|i| i.py_eq(x))
                    .and_then(|p| i64::try_from(p).ok())
                    .ok_or("value is not in list")?,
            )
        }
        (Value::List(items) | Value::Tuple(items), "count") => {
            let x = args.first().ok_or("count() takes one argument")?;
            Value::Int(
                i64::try_from(items.iter().filter(|i| i.py_eq(x)).count()).unwrap_or(i64::MAX),
            )
        }
        (Value::Set(items), "union") => {
            let mut out = items.clone();
            for a in args {
                if let Value::List(more) | Value::Set(more) | Value::Tuple(more) = a {
                    for m in more {
                        Value::set_add(&mut out, m.clone());
                    }
                }
            }
            Value::Set(out)
        }
        (other, m) => {
            return Err(format!(
                "'{}' object has no attribute '{m}' the native evaluator supports",
                other.type_name()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_and_format() {
        let args = Value::Tuple(vec![Value::Str("u".into()), Value::Int(5432)]);
        assert_eq!(
            percent("postgresql://%s@db:%d/hub", &args).as_deref(),
            Ok("postgresql://u@db:5432/hub")
        );
        assert_eq!(
            str_format(
                "{}-{name}-{0!r}",
                &[Value::Str("a".into())],
                &[("name".into(), Value::Int(1))]
            )
            .as_deref(),
            Ok("a-1-'a'")
        );
        assert_eq!(
            format_field(&Value::Int(7), None, "03").as_deref(),
            Ok("007")
        );
        assert_eq!(
            format_field(&Value::Float(0.5), None, ".2f").as_deref(),
            Ok("0.50")
        );
        assert!(percent("%s %s", &Value::Str("x".into())).is_err());
    }
}
