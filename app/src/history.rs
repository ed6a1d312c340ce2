//! History: the query parameters and answers shared by the REST API, the server functions
//! and the pages.
//!
//! Parameters arrive as strings (from a URL or a form) and are parsed here, so every
//! entry point rejects the same input with the same message naming the parameter.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::snapshot::{LatencySummary, StatusDistribution, StoreHealth};

/// The range presets, shortest first: `range=` value and length in milliseconds.
pub const PRESETS: [(&str, u64); 10] = [
    ("5m", 5 * MINUTE_MS),
    ("15m", 15 * MINUTE_MS),
    ("30m", 30 * MINUTE_MS),
    ("1h", HOUR_MS),
    ("6h", 6 * HOUR_MS),
    ("12h", 12 * HOUR_MS),
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("15d", 15 * DAY_MS),
    ("30d", 30 * DAY_MS),
];
pub const DEFAULT_RANGE: &str = "1h";
/// Points per series unless `max_points` says otherwise.
pub const DEFAULT_MAX_POINTS: u32 = 120;
pub const MAX_MAX_POINTS: u32 = 2_000;
/// The longest range a query may span.
pub const MAX_SPAN_MS: u64 = 400 * DAY_MS;
pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 500;

pub const MINUTE_MS: u64 = 60_000;
pub const HOUR_MS: u64 = 60 * MINUTE_MS;
pub const DAY_MS: u64 = 24 * HOUR_MS;

/// A parameter that could not be used: answered 400 with this message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

impl ParamError {
    pub fn new(param: &str, message: impl Into<String>) -> Self {
        Self {
            param: param.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid parameter `{}`: {}", self.param, self.message)
    }
}

impl std::error::Error for ParamError {}

/// Why a history query failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum HistoryError {
    #[error("{0}")]
    Param(ParamError),
    #[error("history is not available: {0}")]
    Unavailable(String),
}

impl From<ParamError> for HistoryError {
    fn from(e: ParamError) -> Self {
        Self::Param(e)
    }
}

fn parse_u64(param: &str, raw: &str) -> Result<u64, ParamError> {
    raw.trim()
        .parse()
        .map_err(|_| ParamError::new(param, format!("expected a whole number, got {raw:?}")))
}

fn parse_bounded(
    param: &str,
    raw: Option<&str>,
    default: u32,
    max: u32,
) -> Result<u32, ParamError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(default);
    };
    let n = parse_u64(param, raw)?;
    if n == 0 || n > u64::from(max) {
        return Err(ParamError::new(
            param,
            format!("must be between 1 and {max}, got {n}"),
        ));
    }
    Ok(n as u32)
}

fn non_empty(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|r| !r.is_empty())
}

/// `range`, or `from`/`to`, plus `max_points`: as given in a URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RangeParams {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub max_points: Option<String>,
}

/// A resolved range: windows starting in `[from_ms, to_ms)` count.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub from_ms: u64,
    pub to_ms: u64,
    /// The preset it came from, if any.
    pub preset: Option<String>,
    pub max_points: u32,
}

impl TimeRange {
    pub fn span_ms(&self) -> u64 {
        self.to_ms - self.from_ms
    }

    /// Series step: the span over `max_points`, rounded up to whole 10 s windows.
    pub fn step_ms(&self) -> u64 {
        let raw = self.span_ms().div_ceil(u64::from(self.max_points.max(1)));
        raw.div_ceil(10_000).max(1) * 10_000
    }
}

impl RangeParams {
    pub fn preset(range: &str) -> Self {
        Self {
            range: Some(range.to_owned()),
            ..Self::default()
        }
    }

