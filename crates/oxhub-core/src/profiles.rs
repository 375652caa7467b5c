//! `profile_list` (spawners-beyond.md §1.10): the server profiles offered on the spawn page,
//! as KubeSpawner defines them, for every spawner. Parsed and checked once at startup; the
//! spawn page renders them, a submitted form becomes `user_options` as KubeSpawner's
//! `options_from_form` makes it (`{"profile": <slug>, <option>: <choice>}`), and a start
//! resolves those options (checked again: they may come raw from the REST API) into the
//! profile's `kubespawner_override` merged with each option's.

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

/// The value of the option select that means "the text field instead".
pub const UNLISTED: &str = "unlisted-choice";

#[derive(Debug, Clone, Default)]
pub struct Profiles {
    pub list: Vec<Profile>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub slug: String,
    pub display_name: String,
    pub description: String,
    pub default: bool,
    pub overrides: Map<String, Value>,
    pub options: Vec<ProfileOption>,
}

#[derive(Debug, Clone)]
pub struct ProfileOption {
    pub key: String,
    pub display_name: String,
    pub choices: Vec<Choice>,
    pub unlisted: Option<Unlisted>,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub key: String,
    pub display_name: String,
    pub default: bool,
    pub overrides: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Unlisted {
    pub display_name: String,
    pub display_name_in_choices: String,
    pub validation_regex: Option<String>,
    pub validation_message: String,
    pub overrides: Map<String, Value>,
    matcher: Option<regex_lite::Regex>,
}

/// What a start runs with: the chosen profile and the traits it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub slug: String,
    pub overrides: Map<String, Value>,
}

/// python-slugify's result for the ASCII it keeps: NFKD, marks dropped, lower case, runs of
/// anything else as one `-`, no `-` at the ends.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.nfkd() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else if !unicode_normalization::char::is_combining_mark(c) {
            dash = true;
        }
    }
    out
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn overrides(v: Option<&Value>, at: &str) -> Result<Map<String, Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(format!("{at}.kubespawner_override must be a dict")),
    }
}

/// A dict of entries taken as a list in key order (how KubeSpawner reads a dict-valued
/// `profile_list`); a list as it is.
fn entries(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            keys.into_iter().map(|k| m[k].clone()).collect()
        }
        _ => Vec::new(),
    }
}

impl Profiles {
    /// `profile_list` from the configuration (its JSON form); an error names the entry.
    pub fn parse(config: &Value) -> Result<Profiles, String> {
        const AT: &str = "profile_list";
        if !matches!(config, Value::Array(_) | Value::Object(_) | Value::Null) {
            return Err(format!("{AT} must be a list of dicts"));
        }
        let mut list = Vec::new();
        for (i, entry) in entries(config).iter().enumerate() {
            let at = format!("{AT}[{i}]");
            let Value::Object(p) = entry else {
                return Err(format!("{at} must be a dict"));
            };
            let display_name = text(p.get("display_name"));
            if display_name.is_empty() {
                return Err(format!("{at} needs a display_name"));
            }
            let slug = match p.get("slug").map(|v| text(Some(v))) {
                Some(s) if !s.is_empty() => s,
                _ => slugify(&display_name),
            };
            if slug.is_empty() || list.iter().any(|q: &Profile| q.slug == slug) {
                return Err(format!(
                    "{at}: the slug {slug:?} is empty or used twice; give each profile a distinct slug"
                ));
            }
            let mut options = Vec::new();
            if let Some(Value::Object(opts)) = p.get("profile_options") {
                for (key, o) in opts {
                    options.push(Self::option(
                        key,
                        o,
                        &format!("{at}.profile_options.{key}"),
                    )?);
                }
            }
            list.push(Profile {
                slug,
                display_name,
                description: text(p.get("description")),
                default: p.get("default").and_then(Value::as_bool).unwrap_or(false),
                overrides: overrides(p.get("kubespawner_override"), &at)?,
                options,
            });
        }
        if !list.is_empty() && !list.iter().any(|p| p.default) {
            list[0].default = true;
        }
        Ok(Profiles { list })
    }

