//! The table queries' parameters: endpoints, top endpoints, slow requests and errors.

use serde::{Deserialize, Serialize};

use super::{
    DEFAULT_PAGE_LIMIT, DEFAULT_TOP_LIMIT, MAX_PAGE, MAX_PAGE_LIMIT, MAX_SLOW_THRESHOLD_MS,
    MAX_TOP_LIMIT, MIN_SLOW_THRESHOLD_MS, ParamError, RangeParams, TimeRange, parse_bounded,
    parse_u64, text_param,
};

/// `page` and `limit`.
fn parse_page(page: &Option<String>, limit: &Option<String>) -> Result<(u32, u32), ParamError> {
    Ok((
        parse_bounded("page", text_param("page", page)?, 1, MAX_PAGE)?,
        parse_bounded(
            "limit",
            text_param("limit", limit)?,
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
        let sort = match text_param("sort", &self.sort)? {
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
        let descending = match text_param("order", &self.order)? {
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
        let search = text_param("search", &self.search)?.map(str::to_owned);
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

/// `GET {path}/api/recent`: the range is fixed (the last 15 minutes); `instance` narrows
/// it to one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecentParams {
    pub instance: Option<String>,
}

impl RecentParams {
    /// The instance asked for, if any.
    pub fn resolve(&self, _now_ms: u64) -> Result<Option<String>, ParamError> {
        Ok(text_param("instance", &self.instance)?.map(str::to_owned))
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
        let metric = match text_param("metric", &self.metric)? {
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
            limit: parse_bounded(
                "limit",
                text_param("limit", &self.limit)?,
                DEFAULT_TOP_LIMIT,
                MAX_TOP_LIMIT,
            )?,
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
        let threshold_ms = text_param("threshold", &self.threshold)?
            .map(|raw| parse_u64("threshold", raw))
            .transpose()?;
        let allowed = MIN_SLOW_THRESHOLD_MS..=MAX_SLOW_THRESHOLD_MS;
        if let Some(t) = threshold_ms.filter(|t| !allowed.contains(t)) {
            return Err(ParamError::new(
                "threshold",
                format!(
                    "must be between {MIN_SLOW_THRESHOLD_MS} and {MAX_SLOW_THRESHOLD_MS} ms, got {t}"
                ),
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
            Self::Class(c) => {
                let lo = c.saturating_mul(100);
                (lo, lo.saturating_add(99))
            }
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
        let status = text_param("status", &self.status)?
            .map(StatusFilter::parse)
            .transpose()?
            .unwrap_or(StatusFilter::Any);
        let route = text_param("route", &self.route)?.map(str::to_owned);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_filters_parse() {
        assert_eq!(StatusFilter::parse("5xx").unwrap().bounds(), (500, 599));
        assert_eq!(StatusFilter::parse("404").unwrap().bounds(), (404, 404));
        assert_eq!(StatusFilter::parse("").unwrap(), StatusFilter::Any);
        assert_eq!(StatusFilter::parse("200").unwrap_err().param, "status");
        assert_eq!(StatusFilter::parse("65536").unwrap_err().param, "status");
        assert_eq!(StatusFilter::Class(u16::MAX).bounds(), (u16::MAX, u16::MAX));
    }

    const NOW: u64 = 1_800_000_000_000;

    /// The parameter named by the error resolving `query` for `table`, if any.
    fn refused(table: &str, query: serde_json::Value) -> Option<String> {
        fn err<P: serde::de::DeserializeOwned, Q>(
            query: serde_json::Value,
            resolve: fn(&P, u64) -> Result<Q, ParamError>,
        ) -> Option<String> {
            let params: P = serde_json::from_value(query).unwrap();
            resolve(&params, NOW).err().map(|e| e.param)
        }
        match table {
            "endpoints" => err(query, EndpointsParams::resolve),
            "top" => err(query, TopParams::resolve),
            "slow" => err(query, SlowParams::resolve),
            _ => err(query, ErrorsParams::resolve),
        }
    }

    #[test]
    fn limits_at_zero_and_one_past_the_top_name_their_parameter() {
        use serde_json::json;
        let past_page = (MAX_PAGE + 1).to_string();
        let past_limit = (MAX_PAGE_LIMIT + 1).to_string();
        let past_top = (MAX_TOP_LIMIT + 1).to_string();
        let past_threshold = (MAX_SLOW_THRESHOLD_MS + 1).to_string();
        let long = "a".repeat(crate::history::MAX_PARAM_BYTES + 1);
        for (table, query, param) in [
            ("endpoints", json!({ "page": "0" }), "page"),
            ("endpoints", json!({ "page": past_page }), "page"),
            ("endpoints", json!({ "page": "-1" }), "page"),
            ("endpoints", json!({ "limit": "0" }), "limit"),
            ("endpoints", json!({ "limit": past_limit }), "limit"),
            ("endpoints", json!({ "search": long }), "search"),
            ("endpoints", json!({ "sort": long }), "sort"),
            ("endpoints", json!({ "order": long }), "order"),
            ("top", json!({ "limit": "0" }), "limit"),
            ("top", json!({ "limit": past_top }), "limit"),
            ("top", json!({ "metric": long }), "metric"),
            ("slow", json!({ "threshold": "0" }), "threshold"),
            ("slow", json!({ "threshold": past_threshold }), "threshold"),
            (
                "slow",
                json!({ "threshold": "18446744073709551616" }),
                "threshold",
            ),
            ("slow", json!({ "page": "0" }), "page"),
            ("slow", json!({ "limit": past_limit }), "limit"),
            ("errors", json!({ "route": long }), "route"),
            ("errors", json!({ "status": long }), "status"),
            ("errors", json!({ "page": past_page }), "page"),
            ("errors", json!({ "limit": "0" }), "limit"),
            ("errors", json!({ "from": "5", "to": "1" }), "from"),
        ] {
            let got = refused(table, query.clone());
            assert_eq!(got.as_deref(), Some(param), "{table} {query}");
        }
    }

    #[test]
    fn limits_at_their_top_are_accepted() {
        use serde_json::json;
        let at_cap = "a".repeat(crate::history::MAX_PARAM_BYTES);
        for (table, query) in [
            (
                "endpoints",
                json!({ "page": MAX_PAGE.to_string(), "limit": "500", "search": at_cap }),
            ),
            ("top", json!({ "limit": MAX_TOP_LIMIT.to_string() })),
            (
                "slow",
                json!({ "threshold": MAX_SLOW_THRESHOLD_MS.to_string(), "page": "1" }),
            ),
            (
                "errors",
                json!({ "route": at_cap, "page": "1", "limit": "1" }),
            ),
        ] {
            assert_eq!(refused(table, query.clone()), None, "{table} {query}");
        }
    }
}