    pub fn resolve(&self, now_ms: u64) -> Result<TimeRange, ParamError> {
        let max_points = parse_bounded(
            "max_points",
            non_empty(&self.max_points),
            DEFAULT_MAX_POINTS,
            MAX_MAX_POINTS,
        )?;
        let (from, to) = (non_empty(&self.from), non_empty(&self.to));
        if let Some(range) = non_empty(&self.range) {
            if from.is_some() || to.is_some() {
                return Err(ParamError::new(
                    "range",
                    "give either `range` or `from`/`to`, not both",
                ));
            }
            let span = PRESETS
                .iter()
                .find(|(name, _)| *name == range)
                .map(|(_, span)| *span)
                .ok_or_else(|| {
                    let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                    ParamError::new(
                        "range",
                        format!("unknown range {range:?}; use one of {}", names.join(", ")),
                    )
                })?;
            return Ok(TimeRange {
                from_ms: now_ms.saturating_sub(span),
                to_ms: now_ms,
                preset: Some(range.to_owned()),
                max_points,
            });
        }
        let Some(from) = from else {
            if to.is_some() {
                return Err(ParamError::new("from", "`to` needs `from`"));
            }
            return RangeParams {
                max_points: self.max_points.clone(),
                ..Self::preset(DEFAULT_RANGE)
            }
            .resolve(now_ms);
        };
        let from_ms = parse_u64("from", from)?;
        let to_ms = to
            .map(|t| parse_u64("to", t))
            .transpose()?
            .unwrap_or(now_ms);
        if from_ms >= to_ms {
            return Err(ParamError::new(
                "from",
                format!("must be before `to` ({from_ms} >= {to_ms})"),
            ));
        }
        if to_ms - from_ms > MAX_SPAN_MS {
            return Err(ParamError::new(
                "from",
                format!("the range may span at most {} days", MAX_SPAN_MS / DAY_MS),
            ));
        }
        Ok(TimeRange {
            from_ms,
            to_ms,
            preset: None,
            max_points,
        })
    }

    /// The query string (without `?`) that reproduces this range.
    pub fn to_query(&self) -> String {
        let mut pairs = Vec::new();
        for (key, value) in [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("max_points", &self.max_points),
        ] {
            if let Some(v) = non_empty(value) {
                pairs.push(format!("{key}={}", encode_component(v)));
            }
        }
        pairs.join("&")
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode_component(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `page` and `limit`.
fn parse_page(page: &Option<String>, limit: &Option<String>) -> Result<(u32, u32), ParamError> {
    Ok((
        parse_bounded("page", non_empty(page), 1, u32::MAX)?,
        parse_bounded(
            "limit",
            non_empty(limit),
            DEFAULT_PAGE_LIMIT,
            MAX_PAGE_LIMIT,
        )?,
    ))
}

/// Columns the endpoints table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointSort {
    Route,
    Method,
    Requests,
    Errors,
    ErrorRate,
    Avg,
    P50,
    P95,
    P99,
    Max,
}

impl EndpointSort {
    pub const ALL: [(&'static str, EndpointSort); 10] = [
        ("route", Self::Route),
        ("method", Self::Method),
        ("requests", Self::Requests),
        ("errors", Self::Errors),
        ("error_rate", Self::ErrorRate),
        ("avg", Self::Avg),
        ("p50", Self::P50),
        ("p95", Self::P95),
        ("p99", Self::P99),
        ("max", Self::Max),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("requests", |(n, _)| n)
    }

    /// Text columns read best ascending, numbers descending.
    pub fn default_descending(self) -> bool {
        !matches!(self, Self::Route | Self::Method)
    }
}

/// `GET {path}/api/endpoints`: range plus `search`, `sort`, `order`, `page`, `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndpointsParams {
    #[serde(flatten)]
    pub range: RangeParams,
    pub search: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<String>,
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointsQuery {
    pub range: TimeRange,
    pub search: Option<String>,
    pub sort: EndpointSort,
    pub descending: bool,
    pub page: u32,
    pub limit: u32,
}

impl EndpointsParams {
    pub fn resolve(&self, now_ms: u64) -> Result<EndpointsQuery, ParamError> {
        let range = self.range.resolve(now_ms)?;
        let sort = match non_empty(&self.sort) {
            None => EndpointSort::Requests,
            Some(raw) => EndpointSort::ALL
                .iter()
                .find(|(name, _)| *name == raw)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    let names: Vec<&str> = EndpointSort::ALL.iter().map(|(n, _)| *n).collect();
                    ParamError::new(
                        "sort",
                        format!("unknown column {raw:?}; use one of {}", names.join(", ")),
                    )
                })?,
        };
        let descending = match non_empty(&self.order) {
            None => sort.default_descending(),
            Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(ParamError::new(
                    "order",
                    format!("expected `asc` or `desc`, got {other:?}"),
                ));
            }
        };
        let search = non_empty(&self.search).map(str::to_owned);
        if search.as_ref().is_some_and(|s| s.len() > 200) {
            return Err(ParamError::new("search", "at most 200 characters"));
        }
        let (page, limit) = parse_page(&self.page, &self.limit)?;
        Ok(EndpointsQuery {
            range,
            search,
            sort,
            descending,
            page,
            limit,
        })
    }
}

