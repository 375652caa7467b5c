//! Error responses as CHP gives them: a page from `--error-target` (`GET <target><code>?url=...`,
//! relaying its body, content-type and content-encoding), else `<code>.html` / `error.html`
//! from `--error-path`, else a built-in page.

use crate::forward::{full, ProxyBody, Shared};
use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{Either, Empty};
use std::time::Duration;

const ERROR_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

fn builtin(code: StatusCode) -> String {
    let reason = code.canonical_reason().unwrap_or("Error");
    let detail = match code.as_u16() {
        404 => "No route matches this URL.",
        503 => "The server for this URL is not answering. It may be starting or stopped.",
        _ => "The proxy could not handle this request.",
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{c} {reason}</title></head>\n<body>\n<h1>{c}: {reason}</h1>\n<p>{detail}</p>\n</body>\n</html>\n",
        c = code.as_u16()
    )
}

fn default_page(code: StatusCode) -> Response<ProxyBody> {
    let mut resp = Response::new(full(builtin(code)));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html"),
    );
    resp
}

/// The response for a proxy error with `code`, for the request URL `url` (path and query).
pub async fn error_response(shared: &Shared, code: StatusCode, url: &str) -> Response<ProxyBody> {
    if let Some(target) = &shared.opts.error_target {
        let encoded: String =
            percent_encoding::utf8_percent_encode(url, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        let uri = format!("{target}{}?url={encoded}", code.as_u16());
        let fetched = async {
            let req = Request::get(&uri)
                .body(Either::Right(Empty::<Bytes>::new()))
                .map_err(|e| e.to_string())?;
            shared.client.request(req).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(ERROR_FETCH_TIMEOUT, fetched).await {
            Ok(Ok(upstream)) => {
                let (parts, body) = upstream.into_parts();
                let mut resp: Response<ProxyBody> =
                    Response::new(Either::Right(Either::Left(body)));
                *resp.status_mut() = code;
                for name in [header::CONTENT_TYPE, header::CONTENT_ENCODING] {
                    if let Some(v) = parts.headers.get(&name) {
                        resp.headers_mut().insert(name, v.clone());
                    }
                }
                return resp;
            }
            Ok(Err(e)) => tracing::error!("Failed to get custom error page: {e}"),
            Err(_) => tracing::error!("Failed to get custom error page: timed out"),
        }
        return default_page(code);
    }
    if let Some(dir) = &shared.opts.error_path {
        for name in [format!("{}.html", code.as_u16()), "error.html".to_owned()] {
            if let Ok(data) = tokio::fs::read(dir.join(&name)).await {
                let mut resp = Response::new(full(data));
                *resp.status_mut() = code;
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/html"),
                );
                return resp;
            }
        }
        tracing::error!("No error file for {} in {}", code.as_u16(), dir.display());
    }
    default_page(code)
}
