//! The standalone server's command line: every flag also reads an environment variable,
//! and each maps onto a [`Config`] field.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sightline_app::BasePath;

use crate::config::*;

mod access;
mod proxy;

pub use proxy::{Command, ProxyArgs};

/// Command line of the standalone server; every flag also reads an environment variable.
#[derive(Debug, clap::Parser)]
#[command(
    name = "sightline",
    version,
    about,
    long_about = None,
    help_template = "{name} {version}\n{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}"
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, global = true, visible_alias = "listen", env = "LEPTOS_SITE_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Threads serving requests (default: one per core, or TOKIO_WORKER_THREADS). With 1,
    /// one thread runs every connection, like a single nginx worker process. Sampling,
    /// snapshots and history writes and queries run on threads of their own either way.
    #[arg(long, global = true, env = "SIGHTLINE_WORKERS")]
    pub workers: Option<std::num::NonZeroUsize>,

    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain; needs --tls-key.
    #[arg(long, global = true, env = "SIGHTLINE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, global = true, env = "SIGHTLINE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Base path the dashboard is served under.
    #[arg(long, global = true, env = "SIGHTLINE_PATH", default_value = DEFAULT_PATH, value_parser = parse_path)]
    pub path: BasePath,

    /// Serve the compiled site from this directory (what `cargo leptos build` writes)
    /// instead of the copy embedded in the binary.
    #[arg(long, global = true, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Directory whose volume the disk gauge shows.
    #[arg(long, global = true, env = "SIGHTLINE_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Host, process and runtime sampling period, in milliseconds.
    #[arg(long, global = true, env = "SIGHTLINE_SAMPLE_INTERVAL_MS", default_value_t = DEFAULT_SAMPLE_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(50..))]
    pub sample_interval_ms: u64,

    /// Period of the live snapshot, in milliseconds.
    #[arg(long, global = true, env = "SIGHTLINE_SNAPSHOT_INTERVAL_MS", default_value_t = DEFAULT_SNAPSHOT_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(50..))]
    pub snapshot_interval_ms: u64,

    /// `retry:` sent to SSE clients, in milliseconds.
    #[arg(long, global = true, env = "SIGHTLINE_SSE_RETRY_MS", default_value_t = DEFAULT_SSE_RETRY_MS)]
    pub sse_retry_ms: u64,

    /// Period of SSE heartbeat comments, in milliseconds.
    #[arg(long, global = true, env = "SIGHTLINE_SSE_HEARTBEAT_MS", default_value_t = DEFAULT_SSE_HEARTBEAT_MS, value_parser = clap::value_parser!(u64).range(100..))]
    pub sse_heartbeat_ms: u64,

    /// Close a dashboard's live connection once all its tabs have been hidden this long
    /// (milliseconds); it reopens when one is shown.
    #[arg(long, global = true, env = "SIGHTLINE_LIVE_PAUSE_HIDDEN_MS", default_value_t = DEFAULT_LIVE_PAUSE_HIDDEN_MS, value_parser = clap::value_parser!(u64).range(1_000..))]
    pub live_pause_hidden_ms: u64,

    /// Open SSE connections allowed at once.
    #[arg(long, global = true, env = "SIGHTLINE_SSE_MAX_CONNECTIONS", default_value_t = DEFAULT_SSE_MAX_CONNECTIONS)]
    pub sse_max_connections: u64,

    /// Distinct (method, route) pairs tracked before new ones share `(overflow)`.
    #[arg(long, global = true, env = "SIGHTLINE_MAX_ROUTES", default_value_t = DEFAULT_MAX_ROUTES)]
    pub max_routes: usize,

    /// Comma-separated path prefixes not to record (the dashboard's path never is).
    #[arg(long, global = true, env = "SIGHTLINE_EXCLUDE", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// The SQLite history database (created if missing).
    #[arg(long, global = true, env = "SIGHTLINE_DB_PATH", default_value = DEFAULT_DB_PATH)]
    pub db_path: PathBuf,

    /// Keep history in PostgreSQL, shared by several instances, instead of SQLite
    /// (`postgres://user:password@host:5432/db`; `?sslmode=require` for TLS).
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Start even if PostgreSQL does not answer: history is unavailable until it does.
    #[arg(long, global = true, env = "SIGHTLINE_WAIT_FOR_DATABASE")]
    pub wait_for_database: bool,

    /// Keep no history: the live view only.
    #[arg(long, global = true, env = "SIGHTLINE_NO_HISTORY")]
    pub no_history: bool,

    /// Days of history kept, until changed on the Settings page (saved values win).
    #[arg(long, global = true, env = "SIGHTLINE_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub retention_days: u32,

    /// Requests at least this slow (ms) are kept one by one, until changed on the
    /// Settings page (saved values win).
    #[arg(long, global = true, env = "SIGHTLINE_SLOW_THRESHOLD_MS", default_value_t = DEFAULT_SLOW_THRESHOLD_MS, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub slow_threshold_ms: u64,

    /// Access control: `on` (the default) or `off` (anyone who can reach the dashboard is
    /// an admin).
    #[arg(long, global = true, env = "SIGHTLINE_AUTH", default_value = "on", value_parser = ["on", "off"])]
    pub auth: String,

    /// Name of the admin user.
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_USERNAME",
        default_value = "admin"
    )]
    pub username: String,

    /// The admin's password (hashed at start; prefer --password-hash).
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// The admin's password as an Argon2 PHC hash (from `sightline --hash-password`).
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_PASSWORD_HASH",
        hide_env_values = true
    )]
    pub password_hash: Option<String>,

    /// Name of the read-only user.
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_VIEWER_USERNAME",
        default_value = "viewer"
    )]
    pub viewer_username: String,

    /// The read-only user's password (no viewer without one).
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_VIEWER_PASSWORD",
        hide_env_values = true
    )]
    pub viewer_password: Option<String>,

    /// The read-only user's password as an Argon2 PHC hash.
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_VIEWER_PASSWORD_HASH",
        hide_env_values = true
    )]
    pub viewer_password_hash: Option<String>,

    /// API tokens for `Authorization: Bearer`, comma-separated `role:token` (role `admin`
    /// or `viewer`; tokens at least 16 characters).
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_tokens: Vec<String>,

    /// How long a sign-in lasts, in seconds.
    #[arg(long, global = true, env = "SIGHTLINE_SESSION_TTL_SECS", default_value_t = DEFAULT_SESSION_TTL_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_ttl_secs: u64,

    /// Header a trusted reverse proxy sets to the client address (e.g. x-forwarded-for).
    /// Without it such headers are ignored. With it, `sightline proxy` also passes on the
    /// X-Forwarded-Proto that proxy sets.
    #[arg(long, global = true, env = "SIGHTLINE_TRUST_PROXY_HEADER")]
    pub trust_proxy_header: Option<String>,

    /// Mark the session cookie Secure (serve over HTTPS).
    #[arg(long, global = true, env = "SIGHTLINE_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Custom events kept for clients that reconnect with Last-Event-ID.
    #[arg(long, global = true, env = "SIGHTLINE_SSE_REPLAY", default_value_t = DEFAULT_SSE_REPLAY)]
    pub sse_replay: usize,

    /// Forward the server's log events at this level or above to live clients as
    /// `event: log` (off, error, warn, info, debug, trace).
    #[arg(long, global = true, env = "SIGHTLINE_LOG_EVENTS", default_value = "info", value_parser = ["off", "error", "warn", "info", "debug", "trace"])]
    pub log_events: String,

    /// Redis shared by the instances of one service: the live view adds them all up
    /// (`redis://host:6379`). Off by default.
    #[arg(
        long,
        global = true,
        env = "SIGHTLINE_REDIS_URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,

    /// This instance's name in the cluster view (default: `HOSTNAME`, else the host name).
    #[arg(long, global = true, env = "SIGHTLINE_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// Prefix of the Redis keys and channels, so several services can share one Redis.
    #[arg(long, global = true, env = "SIGHTLINE_CLUSTER", default_value = crate::cluster::DEFAULT_CLUSTER)]
    pub cluster: String,

    /// Read a password from standard input, print its Argon2 hash, and exit.
    #[arg(long)]
    pub hash_password: bool,

    /// Requests per second the built-in demo API sends itself (0: off; more implies --demo).
    #[arg(long, env = "SIGHTLINE_DEMO_RPS", default_value_t = 0)]
    pub demo_rps: u32,

    /// Serve the built-in demo API (`/api/users`, `/api/orders`, ...) beside the dashboard.
    #[arg(long, env = "SIGHTLINE_DEMO")]
    pub demo: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_path(raw: &str) -> Result<BasePath, String> {
    BasePath::parse(raw).map_err(|e| e.to_string())
}

