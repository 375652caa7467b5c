//! `oxhub proxy`: a drop-in for configurable-http-proxy (CHP). The same REST API on its own
//! listener (`api`), the same flags (`cli`), and a hyper data plane (`forward`) over a
//! longest-prefix routing table (`table`).

pub mod api;
pub mod backend;
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
    /// Data-plane threads (`--threads`, an oxhub extension); default one per CPU.
    pub threads: Option<usize>,
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

/// The public listener, bound `count` times to the same address with SO_REUSEPORT (port 0: the
/// first bind picks the port, the rest share it). Non-blocking, for tokio.
fn bind_reuseport(
    ip: &str,
    port: u16,
    count: usize,
) -> Result<Vec<std::net::TcpListener>, ProxyError> {
    use socket2::{Domain, Socket, Type};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
    let err = |source| ProxyError::Bind {
        addr: format!("{ip}:{port}"),
        source,
    };
    let candidates: Vec<SocketAddr> = if ip.is_empty() {
        vec![
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        ]
    } else {
        let host = ip.trim_start_matches('[').trim_end_matches(']');
        (host, port).to_socket_addrs().map_err(err)?.collect()
    };
    let mut last_err = None;
    for addr in candidates {
        let mut out: Vec<std::net::TcpListener> = Vec::with_capacity(count);
        let mut bound = addr;
        let attempt = (|| -> std::io::Result<()> {
            for _ in 0..count.max(1) {
                let socket = Socket::new(Domain::for_address(bound), Type::STREAM, None)?;
                if bound.is_ipv6() && ip.is_empty() {
                    socket.set_only_v6(false)?;
                }
                socket.set_reuse_address(true)?;
                socket.set_reuse_port(true)?;
                socket.set_nodelay(true)?;
                socket.bind(&bound.into())?;
                socket.listen(1024)?;
                socket.set_nonblocking(true)?;
                let listener: std::net::TcpListener = socket.into();
                bound = listener.local_addr()?;
                out.push(listener);
            }
            Ok(())
        })();
        match attempt {
            Ok(()) => return Ok(out),
            Err(e) => last_err = Some(e),
        }
    }
    Err(err(last_err.unwrap_or_else(|| {
        std::io::Error::other("no address to bind")
    })))
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
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let publics = bind_reuseport(&opts.ip, opts.port, threads)?;
    let api = bind(&opts.api_ip, opts.api_port).await?;
    let public_addr = publics[0].local_addr().map_err(|source| ProxyError::Bind {
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
    // Thread per core: each data-plane thread runs its own single-threaded runtime, accept loop
    // (SO_REUSEPORT spreads connections) and backend connection pool, so a request never hops
    // between threads. The routing table is the only shared state.
    for (i, listener) in publics.into_iter().enumerate() {
        let table = Arc::clone(&table);
        let opts = Arc::clone(&opts);
        let tls = tls.clone();
        std::thread::Builder::new()
            .name(format!("oxhub-proxy-{i}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("data-plane thread {i} cannot start: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let shared = forward::Shared::new(table, opts, tls.is_some());
                            forward::serve(listener, shared, tls).await;
                        }
                        Err(e) => tracing::error!("data-plane thread {i}: {e}"),
                    }
                });
            })
            .map_err(|source| ProxyError::Bind {
                addr: format!("thread {i}"),
                source,
            })?;
    }
    tokio::spawn(api::serve(api, Arc::clone(&table), Arc::clone(&opts)));
    Ok(Running {
        public: public_addr,
        api: api_addr,
        table,
    })
}

/// Run the proxy with parsed options until SIGINT or SIGTERM (the binary sets up logging).
pub fn run(opts: Options) -> ExitCode {
    // The REST API and signal handling; the data plane runs on threads of its own (see `start`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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
        let stop = shutdown_signal();
        let _running = start(opts).await?;
        stop.await;
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

/// Signal handlers installed now (before the "listening" line, so a SIGTERM sent as soon as
/// that line appears is never the default, fatal one); the future resolves on SIGINT/SIGTERM.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => {}
                () = int => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