    fn option(key: &str, o: &Value, at: &str) -> Result<ProfileOption, String> {
        let Value::Object(o) = o else {
            return Err(format!("{at} must be a dict"));
        };
        let mut choices = Vec::new();
        if let Some(Value::Object(cs)) = o.get("choices") {
            for (ck, c) in cs {
                let Value::Object(c) = c else {
                    return Err(format!("{at}.choices.{ck} must be a dict"));
                };
                choices.push(Choice {
                    key: ck.clone(),
                    display_name: match text(c.get("display_name")) {
                        d if d.is_empty() => ck.clone(),
                        d => d,
                    },
                    default: c.get("default").and_then(Value::as_bool).unwrap_or(false),
                    overrides: overrides(
                        c.get("kubespawner_override"),
                        &format!("{at}.choices.{ck}"),
                    )?,
                });
            }
        }
        if !choices.is_empty() && !choices.iter().any(|c| c.default) {
            choices[0].default = true;
        }
        let unlisted = match o.get("unlisted_choice") {
            Some(Value::Object(u)) if u.get("enabled").and_then(Value::as_bool) == Some(true) => {
                let validation_regex = u
                    .get("validation_regex")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                // Python's re.match: anchored at the start only.
                let matcher = match &validation_regex {
                    Some(r) => Some(
                        regex_lite::Regex::new(&format!("^(?:{r})"))
                            .map_err(|e| format!("{at}.unlisted_choice.validation_regex: {e}"))?,
                    ),
                    None => None,
                };
                Some(Unlisted {
                    display_name: text(u.get("display_name")),
                    display_name_in_choices: match text(u.get("display_name_in_choices")) {
                        d if d.is_empty() => "Other...".into(),
                        d => d,
                    },
                    validation_message: text(u.get("validation_message")),
                    validation_regex,
                    overrides: overrides(
                        u.get("kubespawner_override"),
                        &format!("{at}.unlisted_choice"),
                    )?,
                    matcher,
                })
            }
            _ => None,
        };
        if choices.is_empty() && unlisted.is_none() {
            return Err(format!("{at} needs choices or an enabled unlisted_choice"));
        }
        Ok(ProfileOption {
            key: key.to_owned(),
            display_name: match text(o.get("display_name")) {
                d if d.is_empty() => key.to_owned(),
                d => d,
            },
            choices,
            unlisted,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// A submitted form (each field's first value) as `user_options`: the chosen profile and
    /// its own options; other profiles' fields and anything else are dropped.
    pub fn options_from_form(&self, fields: &[(String, String)]) -> Value {
        let first = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut out = Map::new();
        let Some(slug) = first("profile") else {
            return Value::Object(out);
        };
        let prefix = format!("profile-option-{slug}--");
        for (name, value) in fields {
            if let Some(rest) = name.strip_prefix(&prefix) {
                out.entry(rest.to_owned())
                    .or_insert_with(|| Value::String(value.clone()));
            }
        }
        out.insert("profile".into(), Value::String(slug));
        Value::Object(out)
    }

    /// The profile `user_options` choose (the default one when they name none) and what it
    /// sets; `None` without a `profile_list`. An unknown profile or choice, or unlisted text
    /// the option does not allow, is an error in words for the person who chose it.
    pub fn resolve(&self, user_options: &Value) -> Result<Option<Chosen>, String> {
        if self.list.is_empty() {
            return Ok(None);
        }
        let opts = user_options.as_object().cloned().unwrap_or_default();
        let profile = match opts.get("profile").and_then(Value::as_str) {
            None | Some("") => self.list.iter().find(|p| p.default),
            Some(slug) => self.list.iter().find(|p| p.slug == slug),
        };
        let Some(profile) = profile else {
            let names: Vec<&str> = self.list.iter().map(|p| p.slug.as_str()).collect();
            return Err(format!(
                "No such profile: {}. Options include: {}",
                text(opts.get("profile")),
                names.join(", ")
            ));
        };
        let mut merged = Map::new();
        merge(&mut merged, &profile.overrides);
        for option in &profile.options {
            let typed = opts
                .get(&format!("{}--{UNLISTED}", option.key))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty());
            let picked = opts.get(&option.key).and_then(Value::as_str);
            if let Some(typed) = typed {
                let Some(unlisted) = &option.unlisted else {
                    return Err(format!(
                        "{}: this option does not take a value of your own",
                        option.display_name
                    ));
                };
                if let Some(m) = &unlisted.matcher {
                    if !m.is_match(typed) {
                        return Err(if unlisted.validation_message.is_empty() {
                            format!(
                                "{}: {typed:?} is not an accepted value",
                                option.display_name
                            )
                        } else {
                            unlisted.validation_message.clone()
                        });
                    }
                }
                merge(&mut merged, &substitute(&unlisted.overrides, typed));
                continue;
            }
            let choice = match picked {
                Some(UNLISTED) | None => option.choices.iter().find(|c| c.default),
                Some(key) => match option.choices.iter().find(|c| c.key == key) {
                    Some(c) => Some(c),
                    None => return Err(format!("{}: no such choice {key:?}", option.display_name)),
                },
            };
            match choice {
                Some(c) => merge(&mut merged, &c.overrides),
                None => {
                    return Err(format!(
                        "Unable to determine a default choice for {}",
                        option.display_name
                    ))
                }
            }
        }
        Ok(Some(Chosen {
            slug: profile.slug.clone(),
            overrides: merged,
        }))
    }
}

/// Apply what the hub itself runs with from a chosen profile to `request` (`cmd`, `args`,
/// `environment` merged over the configured one, `default_url`, `notebook_dir`, memory and
/// CPU); every other trait goes to the spawner in [`SpawnRequest::overrides`]. Strings have
/// `{username}` and `{servername}` expanded by `expand`.
pub(crate) fn apply(
    request: &mut oxhub_plugin::spawn::SpawnRequest,
    chosen: Chosen,
    expand: impl Fn(&str) -> String,
) -> Result<(), String> {
    let strings = |k: &str, v: &Value| -> Result<Vec<String>, String> {
        match v {
            Value::String(s) => Ok(vec![expand(s)]),
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(&expand)
                        .ok_or_else(|| format!("{k} must hold strings"))
                })
                .collect(),
            _ => Err(format!("{k} must be a string or a list of strings")),
        }
    };
    let bytes = |k: &str, v: &Value| -> Result<Option<i64>, String> {
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => Ok(n.as_i64()),
            Value::String(s) => oxhub_config::resolve::parse_bytes(s)
                .map(Some)
                .ok_or_else(|| format!("{k}: {s:?} is not a size like 2G")),
            _ => Err(format!("{k} must be a number of bytes or a size like 2G")),
        }
    };
    let cpus = |k: &str, v: &Value| match v {
        Value::Null => Ok(None),
        v => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{k} must be a number")),
    };
    for (k, v) in chosen.overrides {
        match k.as_str() {
            // None for these: what the configuration says.
            "cmd" | "args" | "notebook_dir" | "default_url" | "environment" if v.is_null() => {}
            "cmd" => request.cmd = strings(&k, &v)?,
            "args" => request.args = strings(&k, &v)?,
            "notebook_dir" => request.notebook_dir = strings(&k, &v)?.concat(),
            "default_url" => request.set_env("JUPYTERHUB_DEFAULT_URL", strings(&k, &v)?.concat()),
            "environment" => {
                let Value::Object(vars) = v else {
                    return Err("environment must be a dict".into());
                };
                // Also for spawners that build the environment themselves (KubeSpawner
                // expands it again and takes dict values as whole EnvVars).
                request
                    .overrides
                    .insert(k.clone(), Value::Object(vars.clone()));
                for (name, value) in vars {
                    let value = match value {
                        // None removes a configured variable, as KubeSpawner's merge does.
                        Value::Null => {
                            request.env.retain(|(k, _)| *k != name);
                            continue;
                        }
                        Value::String(s) => expand(&s),
                        other => other.to_string(),
                    };
                    request.set_env(&name, value);
                }
            }
            "mem_limit" => request.resources.mem_limit = bytes(&k, &v)?,
            "mem_guarantee" => request.resources.mem_guarantee = bytes(&k, &v)?,
            "cpu_limit" => request.resources.cpu_limit = cpus(&k, &v)?,
            "cpu_guarantee" => request.resources.cpu_guarantee = cpus(&k, &v)?,
            _ => {
                request.overrides.insert(k, v);
            }
        }
    }
    Ok(())
}

