//! `DashboardSnapshot`: everything the live dashboard shows, as one serde type shared by
//! the server (which builds it every tick) and the browser (which renders it).
//!
//! Units are in the field names: `_bytes`, `_ms`, `_percent` (0-100), `_per_sec`.
//! The README's "Snapshot fields" section says how each one is measured.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardSnapshot {
    /// When the snapshot was taken, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    pub system: SystemStats,
    pub process: ProcessStats,
    pub runtime: RuntimeStats,
    pub overview: Overview,
    pub endpoints: Endpoints,
    pub server: ServerInfo,
    pub store: StoreHealth,
    /// Several instances sharing one Redis; `None` for a single instance.
    #[serde(default)]
    pub cluster: Option<ClusterView>,
    /// The last finished 10 s windows, oldest first: what the Dashboard's live charts add
    /// to the history they were drawn from.
    #[serde(default)]
    pub recent: Vec<WindowPoint>,
}

/// One finished 10 s window as the Dashboard's live charts draw it: the figures history
/// keeps for that window, so a point sent live and one read back later agree.
///
/// Read through a JSON value ([`WindowPoint::from_json`]): the browser build parses
/// JSON values anyway, and a derived reader would add to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub struct WindowPoint {
    /// Start of the window, ms since the epoch (a multiple of 10,000).
    pub start_ms: u64,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// p95 latency of the window's requests; `None` without any.
    pub p95_ms: Option<f64>,
    /// Host CPU, the mean of the samples taken in the window; `None` if none was.
    pub cpu_percent: Option<f64>,
}

impl WindowPoint {
    /// From its JSON form; `None` when a count is missing or not a count.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        Some(Self {
            start_ms: v["start_ms"].as_u64()?,
            requests: v["requests"].as_u64()?,
            client_errors: v["client_errors"].as_u64()?,
            server_errors: v["server_errors"].as_u64()?,
            p95_ms: v["p95_ms"].as_f64(),
            cpu_percent: v["cpu_percent"].as_f64(),
        })
    }
}

impl TryFrom<serde_json::Value> for WindowPoint {
    type Error = &'static str;

    fn try_from(v: serde_json::Value) -> Result<Self, Self::Error> {
        Self::from_json(&v)
            .ok_or("a window needs start_ms, requests, client_errors and server_errors")
    }
}

/// The host, from `sysinfo`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemStats {
    /// All cores together, 0-100.
    pub cpu_percent: f32,
    pub cpu_cores: u32,
    pub mem_percent: f32,
    pub mem_used_bytes: u64,
    pub mem_total_bytes: u64,
    /// The volume holding the data directory.
    pub disk_percent: f32,
    pub disk_used_bytes: u64,
    pub disk_total_bytes: u64,
    /// Every interface except loopback.
    pub net_rx_bytes_per_sec: f64,
    pub net_tx_bytes_per_sec: f64,
    /// Loopback alone (traffic between processes of this host).
    pub loopback_rx_bytes_per_sec: f64,
    pub loopback_tx_bytes_per_sec: f64,
    /// 1-minute load average; absent where the OS has none.
    pub load_average_1m: Option<f64>,
}

/// This process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessStats {
    pub rss_bytes: u64,
    pub virtual_bytes: u64,
    /// Share of the whole machine (all cores), 0-100.
    pub cpu_percent: f32,
    pub threads: Option<u32>,
    pub open_fds: Option<u32>,
    pub uptime_seconds: u64,
}

/// The tokio runtime serving requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeStats {
    pub workers: u32,
    pub alive_tasks: u64,
    pub global_queue_depth: u64,
    /// Time a freshly spawned probe task waited before it first ran, over the last sample period.
    pub scheduling_lag_avg_ms: f64,
    pub scheduling_lag_max_ms: f64,
    /// A probe task has waited longer than the probe's timeout and still not run: the
    /// lag is at least `scheduling_lag_max_ms`.
    #[serde(default)]
    pub starved: bool,
}

/// Request totals, rates and latency of the monitored app.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Requests per second over the last 10 s.
    pub rps: f64,
    /// Requests in the last 60 s (falls to 0 a minute after traffic stops).
    pub rpm: f64,
    /// Since start.
    pub total_requests: u64,
    /// Responses with status 500-599, since start.
    pub server_errors: u64,
    /// Responses with status 400-499, since start.
    pub client_errors: u64,
    /// Share of the last 60 s of requests answered 5xx, 0-100.
    pub server_error_rate_percent: f64,
    /// Share of the last 60 s of requests answered 4xx, 0-100.
    pub client_error_rate_percent: f64,
    /// Latency of the last 60 s of requests.
    pub latency: LatencySummary,
}

