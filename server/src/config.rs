//! Sightline's settings: every option, its default, and where it can be set.
//!
//! Precedence: built-in default < environment variable < command-line flag. The README's
//! configuration table lists the same options.

use std::path::PathBuf;
use std::time::Duration;

use sightline_app::BasePath;

/// Where the standalone server listens.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Where the dashboard is mounted.
pub const DEFAULT_PATH: &str = "/sightline";
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
/// A dashboard whose every tab has been hidden this long closes its live connection.
pub const DEFAULT_LIVE_PAUSE_HIDDEN_MS: u64 = 60_000;
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
/// How long a sign-in lasts.
pub const DEFAULT_SESSION_TTL_SECS: u64 = 24 * 3600;
/// Custom events kept for clients that reconnect.
pub const DEFAULT_SSE_REPLAY: usize = 1_000;

/// Settings of an embedded or standalone Sightline.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base path of the dashboard and its API.
    pub path: BasePath,
    /// Serve the compiled site (`pkg/sightline.js`, `.wasm`, `.css`) from this directory
    /// instead of the copy embedded in the library (development: what `cargo leptos watch`
    /// rebuilds). `None` by default; the standalone binary reads `--site-root`.
    pub site_root: Option<PathBuf>,
    /// The disk gauge shows the volume holding this directory.
    pub data_dir: PathBuf,
    pub sample_interval: Duration,
    pub snapshot_interval: Duration,
    pub sse_retry: Duration,
    pub sse_heartbeat: Duration,
    /// A dashboard closes its live connection once every one of its tabs has been hidden
    /// this long, and reopens it when one is shown.
    pub live_pause_hidden: Duration,
    pub sse_max_connections: u64,
    pub max_routes: usize,
    /// Path prefixes the middleware does not record; the dashboard's own path always is.
    pub exclude: Vec<String>,
    /// The SQLite history database; `None` keeps no history (live view only), unless
    /// `database_url` is set.
    pub db_path: Option<PathBuf>,
    /// History in a PostgreSQL database that several instances share
    /// (`postgres://user:password@host:5432/db`, `?sslmode=require` for TLS); takes the
    /// place of `db_path`. `None` by default.
    pub database_url: Option<DatabaseUrl>,
    /// PostgreSQL unreachable at start: start anyway (history unavailable until it
    /// answers) instead of failing.
    pub wait_for_database: bool,
    /// Initial settings; values saved from the Settings page take precedence.
    pub retention_days: u32,
    pub slow_threshold_ms: u64,
    /// Who may look and who may change things. The default makes an admin password at
    /// start and logs it.
    pub access: crate::auth::Access,
    pub session_ttl: Duration,
    /// A header a trusted reverse proxy sets to the client's address (`x-forwarded-for`);
    /// `None` counts failed sign-ins by the peer address and ignores such headers.
    pub trusted_proxy_header: Option<String>,
    /// Mark the session cookie `Secure` (also done when a trusted proxy says the request
    /// came over HTTPS).
    pub secure_cookies: bool,
    pub sse_replay: usize,
    /// This instance's name among several (default: `HOSTNAME`, else the OS host name).
    pub instance_id: String,
    /// Several instances, one dashboard, over Redis; `None` (the default) for one.
    pub cluster: Option<crate::cluster::ClusterSettings>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: BasePath::parse(DEFAULT_PATH).expect("the default path is valid"),
            site_root: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            sample_interval: Duration::from_millis(DEFAULT_SAMPLE_INTERVAL_MS),
            snapshot_interval: Duration::from_millis(DEFAULT_SNAPSHOT_INTERVAL_MS),
            sse_retry: Duration::from_millis(DEFAULT_SSE_RETRY_MS),
            sse_heartbeat: Duration::from_millis(DEFAULT_SSE_HEARTBEAT_MS),
            live_pause_hidden: Duration::from_millis(DEFAULT_LIVE_PAUSE_HIDDEN_MS),
            sse_max_connections: DEFAULT_SSE_MAX_CONNECTIONS,
            max_routes: DEFAULT_MAX_ROUTES,
            exclude: Vec::new(),
            db_path: Some(PathBuf::from(DEFAULT_DB_PATH)),
            database_url: None,
            wait_for_database: false,
            retention_days: DEFAULT_RETENTION_DAYS,
            slow_threshold_ms: DEFAULT_SLOW_THRESHOLD_MS,
            access: crate::auth::Access::default(),
            session_ttl: Duration::from_secs(DEFAULT_SESSION_TTL_SECS),
            trusted_proxy_header: None,
            secure_cookies: false,
            sse_replay: DEFAULT_SSE_REPLAY,
            instance_id: default_instance_id(),
            cluster: None,
        }
    }
}

/// `HOSTNAME`, else the OS host name, else `localhost`.
pub fn default_instance_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(sysinfo::System::host_name)
        .unwrap_or_else(|| "localhost".to_owned())
}

/// A cluster key prefix: 1 to 64 bytes of letters, digits, `-`, `_`, `.` or `:`.
pub fn check_prefix(prefix: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(prefix.to_owned())
    } else {
        Err(format!(
            "the cluster name {prefix:?} must be 1 to 64 letters, digits, '-', '_', '.' or ':'"
        ))
    }
}

/// A PostgreSQL URL. Its `Debug` shows the server and database, never the credentials, so
/// a logged `Config` does not leak the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match crate::store::postgres::Target::parse(&self.0) {
            Ok(target) => f.write_str(target.shown()),
            Err(_) => f.write_str("(an invalid PostgreSQL URL)"),
        }
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}
