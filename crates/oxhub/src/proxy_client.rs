//! A client for configurable-http-proxy's REST API (the one `oxhub proxy` serves), used by
//! the hub to read and change the routing table.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use oxhub_plugin::proxy::{Proxy, ProxyError, Route};
use oxhub_plugin::BoxFuture;
use parking_lot::RwLock;
use std::time::Duration;

pub struct ChpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    settings: RwLock<(String, String)>,
}

impl ChpClient {
    /// `api_url` like `http://127.0.0.1:8001`; `auth_token` is sent as `Authorization: token`.
    pub fn new(api_url: &str, auth_token: &str) -> ChpClient {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        ChpClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
            settings: RwLock::new((
                api_url.trim_end_matches('/').to_owned(),
                auth_token.to_owned(),
            )),
        }
    }

    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, Bytes), ProxyError> {
        let (base, token) = self.settings.read().clone();
        let url = format!("{base}/api/routes{path}");
        let unreachable = |why: String| ProxyError::Unreachable {
            url: url.clone(),
            why,
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json");
        if !token.is_empty() {
            req = req.header("authorization", format!("token {token}"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(e.to_string()))?;
        let resp = tokio::time::timeout(Duration::from_secs(20), self.client.request(req))
            .await
            .map_err(|_| unreachable("no answer within 20 s".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        if !(200..300).contains(&status) {
            return Err(ProxyError::Refused {
                url,
                status,
                body: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            });
        }
        Ok((status, bytes))
    }
}

/// A routespec as a URL path: `/user/a b/` → `/user/a%20b/` (the API path carries it).
/// What JupyterHub's `quote(path, safe='@/~')` leaves as it is.
const ROUTE_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// The API path of a routespec. Routespecs are already escaped (`/user/a%20b/`); they go to
/// the proxy as they are, as JupyterHub sends them, and the proxy decodes them once into its
/// key (`/user/a b`), which is what it matches decoded request paths against.
fn routespec_path(routespec: &str) -> String {
    const ESCAPED: &percent_encoding::AsciiSet = &ROUTE_KEEP.remove(b'%');
    let path = percent_encoding::utf8_percent_encode(routespec, ESCAPED).to_string();
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// A routespec from a key the proxy lists (decoded, without the trailing slash): escaped
/// again as the hub writes it, with the trailing slash.
fn routespec_from_key(key: &str) -> String {
    let spec = percent_encoding::utf8_percent_encode(key, ROUTE_KEEP).to_string();
    if spec.ends_with('/') {
        spec
    } else {
        format!("{spec}/")
    }
}

impl Proxy for ChpClient {
    fn routes(&self) -> BoxFuture<'_, Result<Vec<Route>, ProxyError>> {
        Box::pin(async move {
            let (_, body) = self.call(http::Method::GET, "", None).await?;
            let table: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&body).map_err(|e| ProxyError::Refused {
                    url: self.api_url(),
                    status: 200,
                    body: format!("not a JSON object: {e}"),
                })?;
            Ok(table
                .into_iter()
                .map(|(routespec, mut data)| {
                    let target = data
                        .get("target")
                        .and_then(|t| t.as_str())
                        .unwrap_or("")
                        .to_owned();
                    let mut last_activity = None;
                    if let Some(m) = data.as_object_mut() {
                        m.remove("target");
                        last_activity = m
                            .remove("last_activity")
                            .and_then(|v| v.as_str().map(str::to_owned));
                    }
                    let routespec = routespec_from_key(&routespec);
                    Route {
                        routespec,
                        target,
                        data,
                        last_activity,
                    }
                })
                .collect())
        })
    }

    fn add_route<'a>(&'a self, route: &'a Route) -> BoxFuture<'a, Result<(), ProxyError>> {
        Box::pin(async move {
            let mut body = match &route.data {
                serde_json::Value::Object(m) => m.clone(),
                _ => serde_json::Map::new(),
            };
            body.insert("target".into(), route.target.clone().into());
            self.call(
                http::Method::POST,
                &routespec_path(&route.routespec),
                Some(serde_json::Value::Object(body)),
            )
            .await
            .map(|_| ())
        })
    }

    fn delete_route<'a>(&'a self, routespec: &'a str) -> BoxFuture<'a, Result<(), ProxyError>> {
        Box::pin(async move {
            // A route that is already gone is what was asked for.
            match self
                .call(http::Method::DELETE, &routespec_path(routespec), None)
                .await
            {
                Err(ProxyError::Refused { status: 404, .. }) => Ok(()),
                other => other.map(|_| ()),
            }
        })
    }

    fn reconfigure(&self, api_url: Option<String>, auth_token: Option<String>) {
        let mut s = self.settings.write();
        if let Some(u) = api_url {
            s.0 = u.trim_end_matches('/').to_owned();
        }
        if let Some(t) = auth_token {
            s.1 = t;
        }
    }

    fn api_url(&self) -> String {
        self.settings.read().0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routespecs_go_out_escaped_once_and_come_back_the_same() {
        for (user_spec, key) in [
            ("/user/%E6%97%A5%E6%9C%AC%E8%AA%9E/", "/user/日本語"),
            ("/user/a%20b/", "/user/a b"),
            ("/user/a%252Fb/", "/user/a%2Fb"),
            ("/user/a@b/", "/user/a@b"),
            ("/", "/"),
        ] {
            let sent = routespec_path(user_spec);
            assert_eq!(sent, user_spec, "sent as the hub wrote it");
            let decoded = percent_encoding::percent_decode_str(sent.trim_end_matches('/'))
                .decode_utf8_lossy()
                .into_owned();
            let decoded = if decoded.is_empty() {
                "/".to_owned()
            } else {
                decoded
            };
            assert_eq!(decoded, key, "the proxy's key");
            assert_eq!(routespec_from_key(key), user_spec, "read back");
        }
    }
}
