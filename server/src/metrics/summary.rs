//! From counts and histograms to the figures the dashboard shows; the same functions serve
//! one instance's windows and the sum of a cluster's.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use sightline_app::snapshot::{EndpointStat, Endpoints, LatencySummary, StatusDistribution};

/// Rows in each top-endpoints table.
pub const TOP_N: usize = 5;

/// The last minute of one route, or of all routes, in parts that add up exactly: counts
/// sum, histograms add. What an instance shares with the others of its cluster.
#[derive(Clone, Debug, Default)]
pub struct Minute {
    /// Requests in the last 10 s (the rate's numerator).
    pub last_10s: u64,
    /// Requests in the last 60 s, and those answered 4xx and 5xx.
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// Latency over the 10 s windows overlapping the last minute.
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    pub histogram: Option<Histogram<u64>>,
}

/// Totals since start.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub status: BTreeMap<u16, u64>,
}

/// Percentiles from a merged histogram; average and maximum from the exact sums.
pub fn summarize(histogram: Option<&Histogram<u64>>, sum_us: u64, max_us: u64) -> LatencySummary {
    let Some(h) = histogram.filter(|h| !h.is_empty()) else {
        return LatencySummary::default();
    };
    let ms = |us: u64| us as f64 / 1_000.0;
    // The histogram reports a bucket's highest equivalent value; never above the true max.
    let q = |quantile: f64| {
        ms(h.highest_equivalent(h.value_at_quantile(quantile))
            .min(max_us))
    };
    LatencySummary {
        count: h.len(),
        avg_ms: ms(sum_us) / h.len() as f64,
        p50_ms: q(0.50),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        max_ms: ms(max_us),
    }
}

/// The top-N tables from per-route figures (status left empty).
pub fn top_endpoints(stats: &[EndpointStat]) -> Endpoints {
    let top = |key: &dyn Fn(&EndpointStat) -> f64| {
        let mut sorted: Vec<&EndpointStat> = stats.iter().filter(|s| key(s) > 0.0).collect();
        sorted.sort_by(|a, b| {
            key(b)
                .total_cmp(&key(a))
                .then_with(|| (&a.route, &a.method).cmp(&(&b.route, &b.method)))
        });
        sorted.into_iter().take(TOP_N).cloned().collect()
    };
    Endpoints {
        top_by_requests: top(&|s| s.requests as f64),
        top_by_latency: top(&|s| s.latency.p95_ms),
        top_by_error_rate: top(&|s| s.error_rate_percent),
        status: StatusDistribution::default(),
    }
}

pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
