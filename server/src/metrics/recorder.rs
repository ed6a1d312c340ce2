//! Where the middleware writes: one `RouteCell` of atomic counters per (method, route),
//! found through a copy-on-write map that readers load without a lock.
//!
//! Cost per request: a map lookup by the matched template, then a handful of relaxed
//! `fetch_add`s. New routes (rare) take a mutex and publish a new map. Requests that match
//! no route share one `(unmatched)` cell, so a 404 scan cannot create endpoints; past
//! `max_routes` distinct cells, new routes share `(overflow)`.
//!
//! Cells are never freed (at most `max_routes` plus one per method for each shared
//! bucket, about 30 KB each), so a request holds a `&'static` cell: no reference count
//! is touched per request, which keeps cores from trading the cell's cache lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;
use foldhash::fast::FixedState;
use http::Method;

use super::details::Details;
use super::histogram::AtomicHistogram;

pub const UNMATCHED: &str = "(unmatched)";
pub const OVERFLOW: &str = "(overflow)";
/// Status recorded for a request whose client went away before a response was produced.
pub const STATUS_CLIENT_CLOSED: u16 = 499;

/// Methods told apart; anything else is counted as `OTHER`.
pub const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER",
];

#[inline]
pub fn method_index(method: &Method) -> u8 {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::DELETE => 3,
        Method::PATCH => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

const STATUS_MIN: u16 = 100;
const STATUS_SLOTS: usize = 500;

/// Counters of one (method, route) since the last drain.
#[derive(Debug)]
pub struct RouteCell {
    pub method: u8,
    pub route: Arc<str>,
    requests: AtomicU64,
    bytes: AtomicU64,
    latency_sum_us: AtomicU64,
    latency_max_us: AtomicU64,
    status: Box<[AtomicU64]>,
    latency: AtomicHistogram,
}

/// What a drain took out of a cell.
#[derive(Debug, Default)]
pub struct Drained {
    pub requests: u64,
    pub bytes: u64,
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    /// Non-zero counts by status code.
    pub status: Vec<(u16, u64)>,
}

impl RouteCell {
    fn new(method: u8, route: Arc<str>) -> Self {
        Self {
            method,
            route,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            latency_max_us: AtomicU64::new(0),
            status: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            latency: AtomicHistogram::default(),
        }
    }

    #[inline]
    pub fn record(&self, status: u16, latency_us: u64, bytes: u64) {
        let slot =
            (status.clamp(STATUS_MIN, STATUS_MIN + STATUS_SLOTS as u16 - 1) - STATUS_MIN) as usize;
        self.status[slot].fetch_add(1, Ordering::Relaxed);
        self.latency.record(latency_us);
        if bytes > 0 {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        self.latency_sum_us.fetch_add(latency_us, Ordering::Relaxed);
        // A plain load first: after warm-up the maximum rarely moves, so no write at all.
        if latency_us > self.latency_max_us.load(Ordering::Relaxed) {
            self.latency_max_us.fetch_max(latency_us, Ordering::Relaxed);
        }
        // Last, so a drain that sees this request also sees its parts.
        self.requests.fetch_add(1, Ordering::Release);
    }

    /// Whether nothing was recorded since the last drain.
    pub fn is_idle(&self) -> bool {
        self.requests.load(Ordering::Acquire) == 0
    }

    /// Takes the counts recorded since the last drain; `None` when there were none.
    /// The latency values go into `histogram` (and `also`).
    pub fn drain(
        &self,
        histogram: &mut hdrhistogram::Histogram<u64>,
        also: Option<&mut hdrhistogram::Histogram<u64>>,
    ) -> Option<Drained> {
        let requests = self.requests.swap(0, Ordering::Acquire);
        if requests == 0 {
            return None;
        }
        let status = self
            .status
            .iter()
            .enumerate()
            .filter_map(|(slot, count)| {
                if count.load(Ordering::Relaxed) == 0 {
                    return None;
                }
                let n = count.swap(0, Ordering::Relaxed);
                (n > 0).then_some((STATUS_MIN + slot as u16, n))
            })
            .collect();
        self.latency.drain_into(histogram, also);
        Some(Drained {
            requests,
            bytes: self.bytes.swap(0, Ordering::Relaxed),
            latency_sum_us: self.latency_sum_us.swap(0, Ordering::Relaxed),
            latency_max_us: self.latency_max_us.swap(0, Ordering::Relaxed),
            status,
        })
    }
}

/// The cells of one route template (or of a shared bucket), one per method, made on first use.
#[derive(Debug)]
struct RouteSlots {
    name: Arc<str>,
    /// Whether new cells here count towards `max_routes` (the shared buckets do not).
    capped: bool,
    by_method: [OnceLock<&'static RouteCell>; METHODS.len()],
}

impl RouteSlots {
    fn new(name: &str, capped: bool) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            capped,
            by_method: Default::default(),
        })
    }
}