/// Latency from the request entering the middleware to the last byte of the response body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Over the last 60 s, at most five each.
    pub top_by_requests: Vec<EndpointStat>,
    pub top_by_latency: Vec<EndpointStat>,
    pub top_by_error_rate: Vec<EndpointStat>,
    pub status: StatusDistribution,
}

/// One route (method + matched template) over the last 60 s.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStat {
    pub method: String,
    /// The matched route template, `(unmatched)` or `(overflow)`.
    pub route: String,
    pub requests: u64,
    pub server_errors: u64,
    pub client_errors: u64,
    /// 4xx and 5xx together, 0-100.
    pub error_rate_percent: f64,
    pub latency: LatencySummary,
}

/// Responses by status since start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusDistribution {
    pub informational: u64,
    pub success: u64,
    pub redirection: u64,
    pub client_error: u64,
    pub server_error: u64,
    /// Every status code seen, with its count.
    pub by_code: BTreeMap<u16, u64>,
}

impl StatusDistribution {
    /// Classes summed from counts by code.
    pub fn from_codes(by_code: BTreeMap<u16, u64>) -> Self {
        let mut d = Self::default();
        for (&code, &n) in &by_code {
            match code {
                100..=199 => d.informational += n,
                200..=299 => d.success += n,
                300..=399 => d.redirection += n,
                400..=499 => d.client_error += n,
                _ => d.server_error += n,
            }
        }
        d.by_code = by_code;
        d
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    pub rustc: String,
    pub target: String,
    pub pid: u32,
    /// The configured instance id (by default the host name).
    pub instance_id: String,
    /// Random per process start: tells restarts apart.
    #[serde(default)]
    pub run_id: String,
    pub started_at_ms: u64,
    pub sse_connections: u64,
    /// How often a snapshot is pushed, in ms (0 from a server that does not say).
    #[serde(default)]
    pub snapshot_interval_ms: u64,
}

/// The history database: what failed and what was not kept, since start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// Whether this server keeps history at all.
    pub enabled: bool,
    /// Why the latest write failed; `None` once writes succeed again.
    pub write_error: Option<String>,
    /// When a write last failed, in milliseconds since the Unix epoch.
    pub last_write_error_ms: Option<u64>,
    /// 10 s windows given up after writes failed for an hour.
    pub windows_lost: u64,
    /// 10 s windows waiting to be written again after a failed write.
    #[serde(default)]
    pub windows_queued: u64,
    /// Error and slow-request records not kept because the writer's queue was full.
    pub records_dropped: u64,
    /// Records not stored because their route had stored its share of the 10 s window
    /// (the window's counts still include them).
    pub records_capped: u64,
    /// Stored rows that could not be read and were skipped.
    pub rows_skipped: u64,
}

/// The instances of a cluster, as this instance sees them over Redis.
///
/// With `scope: None` the snapshot's traffic figures are every live instance's added up
/// (counts summed, histograms added); with `Some(id)`, that instance's alone. Host,
/// process and runtime figures are always this instance's: the table has everyone's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The instance the traffic figures are narrowed to; `None` for all of them.
    pub scope: Option<String>,
    /// Whether this instance is in touch with the others (its Redis link works).
    pub connected: bool,
    /// Why not, when not.
    pub error: Option<String>,
    /// Every instance seen, this one included, by id.
    pub instances: Vec<InstanceRow>,
}

impl ClusterView {
    /// Instances whose traffic counts in the live rates.
    pub fn counted(&self) -> usize {
        self.instances
            .iter()
            .filter(|i| i.state != InstanceState::Gone)
            .count()
    }
}

/// One row of the instances table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub id: String,
    pub host: String,
    pub version: String,
    pub pid: u32,
    pub uptime_seconds: u64,
    pub rps: f64,
    pub p95_ms: f64,
    /// 4xx and 5xx over the last minute, 0-100.
    pub error_rate_percent: f64,
    /// The process's share of its machine, 0-100.
    pub cpu_percent: f32,
    pub rss_bytes: u64,
    pub sse_connections: u64,
    /// When its last state arrived, by this instance's clock.
    pub last_seen_ms: u64,
    pub state: InstanceState,
    /// The instance serving this snapshot.
    pub local: bool,
    /// Another running process claims the same id (each is still counted).
    pub duplicate: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Publishing on time.
    #[default]
    Live,
    /// Three periods without a message: still counted, marked.
    Stale,
    /// Silent for longer than a minute: its last minute has passed, so it leaves the live
    /// rates; its totals since start stay in the totals.
    Gone,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Stale => "stale",
            Self::Gone => "gone",
        }
    }
}
