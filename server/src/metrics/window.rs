//! Rolling windows over the drained counters: 1 s slots for rates and error shares, 10 s
//! slots holding merged HDR histograms for latency. Time is always a parameter
//! (`now_ms`), so tests drive a fake clock.
//!
//! - rps: requests in the 10 most recent 1 s slots, divided by 10;
//! - rpm: requests in the 60 most recent 1 s slots (0 a minute after traffic stops);
//! - latency "over the last 60 s": the 10 s slots overlapping the last minute, merged.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use sightline_app::snapshot::{
    EndpointStat, Endpoints, LatencySummary, Overview, StatusDistribution,
};

use super::histogram::new_histogram;
use super::recorder::{METHODS, RouteCell};

const SECONDS: usize = 64;
const TENS: usize = 8;
const RATE_SECONDS: u64 = 10;
const MINUTE: u64 = 60;
/// Ten-second slots covering the last minute.
const LATENCY_TENS: u64 = 6;
/// Rows in each top-endpoints table.
pub const TOP_N: usize = 5;

#[derive(Clone, Copy, Debug, Default)]
struct SecondSlot {
    sec: u64,
    requests: u64,
    client_errors: u64,
    server_errors: u64,
}

/// Counts of one route (or of all routes) over one window, or over windows merged.
#[derive(Clone, Debug)]
pub struct WindowCounts {
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub bytes: u64,
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    pub status: BTreeMap<u16, u64>,
    pub histogram: Histogram<u64>,
}

impl Default for WindowCounts {
    fn default() -> Self {
        Self {
            requests: 0,
            client_errors: 0,
            server_errors: 0,
            bytes: 0,
            latency_sum_us: 0,
            latency_max_us: 0,
            status: BTreeMap::new(),
            histogram: new_histogram(),
        }
    }
}

impl WindowCounts {
    pub fn merge(&mut self, other: &WindowCounts) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.bytes += other.bytes;
        self.latency_sum_us += other.latency_sum_us;
        self.latency_max_us = self.latency_max_us.max(other.latency_max_us);
        for (code, n) in &other.status {
            *self.status.entry(*code).or_default() += n;
        }
        self.histogram.add(&other.histogram).expect("same layout");
    }
}

/// One 10 s window of one route (or of all routes).
#[derive(Clone, Debug)]
pub struct TenSlot {
    /// Start of the window, seconds since the epoch divided by 10.
    pub ten: u64,
    pub counts: WindowCounts,
}

impl TenSlot {
    fn new(ten: u64) -> Self {
        Self {
            ten,
            counts: WindowCounts::default(),
        }
    }
}

/// The windows of one route, or of all routes together.
#[derive(Debug, Default)]
struct Series {
    seconds: Vec<SecondSlot>,
    tens: Vec<Option<TenSlot>>,
}

impl Series {
    fn new() -> Self {
        Self {
            seconds: vec![SecondSlot::default(); SECONDS],
            tens: vec![None; TENS],
        }
    }

    fn second(&mut self, sec: u64) -> &mut SecondSlot {
        let slot = &mut self.seconds[(sec % SECONDS as u64) as usize];
        if slot.sec != sec {
            *slot = SecondSlot {
                sec,
                ..SecondSlot::default()
            };
        }
        slot
    }

    fn ten(&mut self, ten: u64) -> &mut TenSlot {
        let slot = &mut self.tens[(ten % TENS as u64) as usize];
        if slot.as_ref().is_none_or(|s| s.ten != ten) {
            *slot = Some(TenSlot::new(ten));
        }
        slot.as_mut().expect("just filled")
    }

    /// Sums 1 s slots in `(now_sec - span, now_sec]`.
    fn recent(&self, now_sec: u64, span: u64) -> SecondSlot {
        let from = now_sec.saturating_sub(span);
        self.seconds
            .iter()
            .filter(|s| s.sec > from && s.sec <= now_sec && s.requests > 0)
            .fold(SecondSlot::default(), |acc, s| SecondSlot {
                sec: now_sec,
                requests: acc.requests + s.requests,
                client_errors: acc.client_errors + s.client_errors,
                server_errors: acc.server_errors + s.server_errors,
            })
    }

