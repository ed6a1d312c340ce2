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
use super::summary::{Minute, Totals, share, summarize, top_endpoints};

const SECONDS: usize = 64;
const TENS: usize = 8;
const RATE_SECONDS: u64 = 10;
const MINUTE: u64 = 60;
/// Ten-second slots covering the last minute.
const LATENCY_TENS: u64 = 6;

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
        let (merged, sum, max) = self.merged_latency(now_sec);
        summarize(merged.as_ref(), sum, max)
    }

    /// The 10 s slots overlapping the last minute, merged: histogram, sum and maximum.
    fn merged_latency(&self, now_sec: u64) -> (Option<Histogram<u64>>, u64, u64) {
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
        (merged, sum, max)
    }

    /// Everything of the last minute that adds up across instances.
    fn minute(&self, now_sec: u64) -> Minute {
        let rate = self.recent(now_sec, RATE_SECONDS);
        let minute = self.recent(now_sec, MINUTE);
        let (histogram, latency_sum_us, latency_max_us) = self.merged_latency(now_sec);
        Minute {
            last_10s: rate.requests,
            requests: minute.requests,
            client_errors: minute.client_errors,
            server_errors: minute.server_errors,
            latency_sum_us,
            latency_max_us,
            histogram,
        }
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
        Endpoints {
            status: self.status_distribution(),
            ..top_endpoints(&stats)
        }
    }

    fn status_distribution(&self) -> StatusDistribution {
        StatusDistribution::from_codes(self.status.clone())
    }

    /// All routes over the last minute.
    pub fn minute(&self, now_ms: u64) -> Minute {
        self.overall.minute(now_ms / 1_000)
    }

    /// Each route with traffic in the last minute: method, template and its minute.
    pub fn route_minutes(&self, now_ms: u64) -> Vec<(&'static str, &str, Minute)> {
        let sec = now_ms / 1_000;
        self.routes
            .iter()
            .map(|r| (r, r.series.minute(sec)))
            .filter(|(_, m)| m.requests > 0)
            .map(|(r, m)| (METHODS[r.cell.method as usize], &*r.cell.route, m))
            .collect()
    }

    /// One 10 s window of all routes (`ten`: its start in 10 s units) as parts that add
    /// up; `None` when it served nothing or has left the slots.
    pub fn ten(&self, ten: u64) -> Option<Minute> {
        let slot = self.overall.tens.iter().flatten().find(|s| s.ten == ten)?;
        let c = &slot.counts;
        (c.requests > 0).then(|| Minute {
            last_10s: c.requests,
            requests: c.requests,
            client_errors: c.client_errors,
            server_errors: c.server_errors,
            latency_sum_us: c.latency_sum_us,
            latency_max_us: c.latency_max_us,
            histogram: Some(c.histogram.clone()),
        })
    }

    pub fn totals(&self) -> Totals {
        Totals {
            requests: self.total_requests,
            client_errors: self.total_client_errors,
            server_errors: self.total_server_errors,
            status: self.status.clone(),
        }
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
#[path = "window_tests.rs"]
mod tests;
