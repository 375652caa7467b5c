//! The data plane: accept connections (plain or TLS), route each request by longest prefix,
//! forward it with streaming bodies over pooled keep-alive connections, and pass websocket
//! upgrades through as raw byte streams. Errors become CHP's 404/503/500 responses.

use crate::pages;
use crate::table::{Route, RouteTable};
use crate::Options;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{Either, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Largest request head (request line + headers) accepted; larger gets 431. hyper's own
/// buffer limit (`max_buf_size`) closes connections whose head is larger still.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A body that records activity on its route whenever data flows through it.
pub struct ActivityBody {
    inner: Incoming,
    route: Arc<Route>,
    /// A frame read ahead (the first of a chunked request body, checked before forwarding).
    first: Option<Frame<Bytes>>,
    /// Set when reading the body failed: the client sent a malformed body.
    failed: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl ActivityBody {
    fn new(inner: Incoming, route: Arc<Route>) -> ActivityBody {
        ActivityBody {
            inner,
            route,
            first: None,
            failed: None,
        }
    }
}

impl Body for ActivityBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(frame) = self.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) if frame.is_data() => self.route.touch(),
            Poll::Ready(Some(Err(_))) => {
                if let Some(failed) = &self.failed {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Bodies sent to backends: a client's request body, or nothing (error-page fetches).
pub type ClientBody = Either<ActivityBody, Empty<Bytes>>;
/// Bodies sent to clients: a backend's response, a relayed error page, or a fixed body.
pub type ProxyBody = Either<ActivityBody, Either<Incoming, Full<Bytes>>>;

pub fn full(data: impl Into<Bytes>) -> ProxyBody {
    Either::Right(Either::Right(Full::new(data.into())))
}

pub struct Shared {
    pub table: Arc<RouteTable>,
    pub opts: Arc<Options>,
    pub client: Client<crate::backend::Connector, ClientBody>,
    /// Whether the public listener terminates TLS (X-Forwarded-Proto, default port 443).
    tls: bool,
}

impl Shared {
    pub fn new(table: Arc<RouteTable>, opts: Arc<Options>, tls: bool) -> Arc<Shared> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(20)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(crate::backend::Connector(connector));
        Arc::new(Shared {
            table,
            opts,
            client,
            tls,
        })
    }
}

/// The answer to a malformed request; the connection is closed after it.
fn bad_request() -> Response<ProxyBody> {
    let mut resp = Response::new(full("Bad Request"));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Accept loop of the public listener.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => serve_connection(stream, remote, shared).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {remote} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {remote} timed out"),
                    }
                }
                None => serve_connection(stream, remote, shared).await,
            }
        });
    }
}

async fn serve_connection<S>(stream: S, remote: SocketAddr, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = shared.opts.header_timeout;
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(shared, req, remote).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .max_buf_size(4 * MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!("connection from {remote}: {e}");
    }
}

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers.get_all(header::CONNECTION).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
        })
}

fn remove_connection_headers(headers: &mut HeaderMap) {
    // Headers named in Connection are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .filter_map(|t| HeaderName::try_from(t.trim()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// `http-proxy`'s urlJoin: target path + request path, runs of `/` collapsed, query kept.
fn join_path(target_path: &str, path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut joined = String::with_capacity(target_path.len() + path_and_query.len() + 1);
    let mut last_slash = false;
    for ch in target_path
        .chars()
        .chain(std::iter::once('/'))
        .chain(path.chars())
    {
        if ch == '/' {
            if last_slash {
                continue;
            }
            last_slash = true;
        } else {
            last_slash = false;
        }
        joined.push(ch);
    }
    if let Some(q) = query {
        joined.push('?');
        joined.push_str(q);
    }
    joined
}

fn add_forwarded(headers: &mut HeaderMap, name: &'static str, value: &str) {
    let name = HeaderName::from_static(name);
    let combined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.is_empty() => format!("{prev},{value}"),
        _ => value.to_owned(),
    };
    if let Ok(v) = HeaderValue::try_from(combined) {
        headers.insert(name, v);
    }
}

