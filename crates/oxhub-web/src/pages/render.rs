//! Pages from Jinja templates on minijinja, with JupyterHub's override contract (pages.md §1):
//! `JupyterHub.template_paths` are searched first and the built-in templates (embedded in the
//! binary) last, and the built-ins are also reachable as `templates/<name>`, so a custom
//! `page.html` can `{% extends "templates/page.html" %}`.
//!
//! A handler answers with [`render`]: the status, the template's name and the handler's own
//! variables, carried on the response. The [`finish`] layer renders it, once the handler is
//! done, with the namespace every page gets (`namespace.rs`: the viewer, the nav bar's links,
//! `template_vars`, announcements), so error pages raised anywhere look like the rest.

use super::namespace;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use minijinja::{Environment, Error, ErrorKind};
use oxhub_core::Hub;
use serde_json::Value;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

const BUILTIN: &[(&str, &str)] = &[
    ("page.html", include_str!("../../templates/page.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("logout.html", include_str!("../../templates/logout.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("spawn.html", include_str!("../../templates/spawn.html")),
    (
        "spawn_pending.html",
        include_str!("../../templates/spawn_pending.html"),
    ),
    (
        "stop_pending.html",
        include_str!("../../templates/stop_pending.html"),
    ),
    (
        "not_running.html",
        include_str!("../../templates/not_running.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("404.html", include_str!("../../templates/404.html")),
    ("oauth.html", include_str!("../../templates/oauth.html")),
    ("signup.html", include_str!("../../templates/signup.html")),
    ("token.html", include_str!("../../templates/token.html")),
    ("admin.html", include_str!("../../templates/admin.html")),
    (
        "admin_groups.html",
        include_str!("../../templates/admin_groups.html"),
    ),
    (
        "accept-share.html",
        include_str!("../../templates/accept-share.html"),
    ),
    (
        "authorize.html",
        include_str!("../../templates/authorize.html"),
    ),
    (
        "change-password.html",
        include_str!("../../templates/change-password.html"),
    ),
];

fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A template name that stays inside the directory it is looked up in.
fn plain_relative(name: &str) -> bool {
    !name.contains('\\')
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The template environment of the hub: built once from the configuration.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new(template_paths: &[String]) -> Templates {
        let dirs: Vec<PathBuf> = template_paths.iter().map(PathBuf::from).collect();
        let mut env = Environment::new();
        env.set_loader(move |name| {
            if let Some(stock) = name.strip_prefix("templates/") {
                return Ok(builtin(stock).map(str::to_owned));
            }
            if !plain_relative(name) {
                return Ok(None);
            }
            for dir in &dirs {
                let path = dir.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(text) => return Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("reading {}: {e}", path.display()),
                        ))
                    }
                }
            }
            Ok(builtin(name).map(str::to_owned))
        });
        // Python's string methods (`.lower()`, `.replace()`, …) as Jinja templates call them;
        // and `.isoformat()` on the timestamps, which reach templates already as ISO strings.
        env.set_unknown_method_callback(|state, value, method, args| {
            if method == "isoformat" && args.is_empty() && value.as_str().is_some() {
                return Ok(value.clone());
            }
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
        });
        // `static_url(path)`: the asset's versioned URL under the hub's prefix.
        env.add_function(
            "static_url",
            |state: &minijinja::State, path: String| -> String {
                let prefix = state
                    .lookup("prefix")
                    .and_then(|b| b.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "/".into());
                super::assets::static_url(&prefix, &path)
            },
        );
        Templates { env }
    }

    /// Compile every template a page can use (the built-in names, as the configured paths
    /// resolve them), so a broken override stops the hub at startup, naming its file and line.
    pub fn check(&self) -> Result<(), String> {
        for (name, _) in BUILTIN {
            if let Err(e) = self.env.get_template(name) {
                return Err(describe(&e));
            }
        }
        Ok(())
    }

    fn exists(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// An error of a template as a person reads it: `file:line: what`.
fn describe(e: &Error) -> String {
    let mut out = match (e.name(), e.line()) {
        (Some(n), Some(l)) => format!("template {n}:{l}: {}", e.kind()),
        (Some(n), None) => format!("template {n}: {}", e.kind()),
        _ => format!("template: {}", e.kind()),
    };
    if let Some(d) = e.detail() {
        out.push_str(": ");
        out.push_str(d);
    }
    out
}

/// A page a handler asked for, rendered by [`finish`].
#[derive(Debug, Clone)]
pub(crate) struct PendingPage {
    pub template: String,
    pub context: Value,
}

/// Answer with `template` rendered with `context` (a JSON object whose keys override the
/// common namespace) at `status`.
pub fn render(status: StatusCode, template: &str, context: Value) -> Response {
    let mut resp = status.into_response();
    resp.extensions_mut().insert(PendingPage {
        template: template.to_owned(),
        context,
    });
    resp
}

/// A 302 to `to`.
pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(http::header::LOCATION, to.to_owned())]).into_response()
}

