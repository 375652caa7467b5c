//! Text generated from the trait table: `--help-all`, `generate-config`, and `show-config`.

use crate::error::Origin;
use crate::load::Loaded;
use crate::resolve::Resolved;
use crate::traits::{self, Dflt, CLASSES, RENAMED, TRAIT_TABLE};
use crate::value::Value;
use serde_json::{json, Map, Value as Json};
use std::fmt::Write as _;

fn default_text(d: Dflt) -> &'static str {
    match d {
        Dflt::Lit(lit) => lit,
        Dflt::Computed => "(computed at start-up)",
    }
}

/// `oxhub --help-all`: every trait with type, default and one line of help.
pub fn help_all() -> String {
    let mut out = String::new();
    out.push_str(
        "Every configurable trait. Set one in jupyterhub_config.py as c.Class.trait = value,\n",
    );
    out.push_str("or on the command line as --Class.trait=value. A trait set on a parent class\n");
    out.push_str("(e.g. Spawner) applies to its subclasses unless they set it themselves.\n");
    for class in CLASSES {
        let own: Vec<_> = TRAIT_TABLE
            .iter()
            .filter(|t| t.class == class.name)
            .collect();
        if own.is_empty() {
            continue;
        }
        let _ = write!(out, "\n{} options\n", class.name);
        if !class.parents.is_empty() {
            let parents = class.parents.join(" and ");
            let _ = writeln!(out, "  (also takes every {parents} option)");
        }
        out.push_str(&"-".repeat(class.name.len() + 8));
        out.push('\n');
        for t in own {
            let _ = writeln!(out, "--{}.{}=<{}>", t.class, t.name, t.ty.describe());
            let _ = writeln!(out, "    Default: {}", default_text(t.default));
            let _ = writeln!(out, "    {}", t.help);
        }
    }
    out.push_str("\nRenamed and retired traits (still read; mapped or ignored with a warning)\n");
    out.push_str("-------------------------------------------------------------------------\n");
    for r in RENAMED {
        match r.to {
            Some((c, n)) => {
                let _ = writeln!(out, "--{}.{} -> {c}.{n} ({})", r.class, r.name, r.note);
            }
            None => {
                let _ = writeln!(out, "--{}.{} ({})", r.class, r.name, r.note);
            }
        }
    }
    out.push_str("\nClass names accepted by authenticator_class, spawner_class and proxy_class\n");
    out.push_str("---------------------------------------------------------------------------\n");
    for imp in traits::IMPLEMENTATIONS {
        let _ = writeln!(
            out,
            "{:?} {}: {}",
            imp.kind,
            imp.class,
            imp.names.join(", ")
        );
    }
    out
}

/// `oxhub generate-config`: a commented file listing every trait at its default. Evaluating it
/// gives the default config; uncommenting any assignment line gives the same config too.
pub fn config_file() -> String {
    let mut out = String::new();
    out.push_str("# Configuration file for oxhub (a drop-in replacement for JupyterHub).\n");
    out.push_str("# Every trait is listed at its default, commented out. Uncomment and edit what you need.\n");
    out.push_str("# See `oxhub --help-all` for the same list, and `oxhub show-config` for the values in effect.\n\n");
    out.push_str("c = get_config()  # noqa\n");
    for class in CLASSES {
        let own: Vec<_> = TRAIT_TABLE
            .iter()
            .filter(|t| t.class == class.name)
            .collect();
        if own.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n#{}\n# {} configuration\n#{}\n",
            "-".repeat(78),
            class.name,
            "-".repeat(78)
        );
        if !class.parents.is_empty() {
            let parents = class.parents.join(" and ");
            let _ = writeln!(out, "# {} takes every {parents} option too.", class.name);
        }
        for t in own {
            out.push('\n');
            let _ = writeln!(out, "## {}", t.help);
            let _ = writeln!(out, "#  Type: {}", t.ty.describe());
            match t.default {
                Dflt::Lit(lit) => {
                    let _ = writeln!(out, "#  Default: {lit}");
                    let _ = writeln!(out, "# c.{}.{} = {lit}", t.class, t.name);
                }
                Dflt::Computed => {
                    let _ = writeln!(out, "#  Default: computed at start-up");
                    let _ = writeln!(out, "# c.{}.{} = ", t.class, t.name);
                }
            }
        }
    }
    out
}

const REDACTED: &str = "(redacted)";

