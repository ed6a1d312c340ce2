//! Every instance's latest state, and the cluster they add up to.
//!
//! Traffic adds up exactly: counts are summed and latency histograms added, and the
//! percentiles are read from the sum (never a maximum or average of per-instance
//! percentiles). An instance silent for three of its periods is marked stale; silent for
//! [`LEAVE_AFTER_MS`], its last minute has passed, so it leaves the live rates and the
//! latency. Its totals since start stay in the cluster's totals, and after
//! [`FORGET_AFTER_MS`] its row goes while its totals are kept.

use std::collections::{BTreeMap, HashMap};

use sightline_app::snapshot::{
    ClusterView, DashboardSnapshot, EndpointStat, InstanceRow, InstanceState, Overview,
    StatusDistribution,
};

use super::wire::{self, Identity, add_minute};
use crate::metrics::recent::RecentWindow;
use crate::metrics::summary::{Minute, share, summarize, top_endpoints};

/// Periods without a message before an instance is marked stale.
pub const STALE_PERIODS: u64 = 3;
/// Silence after which an instance leaves the live rates (its last minute has passed).
pub const LEAVE_AFTER_MS: u64 = 60_000;
/// Silence after which an instance's row is dropped (its totals stay).
pub const FORGET_AFTER_MS: u64 = 3_600_000;

/// One instance's latest state, decoded.
#[derive(Debug)]
struct Entry {
    state: wire::InstanceState,
    overall: Minute,
    routes: Vec<(String, String, Minute)>,
    recent: Vec<RecentWindow>,
    /// When it arrived, by this instance's clock.
    seen_ms: u64,
}

/// At most this many processes are held; a state from one more is refused (and counted
/// as rejected) until an older one is forgotten.
pub const MAX_ENTRIES: usize = 1_000;

#[derive(Debug)]
pub struct View {
    local: Identity,
    /// By run: one entry per process, even when two claim one id.
    entries: HashMap<String, Entry>,
    /// Totals since start of forgotten runs, by run: a run heard from again (after a long
    /// partition) takes its totals back, so they are never counted twice.
    retired: HashMap<String, wire::WireTotals>,
}

impl View {
    pub fn new(local: Identity) -> Self {
        Self {
            local,
            entries: HashMap::new(),
            retired: HashMap::new(),
        }
    }

    /// Takes an instance's state (this one's too); an older message than the one held is
    /// ignored. Fails when a histogram does not decode.
    pub fn insert(&mut self, state: wire::InstanceState, now_ms: u64) -> Result<(), String> {
        if state.routes.len() > wire::MAX_ROUTES {
            return Err(format!("more than {} routes", wire::MAX_ROUTES));
        }
        if let Some(held) = self.entries.get(&state.identity.run)
            && held.state.sent_ms > state.sent_ms
        {
            return Ok(());
        }
        if !self.entries.contains_key(&state.identity.run) && self.entries.len() >= MAX_ENTRIES {
            return Err("too many instances".into());
        }
        self.retired.remove(&state.identity.run);
        let overall = state.overall.decode().ok_or("undecodable histogram")?;
        let routes = state
            .routes
            .iter()
            .map(|r| {
                let minute = r.part.decode().ok_or("undecodable histogram")?;
                Ok((r.method.clone(), r.route.clone(), minute))
            })
            .collect::<Result<_, &str>>()?;
        let recent = state
            .recent
            .iter()
            .take(2 * crate::metrics::recent::RECENT_WINDOWS as usize)
            .map(|w| w.decode().ok_or("undecodable histogram"))
            .collect::<Result<_, &str>>()?;
        self.entries.insert(
            state.identity.run.clone(),
            Entry {
                state,
                overall,
                routes,
                recent,
                seen_ms: now_ms,
            },
        );
        Ok(())
    }

    /// Whether a message is this instance's own (echoed back by Redis).
    pub fn is_local(&self, state: &wire::InstanceState) -> bool {
        state.identity.run == self.local.run
    }

