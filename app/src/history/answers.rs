//! What history queries answer: series, totals, table rows and pages of stored requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TimeRange;
use crate::snapshot::{LatencySummary, StatusDistribution, WindowPoint};

/// The sampled values' groups: `system`, `process` and `runtime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleGroup {
    System,
    Process,
    Runtime,
}

/// A series: `[time_ms, value]` pairs, time being the start of the bucket.
pub type Points = Vec<(u64, f64)>;

/// One named series of a chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedSeries {
    pub name: String,
    pub points: Points,
}

/// `system`, `process` and `runtime`: sampled values averaged per step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplesHistory {
    pub range: TimeRange,
    pub step_ms: u64,
    pub series: Vec<NamedSeries>,
}

impl SamplesHistory {
    pub fn series(&self, name: &str) -> Points {
        self.series
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.points.clone())
            .unwrap_or_default()
    }
}

/// Request totals over a range, with series per step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverviewHistory {
    pub range: TimeRange,
    pub step_ms: u64,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// 4xx and 5xx over all requests, 0-100.
    pub error_rate_percent: f64,
    /// Requests per second and per minute within the range.
    pub rps: f64,
    pub rpm: f64,
    pub bytes: u64,
    pub latency: LatencySummary,
    pub status: StatusDistribution,
    /// Requests per second in each step.
    pub rps_series: Points,
    pub p95_ms_series: Points,
}

/// One route over a range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub method: String,
    pub route: String,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub error_rate_percent: f64,
    pub bytes: u64,
    pub latency: LatencySummary,
    pub status: BTreeMap<u16, u64>,
}

impl EndpointRow {
    pub fn errors(&self) -> u64 {
        self.client_errors + self.server_errors
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointsPage {
    pub range: TimeRange,
    /// Routes matching the search.
    pub total: u64,
    pub page: u32,
    pub limit: u32,
    pub items: Vec<EndpointRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopEndpoints {
    pub range: TimeRange,
    pub metric: String,
    pub items: Vec<EndpointRow>,
}

/// One stored request: an error response or a slow one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: i64,
    /// The instance that served it.
    #[serde(default)]
    pub instance: String,
    pub time_ms: u64,
    pub method: String,
    pub route: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    pub bytes: u64,
    /// What the app (`sightline::ErrorMessage`) or a panic said.
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordsPage {
    pub range: TimeRange,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
    /// For slow requests: the threshold applied.
    pub threshold_ms: Option<u64>,
    pub items: Vec<RequestRecord>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDistribution {
    pub range: TimeRange,
    pub step_ms: u64,
    pub requests: u64,
    pub status: StatusDistribution,
    pub client_errors_series: Points,
    pub server_errors_series: Points,
}

/// An instance with history in a range: the first and last 10 s windows it wrote there
/// (their starts) and the requests it served.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInstance {
    pub id: String,
    pub first_ms: u64,
    pub last_ms: u64,
    pub requests: u64,
}

/// `GET {path}/api/instances`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstancesHistory {
    pub range: TimeRange,
    pub items: Vec<StoredInstance>,
}

/// `GET {path}/api/recent`: the last [`RECENT_SPAN_MS`] of finished 10 s windows, as the
/// Dashboard's live charts start from. A window is there when history holds it (its
/// samples were written, with or without requests); a window the server was down for is
/// not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecentHistory {
    /// Windows starting in `[from_ms, to_ms)`; `to_ms` is the start of the window in
    /// progress.
    pub from_ms: u64,
    pub to_ms: u64,
    pub points: Vec<WindowPoint>,
}

/// How far back the Dashboard's live charts reach.
pub const RECENT_SPAN_MS: u64 = 15 * super::MINUTE_MS;
/// The windows history and the live charts count in.
pub const WINDOW_MS: u64 = 10_000;