/// Handle one request on the public listener.
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    remote: SocketAddr,
) -> Response<ProxyBody> {
    if req.uri().path() == "/_chp_healthz" && req.uri().query().is_none() {
        let mut resp = Response::new(full(r#"{"status": "OK"}"#));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return resp;
    }
    let head_bytes: usize = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len())
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head_bytes > MAX_HEAD_BYTES {
        tracing::warn!(
            "431 {} {} request head of {head_bytes} bytes",
            req.method(),
            req.uri().path()
        );
        let mut resp = Response::new(full("Request Header Fields Too Large"));
        *resp.status_mut() = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    let url = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let decoded: Cow<'_, str> = if req.uri().path().contains('%') {
        percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy()
    } else {
        Cow::Borrowed(req.uri().path())
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let route = if shared.opts.host_routing {
        let hostname = host
            .as_deref()
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("");
        shared.table.lookup(&format!("/{hostname}{decoded}"))
    } else {
        shared.table.lookup(&decoded)
    };
    let Some(route) = route else {
        tracing::warn!("404 {} {} no route", req.method(), req.uri().path());
        return pages::error_response(&shared, StatusCode::NOT_FOUND, &url).await;
    };
    if route.target.https {
        tracing::error!(
            "503 {} {} https targets are not supported by oxhub proxy ({})",
            req.method(),
            req.uri().path(),
            route.key
        );
        return pages::error_response(&shared, StatusCode::SERVICE_UNAVAILABLE, &url).await;
    }

    // The outgoing URI.
    let forwarded_pq = if shared.opts.include_prefix {
        url.clone()
    } else {
        let prefix_len = route.key.len().min(url.len());
        let rest = url.get(prefix_len..).unwrap_or("");
        if rest.starts_with('/') || rest.starts_with('?') {
            rest.to_owned()
        } else {
            format!("/{rest}")
        }
    };
    let path = if shared.opts.prepend_path {
        join_path(&route.target.path, &forwarded_pq)
    } else {
        join_path("", &forwarded_pq)
    };
    let uri = match Uri::builder()
        .scheme("http")
        .authority(route.target.authority.as_str())
        .path_and_query(path)
        .build()
    {
        Ok(uri) => uri,
        Err(e) => {
            tracing::error!(
                "500 {} {} cannot build the target URL: {e}",
                req.method(),
                req.uri().path()
            );
            return pages::error_response(&shared, StatusCode::INTERNAL_SERVER_ERROR, &url).await;
        }
    };

    // Headers.
    let upgrade = is_upgrade(req.headers());
    // Read before the hop-by-hop headers go.
    let chunked = req
        .headers()
        .get(header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    if !upgrade {
        remove_connection_headers(&mut parts.headers);
    }
    if shared.opts.x_forward {
        let port = host
            .as_deref()
            .and_then(|h| h.rsplit_once(':').map(|(_, p)| p.to_owned()))
            .filter(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
            .unwrap_or_else(|| {
                if shared.tls {
                    "443".into()
                } else {
                    "80".into()
                }
            });
        add_forwarded(
            &mut parts.headers,
            "x-forwarded-for",
            &remote.ip().to_canonical().to_string(),
        );
        add_forwarded(&mut parts.headers, "x-forwarded-port", &port);
        add_forwarded(
            &mut parts.headers,
            "x-forwarded-proto",
            if shared.tls { "https" } else { "http" },
        );
        if !parts.headers.contains_key("x-forwarded-host") {
            let h = HeaderValue::try_from(host.clone().unwrap_or_default())
                .unwrap_or(HeaderValue::from_static(""));
            parts
                .headers
                .insert(HeaderName::from_static("x-forwarded-host"), h);
        }
    }
    for (name, value) in &shared.opts.custom_headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    if shared.opts.change_origin {
        if let Ok(v) = HeaderValue::try_from(route.target.authority.as_str()) {
            parts.headers.insert(header::HOST, v);
        }
    }
    let method = parts.method.clone();
    parts.uri = uri;
    parts.version = http::Version::HTTP_11;
    let mut body = ActivityBody::new(body, Arc::clone(&route));
    // Only a request with a body can fail to send one (a GET, the common case, has none).
    let body_failed =
        (!body.inner.is_end_stream()).then(|| Arc::new(std::sync::atomic::AtomicBool::new(false)));
    body.failed = body_failed.clone();
    // A chunked body is checked up to its first chunk before the backend sees anything: a
    // malformed one (a bad chunk-size line) is the client's error, 400, not a backend's 503.
    if chunked && !upgrade {
        use http_body_util::BodyExt;
        match body.inner.frame().await {
            Some(Ok(frame)) => body.first = Some(frame),
            Some(Err(e)) => {
                tracing::warn!(
                    "400 {method} {}: malformed request body: {e}",
                    url.split('?').next().unwrap_or("")
                );
                return bad_request();
            }
            None => {}
        }
    }
    let out = Request::from_parts(parts, Either::Left(body));

    let sent = shared.client.request(out);
    let result = match shared.opts.proxy_timeout {
        Some(t) => match tokio::time::timeout(t, sent).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", t.as_millis())),
        },
        None => sent.await.map_err(|e| e.to_string()),
    };
    let mut resp = match result {
        Ok(resp) => resp,
        Err(e)
            if body_failed
                .as_ref()
                .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) =>
        {
            tracing::warn!(
                "400 {method} {}: malformed request body ({e})",
                url.split('?').next().unwrap_or("")
            );
            return bad_request();
        }
        Err(e) => {
            tracing::error!("503 {method} {} {e}", url.split('?').next().unwrap_or(""));
            return pages::error_response(&shared, StatusCode::SERVICE_UNAVAILABLE, &url).await;
        }
    };

    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let backend_upgrade = hyper::upgrade::on(&mut resp);
            let route = Arc::clone(&route);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, backend_upgrade) {
                    Ok((client, backend)) => {
                        pipe(TokioIo::new(client), TokioIo::new(backend), route).await
                    }
                    Err(e) => tracing::debug!("websocket upgrade failed: {e}"),
                }
            });
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, full(Bytes::new()));
        }
    }
    // As CHP: only successful responses count as activity, so a flood of 404s or 503s does not
    // make a server look busy; a long successful download keeps counting while it streams.
    let (mut parts, body) = resp.into_parts();
    remove_connection_headers(&mut parts.headers);
    if parts.status.as_u16() < 300 {
        route.touch();
        Response::from_parts(parts, Either::Left(ActivityBody::new(body, route)))
    } else {
        Response::from_parts(parts, Either::Right(Either::Left(body)))
    }
}

/// Copy both directions of an upgraded connection until either side closes, recording
/// activity on every chunk.
async fn pipe<A, B>(client: A, backend: B, route: Arc<Route>)
where
    A: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client_read, client_write) = tokio::io::split(client);
    let (backend_read, backend_write) = tokio::io::split(backend);
    let up = copy_touching(client_read, backend_write, Arc::clone(&route));
    let down = copy_touching(backend_read, client_write, route);
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

async fn copy_touching<R, W>(mut from: R, mut to: W, route: Arc<Route>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        route.touch();
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_join_like_http_proxy() {
        assert_eq!(join_path("", "/user/alice/api?x=1"), "/user/alice/api?x=1");
        assert_eq!(join_path("/hub", "/user/a"), "/hub/user/a");
        assert_eq!(join_path("", "//a///b?c=//d"), "/a/b?c=//d");
        assert_eq!(join_path("", "/"), "/");
    }

    #[test]
    fn upgrade_detection() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(is_upgrade(&h));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!is_upgrade(&h));
    }
}