    fn state_of(&self, entry: &Entry, now_ms: u64) -> InstanceState {
        if entry.state.identity.run == self.local.run {
            return InstanceState::Live;
        }
        let silent = now_ms.saturating_sub(entry.seen_ms);
        if silent > LEAVE_AFTER_MS {
            InstanceState::Gone
        } else if silent > STALE_PERIODS.saturating_mul(entry.state.period_ms.max(1)) {
            InstanceState::Stale
        } else {
            InstanceState::Live
        }
    }

    /// Drops the rows of instances silent past [`FORGET_AFTER_MS`], keeping their totals.
    pub fn prune(&mut self, now_ms: u64) {
        let forgotten: Vec<String> = self
            .entries
            .iter()
            .filter(|(run, e)| {
                **run != self.local.run && now_ms.saturating_sub(e.seen_ms) > FORGET_AFTER_MS
            })
            .map(|(run, _)| run.clone())
            .collect();
        for run in forgotten {
            if let Some(entry) = self.entries.remove(&run) {
                self.retired.insert(run, entry.state.totals);
            }
        }
    }

    /// The ids of the instances known, sorted, each once.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .entries
            .values()
            .map(|e| e.state.identity.id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// `local` with its traffic figures replaced by the cluster's (`scope: None`) or one
    /// instance's, and the instances table added.
    pub fn snapshot(
        &self,
        local: &DashboardSnapshot,
        scope: Option<&str>,
        link: (bool, Option<String>),
        now_ms: u64,
    ) -> DashboardSnapshot {
        let in_scope = |e: &&Entry| scope.is_none_or(|id| e.state.identity.id == id);
        let entries: Vec<&Entry> = self.entries.values().filter(in_scope).collect();
        let live: Vec<&Entry> = entries
            .iter()
            .copied()
            .filter(|e| self.state_of(e, now_ms) != InstanceState::Gone)
            .collect();

        let mut minute = Minute::default();
        let mut routes: BTreeMap<(&str, &str), Minute> = BTreeMap::new();
        for e in &live {
            add_minute(&mut minute, &e.overall);
            for (method, route, m) in &e.routes {
                add_minute(routes.entry((method, route)).or_default(), m);
            }
        }
        // Forgotten runs count in the cluster's totals, not in any one instance's.
        let retired = self.retired.values().filter(|_| scope.is_none());
        let (mut requests, mut client_errors, mut server_errors) = (0u64, 0u64, 0u64);
        let mut status: BTreeMap<u16, u64> = BTreeMap::new();
        for t in entries.iter().map(|e| &e.state.totals).chain(retired) {
            requests = requests.saturating_add(t.requests);
            client_errors = client_errors.saturating_add(t.client_errors);
            server_errors = server_errors.saturating_add(t.server_errors);
            for &(code, n) in &t.status {
                let count = status.entry(code).or_default();
                *count = count.saturating_add(n);
            }
        }
        let overview = Overview {
            rps: minute.last_10s as f64 / 10.0,
            rpm: minute.requests as f64,
            total_requests: requests,
            server_errors,
            client_errors,
            server_error_rate_percent: share(minute.server_errors, minute.requests),
            client_error_rate_percent: share(minute.client_errors, minute.requests),
            latency: summarize(
                minute.histogram.as_ref(),
                minute.latency_sum_us,
                minute.latency_max_us,
            ),
        };
        let stats: Vec<EndpointStat> = routes
            .into_iter()
            .map(|((method, route), m)| EndpointStat {
                method: method.to_owned(),
                route: route.to_owned(),
                requests: m.requests,
                server_errors: m.server_errors,
                client_errors: m.client_errors,
                error_rate_percent: share(m.server_errors + m.client_errors, m.requests),
                latency: summarize(m.histogram.as_ref(), m.latency_sum_us, m.latency_max_us),
            })
            .collect();
        let mut endpoints = top_endpoints(&stats);
        endpoints.status = StatusDistribution::from_codes(status);
        // The live charts' newest windows, added up like the rest.
        let mut recent: BTreeMap<u64, RecentWindow> = BTreeMap::new();
        for w in live.iter().flat_map(|e| &e.recent) {
            let sum = recent.entry(w.start_ms).or_insert_with(|| RecentWindow {
                start_ms: w.start_ms,
                ..RecentWindow::default()
            });
            if let Some(t) = &w.traffic {
                add_minute(sum.traffic.get_or_insert_with(Minute::default), t);
            }
            sum.cpu_sum += w.cpu_sum;
            sum.cpu_samples = sum.cpu_samples.saturating_add(w.cpu_samples);
        }
        DashboardSnapshot {
            overview,
            endpoints,
            recent: recent.values().map(RecentWindow::point).collect(),
            cluster: Some(ClusterView {
                scope: scope.map(str::to_owned),
                connected: link.0,
                error: link.1,
                instances: self.rows(now_ms),
            }),
            ..local.clone()
        }
    }

    /// The instances table, by id (this instance first among equals).
    pub fn rows(&self, now_ms: u64) -> Vec<InstanceRow> {
        let mut per_id: HashMap<&str, usize> = HashMap::new();
        for e in self.entries.values() {
            if self.state_of(e, now_ms) != InstanceState::Gone {
                *per_id.entry(&e.state.identity.id).or_default() += 1;
            }
        }
        let mut rows: Vec<InstanceRow> = self
            .entries
            .values()
            .map(|e| {
                let s = &e.state;
                let m = &e.overall;
                let latency = summarize(m.histogram.as_ref(), m.latency_sum_us, m.latency_max_us);
                InstanceRow {
                    id: s.identity.id.clone(),
                    host: s.identity.host.clone(),
                    version: s.identity.version.clone(),
                    pid: s.identity.pid,
                    uptime_seconds: s.process.uptime_seconds,
                    rps: m.last_10s as f64 / 10.0,
                    p95_ms: latency.p95_ms,
                    error_rate_percent: share(m.client_errors + m.server_errors, m.requests),
                    cpu_percent: s.process.cpu_percent,
                    rss_bytes: s.process.rss_bytes,
                    sse_connections: s.sse_connections,
                    last_seen_ms: e.seen_ms,
                    state: self.state_of(e, now_ms),
                    local: s.identity.run == self.local.run,
                    duplicate: per_id.get(s.identity.id.as_str()).copied().unwrap_or(0) > 1,
                }
            })
            .collect();
        rows.sort_by(|a, b| (&a.id, !a.local, a.pid).cmp(&(&b.id, !b.local, b.pid)));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::wire::{Part, WireTotals};
    use crate::metrics::histogram::new_histogram;
    use crate::store::codec::encode_histogram;
    use base64::Engine;

    const T0: u64 = 1_700_000_000_000;

    fn identity(id: &str, run: &str) -> Identity {
        Identity {
            id: id.into(),
            run: run.into(),
            host: "h".into(),
            version: "0".into(),
            pid: 1,
            started_at_ms: T0,
        }
    }

    /// An instance that served `n` requests of `ms` each in the last minute.
    fn state(id: &str, run: &str, n: u64, ms: u64, sent: u64) -> wire::InstanceState {
        let mut h = new_histogram();
        h.record_n(ms * 1_000, n).unwrap();
        let part = Part {
            last_10s: n,
            requests: n,
            client_errors: 0,
            server_errors: 0,
            latency_sum_us: n * ms * 1_000,
            latency_max_us: ms * 1_000,
            histogram: base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(encode_histogram(&h)),
        };
        wire::InstanceState {
            format: wire::FORMAT,
            identity: identity(id, run),
            sent_ms: sent,
            period_ms: 2_000,
            sse_connections: 0,
            system: Default::default(),
            process: Default::default(),
            runtime: Default::default(),
            totals: WireTotals {
                requests: n,
                status: vec![(200, n)],
                ..WireTotals::default()
            },
            // One finished window: all of this minute's requests, CPU sampled twice.
            recent: vec![wire::WindowPart {
                start_ms: T0 - 10_000,
                part: part.clone(),
                cpu_sum: ms as f64,
                cpu_samples: 2,
            }],
            overall: part,
            routes: Vec::new(),
        }
    }

    #[test]
    fn the_live_charts_windows_add_up_too() {
        let mut view = View::new(identity("a", "ra"));
        view.insert(state("a", "ra", 90, 10, T0), T0).unwrap();
        view.insert(state("b", "rb", 10, 500, T0), T0).unwrap();
        let s = view.snapshot(&DashboardSnapshot::default(), None, (true, None), T0);
        assert_eq!(s.recent.len(), 1);
        let w = &s.recent[0];
        assert_eq!((w.start_ms, w.requests), (T0 - 10_000, 100));
        // The 95th of 100 is one of b's slow ones; neither instance's own p95 would be
        // right for both (a's is 10 ms).
        assert!((w.p95_ms.unwrap() - 500.0).abs() <= 5.0, "{w:?}");
        // CPU samples pooled: (10 + 500) / 4.
        assert_eq!(w.cpu_percent, Some(127.5));
        let only_a = view.snapshot(&DashboardSnapshot::default(), Some("a"), (true, None), T0);
        assert_eq!(only_a.recent[0].requests, 90);
    }

    #[test]
    fn percentiles_come_from_the_added_histograms() {
        let mut view = View::new(identity("a", "ra"));
        view.insert(state("a", "ra", 90, 10, T0), T0).unwrap();
        view.insert(state("b", "rb", 10, 500, T0), T0).unwrap();
        let s = view.snapshot(&DashboardSnapshot::default(), None, (true, None), T0);
        let l = &s.overview.latency;
        assert_eq!(l.count, 100);
        // 90 of 100 at 10 ms: the median is 10 ms, where the larger median is 500 ms.
        assert!((9.9..10.1).contains(&l.p50_ms), "{l:?}");
        assert!((495.0..505.0).contains(&l.p95_ms), "{l:?}");
        assert_eq!(s.overview.rps, 10.0);
        let b = view.snapshot(&DashboardSnapshot::default(), Some("b"), (true, None), T0);
        assert_eq!(b.overview.total_requests, 10);
    }

    #[test]
    fn a_silent_instance_goes_stale_then_leaves_the_rates_but_not_the_totals() {
        let mut view = View::new(identity("a", "ra"));
        view.insert(state("a", "ra", 5, 10, T0), T0).unwrap();
        view.insert(state("b", "rb", 7, 10, T0), T0).unwrap();
        let at = |now: u64| {
            let s = view.snapshot(&DashboardSnapshot::default(), None, (true, None), now);
            let b = s.cluster.as_ref().unwrap().instances[1].clone();
            (b.state, s.overview.rpm, s.overview.total_requests)
        };
        assert_eq!(at(T0 + 6_000), (InstanceState::Live, 12.0, 12));
        assert_eq!(at(T0 + 6_001), (InstanceState::Stale, 12.0, 12));
        assert_eq!(at(T0 + LEAVE_AFTER_MS + 1), (InstanceState::Gone, 5.0, 12));
        // Forgotten: the row goes, the totals stay.
        view.prune(T0 + FORGET_AFTER_MS + 1);
        let s = view.snapshot(
            &DashboardSnapshot::default(),
            None,
            (true, None),
            T0 + FORGET_AFTER_MS + 1,
        );
        assert_eq!(s.cluster.unwrap().instances.len(), 1);
        assert_eq!(s.overview.total_requests, 12);
        assert_eq!(s.endpoints.status.by_code[&200], 12);
        // Heard from again (a long partition): its totals are its own again, once.
        let back = T0 + FORGET_AFTER_MS + 2;
        view.insert(state("b", "rb", 7, 10, back), back).unwrap();
        let s = view.snapshot(&DashboardSnapshot::default(), None, (true, None), back);
        assert_eq!(s.overview.total_requests, 12);
    }

    #[test]
    fn two_processes_with_one_id_are_both_counted_and_flagged() {
        let mut view = View::new(identity("a", "ra"));
        view.insert(state("a", "ra", 1, 10, T0), T0).unwrap();
        view.insert(state("b", "r1", 2, 10, T0), T0).unwrap();
        view.insert(state("b", "r2", 3, 10, T0), T0).unwrap();
        // An older message of a run never replaces a newer one.
        view.insert(state("b", "r2", 100, 10, T0 - 1), T0).unwrap();
        let s = view.snapshot(&DashboardSnapshot::default(), None, (true, None), T0);
        assert_eq!(s.overview.total_requests, 6);
        let rows = s.cluster.unwrap().instances;
        assert_eq!(rows.iter().filter(|r| r.duplicate).count(), 2);
        assert_eq!(view.ids(), ["a", "b"]);
    }
}
