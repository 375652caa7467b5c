//! `oxhub proxy`: a drop-in for configurable-http-proxy (CHP). The same REST API on its own
//! listener (`api`), the same flags (`cli`), and a hyper data plane (`forward`) over a
//! longest-prefix routing table (`table`).

pub mod api;
pub mod cli;
pub mod clock;
pub mod forward;
pub mod pages;
pub mod table;
pub mod tls;

use http::{HeaderName, HeaderValue};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use table::RouteTable;
use tokio::net::TcpListener;

/// Everything the proxy is configured with (CHP's flags, parsed).
#[derive(Debug, Clone)]
pub struct Options {
    /// Public IP; "" for all interfaces.
    pub ip: String,
    pub port: u16,
    pub api_ip: String,
    pub api_port: u16,
    pub default_target: Option<String>,
    /// Ends with `/`.
    pub error_target: Option<String>,
    pub error_path: Option<PathBuf>,
    pub ssl_key: Option<PathBuf>,
    pub ssl_cert: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub x_forward: bool,
    pub prepend_path: bool,
    pub include_prefix: bool,
    pub change_origin: bool,
    pub custom_headers: Vec<(HeaderName, HeaderValue)>,
    pub host_routing: bool,
    pub log_level: String,
    /// A client that has not sent its request headers within this time is disconnected.
    pub header_timeout: Duration,
    /// A backend that has not answered within this time gets the request failed with 503.
    pub proxy_timeout: Option<Duration>,
    pub keep_alive_timeout: Duration,
    /// From `CONFIGPROXY_AUTH_TOKEN`; `None` leaves the API open (as CHP does, with a warning).
    pub auth_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("--default-target: {0}")]
    DefaultTarget(String),
    #[error("cannot write the pid file {path}: {source}")]
    PidFile {
        path: String,
        source: std::io::Error,
    },
}

/// A running proxy: its bound addresses and the shared routing table.
pub struct Running {
    pub public: SocketAddr,
    pub api: SocketAddr,
    pub table: Arc<RouteTable>,
}

async fn bind(ip: &str, port: u16) -> Result<TcpListener, ProxyError> {
    let err = |source| ProxyError::Bind {
        addr: format!("{ip}:{port}"),
        source,
    };
    if ip.is_empty() {
        // All interfaces: dual-stack where IPv6 exists, else IPv4.
        return match TcpListener::bind(("::", port)).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(("0.0.0.0", port)).await.map_err(err),
        };
    }
    let host = ip.trim_start_matches('[').trim_end_matches(']');
    TcpListener::bind((host, port)).await.map_err(err)
}

/// Start listening and serving; returns once both listeners are bound.
pub async fn start(opts: Options) -> Result<Running, ProxyError> {
    let opts = Arc::new(opts);
    let table = Arc::new(RouteTable::default());
    if let Some(target) = &opts.default_target {
        let parsed = table::Target::parse(target).map_err(ProxyError::DefaultTarget)?;
        let mut data = serde_json::Map::new();
        data.insert("target".into(), serde_json::Value::String(target.clone()));
        table.add("/".into(), parsed, data);
    }
    let tls = match (&opts.ssl_key, &opts.ssl_cert) {
        (Some(key), Some(cert)) => Some(tls::acceptor(key, cert).map_err(ProxyError::Tls)?),
        _ => None,
    };
    let public = bind(&opts.ip, opts.port).await?;
    let api = bind(&opts.api_ip, opts.api_port).await?;
    let public_addr = public.local_addr().map_err(|source| ProxyError::Bind {
        addr: opts.ip.clone(),
        source,
    })?;
    let api_addr = api.local_addr().map_err(|source| ProxyError::Bind {
        addr: opts.api_ip.clone(),
        source,
    })?;
    if opts.auth_token.is_none() {
        tracing::warn!("REST API is not authenticated: set CONFIGPROXY_AUTH_TOKEN");
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "oxhub proxy listening on {scheme}://{public_addr}, REST API on http://{api_addr}{}",
        opts.default_target
            .as_deref()
            .map(|t| format!(", default target {t}"))
            .unwrap_or_default()
    );
    let shared = forward::Shared::new(
        Arc::clone(&table),
        Arc::clone(&opts),
        public_addr.port(),
        tls.is_some(),
    );
    tokio::spawn(forward::serve(public, shared, tls));
    tokio::spawn(api::serve(api, Arc::clone(&table), Arc::clone(&opts)));
    Ok(Running {
        public: public_addr,
        api: api_addr,
        table,
    })
}

/// Run the proxy with parsed options until SIGINT or SIGTERM (the binary sets up logging).
pub fn run(opts: Options) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oxhub proxy: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let pid_file = opts.pid_file.clone();
    let pid_path = pid_file.clone();
    let result = runtime.block_on(async move {
        if let Some(path) = &pid_path {
            std::fs::write(path, format!("{}\n", std::process::id())).map_err(|source| {
                ProxyError::PidFile {
                    path: path.display().to_string(),
                    source,
                }
            })?;
        }
        let _running = start(opts).await?;
        shutdown_signal().await;
        tracing::info!("oxhub proxy shutting down");
        Ok::<(), ProxyError>(())
    });
    if let Some(path) = &pid_file {
        let _ = std::fs::remove_file(path);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oxhub proxy: {e}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
