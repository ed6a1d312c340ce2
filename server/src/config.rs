//! Sightline's settings: every option, its default, and where it can be set.
//!
//! Precedence: built-in default < environment variable < command-line flag. The README's
//! configuration table lists the same options.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sightline_app::BasePath;

/// Where the standalone server listens.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Where the dashboard is mounted.
pub const DEFAULT_PATH: &str = "/sightline";
/// The directory cargo-leptos writes the compiled site to (`pkg/`, `favicon.svg`).
pub const DEFAULT_SITE_ROOT: &str = "target/site";
/// The directory whose volume the disk gauge shows.
pub const DEFAULT_DATA_DIR: &str = ".";
/// Host, process and runtime sampling period.
pub const DEFAULT_SAMPLE_INTERVAL_MS: u64 = 1_000;
/// Period of the snapshot pushed to every dashboard.
pub const DEFAULT_SNAPSHOT_INTERVAL_MS: u64 = 2_000;
/// `retry:` sent to SSE clients: the browser's wait before reconnecting.
pub const DEFAULT_SSE_RETRY_MS: u64 = 5_000;
/// Period of the `:` comment that keeps idle SSE connections open through proxies.
pub const DEFAULT_SSE_HEARTBEAT_MS: u64 = 15_000;
/// Open SSE connections allowed at once.
pub const DEFAULT_SSE_MAX_CONNECTIONS: u64 = 10_000;
/// Distinct (method, route) pairs tracked; more share the `(overflow)` bucket.
pub const DEFAULT_MAX_ROUTES: usize = 200;
/// The history database.
pub const DEFAULT_DB_PATH: &str = "sightline.db";
/// Days of history kept (until changed on the Settings page, which persists).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Requests at least this slow are kept one by one (until changed on the Settings page).
pub const DEFAULT_SLOW_THRESHOLD_MS: u64 = 500;

