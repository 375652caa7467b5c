//! configurable-http-proxy's command line (`shared/reference/proxy-api.md` §2), parsed with clap.

use crate::Options;
use clap::Parser;
use http::{HeaderName, HeaderValue};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "oxhub proxy",
    about = "A configurable-http-proxy drop-in (same REST API and flags)",
    version
)]
struct Args {
    /// Public-facing IP of the proxy ('' or '*' for all interfaces)
    #[arg(long, default_value = "")]
    ip: String,
    /// Public-facing port of the proxy
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Inward-facing IP for the REST API
    #[arg(long = "api-ip", default_value = "localhost")]
    api_ip: String,
    /// Inward-facing port for the REST API (default: port + 1)
    #[arg(long = "api-port")]
    api_port: Option<u16>,
    /// Default proxy target (added as the `/` route)
    #[arg(long = "default-target")]
    default_target: Option<String>,
    /// Fetch error pages from <url>/<code>?url=<request url>
    #[arg(long = "error-target")]
    error_target: Option<String>,
    /// Serve error pages <code>.html or error.html from this directory
    #[arg(long = "error-path")]
    error_path: Option<String>,
    /// TLS key for the public listener (PEM)
    #[arg(long = "ssl-key")]
    ssl_key: Option<String>,
    /// TLS certificate chain for the public listener (PEM)
    #[arg(long = "ssl-cert")]
    ssl_cert: Option<String>,
    /// Write the process id to this file
    #[arg(long = "pid-file")]
    pid_file: Option<String>,
    /// Don't add X-Forwarded-* headers
    #[arg(long = "no-x-forward")]
    no_x_forward: bool,
    /// Don't prepend the target's path to proxied requests
    #[arg(long = "no-prepend-path")]
    no_prepend_path: bool,
    /// Strip the matched route prefix before forwarding
    #[arg(long = "no-include-prefix")]
    no_include_prefix: bool,
    /// Set the Host header to the target's host
    #[arg(long = "change-origin")]
    change_origin: bool,
    /// Extra request header `name: value` (repeatable)
    #[arg(long = "custom-header")]
    custom_header: Vec<String>,
    /// Route on the request's host: the first path segment of a route is a host name
    #[arg(long = "host-routing")]
    host_routing: bool,
    /// debug, info, warn or error
    #[arg(long = "log-level", default_value = "info")]
    log_level: String,
    /// Timeout (ms) for reading a client's request headers (default 30000; oxhub also uses it as
    /// the backend response timeout when --proxy-timeout is not given)
    #[arg(long)]
    timeout: Option<u64>,
    /// Timeout (ms) for a backend to answer
    #[arg(long = "proxy-timeout")]
    proxy_timeout: Option<u64>,
    /// Idle keep-alive timeout (ms) for client connections
    #[arg(long = "keep-alive-timeout", default_value_t = 5000)]
    keep_alive_timeout: u64,
    /// Data-plane threads (oxhub extension; default: one per CPU)
    #[arg(long)]
    threads: Option<usize>,
    /// Accepted for compatibility: certificates of https targets are not verified
    #[arg(long)]
    insecure: bool,
    #[arg(long = "redirect-port", hide = true)]
    redirect_port: Option<u16>,
    #[arg(long = "redirect-to", hide = true)]
    redirect_to: Option<u16>,
    #[arg(long = "auto-rewrite", hide = true)]
    auto_rewrite: bool,
    #[arg(long = "protocol-rewrite", hide = true)]
    protocol_rewrite: Option<String>,
    #[arg(long = "ssl-protocol", hide = true)]
    ssl_protocol: Option<String>,
    #[arg(long = "ssl-ciphers", hide = true)]
    ssl_ciphers: Option<String>,
    #[arg(long = "ssl-allow-rc4", hide = true)]
    ssl_allow_rc4: bool,
    #[arg(long = "ssl-dhparam", hide = true)]
    ssl_dhparam: Option<String>,
    /// Not supported by oxhub proxy (listed so the error is clear)
    #[arg(long = "socket", hide = true)]
    socket: Option<String>,
    #[arg(long = "api-socket", hide = true)]
    api_socket: Option<String>,
    #[arg(long = "ssl-ca", hide = true)]
    ssl_ca: Option<String>,
    #[arg(long = "ssl-request-cert", hide = true)]
    ssl_request_cert: bool,
    #[arg(long = "api-ssl-key", hide = true)]
    api_ssl_key: Option<String>,
    #[arg(long = "api-ssl-cert", hide = true)]
    api_ssl_cert: Option<String>,
    #[arg(long = "client-ssl-key", hide = true)]
    client_ssl_key: Option<String>,
    #[arg(long = "client-ssl-cert", hide = true)]
    client_ssl_cert: Option<String>,
    #[arg(long = "metrics-port", hide = true)]
    metrics_port: Option<u16>,
    #[arg(long = "storage-backend", hide = true)]
    storage_backend: Option<String>,
}

