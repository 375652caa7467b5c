//! configurable-http-proxy's REST API (`shared/reference/proxy-api.md` §1) on its own listener.

use crate::clock;
use crate::table::{clean_key, RouteTable, Target};
use crate::Options;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

/// Largest route body accepted.
const MAX_BODY: usize = 1 << 20;

type ApiResponse = Response<Full<Bytes>>;

pub async fn serve(listener: TcpListener, table: Arc<RouteTable>, opts: Arc<Options>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("API accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let table = Arc::clone(&table);
        let opts = Arc::clone(&opts);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let table = Arc::clone(&table);
                let opts = Arc::clone(&opts);
                async move { Ok::<_, Infallible>(handle(&table, &opts, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(code: StatusCode, body: impl Into<Bytes>) -> ApiResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = code;
    r
}

fn fail(code: StatusCode, msg: &str) -> ApiResponse {
    let text = if msg.is_empty() {
        code.canonical_reason().unwrap_or("")
    } else {
        msg
    };
    reply(code, text.to_owned())
}

fn json(value: &Value) -> ApiResponse {
    let mut r = reply(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
    );
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// CHP's check: `Authorization` must contain `token <value>` with the configured value.
fn authorized(opts: &Options, req: &Request<Incoming>) -> bool {
    let Some(expected) = &opts.auth_token else {
        return true;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let at = v.find("token")?;
            let rest = &v[at + 5..];
            let trimmed = rest.trim_start();
            if trimmed.len() == rest.len() {
                return None; // `token` must be followed by whitespace
            }
            trimmed.split_whitespace().next()
        });
    given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

async fn handle(table: &RouteTable, opts: &Options, req: Request<Incoming>) -> ApiResponse {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = route(table, opts, req).await;
    let code = resp.status().as_u16();
    if code < 400 {
        tracing::info!("{code} {method} {path}");
    } else if code < 500 {
        tracing::warn!("{code} {method} {path}");
    } else {
        tracing::error!("{code} {method} {path}");
    }
    resp
}

async fn route(table: &RouteTable, opts: &Options, req: Request<Incoming>) -> ApiResponse {
    let Some(rest) = req.uri().path().strip_prefix("/api/routes") else {
        return fail(StatusCode::NOT_FOUND, "");
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return fail(StatusCode::NOT_FOUND, "");
    }
    if !matches!(*req.method(), Method::GET | Method::POST | Method::DELETE) {
        return fail(StatusCode::METHOD_NOT_ALLOWED, "Method not supported");
    }
    if !authorized(opts, &req) {
        tracing::debug!("Rejecting API request without a valid token");
        return reply(StatusCode::FORBIDDEN, Bytes::new());
    }
    let path = match percent_encoding::percent_decode_str(rest).decode_utf8() {
        Ok(p) => p.into_owned(),
        Err(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "Route path is not valid UTF-8 after percent-decoding",
            )
        }
    };
    if let Err(why) = crate::table::check_key(&path) {
        return fail(StatusCode::BAD_REQUEST, &why);
    }
    let query = req.uri().query().map(str::to_owned);
    match *req.method() {
        Method::GET => get(table, &path, query.as_deref()),
        Method::DELETE => {
            let key = clean_key(if path.is_empty() { "/" } else { &path });
            if table.remove(&key) {
                tracing::info!("Removing route {key}");
                reply(StatusCode::NO_CONTENT, Bytes::new())
            } else {
                reply(StatusCode::NOT_FOUND, Bytes::new())
            }
        }
        _ => post(table, opts, &path, req).await,
    }
}

fn get(table: &RouteTable, path: &str, query: Option<&str>) -> ApiResponse {
    if !path.is_empty() && path != "/" {
        return match table.get(&clean_key(path)) {
            Some(route) => json(&route.to_json()),
            None => reply(StatusCode::NOT_FOUND, Bytes::new()),
        };
    }
    let mut since = None;
    if let Some(q) = query {
        let params: Vec<(String, String)> = q
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (decode(k), decode(v))
            })
            .collect();
        let value = params
            .iter()
            .find(|(k, v)| k == "inactiveSince" && !v.is_empty())
            .or_else(|| {
                params
                    .iter()
                    .find(|(k, v)| k == "inactive_since" && !v.is_empty())
            })
            .map(|(_, v)| v.clone());
        if let Some(v) = value {
            match clock::parse_iso8601(&v) {
                Some(ms) => since = Some(ms),
                None => {
                    return fail(
                        StatusCode::BAD_REQUEST,
                        &format!("Invalid datestamp '{v}' must be ISO8601."),
                    )
                }
            }
        }
    }
    let mut out = Map::new();
    for route in table.all() {
        if since.is_none_or(|s| route.last_activity_ms() < s) {
            out.insert(route.key.clone(), route.to_json());
        }
    }
    json(&Value::Object(out))
}

async fn post(
    table: &RouteTable,
    opts: &Options,
    path: &str,
    req: Request<Incoming>,
) -> ApiResponse {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return fail(StatusCode::PAYLOAD_TOO_LARGE, "Body too large"),
    };
    let data: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("Body not valid JSON: {e}"),
            )
        }
    };
    // CHP: `JSON.parse(body) || {}`, then `target` must be a string.
    let mut data = match data {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let Some(target) = data
        .get("target")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        tracing::warn!("Bad POST data: {}", String::from_utf8_lossy(&body));
        return fail(StatusCode::BAD_REQUEST, "Must specify 'target' as string");
    };
    let parsed = match Target::parse(&target) {
        Ok(t) => t,
        Err(e) => return fail(StatusCode::BAD_REQUEST, &e),
    };
    let key = clean_key(if path.is_empty() { "/" } else { path });
    if opts.host_routing && key != "/" {
        let host = key.split('/').nth(1).unwrap_or("").to_owned();
        data.insert("host".into(), Value::String(host));
    }
    tracing::info!("Adding route {key} -> {target}");
    table.add(key, parsed, data);
    reply(StatusCode::CREATED, Bytes::new())
}