/// Settings of an embedded or standalone Sightline.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base path of the dashboard and its API.
    pub path: BasePath,
    /// Directory holding the compiled site (`pkg/sightline.js`, `.wasm`, `.css`).
    pub site_root: PathBuf,
    /// The disk gauge shows the volume holding this directory.
    pub data_dir: PathBuf,
    pub sample_interval: Duration,
    pub snapshot_interval: Duration,
    pub sse_retry: Duration,
    pub sse_heartbeat: Duration,
    pub sse_max_connections: u64,
    pub max_routes: usize,
    /// Path prefixes the middleware does not record; the dashboard's own path always is.
    pub exclude: Vec<String>,
    /// The SQLite history database; `None` keeps no history (live view only).
    pub db_path: Option<PathBuf>,
    /// Initial settings; values saved from the Settings page take precedence.
    pub retention_days: u32,
    pub slow_threshold_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: BasePath::parse(DEFAULT_PATH).expect("the default path is valid"),
            site_root: std::env::var_os("LEPTOS_SITE_ROOT")
                .map_or_else(|| PathBuf::from(DEFAULT_SITE_ROOT), PathBuf::from),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            sample_interval: Duration::from_millis(DEFAULT_SAMPLE_INTERVAL_MS),
            snapshot_interval: Duration::from_millis(DEFAULT_SNAPSHOT_INTERVAL_MS),
            sse_retry: Duration::from_millis(DEFAULT_SSE_RETRY_MS),
            sse_heartbeat: Duration::from_millis(DEFAULT_SSE_HEARTBEAT_MS),
            sse_max_connections: DEFAULT_SSE_MAX_CONNECTIONS,
            max_routes: DEFAULT_MAX_ROUTES,
            exclude: Vec::new(),
            db_path: Some(PathBuf::from(DEFAULT_DB_PATH)),
            retention_days: DEFAULT_RETENTION_DAYS,
            slow_threshold_ms: DEFAULT_SLOW_THRESHOLD_MS,
        }
    }
}

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
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Base path the dashboard is served under.
    #[arg(long, env = "SIGHTLINE_PATH", default_value = DEFAULT_PATH, value_parser = parse_path)]
    pub path: BasePath,

    /// Directory of the compiled site (written by `cargo leptos build`).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = DEFAULT_SITE_ROOT)]
    pub site_root: PathBuf,

    /// Directory whose volume the disk gauge shows.
    #[arg(long, env = "SIGHTLINE_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Host, process and runtime sampling period, in milliseconds.
    #[arg(long, env = "SIGHTLINE_SAMPLE_INTERVAL_MS", default_value_t = DEFAULT_SAMPLE_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(50..))]
    pub sample_interval_ms: u64,

    /// Period of the live snapshot, in milliseconds.
    #[arg(long, env = "SIGHTLINE_SNAPSHOT_INTERVAL_MS", default_value_t = DEFAULT_SNAPSHOT_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(50..))]
    pub snapshot_interval_ms: u64,

    /// `retry:` sent to SSE clients, in milliseconds.
    #[arg(long, env = "SIGHTLINE_SSE_RETRY_MS", default_value_t = DEFAULT_SSE_RETRY_MS)]
    pub sse_retry_ms: u64,

    /// Period of SSE heartbeat comments, in milliseconds.
    #[arg(long, env = "SIGHTLINE_SSE_HEARTBEAT_MS", default_value_t = DEFAULT_SSE_HEARTBEAT_MS, value_parser = clap::value_parser!(u64).range(100..))]
    pub sse_heartbeat_ms: u64,

    /// Open SSE connections allowed at once.
    #[arg(long, env = "SIGHTLINE_SSE_MAX_CONNECTIONS", default_value_t = DEFAULT_SSE_MAX_CONNECTIONS)]
    pub sse_max_connections: u64,

    /// Distinct (method, route) pairs tracked before new ones share `(overflow)`.
    #[arg(long, env = "SIGHTLINE_MAX_ROUTES", default_value_t = DEFAULT_MAX_ROUTES)]
    pub max_routes: usize,

    /// Comma-separated path prefixes not to record (the dashboard's path never is).
    #[arg(long, env = "SIGHTLINE_EXCLUDE", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// The SQLite history database (created if missing).
    #[arg(long, env = "SIGHTLINE_DB_PATH", default_value = DEFAULT_DB_PATH)]
    pub db_path: PathBuf,

    /// Keep no history: the live view only.
    #[arg(long, env = "SIGHTLINE_NO_HISTORY")]
    pub no_history: bool,

    /// Days of history kept, until changed on the Settings page (saved values win).
    #[arg(long, env = "SIGHTLINE_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub retention_days: u32,

    /// Requests at least this slow (ms) are kept one by one, until changed on the
    /// Settings page (saved values win).
    #[arg(long, env = "SIGHTLINE_SLOW_THRESHOLD_MS", default_value_t = DEFAULT_SLOW_THRESHOLD_MS, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub slow_threshold_ms: u64,

    /// Requests per second the built-in demo API sends itself (0: off).
    #[arg(long, env = "SIGHTLINE_DEMO_RPS", default_value_t = 0)]
    pub demo_rps: u32,
}

fn parse_path(raw: &str) -> Result<BasePath, String> {
    BasePath::parse(raw).map_err(|e| e.to_string())
}

impl Cli {
    pub fn config(&self) -> Config {
        Config {
            path: self.path.clone(),
            site_root: self.site_root.clone(),
            data_dir: self.data_dir.clone(),
            sample_interval: Duration::from_millis(self.sample_interval_ms),
            snapshot_interval: Duration::from_millis(self.snapshot_interval_ms),
            sse_retry: Duration::from_millis(self.sse_retry_ms),
            sse_heartbeat: Duration::from_millis(self.sse_heartbeat_ms),
            sse_max_connections: self.sse_max_connections,
            max_routes: self.max_routes,
            exclude: self
                .exclude
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect(),
            db_path: (!self.no_history).then(|| self.db_path.clone()),
            retention_days: self.retention_days,
            slow_threshold_ms: self.slow_threshold_ms,
        }
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
        ])
        .unwrap();
        let config = cli.config();
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
