//! The templates of spawner settings. batchspawner's `format_template`: a template with `{{`
//! or `{%` is Jinja2 (minijinja here), anything else Python's `str.format` with named fields
//! only; the two cannot be mixed, exactly as in batchspawner. DockerSpawner's names, volumes
//! and extra settings are `str.format` only ([`format_named`]).

use serde_json::Value;
use std::collections::BTreeMap;

/// The variables of a template (for a batch script: the `req_*` settings without their
/// prefix, `cmd`, `job_id`, and every key of `user_options`).
pub type Vars = BTreeMap<String, Value>;

/// Render `template` with `vars`; `what` names the setting in error messages.
pub fn render(what: &str, template: &str, vars: &Vars) -> Result<String, String> {
    if template.contains("{{") || template.contains("{%") {
        jinja(template, vars).map_err(|e| format!("{what}: {e}"))
    } else {
        format_named(template, vars).map_err(|e| format!("{what}: {e}"))
    }
}

fn jinja(template: &str, vars: &Vars) -> Result<String, String> {
    let env = minijinja::Environment::new();
    env.render_str(template, vars).map_err(|e| match e.line() {
        Some(line) => format!("line {line}: {e}"),
        None => e.to_string(),
    })
}

/// `str(value)` as Python would print a JSON value of `user_options`.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// `template.format(**vars)`: `{name}` fields, `{{` and `}}` for braces. A field naming no
/// variable is an error (Python's KeyError); conversions, format specs and positional
/// fields are refused rather than half-supported.
pub fn format_named(template: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(format!("single '}}' at offset {at} (write '}}}}')")),
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => break,
                        Some((_, c)) => name.push(c),
                        None => return Err(format!("unclosed '{{' at offset {at}")),
                    }
                }
                if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(format!(
                        "field {{{name}}} at offset {at}: only named fields like {{memory}} are supported"
                    ));
                }
                let value = vars
                    .get(&name)
                    .ok_or_else(|| format!("no variable {{{name}}} (at offset {at})"))?;
                out.push_str(&text(value));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Python's `match.expand(template)` for `\1`..`\9` and `\g<n>` group references (the
/// host of a job from `state_exechost_exp`).
pub fn expand(template: &str, caps: &regex_lite::Captures<'_>) -> Result<String, String> {
    let group = |i: usize| caps.get(i).map(|m| m.as_str()).unwrap_or("");
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(d @ '0'..='9') => out.push_str(group(d as usize - '0' as usize)),
            Some('g') if chars.peek() == Some(&'<') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                match name.parse::<usize>() {
                    Ok(i) => out.push_str(group(i)),
                    Err(_) => match caps.name(&name) {
                        Some(m) => out.push_str(m.as_str()),
                        None => return Err(format!("state_exechost_exp: no group <{name}>")),
                    },
                }
            }
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// escapism's `escape(text, safe=[a-z0-9], escape_char='-')`, lower-cased: every other byte of
/// the UTF-8 text becomes `-` and two hex digits (`alice.smith` → `alice-2esmith`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("-{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, Value)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn str_format_fields_and_braces() {
        let v = vars(&[("username", json!("alice")), ("n", json!(4))]);
        assert_eq!(
            format_named("sudo -E -u {username} x{{y}} {n}", &v).unwrap(),
            "sudo -E -u alice x{y} 4"
        );
        assert!(format_named("{missing}", &v)
            .unwrap_err()
            .contains("no variable {missing}"));
        assert!(format_named("{username!r}", &v).is_err());
        assert!(format_named("{}", &v).is_err());
        assert!(format_named("{0}", &v).is_err());
        assert!(format_named("a } b", &v).is_err());
        assert!(format_named("{open", &v).is_err());
    }

    #[test]
    fn jinja_when_the_template_has_jinja_markers() {
        let v = vars(&[("partition", json!("")), ("memory", json!("4G"))]);
        let t = "{% if partition %}P={{partition}}\n{% endif %}{% if memory %}M={{memory}}\n{% endif %}";
        assert_eq!(render("batch_script", t, &v).unwrap(), "M=4G\n");
        // Undefined variables are empty, as in Jinja2.
        assert_eq!(render("x", "[{{ nothing }}]", &v).unwrap(), "[]");
        assert!(render("batch_script", "{% if %}", &v)
            .unwrap_err()
            .starts_with("batch_script: "));
    }

    #[test]
    fn expand_like_python_match_expand() {
        let re = regex_lite::Regex::new(r"\s+((?:[\w_-]+\.?)+)$").unwrap();
        let caps = re.captures("RUNNING node01").unwrap();
        assert_eq!(
            expand(r"int-\1.cluster.edu", &caps).unwrap(),
            "int-node01.cluster.edu"
        );
        assert_eq!(expand(r"\g<1>", &caps).unwrap(), "node01");
        assert_eq!(expand("127.0.0.1", &caps).unwrap(), "127.0.0.1");
    }
}