impl Cli {
    /// The log-forwarding level, `None` for `off`.
    pub fn log_events_level(&self) -> Option<tracing::Level> {
        self.log_events.parse().ok()
    }

    /// The configuration, or why the flags cannot be served (see [`Cli::access`]).
    pub fn config(&self) -> Result<Config, String> {
        Ok(Config {
            path: self.path.clone(),
            site_root: self.site_root.clone(),
            data_dir: self.data_dir.clone(),
            sample_interval: Duration::from_millis(self.sample_interval_ms),
            snapshot_interval: Duration::from_millis(self.snapshot_interval_ms),
            sse_retry: Duration::from_millis(self.sse_retry_ms),
            sse_heartbeat: Duration::from_millis(self.sse_heartbeat_ms),
            live_pause_hidden: Duration::from_millis(self.live_pause_hidden_ms),
            sse_max_connections: self.sse_max_connections,
            max_routes: self.max_routes,
            exclude: self
                .exclude
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect(),
            db_path: (!self.no_history).then(|| self.db_path.clone()),
            database_url: self
                .database_url
                .clone()
                .filter(|u| !u.is_empty() && !self.no_history)
                .map(Into::into),
            wait_for_database: self.wait_for_database,
            retention_days: self.retention_days,
            slow_threshold_ms: self.slow_threshold_ms,
            access: self.access()?,
            session_ttl: Duration::from_secs(self.session_ttl_secs),
            trusted_proxy_header: self.trust_proxy_header.clone().filter(|h| !h.is_empty()),
            // Served over TLS, the session cookie is only ever sent over TLS.
            secure_cookies: self.secure_cookies || self.tls_cert.is_some(),
            sse_replay: self.sse_replay,
            instance_id: self
                .instance_id
                .clone()
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(default_instance_id),
            cluster: match self.redis_url.as_deref().filter(|u| !u.is_empty()) {
                None => None,
                Some(url) => Some(crate::cluster::ClusterSettings {
                    redis_url: url.to_owned(),
                    prefix: check_prefix(&self.cluster)?,
                }),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::try_parse_from([
            "sightline",
            "--path",
            "ops/",
            "--addr",
            "0.0.0.0:9000",
            "--exclude",
            "/health,/internal",
            "--password",
            "s3cret-enough",
        ])
        .unwrap();
        let config = cli.config().unwrap();
        assert_eq!(config.path.as_str(), "/ops");
        assert_eq!(cli.addr, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.exclude, ["/health", "/internal"]);
        assert_eq!(config.snapshot_interval, Duration::from_secs(2));
    }

    #[test]
    fn help_names_the_server_its_version_and_purpose() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        assert!(
            help.starts_with(&format!("sightline {}\n", env!("CARGO_PKG_VERSION"))),
            "{help}"
        );
        assert!(help.contains(env!("CARGO_PKG_DESCRIPTION")), "{help}");
        assert!(help.contains("SIGHTLINE_PATH"), "{help}");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let err = Cli::try_parse_from(["sightline", "--path", "/"]).unwrap_err();
        assert!(err.to_string().contains("/sightline"), "{err}");
        let err = Cli::try_parse_from(["sightline", "--snapshot-interval-ms", "0"]).unwrap_err();
        assert!(err.to_string().contains("snapshot-interval-ms"), "{err}");
    }
}