    /// Latency over the 10 s slots overlapping the last minute.
    fn latency(&self, now_sec: u64) -> LatencySummary {
        let now_ten = now_sec / 10;
        let mut merged: Option<Histogram<u64>> = None;
        let (mut sum, mut max) = (0u64, 0u64);
        for slot in self.tens.iter().flatten() {
            let c = &slot.counts;
            if slot.ten + LATENCY_TENS <= now_ten || slot.ten > now_ten || c.requests == 0 {
                continue;
            }
            sum += c.latency_sum_us;
            max = max.max(c.latency_max_us);
            match merged.as_mut() {
                Some(m) => m.add(&c.histogram).expect("same bounds"),
                None => merged = Some(c.histogram.clone()),
            }
        }
        summarize(merged.as_ref(), sum, max)
    }
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

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[derive(Debug)]
struct RouteSeries {
    cell: &'static RouteCell,
    series: Series,
}

/// All windows; owned by the aggregation loop.
#[derive(Debug)]
pub struct Windows {
    routes: Vec<RouteSeries>,
    overall: Series,
    total_requests: u64,
    total_client_errors: u64,
    total_server_errors: u64,
    status: BTreeMap<u16, u64>,
    /// Windows before this one (10 s units) were handed to history.
    taken_before: Option<u64>,
}

impl Default for Windows {
    fn default() -> Self {
        Self::new()
    }
}

impl Windows {
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            overall: Series::new(),
            total_requests: 0,
            total_client_errors: 0,
            total_server_errors: 0,
            status: BTreeMap::new(),
            taken_before: None,
        }
    }

    /// Moves everything recorded since the last call into the slots for `now_ms`.
    /// `cells` only ever grows, in creation order (see `Recorder::cells`).
    pub fn rotate(&mut self, now_ms: u64, cells: &[&'static RouteCell]) {
        for cell in &cells[self.routes.len().min(cells.len())..] {
            self.routes.push(RouteSeries {
                cell,
                series: Series::new(),
            });
        }
        let sec = now_ms / 1_000;
        let ten = sec / 10;
        for route in &mut self.routes {
            // Idle routes allocate no window; what lands meanwhile waits for the next drain.
            if route.cell.is_idle() {
                continue;
            }
            let overall_ten = self.overall.ten(ten);
            let route_ten = route.series.ten(ten);
            let Some(drained) = route.cell.drain(
                &mut route_ten.counts.histogram,
                Some(&mut overall_ten.counts.histogram),
            ) else {
                continue;
            };
            let (mut client, mut server) = (0, 0);
            for &(code, n) in &drained.status {
                *route_ten.counts.status.entry(code).or_default() += n;
                *overall_ten.counts.status.entry(code).or_default() += n;
                *self.status.entry(code).or_default() += n;
                match code {
                    400..=499 => client += n,
                    500..=599 => server += n,
                    _ => {}
                }
            }
            for slot in [&mut route_ten.counts, &mut overall_ten.counts] {
                slot.requests += drained.requests;
                slot.client_errors += client;
                slot.server_errors += server;
                slot.bytes += drained.bytes;
                slot.latency_sum_us += drained.latency_sum_us;
                slot.latency_max_us = slot.latency_max_us.max(drained.latency_max_us);
            }
            for series in [&mut route.series, &mut self.overall] {
                let s = series.second(sec);
                s.requests += drained.requests;
                s.client_errors += client;
                s.server_errors += server;
            }
            self.total_requests += drained.requests;
            self.total_client_errors += client;
            self.total_server_errors += server;
        }
    }

    pub fn overview(&self, now_ms: u64) -> Overview {
        let sec = now_ms / 1_000;
        let last_10s = self.overall.recent(sec, RATE_SECONDS);
        let minute = self.overall.recent(sec, MINUTE);
        Overview {
            rps: last_10s.requests as f64 / RATE_SECONDS as f64,
            rpm: minute.requests as f64,
            total_requests: self.total_requests,
            server_errors: self.total_server_errors,
            client_errors: self.total_client_errors,
            server_error_rate_percent: share(minute.server_errors, minute.requests),
            client_error_rate_percent: share(minute.client_errors, minute.requests),
            latency: self.overall.latency(sec),
        }
    }

    pub fn endpoints(&self, now_ms: u64) -> Endpoints {
        let sec = now_ms / 1_000;
        let stats: Vec<EndpointStat> = self
            .routes
            .iter()
            .filter_map(|route| {
                let minute = route.series.recent(sec, MINUTE);
                (minute.requests > 0).then(|| EndpointStat {
                    method: METHODS[route.cell.method as usize].to_owned(),
                    route: route.cell.route.to_string(),
                    requests: minute.requests,
                    server_errors: minute.server_errors,
                    client_errors: minute.client_errors,
                    error_rate_percent: share(
                        minute.server_errors + minute.client_errors,
                        minute.requests,
                    ),
                    latency: route.series.latency(sec),
                })
            })
            .collect();
        let top = |key: &dyn Fn(&EndpointStat) -> f64| {
            let mut sorted: Vec<&EndpointStat> = stats.iter().filter(|s| key(s) > 0.0).collect();
            sorted.sort_by(|a, b| {
                key(b)
                    .total_cmp(&key(a))
                    .then_with(|| a.route.cmp(&b.route))
            });
            sorted.into_iter().take(TOP_N).cloned().collect()
        };
        Endpoints {
            top_by_requests: top(&|s| s.requests as f64),
            top_by_latency: top(&|s| s.latency.p95_ms),
            top_by_error_rate: top(&|s| s.error_rate_percent),
            status: self.status_distribution(),
        }
    }

    fn status_distribution(&self) -> StatusDistribution {
        StatusDistribution::from_codes(self.status.clone())
    }

    /// The 10 s windows that ended before `now_ms`'s window and were not taken yet (with
    /// `include_current`, the one in progress too: at shutdown).
    pub fn take_finished(&mut self, now_ms: u64, include_current: bool) -> Vec<FinishedWindow> {
        let current = now_ms / 10_000;
        let end = current + u64::from(include_current);
        let from = self.taken_before.unwrap_or(0);
        if end <= from {
            return Vec::new();
        }
        self.taken_before = Some(end);
        let mut finished: BTreeMap<u64, FinishedWindow> = BTreeMap::new();
        let wanted =
            |slot: &TenSlot| slot.ten >= from && slot.ten < end && slot.counts.requests > 0;
        for slot in self.overall.tens.iter().flatten().filter(|s| wanted(s)) {
            finished
                .entry(slot.ten)
                .or_insert_with(|| FinishedWindow::new(slot.ten))
                .overall = Some(slot.clone());
        }
        for route in &self.routes {
            for slot in route.series.tens.iter().flatten().filter(|s| wanted(s)) {
                finished
                    .entry(slot.ten)
                    .or_insert_with(|| FinishedWindow::new(slot.ten))
                    .routes
                    .push((route.cell, slot.clone()));
            }
        }
        finished.into_values().collect()
    }
}