/// An error page with JupyterHub's layout (`<code> : <reason>` and a message); `user` is
/// the name the header shows (none: the viewer's, from the login cookie).
pub fn error_page(user: Option<&str>, status: StatusCode, message: &str) -> Response {
    let mut ctx = serde_json::json!({
        "status_code": status.as_u16(),
        "status_message": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    });
    if let (Some(u), Value::Object(m)) = (user, &mut ctx) {
        m.insert("user".into(), Value::from(u));
    }
    render(status, "error.html", ctx)
}

/// What the [`finish`] layer needs: the hub and its templates.
pub struct Shell {
    pub hub: Arc<Hub>,
    pub templates: Templates,
}

/// Render the page a handler answered with (see [`render`]). An error page is looked up as
/// `<status>.html` first, then `error.html`, as JupyterHub does.
pub async fn finish(State(shell): State<Arc<Shell>>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let mut resp = next.run(req).await;
    let Some(page) = resp.extensions_mut().remove::<PendingPage>() else {
        return resp;
    };
    let status = resp.status();
    let mut template = page.template.clone();
    if template == "error.html" {
        let specific = format!("{}.html", status.as_u16());
        if shell.templates.exists(&specific) {
            template = specific;
        }
    }
    let ctx = namespace::build(&shell.hub, &headers, &page.template, &page.context).await;
    match shell.templates.render(&template, ctx) {
        Ok(html) => {
            let (mut parts, _) = resp.into_parts();
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            parts.headers.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
            Response::from_parts(parts, Body::from(html))
        }
        Err(e) => {
            tracing::error!("rendering {template}: {}", describe(&e));
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::response::Html("<!DOCTYPE html><html lang=\"en\"><title>500</title><h1>500 : Internal Server Error</h1><p>A page template failed; the hub's log has the details.</p></html>".to_owned()),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_template_compiles() {
        Templates::new(&[]).check().unwrap();
    }

    #[test]
    fn overrides_come_first_and_reach_the_stock_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("page.html"),
            "{% extends \"templates/page.html\" %}{% block header %}<div id=banner>Custom</div>{% endblock %}",
        )
        .unwrap();
        let t = Templates::new(&[dir.path().display().to_string()]);
        let ctx = minijinja::context! { prefix => "/", base_url => "/hub/" };
        let html = t.render("error.html", ctx).unwrap();
        assert!(html.contains("<div id=banner>Custom</div>"), "{html}");
        // The stock template itself is not shadowed under its `templates/` name.
        let html = t
            .render("templates/page.html", minijinja::context! {})
            .unwrap();
        assert!(!html.contains("banner"));
    }

    #[test]
    fn template_names_cannot_leave_the_template_directories() {
        for bad in [
            "../secret.html",
            "/etc/passwd",
            "a/../../b.html",
            "a\\..\\b.html",
        ] {
            assert!(!plain_relative(bad), "{bad}");
        }
        assert!(plain_relative("custom/login.html"));
    }

    #[test]
    fn a_broken_override_is_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("login.html"), "line one\n{% if %}\n").unwrap();
        let err = Templates::new(&[dir.path().display().to_string()])
            .check()
            .unwrap_err();
        assert!(err.contains("login.html:2"), "{err}");
    }

    #[test]
    fn python_string_methods_work_in_templates() {
        let t = Templates::new(&[]);
        let mut env = t.env.clone();
        env.add_template(
            "t.html",
            "{{ s.lower() }} {{ s.replace('A', 'b') }} {{ ts.isoformat() }}",
        )
        .unwrap();
        let out = env
            .get_template("t.html")
            .unwrap()
            .render(minijinja::context! { s => "ABC", ts => "2026-01-01T00:00:00Z" })
            .unwrap();
        assert_eq!(out, "abc bBC 2026-01-01T00:00:00Z");
    }
}
