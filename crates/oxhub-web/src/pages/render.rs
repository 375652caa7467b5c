//! HTML pages from minijinja templates embedded in the binary; page errors as HTML.

use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use minijinja::Environment;
use serde_json::Value;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("page.html", include_str!("../../templates/page.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("spawn.html", include_str!("../../templates/spawn.html")),
    (
        "spawn_pending.html",
        include_str!("../../templates/spawn_pending.html"),
    ),
    (
        "not_running.html",
        include_str!("../../templates/not_running.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("oauth.html", include_str!("../../templates/oauth.html")),
    ("signup.html", include_str!("../../templates/signup.html")),
    ("token.html", include_str!("../../templates/token.html")),
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

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            if let Err(e) = env.add_template(name, text) {
                tracing::error!("template {name}: {e}");
            }
        }
        // `static_url(path)`, as JupyterHub's templates call it: the asset's versioned URL
        // under the page's `base_url`.
        env.add_function(
            "static_url",
            |state: &minijinja::State, path: String| -> String {
                let base = state
                    .lookup("base_url")
                    .and_then(|b| b.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "/".into());
                super::assets::static_url(&base, &path)
            },
        );
        env
    })
}

/// A 302 to `to`.
pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(http::header::LOCATION, to.to_owned())]).into_response()
}

/// Render `template` with `context` (a JSON object); a template error is logged and
/// answered with a plain 500 page.
pub fn render(status: StatusCode, template: &str, context: Value) -> Response {
    let ctx = minijinja::Value::from_serialize(&context);
    match env().get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => {
            let mut resp = (status, Html(html)).into_response();
            resp.headers_mut().insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
            resp
        }
        Err(e) => {
            tracing::error!("rendering {template}: {e:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>500 : Internal Server Error</h1>".to_owned()),
            )
                .into_response()
        }
    }
}

/// An error page with JupyterHub's layout (`<code> : <reason>` and a message).
pub fn error_page(
    base_url: &str,
    user: Option<&str>,
    status: StatusCode,
    message: &str,
) -> Response {
    render(
        status,
        "error.html",
        serde_json::json!({
            "base_url": base_url,
            "user": user,
            "status_code": status.as_u16(),
            "status_message": status.canonical_reason().unwrap_or("Error"),
            "message": message,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_escapes() {
        for (name, _) in TEMPLATES {
            assert!(env().get_template(name).is_ok(), "{name}");
        }
        let resp = error_page("/", Some("<b>"), StatusCode::NOT_FOUND, "<script>");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}