/// What `endpoints/top` ranks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopMetric {
    Requests,
    Latency,
    Errors,
}

impl TopMetric {
    pub const ALL: [(&'static str, TopMetric); 3] = [
        ("requests", Self::Requests),
        ("latency", Self::Latency),
        ("errors", Self::Errors),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("requests", |(n, _)| n)
    }
}

/// `GET {path}/api/endpoints/top`: range plus `metric` and `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopParams {
    #[serde(flatten)]
    pub range: RangeParams,
    pub metric: Option<String>,
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopQuery {
    pub range: TimeRange,
    pub metric: TopMetric,
    pub limit: u32,
}

impl TopParams {
    pub fn resolve(&self, now_ms: u64) -> Result<TopQuery, ParamError> {
        let metric = match non_empty(&self.metric) {
            None => TopMetric::Requests,
            Some(raw) => TopMetric::ALL
                .iter()
                .find(|(name, _)| *name == raw)
                .map(|(_, m)| *m)
                .ok_or_else(|| {
                    ParamError::new(
                        "metric",
                        format!("unknown metric {raw:?}; use requests, latency or errors"),
                    )
                })?,
        };
        Ok(TopQuery {
            range: self.range.resolve(now_ms)?,
            metric,
            limit: parse_bounded("limit", non_empty(&self.limit), 10, 100)?,
        })
    }
}

/// `GET {path}/api/endpoints/slow`: range plus `threshold` (ms), `page`, `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlowParams {
    #[serde(flatten)]
    pub range: RangeParams,
    pub threshold: Option<String>,
    pub page: Option<String>,
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowQuery {
    pub range: TimeRange,
    /// `None`: the configured slow threshold.
    pub threshold_ms: Option<u64>,
    pub page: u32,
    pub limit: u32,
}

impl SlowParams {
    pub fn resolve(&self, now_ms: u64) -> Result<SlowQuery, ParamError> {
        let threshold_ms = non_empty(&self.threshold)
            .map(|raw| parse_u64("threshold", raw))
            .transpose()?;
        if threshold_ms.is_some_and(|t| t > MAX_SLOW_THRESHOLD_MS) {
            return Err(ParamError::new(
                "threshold",
                format!("at most {MAX_SLOW_THRESHOLD_MS} ms"),
            ));
        }
        let (page, limit) = parse_page(&self.page, &self.limit)?;
        Ok(SlowQuery {
            range: self.range.resolve(now_ms)?,
            threshold_ms,
            page,
            limit,
        })
    }
}

/// Which statuses an error query keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusFilter {
    /// Every status from 400 up.
    Any,
    /// `4xx` or `5xx`.
    Class(u16),
    Exact(u16),
}

impl StatusFilter {
    pub fn parse(raw: &str) -> Result<Self, ParamError> {
        let raw = raw.trim().to_ascii_lowercase();
        match raw.as_str() {
            "" | "all" => Ok(Self::Any),
            "4xx" => Ok(Self::Class(4)),
            "5xx" => Ok(Self::Class(5)),
            _ => match raw.parse::<u16>() {
                Ok(code) if (400..=599).contains(&code) => Ok(Self::Exact(code)),
                _ => Err(ParamError::new(
                    "status",
                    format!("expected 4xx, 5xx or a status code from 400 to 599, got {raw:?}"),
                )),
            },
        }
    }