/// KubeSpawner's `_apply_overrides`: dicts merge recursively, anything else replaces. A `None`
/// is kept as it is: applied, it unsets the trait (a memory limit) or, inside a dict (the
/// environment), removes that key from the configured value.
fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => merge(old, new),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Every string of an unlisted choice's override (keys and values, recursively) with
/// `{value}` replaced by the person's text.
fn substitute(m: &Map<String, Value>, typed: &str) -> Map<String, Value> {
    fn walk(v: &Value, typed: &str) -> Value {
        match v {
            Value::String(s) => Value::String(s.replace("{value}", typed)),
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, typed)).collect()),
            Value::Object(m) => Value::Object(substitute(m, typed)),
            other => other.clone(),
        }
    }
    m.iter()
        .map(|(k, v)| (k.replace("{value}", typed), walk(v, typed)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Profiles {
        Profiles::parse(&json!([
            {"display_name": "Demo - profile_list entry 1", "description": "small",
             "kubespawner_override": {"environment": {"A": "1", "B": "2"}, "cpu_limit": 1}},
            {"display_name": "GPU", "slug": "gpu", "default": true,
             "kubespawner_override": {"mem_limit": "8G"},
             "profile_options": {
                "image": {"display_name": "Image", "choices": {
                    "minimal": {"display_name": "Minimal", "kubespawner_override": {"image": "m:1"}},
                    "scipy": {"display_name": "SciPy", "default": true, "kubespawner_override": {"image": "s:1", "environment": {"B": null}}}},
                  "unlisted_choice": {"enabled": true, "display_name": "Other image", "validation_regex": "^quay\\.io/",
                    "validation_message": "Images must come from quay.io", "kubespawner_override": {"image": "{value}"}}}}}
        ]))
        .unwrap()
    }

    #[test]
    fn slugs_follow_python_slugify() {
        assert_eq!(
            slugify("Demo - profile_list entry 1"),
            "demo-profile-list-entry-1"
        );
        assert_eq!(slugify("  Ünïcode GPU!! "), "unicode-gpu");
        let p = sample();
        assert_eq!(p.list[0].slug, "demo-profile-list-entry-1");
        assert!(
            !p.list[0].default && p.list[1].default,
            "an explicit default wins over the first"
        );
    }

    #[test]
    fn forms_become_kubespawner_user_options() {
        let fields: Vec<(String, String)> = [
            ("profile", "gpu"),
            ("profile-option-gpu--image", "minimal"),
            ("profile-option-other--image", "x"),
            ("unrelated", "y"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            sample().options_from_form(&fields),
            json!({"profile": "gpu", "image": "minimal"})
        );
    }

    #[test]
    fn overrides_merge_in_order_and_none_deletes() {
        let p = sample();
        let chosen = p.resolve(&json!({})).unwrap().unwrap();
        assert_eq!(chosen.slug, "gpu");
        assert_eq!(
            Value::Object(chosen.overrides),
            json!({"mem_limit": "8G", "image": "s:1", "environment": {"B": null}}),
            "a None stays, to remove the configured value when applied"
        );
        let first = p
            .resolve(&json!({"profile": "demo-profile-list-entry-1"}))
            .unwrap()
            .unwrap();
        assert_eq!(first.overrides["environment"], json!({"A": "1", "B": "2"}));
        let typed = p
            .resolve(&json!({"profile": "gpu", "image--unlisted-choice": "quay.io/me/img:2"}))
            .unwrap()
            .unwrap();
        assert_eq!(typed.overrides["image"], "quay.io/me/img:2");
    }

    #[test]
    fn bad_choices_are_refused_in_words() {
        let p = sample();
        let e = p.resolve(&json!({"profile": "cpu"})).unwrap_err();
        assert_eq!(
            e,
            "No such profile: cpu. Options include: demo-profile-list-entry-1, gpu"
        );
        let e = p
            .resolve(&json!({"profile": "gpu", "image--unlisted-choice": "docker.io/evil"}))
            .unwrap_err();
        assert_eq!(e, "Images must come from quay.io");
        assert!(p
            .resolve(&json!({"profile": "gpu", "image": "nope"}))
            .is_err());
        assert_eq!(
            Profiles::default().resolve(&json!({"profile": "x"})),
            Ok(None)
        );
    }

    #[test]
    fn broken_lists_are_refused_at_startup() {
        assert!(Profiles::parse(&json!([{"slug": "x"}])).is_err());
        assert!(Profiles::parse(&json!([{"display_name": "A"}, {"display_name": "a"}])).is_err());
        assert!(Profiles::parse(&json!("nope")).is_err());
        let dict =
            Profiles::parse(&json!({"b": {"display_name": "B"}, "a": {"display_name": "A"}}))
                .unwrap();
        assert_eq!(
            dict.list[0].slug, "a",
            "a dict's profiles come in key order"
        );
    }
}
