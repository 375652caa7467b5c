//! `/hub/static/…` and `/hub/logo`: assets embedded in the binary, looked up by exact path in a
//! fixed table (so no path — `..`, `%2e%2e`, `%2f`, backslashes — can ever reach a file), with
//! a content hash for `?v=` (a versioned URL may be cached for a year; an unversioned one is
//! revalidated), and `JupyterHub.logo_file` for the logo.

use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use oxhub_core::Hub;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "js/admin.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/admin.js"),
    },
    Asset {
        path: "js/home.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/home.js"),
    },
    Asset {
        path: "js/spawn.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/spawn.js"),
    },
    Asset {
        path: "js/spawn_pending.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/js/spawn_pending.js"),
    },
    Asset {
        path: "css/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/css/style.css"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
    Asset {
        path: "favicon.ico",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
    Asset {
        path: "images/logo.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/logo.svg"),
    },
];

/// Each asset's content hash (hex SHA-256), computed once.
fn versions() -> &'static HashMap<&'static str, String> {
    static V: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    V.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| (a.path, hex::encode(Sha256::digest(a.body))))
            .collect()
    })
}

/// `static_url(path)` as templates call it: `<base>hub/static/<path>?v=<hash>` (no `?v=` for a
/// path that is not an embedded asset).
pub(crate) fn static_url(base: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    match versions().get(path) {
        Some(v) => format!("{base}hub/static/{path}?v={v}"),
        None => format!("{base}hub/static/{path}"),
    }
}

/// A versioned URL never changes; anything else is revalidated.
const VERSIONED: &str = "public, max-age=31536000, immutable";
const UNVERSIONED: &str = "no-cache";

fn serve(asset: &Asset, cache: &'static str) -> Response {
    let mut resp = asset.body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(v) = versions()
        .get(asset.path)
        .and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok())
    {
        h.insert(header::ETAG, v);
    }
    resp
}

fn not_found() -> Response {
    crate::PageError::new(None, StatusCode::NOT_FOUND, "Page not found").into_response()
}

/// `GET /hub/static/<path>`: the path exactly as the request wrote it (never decoded).
pub(super) async fn asset(State(hub): State<Arc<Hub>>, OriginalUri(uri): OriginalUri) -> Response {
    let prefix = format!("{}hub/static/", hub.config.hub.base_url);
    let Some(path) = uri.path().strip_prefix(&prefix) else {
        return not_found();
    };
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => {
            let versioned = uri
                .query()
                .is_some_and(|q| q.split('&').any(|p| p.starts_with("v=")));
            serve(a, if versioned { VERSIONED } else { UNVERSIONED })
        }
        None => not_found(),
    }
}

/// `GET /hub/favicon.ico`: the icon browsers ask for on every page, from the same table,
/// kept for a day.
pub(super) async fn favicon() -> Response {
    match ASSETS.iter().find(|a| a.path == "favicon.ico") {
        Some(a) => serve(a, "max-age=86400"),
        None => not_found(),
    }
}

/// `GET /hub/logo`: `JupyterHub.logo_file` when set (read at each request, as upstream), else
/// the built-in logo.
pub(super) async fn logo(State(hub): State<Arc<Hub>>) -> Response {
    let file = &hub.config.hub.logo_file;
    if !file.is_empty() {
        match tokio::fs::read(file).await {
            Ok(bytes) => {
                let ext = std::path::Path::new(file)
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let content_type = match ext.as_str() {
                    "svg" => "image/svg+xml",
                    "png" => "image/png",
                    "jpg" | "jpeg" => "image/jpeg",
                    "gif" => "image/gif",
                    "webp" => "image/webp",
                    _ => "application/octet-stream",
                };
                let mut resp = bytes.into_response();
                resp.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                return resp;
            }
            Err(e) => tracing::warn!("JupyterHub.logo_file {file}: {e}; using the built-in logo"),
        }
    }
    match ASSETS.iter().find(|a| a.path == "images/logo.svg") {
        Some(a) => serve(a, UNVERSIONED),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_urls_carry_the_content_hash() {
        let url = static_url("/", "css/style.css");
        let (path, v) = url.split_once("?v=").unwrap();
        assert_eq!(path, "/hub/static/css/style.css");
        assert_eq!(v.len(), 64);
        assert_eq!(static_url("/x/", "nope.js"), "/x/hub/static/nope.js");
    }
}