/// Parse CHP's flags (without the program name) into [`Options`].
pub fn parse(args: &[String]) -> Result<Options, String> {
    let args =
        Args::try_parse_from(std::iter::once("oxhub proxy".to_owned()).chain(args.iter().cloned()))
            .map_err(|e| e.to_string())?;
    let unsupported = [
        ("--socket", args.socket.is_some()),
        ("--api-socket", args.api_socket.is_some()),
        ("--ssl-ca", args.ssl_ca.is_some()),
        ("--ssl-request-cert", args.ssl_request_cert),
        ("--api-ssl-key", args.api_ssl_key.is_some()),
        ("--api-ssl-cert", args.api_ssl_cert.is_some()),
        ("--client-ssl-key", args.client_ssl_key.is_some()),
        ("--client-ssl-cert", args.client_ssl_cert.is_some()),
        ("--metrics-port", args.metrics_port.is_some()),
        ("--storage-backend", args.storage_backend.is_some()),
        ("--redirect-port", args.redirect_port.is_some()),
        ("--auto-rewrite", args.auto_rewrite),
        ("--protocol-rewrite", args.protocol_rewrite.is_some()),
    ];
    if let Some((flag, _)) = unsupported.iter().find(|(_, used)| *used) {
        return Err(format!("{flag} is not supported by oxhub proxy"));
    }
    let _ = (
        args.redirect_to,
        args.ssl_protocol,
        args.ssl_ciphers,
        args.ssl_allow_rc4,
        args.ssl_dhparam,
        args.insecure,
    );
    if args.error_target.is_some() && args.error_path.is_some() {
        return Err("--error-target and --error-path cannot be used together".into());
    }
    if args.ssl_key.is_some() != args.ssl_cert.is_some() {
        return Err("--ssl-key and --ssl-cert must be given together".into());
    }
    let level = args.log_level.to_ascii_lowercase();
    if !matches!(level.as_str(), "debug" | "info" | "warn" | "error") {
        return Err(format!(
            "--log-level must be debug, info, warn or error, not {:?}",
            args.log_level
        ));
    }
    let mut custom_headers = Vec::new();
    for h in &args.custom_header {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--custom-header {h:?}: expected 'name: value'"))?;
        let name =
            HeaderName::try_from(name.trim()).map_err(|e| format!("--custom-header {h:?}: {e}"))?;
        let value = HeaderValue::try_from(value.trim())
            .map_err(|e| format!("--custom-header {h:?}: {e}"))?;
        custom_headers.push((name, value));
    }
    let ip = if args.ip == "*" {
        String::new()
    } else {
        args.ip
    };
    let api_port = match args.api_port {
        Some(p) => p,
        None if args.port == 0 => 0,
        None => args
            .port
            .checked_add(1)
            .ok_or("--port 65535 leaves no room for the default --api-port")?,
    };
    Ok(Options {
        ip,
        port: args.port,
        api_ip: args.api_ip,
        api_port,
        default_target: args.default_target,
        error_target: args
            .error_target
            .map(|t| if t.ends_with('/') { t } else { format!("{t}/") }),
        error_path: args.error_path.map(Into::into),
        ssl_key: args.ssl_key.map(Into::into),
        ssl_cert: args.ssl_cert.map(Into::into),
        pid_file: args.pid_file.map(Into::into),
        x_forward: !args.no_x_forward,
        prepend_path: !args.no_prepend_path,
        include_prefix: !args.no_include_prefix,
        change_origin: args.change_origin,
        custom_headers,
        host_routing: args.host_routing,
        log_level: level,
        header_timeout: Duration::from_millis(args.timeout.unwrap_or(30_000)),
        proxy_timeout: args
            .proxy_timeout
            .or(args.timeout)
            .map(Duration::from_millis),
        keep_alive_timeout: Duration::from_millis(args.keep_alive_timeout),
        auth_token: std::env::var("CONFIGPROXY_AUTH_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        threads: args.threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Options, String> {
        parse(&s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    }

    #[test]
    fn jupyterhub_command_line() {
        let args: Vec<String> = [
            "--ip",
            "",
            "--port",
            "8000",
            "--api-ip",
            "127.0.0.1",
            "--api-port",
            "8001",
            "--error-target",
            "http://127.0.0.1:8081/hub/error",
            "--log-level",
            "info",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let o = parse(&args).unwrap();
        assert_eq!(
            (o.ip.as_str(), o.port, o.api_ip.as_str(), o.api_port),
            ("", 8000, "127.0.0.1", 8001)
        );
        assert_eq!(
            o.error_target.as_deref(),
            Some("http://127.0.0.1:8081/hub/error/")
        );
        assert!(o.x_forward && o.prepend_path && o.include_prefix);
    }

    #[test]
    fn defaults_and_errors() {
        let o = parse_str("--port=9000 --custom-header X-A:1 --no-include-prefix").unwrap();
        assert_eq!(o.api_port, 9001);
        assert_eq!(o.custom_headers.len(), 1);
        assert!(!o.include_prefix);
        assert!(parse_str("--socket /tmp/x")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_str("--ssl-key k").is_err());
        assert!(parse_str("--log-level loud").is_err());
        assert!(parse_str("--bogus").is_err());
    }
}
