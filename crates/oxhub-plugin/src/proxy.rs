//! The proxy contract: routes in, routes out. The hub's implementation speaks
//! configurable-http-proxy's REST API (which `oxhub proxy` serves).

use crate::BoxFuture;
use serde_json::Value;

/// One route as the proxy reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub routespec: String,
    pub target: String,
    /// The route's data; the hub's routes carry `"jupyterhub": true`.
    pub data: Value,
    /// When the proxy last forwarded traffic on it (as the proxy reports it; `None` in routes
    /// the hub sends).
    pub last_activity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("the proxy API at {url} is unreachable: {why}")]
    Unreachable { url: String, why: String },
    #[error("the proxy API at {url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
}

pub trait Proxy: Send + Sync {
    /// Every route in the proxy's table.
    fn routes(&self) -> BoxFuture<'_, Result<Vec<Route>, ProxyError>>;
    fn add_route<'a>(&'a self, route: &'a Route) -> BoxFuture<'a, Result<(), ProxyError>>;
    fn delete_route<'a>(&'a self, routespec: &'a str) -> BoxFuture<'a, Result<(), ProxyError>>;
    /// Point at another API URL and/or token (`PATCH /hub/api/proxy`).
    fn reconfigure(&self, api_url: Option<String>, auth_token: Option<String>);
    fn api_url(&self) -> String;
}