/// A value as `show-config` prints it: secrets redacted, including passwords in URLs and
/// `api_token` keys inside service definitions.
pub fn redacted(class: &str, name: &str, value: &Value) -> Json {
    let secret = traits::lookup(class, name).is_some_and(|t| t.secret);
    if secret {
        return if value.truthy() {
            json!(REDACTED)
        } else {
            value.to_json()
        };
    }
    match (name, value) {
        ("db_url", Value::Str(url)) => json!(redact_url(url)),
        ("services", Value::List(items)) => Json::Array(
            items
                .iter()
                .map(|item| match item {
                    Value::Dict(pairs) => Json::Object(
                        pairs
                            .iter()
                            .map(|(k, v)| {
                                let key = k.as_str().map_or_else(|| k.repr(), str::to_owned);
                                let v = if matches!(
                                    key.as_str(),
                                    "api_token" | "oauth_client_secret"
                                ) {
                                    json!(REDACTED)
                                } else {
                                    v.to_json()
                                };
                                (key, v)
                            })
                            .collect(),
                    ),
                    other => other.to_json(),
                })
                .collect(),
        ),
        _ => value.to_json(),
    }
}

fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let masked = if userinfo.contains(':') {
        format!("{user}:{REDACTED}")
    } else {
        user.to_owned()
    };
    match path {
        Some(p) => format!("{scheme}://{masked}@{host}/{p}"),
        None => format!("{scheme}://{masked}@{host}"),
    }
}

fn entry(class: &str, r: &Resolved) -> Json {
    let mut m = Map::new();
    m.insert("value".into(), redacted(class, r.def.name, &r.value));
    m.insert("source".into(), json!(r.origin.to_string()));
    if let Some(on) = &r.set_on {
        if on != class {
            m.insert("set_on".into(), json!(on));
        }
    }
    Json::Object(m)
}

/// `oxhub show-config`: the effective configuration with where each value came from.
pub fn show_config(loaded: &Loaded) -> Json {
    let eff = &loaded.effective;
    let mut config = Map::new();
    let in_use = eff.classes_in_use();
    for class in &in_use {
        let mut traits_json = Map::new();
        for t in traits::traits_of(class) {
            if let Some(r) = eff.get(class, t.name) {
                traits_json.insert(t.name.to_owned(), entry(class, &r));
            }
        }
        config.insert((*class).to_owned(), Json::Object(traits_json));
    }
    // Values set on classes that are not in use: shown, since traitlets would silently drop them.
    let mut unused = Map::new();
    for (class, name, value, origin) in eff.set_values() {
        let used = in_use.iter().any(|c| traits::lineage(c).contains(&class));
        if !used {
            let section = unused
                .entry(class.to_owned())
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(m) = section {
                m.insert(
                    name.to_owned(),
                    json!({ "value": redacted(class, name, value), "source": origin.to_string() }),
                );
            }
        }
    }
    json!({
        "sources": loaded.sources,
        "selected": {
            "authenticator": eff.authenticator.class,
            "spawner": eff.spawner.class,
            "proxy": eff.proxy.class,
        },
        "warnings": loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "config": config,
        "set_on_classes_not_in_use": unused,
    })
}

/// Only the values that were set (no defaults), with their sources: compact, for tests and logs.
pub fn set_values_json(loaded: &Loaded) -> Json {
    let mut out = Map::new();
    for (class, name, value, origin) in loaded.effective.set_values() {
        let section = out
            .entry(class.to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if let Json::Object(m) = section {
            let source = match origin {
                Origin::File { at } => format!("{}:{}", at.line, at.col),
                other => other.to_string(),
            };
            m.insert(
                name.to_owned(),
                json!({ "value": redacted(class, name, value), "at": source }),
            );
        }
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact_url("postgresql://hub:s3cret@db:5432/hub"),
            "postgresql://hub:(redacted)@db:5432/hub"
        );
        assert_eq!(
            redact_url("sqlite:///jupyterhub.sqlite"),
            "sqlite:///jupyterhub.sqlite"
        );
        assert_eq!(
            redact_url("postgresql://hub@db/hub"),
            "postgresql://hub@db/hub"
        );
    }

    #[test]
    fn help_all_lists_every_trait() {
        let text = help_all();
        for t in TRAIT_TABLE {
            assert!(
                text.contains(&format!("--{}.{}=", t.class, t.name)),
                "{}.{}",
                t.class,
                t.name
            );
        }
    }
}
