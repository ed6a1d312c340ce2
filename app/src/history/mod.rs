//! History: the query parameters and answers shared by the REST API, the server functions
//! and the pages.
//!
//! Parameters arrive as strings (from a URL or a form) and are parsed here, so every
//! entry point rejects the same input with the same message naming the parameter.

mod answers;
mod params;
mod range;
mod settings;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use answers::{
    EndpointRow, EndpointsPage, ErrorDistribution, InstancesHistory, NamedSeries, OverviewHistory,
    Points, RECENT_SPAN_MS, RecentHistory, RecordsPage, RequestRecord, SampleGroup, SamplesHistory,
    StoredInstance, TopEndpoints, WINDOW_MS,
};
pub use params::{
    EndpointSort, EndpointsParams, EndpointsQuery, ErrorsParams, ErrorsQuery, RecentParams,
    SlowParams, SlowQuery, StatusFilter, TopMetric, TopParams, TopQuery,
};
pub use range::{RangeParams, TimeRange, encode_component};
pub use settings::{
    MAX_RETENTION_DAYS, MAX_SLOW_THRESHOLD_MS, MIN_RETENTION_DAYS, MIN_SLOW_THRESHOLD_MS, Settings,
    SettingsInfo, SettingsUpdate,
};

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
/// The latest instant `from` and `to` may name: the end of the year 9999, in ms since
/// the Unix epoch. Far enough for any use, and far from every integer limit.
pub const MAX_TIME_MS: u64 = 253_402_300_799_999;
pub const DEFAULT_PAGE_LIMIT: u32 = 20;
pub const MAX_PAGE_LIMIT: u32 = 500;
/// The highest `page`: 500 million rows in, no history has more.
pub const MAX_PAGE: u32 = 1_000_000;
/// Routes `endpoints/top` lists unless `limit` says otherwise, and at most.
pub const DEFAULT_TOP_LIMIT: u32 = 10;
pub const MAX_TOP_LIMIT: u32 = 100;
/// The longest value any parameter may have, in bytes (`search` and `route` included).
pub const MAX_PARAM_BYTES: usize = 256;

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

/// A parameter's value, trimmed: `None` when absent or empty (empty means "not given"),
/// an error naming it when longer than [`MAX_PARAM_BYTES`].
pub fn text_param<'a>(param: &str, raw: &'a Option<String>) -> Result<Option<&'a str>, ParamError> {
    let Some(value) = non_empty(raw) else {
        return Ok(None);
    };
    if value.len() > MAX_PARAM_BYTES {
        return Err(ParamError::new(
            param,
            format!("at most {MAX_PARAM_BYTES} bytes, got {}", value.len()),
        ));
    }
    Ok(Some(value))
}

fn parse_u64(param: &str, raw: &str) -> Result<u64, ParamError> {
    raw.trim()
        .parse()
        .map_err(|_| ParamError::new(param, format!("expected a whole number, got {raw:?}")))
}

/// A whole number from 1 to `max`, or `default` when not given.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_refused_by_name() {
        let at_cap = Some("x".repeat(MAX_PARAM_BYTES));
        assert_eq!(
            text_param("search", &at_cap).unwrap().map(str::len),
            Some(MAX_PARAM_BYTES)
        );
        let over = Some("é".repeat(MAX_PARAM_BYTES / 2 + 1));
        assert_eq!(text_param("search", &over).unwrap_err().param, "search");
        assert_eq!(text_param("search", &Some("  ".into())).unwrap(), None);
        assert_eq!(text_param("search", &None).unwrap(), None);
    }

    #[test]
    fn numbers_at_their_edges() {
        for raw in ["0", "501", "-1", "18446744073709551616", "1e3", "0x10", ""] {
            let got = parse_bounded("limit", Some(raw), 20, MAX_PAGE_LIMIT);
            if raw.is_empty() {
                assert_eq!(got, Ok(20));
            } else {
                assert_eq!(got.unwrap_err().param, "limit", "{raw}");
            }
        }
        assert_eq!(
            parse_bounded("limit", Some("500"), 20, MAX_PAGE_LIMIT),
            Ok(500)
        );
        assert_eq!(parse_u64("to", &u64::MAX.to_string()), Ok(u64::MAX));
    }
}
