//! `sightline proxy`: the subcommand's flags and the settings they make.

use std::path::PathBuf;
use std::time::Duration;

use super::Cli;
use crate::proxy::ProxySettings;

/// What the server fronts: by default nothing but the dashboard (and the demo API).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Reverse proxy in front of a service in any language: every request is forwarded
    /// to --upstream and recorded; the dashboard answers under --path.
    Proxy(ProxyArgs),
}

/// `sightline proxy`: where to forward and how.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// The service to forward to (`http://127.0.0.1:9000`; a path is put before every
    /// forwarded path).
    #[arg(long, env = "SIGHTLINE_UPSTREAM")]
    pub upstream: String,

    /// Speak HTTP/2 to the upstream (prior knowledge) instead of HTTP/1.1.
    #[arg(long, env = "SIGHTLINE_UPSTREAM_HTTP2")]
    pub upstream_http2: bool,

    /// Send the upstream its own host as `Host` (the client's is in X-Forwarded-Host)
    /// instead of the client's.
    #[arg(long, env = "SIGHTLINE_REWRITE_HOST")]
    pub rewrite_host: bool,

    /// Time allowed to connect to the upstream, in milliseconds (then 504).
    #[arg(long, env = "SIGHTLINE_UPSTREAM_CONNECT_TIMEOUT_MS", default_value_t = crate::proxy::DEFAULT_CONNECT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_connect_timeout_ms: u64,

    /// Time allowed for the upstream's response headers, in milliseconds (then 504),
    /// counted from the request's latest piece (its head, or of its body).
    #[arg(long, env = "SIGHTLINE_UPSTREAM_TIMEOUT_MS", default_value_t = crate::proxy::DEFAULT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_timeout_ms: u64,

    /// Upstream requests (HTTP/1.1 connections) open at once; more wait for a free one.
    #[arg(long, env = "SIGHTLINE_UPSTREAM_MAX_CONNECTIONS", default_value_t = crate::proxy::DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub upstream_max_connections: u64,

    /// Route templates: one `[METHOD] /path/{param}` per line, or an OpenAPI document
    /// (JSON or YAML). Without it, numeric, UUID and long hex segments become `{id}`.
    #[arg(long, env = "SIGHTLINE_ROUTES")]
    pub routes: Option<PathBuf>,
}

impl Cli {
    /// The proxy's settings, for `sightline proxy`.
    pub fn proxy(&self) -> Option<ProxySettings> {
        let Some(Command::Proxy(args)) = &self.command else {
            return None;
        };
        Some(ProxySettings {
            upstream: args.upstream.clone(),
            http2: args.upstream_http2,
            rewrite_host: args.rewrite_host,
            connect_timeout: Duration::from_millis(args.upstream_connect_timeout_ms),
            timeout: Duration::from_millis(args.upstream_timeout_ms),
            max_connections: usize::try_from(args.upstream_max_connections).unwrap_or(usize::MAX),
            routes: args.routes.clone().filter(|p| !p.as_os_str().is_empty()),
            tls: self.tls_cert.is_some(),
            behind_proxy: self
                .trust_proxy_header
                .as_ref()
                .is_some_and(|h| !h.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn proxy_takes_the_common_flags_after_it() {
        let cli = Cli::try_parse_from([
            "sightline",
            "proxy",
            "--upstream",
            "http://127.0.0.1:9000",
            "--listen",
            "127.0.0.1:8080",
            "--path",
            "/ops",
            "--upstream-timeout-ms",
            "1500",
        ])
        .unwrap();
        assert_eq!(cli.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(cli.config().unwrap().path.as_str(), "/ops");
        let proxy = cli.proxy().unwrap();
        assert_eq!(proxy.upstream, "http://127.0.0.1:9000");
        assert_eq!(proxy.timeout, Duration::from_millis(1500));
        assert!(!proxy.rewrite_host && proxy.routes.is_none() && !proxy.behind_proxy);
        let behind = Cli::try_parse_from([
            "sightline",
            "proxy",
            "--upstream",
            "http://127.0.0.1:9000",
            "--trust-proxy-header",
            "x-forwarded-for",
        ])
        .unwrap();
        assert!(behind.proxy().unwrap().behind_proxy);
        let plain = Cli::try_parse_from(["sightline", "--listen", "127.0.0.1:8080"]).unwrap();
        assert!(plain.proxy().is_none());
        assert!(Cli::try_parse_from(["sightline", "proxy"]).is_err());
    }
}
