//! The table queries' parameters: endpoints, top endpoints, slow requests and errors.

use serde::{Deserialize, Serialize};

use super::{
    DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_SLOW_THRESHOLD_MS, ParamError, RangeParams, TimeRange,
    non_empty, parse_bounded, parse_u64,
};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_filters_parse() {
        assert_eq!(StatusFilter::parse("5xx").unwrap().bounds(), (500, 599));
        assert_eq!(StatusFilter::parse("404").unwrap().bounds(), (404, 404));
        assert_eq!(StatusFilter::parse("").unwrap(), StatusFilter::Any);
        assert_eq!(StatusFilter::parse("200").unwrap_err().param, "status");
    }
}