    /// Inclusive status bounds.
    pub fn bounds(self) -> (u16, u16) {
        match self {
            Self::Any => (400, 599),
            Self::Class(c) => (c * 100, c * 100 + 99),
            Self::Exact(code) => (code, code),
        }
    }
}

/// `GET {path}/api/errors`: range plus `status`, `route`, `page`, `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorsParams {
    #[serde(flatten)]
    pub range: RangeParams,
    pub status: Option<String>,
    pub route: Option<String>,
    pub page: Option<String>,
    pub limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorsQuery {
    pub range: TimeRange,
    pub status: StatusFilter,
    pub route: Option<String>,
    pub page: u32,
    pub limit: u32,
}

impl ErrorsParams {
    pub fn resolve(&self, now_ms: u64) -> Result<ErrorsQuery, ParamError> {
        let status = non_empty(&self.status)
            .map(StatusFilter::parse)
            .transpose()?
            .unwrap_or(StatusFilter::Any);
        let route = non_empty(&self.route).map(str::to_owned);
        if route.as_ref().is_some_and(|r| r.len() > 500) {
            return Err(ParamError::new("route", "at most 500 characters"));
        }
        let (page, limit) = parse_page(&self.page, &self.limit)?;
        Ok(ErrorsQuery {
            range: self.range.resolve(now_ms)?,
            status,
            route,
            page,
            limit,
        })
    }
}

pub const MIN_RETENTION_DAYS: u32 = 1;
pub const MAX_RETENTION_DAYS: u32 = 365;
pub const MIN_SLOW_THRESHOLD_MS: u64 = 1;
pub const MAX_SLOW_THRESHOLD_MS: u64 = 3_600_000;

/// The settings users change from the Settings page or `POST {path}/api/settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub retention_days: u32,
    pub slow_threshold_ms: u64,
}

/// A settings change as submitted: any field may be left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsUpdate {
    pub retention_days: Option<serde_json::Value>,
    pub slow_threshold_ms: Option<serde_json::Value>,
}

fn whole_number(param: &str, value: &serde_json::Value) -> Result<u64, ParamError> {
    match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| ParamError::new(param, format!("expected a whole number, got {n}"))),
        serde_json::Value::String(s) => parse_u64(param, s),
        other => Err(ParamError::new(
            param,
            format!("expected a whole number, got {other}"),
        )),
    }
}

impl SettingsUpdate {
    pub fn apply(&self, current: &Settings) -> Result<Settings, ParamError> {
        let mut next = current.clone();
        if let Some(v) = &self.retention_days {
            let days = whole_number("retention_days", v)?;
            if !(u64::from(MIN_RETENTION_DAYS)..=u64::from(MAX_RETENTION_DAYS)).contains(&days) {
                return Err(ParamError::new(
                    "retention_days",
                    format!(
                        "must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days, got {days}"
                    ),
                ));
            }
            next.retention_days = days as u32;
        }
        if let Some(v) = &self.slow_threshold_ms {
            let ms = whole_number("slow_threshold_ms", v)?;
            if !(MIN_SLOW_THRESHOLD_MS..=MAX_SLOW_THRESHOLD_MS).contains(&ms) {
                return Err(ParamError::new(
                    "slow_threshold_ms",
                    format!(
                        "must be between {MIN_SLOW_THRESHOLD_MS} and {MAX_SLOW_THRESHOLD_MS} ms, got {ms}"
                    ),
                ));
            }
            next.slow_threshold_ms = ms;
        }
        Ok(next)
    }
}

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