type RouteMap = HashMap<Arc<str>, Arc<RouteSlots>, FixedState>;

#[derive(Debug)]
pub struct Recorder {
    routes: ArcSwap<RouteMap>,
    /// Serialises the creation of routes and cells.
    adding: Mutex<()>,
    cells: AtomicUsize,
    max_routes: usize,
    unmatched: Arc<RouteSlots>,
    overflow: Arc<RouteSlots>,
    /// Every cell ever created, in creation order, for the drain.
    all: ArcSwap<Vec<&'static RouteCell>>,
    /// Error and slow requests kept one by one (leaked like the cells: the layer's
    /// per-request path holds a plain reference, no reference count).
    pub details: &'static Details,
}

impl Recorder {
    pub fn new(max_routes: usize) -> Self {
        Self {
            routes: ArcSwap::from_pointee(RouteMap::default()),
            adding: Mutex::new(()),
            cells: AtomicUsize::new(0),
            max_routes,
            unmatched: RouteSlots::new(UNMATCHED, false),
            overflow: RouteSlots::new(OVERFLOW, false),
            all: ArcSwap::from_pointee(Vec::new()),
            details: Box::leak(Box::default()),
        }
    }

    /// The cell for a request, by method and matched route template (`None`: no route).
    #[inline]
    pub fn cell(&self, method: u8, route: Option<&str>) -> &'static RouteCell {
        let Some(route) = route else {
            return self.cell_in(&self.unmatched, method);
        };
        if let Some(slots) = self.routes.load().get(route) {
            return self.cell_in(slots, method);
        }
        self.add_route(method, route)
    }

    /// The cell of a route already tracked (for any method), without creating the route.
    pub fn existing_cell(&self, method: u8, route: &str) -> Option<&'static RouteCell> {
        let routes = self.routes.load();
        let slots = routes.get(route)?;
        Some(self.cell_in(slots, method))
    }

    #[cold]
    fn add_route(&self, method: u8, route: &str) -> &'static RouteCell {
        let slots = {
            let _adding = self.adding.lock().unwrap_or_else(|e| e.into_inner());
            let current = self.routes.load_full();
            match current.get(route) {
                Some(slots) => slots.clone(),
                None => {
                    // Past the cap a template maps to the shared overflow bucket, once, so
                    // later requests take the lock-free path too; but only so many names
                    // are remembered (templates read off paths are unbounded).
                    let full = self.cells.load(Ordering::Relaxed) >= self.max_routes;
                    if full && current.len() >= self.max_routes.saturating_mul(2).max(64) {
                        // Not remembered: the cell is found after the lock is released.
                        self.overflow.clone()
                    } else {
                        let slots = if full {
                            self.overflow.clone()
                        } else {
                            RouteSlots::new(route, true)
                        };
                        let mut next = (*current).clone();
                        next.insert(route.into(), slots.clone());
                        self.routes.store(Arc::new(next));
                        slots
                    }
                }
            }
        };
        self.cell_in(&slots, method)
    }

    #[inline]
    fn cell_in(&self, slots: &RouteSlots, method: u8) -> &'static RouteCell {
        match slots.by_method[method as usize].get() {
            Some(cell) => cell,
            None => self.create_cell(slots, method),
        }
    }

    #[cold]
    fn create_cell(&self, slots: &RouteSlots, method: u8) -> &'static RouteCell {
        {
            let _adding = self.adding.lock().unwrap_or_else(|e| e.into_inner());
            let slot = &slots.by_method[method as usize];
            if let Some(cell) = slot.get() {
                return cell;
            }
            if !slots.capped || self.cells.load(Ordering::Relaxed) < self.max_routes {
                let cell: &'static RouteCell =
                    Box::leak(Box::new(RouteCell::new(method, slots.name.clone())));
                let _ = slot.set(cell);
                if slots.capped {
                    self.cells.fetch_add(1, Ordering::Relaxed);
                }
                let mut all = (**self.all.load()).clone();
                all.push(cell);
                self.all.store(Arc::new(all));
                return cell;
            }
        }
        self.cell_in(&self.overflow, method)
    }

    /// Every cell created so far.
    pub fn cells(&self) -> Arc<Vec<&'static RouteCell>> {
        self.all.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(cell: &RouteCell) -> Drained {
        let mut h = super::super::histogram::new_histogram();
        cell.drain(&mut h, None).unwrap_or_default()
    }

    #[test]
    fn unmatched_requests_share_one_cell() {
        let recorder = Recorder::new(10);
        let a = recorder.cell(0, None);
        let b = recorder.cell(0, None);
        assert!(std::ptr::eq(a, b));
        assert_eq!(&*a.route, UNMATCHED);
        assert_eq!(recorder.cells().len(), 1);
    }

    #[test]
    fn names_past_the_cap_are_remembered_only_so_far() {
        let r = Recorder::new(2);
        for n in 0..1000 {
            let cell = r.cell(0, Some(&format!("/r{n}")));
            assert_eq!(
                &*cell.route,
                if n < 2 {
                    format!("/r{n}")
                } else {
                    OVERFLOW.into()
                }
            );
        }
        assert_eq!(r.routes.load().len(), 64);
        assert_eq!(r.cells().len(), 3);
        // Another method, past the names kept: its overflow cell is made (outside the lock).
        assert_eq!(&*r.cell(1, Some("/r-new")).route, OVERFLOW);
        assert_eq!(&*r.cell(1, Some("/r-newer")).route, OVERFLOW);
        assert_eq!(r.cells().len(), 4);
    }

    #[test]
    fn routes_past_the_cap_overflow() {
        let recorder = Recorder::new(2);
        recorder.cell(0, Some("/a")).record(200, 10, 0);
        recorder.cell(1, Some("/a")).record(200, 10, 0);
        let third = recorder.cell(0, Some("/b"));
        assert_eq!(&*third.route, OVERFLOW);
        // A known (method, route) keeps its own cell.
        assert_eq!(&*recorder.cell(0, Some("/a")).route, "/a");
    }

    #[test]
    fn drain_returns_what_was_recorded_once() {
        let recorder = Recorder::new(10);
        let cell = recorder.cell(0, Some("/users/{id}"));
        cell.record(200, 1_000, 10);
        cell.record(404, 3_000, 5);
        cell.record(404, 2_000, 5);
        let d = drain(cell);
        assert_eq!(
            (d.requests, d.bytes, d.latency_sum_us, d.latency_max_us),
            (3, 20, 6_000, 3_000)
        );
        assert_eq!(d.status, vec![(200, 1), (404, 2)]);
        assert_eq!(drain(cell).requests, 0);
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        let recorder = Arc::new(Recorder::new(100));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let recorder = recorder.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        let route = format!("/r{}", (i + t) % 7);
                        recorder.cell((i % 3) as u8, Some(&route)).record(200, i, 1);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let total: u64 = recorder.cells().iter().map(|c| drain(c).requests).sum();
        assert_eq!(total, 40_000);
        assert_eq!(recorder.cells().len(), 21);
    }
}