/// A 10 s window handed to history.
#[derive(Debug)]
pub struct FinishedWindow {
    pub start_ms: u64,
    pub overall: Option<TenSlot>,
    pub routes: Vec<(&'static RouteCell, TenSlot)>,
}

impl FinishedWindow {
    fn new(ten: u64) -> Self {
        Self {
            start_ms: ten * 10_000,
            overall: None,
            routes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::recorder::Recorder;
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn record(recorder: &Recorder, route: &str, status: u16, n: u64, latency_us: u64) {
        let cell = recorder.cell(0, Some(route));
        (0..n).for_each(|_| cell.record(status, latency_us, 100));
    }

    #[test]
    fn rates_cover_their_windows_and_rpm_decays() {
        let recorder = Recorder::new(10);
        let mut w = Windows::new();
        // 5 requests in each of 30 seconds.
        for s in 0..30 {
            record(&recorder, "/a", 200, 5, 1_000);
            w.rotate(T0 + s * 1_000, &recorder.cells());
        }
        let now = T0 + 29_000;
        let o = w.overview(now);
        assert_eq!(o.rps, 5.0);
        assert_eq!(o.rpm, 150.0);
        assert_eq!(o.total_requests, 150);
        // Traffic stops: rps falls after 10 s, rpm after 60 s, totals stay.
        assert_eq!(w.overview(now + 10_000).rps, 0.0);
        // At +40 s the minute still holds seconds 10..29.
        assert_eq!(w.overview(now + 40_000).rpm, 100.0);
        assert_eq!(w.overview(now + 60_000).rpm, 0.0);
        assert_eq!(w.overview(now + 60_000).total_requests, 150);
        assert_eq!(w.overview(now + 60_000).latency, LatencySummary::default());
    }

    #[test]
    fn error_shares_and_status_counts_are_exact() {
        let recorder = Recorder::new(10);
        let mut w = Windows::new();
        record(&recorder, "/ok", 200, 7, 500);
        record(&recorder, "/missing", 404, 2, 500);
        record(&recorder, "/boom", 500, 1, 500);
        w.rotate(T0, &recorder.cells());
        let o = w.overview(T0);
        assert_eq!(
            (o.total_requests, o.client_errors, o.server_errors),
            (10, 2, 1)
        );
        assert_eq!(o.client_error_rate_percent, 20.0);
        assert_eq!(o.server_error_rate_percent, 10.0);
        let e = w.endpoints(T0);
        assert_eq!(
            e.status.by_code,
            BTreeMap::from([(200, 7), (404, 2), (500, 1)])
        );
        assert_eq!(
            (
                e.status.success,
                e.status.client_error,
                e.status.server_error
            ),
            (7, 2, 1)
        );
        assert_eq!(e.top_by_requests[0].route, "/ok");
        assert_eq!(
            e.top_by_error_rate
                .iter()
                .map(|s| s.route.as_str())
                .collect::<Vec<_>>(),
            ["/boom", "/missing"]
        );
    }

    #[test]
    fn latency_merges_the_minute_and_matches_brute_force() {
        let recorder = Recorder::new(10);
        let mut w = Windows::new();
        let mut all = Vec::new();
        // Different latencies in different 10 s windows: a max-of-windows p95 would be wrong.
        for s in 0..50u64 {
            let latency = if s < 40 { 1_000 + s * 10 } else { 50_000 };
            let n = if s < 40 { 20 } else { 1 };
            record(&recorder, "/a", 200, n, latency);
            all.extend(std::iter::repeat_n(latency, n as usize));
            w.rotate(T0 + s * 1_000, &recorder.cells());
        }
        all.sort_unstable();
        let exact =
            |q: f64| all[((q * all.len() as f64).ceil() as usize).max(1) - 1] as f64 / 1_000.0;
        let l = w.overview(T0 + 49_000).latency;
        assert_eq!(l.count, all.len() as u64);
        for (got, q) in [(l.p50_ms, 0.5), (l.p95_ms, 0.95), (l.p99_ms, 0.99)] {
            let want = exact(q);
            assert!((got - want).abs() <= want * 0.01, "p{q}: {got} vs {want}");
        }
        assert_eq!(l.max_ms, 50.0);
        let avg = all.iter().sum::<u64>() as f64 / all.len() as f64 / 1_000.0;
        assert!((l.avg_ms - avg).abs() < 1e-9);
    }
}