/// `GET {path}/api/settings`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsInfo {
    pub retention_days: u32,
    pub slow_threshold_ms: u64,
    pub version: String,
    pub database_path: String,
    pub database_bytes: u64,
    pub oldest_ms: Option<u64>,
    pub store: StoreHealth,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn params(pairs: &[(&str, &str)]) -> RangeParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        RangeParams {
            range: get("range"),
            from: get("from"),
            to: get("to"),
            max_points: get("max_points"),
        }
    }

    #[test]
    fn presets_and_explicit_ranges_resolve() {
        let r = params(&[("range", "15m")]).resolve(NOW).unwrap();
        assert_eq!((r.from_ms, r.to_ms), (NOW - 15 * MINUTE_MS, NOW));
        let r = params(&[]).resolve(NOW).unwrap();
        assert_eq!(r.span_ms(), HOUR_MS);
        let r = params(&[("from", "1000"), ("to", "5000"), ("max_points", "7")])
            .resolve(NOW)
            .unwrap();
        assert_eq!((r.from_ms, r.to_ms, r.max_points), (1000, 5000, 7));
        let since = (NOW - 1000).to_string();
        assert_eq!(params(&[("from", &since)]).resolve(NOW).unwrap().to_ms, NOW);
        assert_eq!(
            params(&[("from", "1000")]).resolve(NOW).unwrap_err().param,
            "from"
        );
    }

    #[test]
    fn bad_ranges_name_their_parameter() {
        for (pairs, param) in [
            (vec![("range", "2w")], "range"),
            (vec![("range", "1h"), ("from", "1")], "range"),
            (vec![("from", "x")], "from"),
            (vec![("from", "10"), ("to", "y")], "to"),
            (vec![("from", "10"), ("to", "5")], "from"),
            (vec![("to", "5")], "from"),
            (vec![("max_points", "0")], "max_points"),
            (vec![("max_points", "100000")], "max_points"),
        ] {
            let err = params(&pairs).resolve(NOW).unwrap_err();
            assert_eq!(err.param, param, "{pairs:?}: {err}");
        }
    }

    #[test]
    fn step_is_whole_windows() {
        let r = params(&[("range", "1h"), ("max_points", "60")])
            .resolve(NOW)
            .unwrap();
        assert_eq!(r.step_ms(), 60_000);
        let r = params(&[("range", "5m"), ("max_points", "1000")])
            .resolve(NOW)
            .unwrap();
        assert_eq!(r.step_ms(), 10_000);
    }

    #[test]
    fn query_strings_round_trip() {
        let p = params(&[("from", "1"), ("to", "2")]);
        assert_eq!(p.to_query(), "from=1&to=2");
        assert_eq!(encode_component("/a b?"), "%2Fa%20b%3F");
    }

    #[test]
    fn settings_updates_are_validated() {
        let current = Settings {
            retention_days: 30,
            slow_threshold_ms: 500,
        };
        let update = SettingsUpdate {
            retention_days: Some(serde_json::json!(7)),
            slow_threshold_ms: Some(serde_json::json!("250")),
        };
        assert_eq!(
            update.apply(&current).unwrap(),
            Settings {
                retention_days: 7,
                slow_threshold_ms: 250
            }
        );
        for (update, param) in [
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!(0)),
                    ..Default::default()
                },
                "retention_days",
            ),
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!(1.5)),
                    ..Default::default()
                },
                "retention_days",
            ),
            (
                SettingsUpdate {
                    slow_threshold_ms: Some(serde_json::json!(-3)),
                    ..Default::default()
                },
                "slow_threshold_ms",
            ),
        ] {
            assert_eq!(update.apply(&current).unwrap_err().param, param);
        }
    }

    #[test]
    fn error_filters_parse() {
        assert_eq!(StatusFilter::parse("5xx").unwrap().bounds(), (500, 599));
        assert_eq!(StatusFilter::parse("404").unwrap().bounds(), (404, 404));
        assert_eq!(StatusFilter::parse("").unwrap(), StatusFilter::Any);
        assert_eq!(StatusFilter::parse("200").unwrap_err().param, "status");
    }
}
