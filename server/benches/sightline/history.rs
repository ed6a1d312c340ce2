//! History: the write path at 5,000 requests/s over 50 routes, the database it grows per
//! day, and a 24 h query with exact p99 per route, against scanning every 10 s window
//! (what a store without tiers would do), measured in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sightline::metrics::details::{Detail, Details};
use sightline::metrics::histogram::new_histogram;
use sightline::store::codec::merge_histogram;
use sightline::store::query;
use sightline::store::writer::{WindowBatch, WindowCounts};
use sightline::store::{Store, StoreError};
use sightline_app::history::{DAY_MS, Settings, TimeRange};

const ROUTES: usize = 50;
const RPS: u64 = 5_000;
const WINDOW_MS: u64 = 10_000;
const WINDOWS: u64 = DAY_MS / WINDOW_MS;
/// Share of requests answered with an error (each one a stored record).
const ERROR_SHARE: f64 = 0.01;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One route's window: `RPS / ROUTES` requests a second, latencies spread over three
/// decades with a slow tail, so the histograms hold realistic numbers of buckets.
fn window(route: usize, rng: &mut Rng) -> WindowCounts {
    let n = RPS * WINDOW_MS / 1_000 / ROUTES as u64;
    let mut c = WindowCounts {
        histogram: new_histogram(),
        ..WindowCounts::default()
    };
    let base = 200 + route as u64 * 150;
    for _ in 0..n {
        let r = rng.next();
        let latency = if r.is_multiple_of(100) {
            base * 40 + r % 200_000
        } else {
            base + r % (base * 3)
        };
        c.histogram.saturating_record(latency);
        c.latency_sum_us += latency;
        c.latency_max_us = c.latency_max_us.max(latency);
        let status = if r % 100 == 1 { 500 } else { 200 };
        *c.status.entry(status).or_default() += 1;
    }
    c.requests = n;
    c.server_errors = c.status.get(&500).copied().unwrap_or(0);
    c.bytes = n * 512;
    c
}

/// A fresh `history.db` path in a directory of this process's own.
pub fn temp_db() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sightline-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("history.db")
}

pub fn run() {
    let path = temp_db();
    let details: &'static Details = Box::leak(Box::default());
    let store = Store::open(
        &path,
        Settings {
            retention_days: 30,
            slow_threshold_ms: 500,
        },
        details,
    )
    .unwrap();
    let names: Vec<Arc<str>> = (0..ROUTES)
        .map(|i| Arc::from(format!("/api/r{i}/{{id}}")))
        .collect();

    // A few windows per route, made up front so the timing covers only the write path.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let variants: Vec<Vec<WindowCounts>> = (0..4)
        .map(|_| (0..ROUTES).map(|r| window(r, &mut rng)).collect())
        .collect();
    let batch = |i: u64, start_ms: u64| {
        let routes = &variants[(i % 4) as usize];
        let mut overall = WindowCounts::default();
        for c in routes {
            overall.merge(c);
        }
        WindowBatch {
            start_ms,
            overall: Some(overall),
            routes: names
                .iter()
                .zip(routes)
                .map(|(n, c)| ("GET", n.clone(), c.clone()))
                .collect(),
            samples: None,
        }
    };
    let batches: Vec<WindowBatch> = (0..4).map(|i| batch(i, 0)).collect();

    // 24 h of windows, written as the server does. They end a little after now, so that
    // pruning (which runs meanwhile) leaves every 10 s row for the scan to compare with.
    let now = sightline_app_now();
    let first = now - now % WINDOW_MS - WINDOWS * WINDOW_MS + 600_000;
    let cpu = super::process_cpu_time();
    let wall = Instant::now();
    for i in 0..WINDOWS {
        let mut b = batches[(i % 4) as usize].clone();
        b.start_ms = first + i * WINDOW_MS;
        store.write(b);
        if i % 64 == 63 {
            store.flush();
        }
    }
    store.flush();
    let window_cpu = super::process_cpu_time() - cpu;
    let fill_wall = wall.elapsed();
    let window_share = window_cpu.as_secs_f64() / (DAY_MS as f64 / 1_000.0) * 100.0;
    let db_bytes = store.size_bytes();

    // Error records: 1 % of 5,000 requests/s is 50 a second, so 10 per route and 10 s
    // window (all stored: under the per-route quota).
    const RECORDS: u64 = 50_000;
    let cpu = super::process_cpu_time();
    for i in 0..RECORDS {
        details.push(Detail {
            time_ms: now - i * 1_000 / 50,
            method: "GET",
            route: names[(i % ROUTES as u64) as usize].clone(),
            path: format!("/api/r{}/{}", i % ROUTES as u64, i),
            status: 500,
            latency_us: 1_000 + i % 5_000,
            bytes: 120,
            message: Some("upstream timed out".into()),
        });
        if i % 4_096 == 4_095 {
            std::thread::sleep(Duration::from_millis(1_100));
        }
    }
    std::thread::sleep(Duration::from_millis(1_100));
    store.flush();
    let record_cpu = super::process_cpu_time() - cpu;
    let per_record = record_cpu / RECORDS as u32;
    let records_per_sec = RPS as f64 * ERROR_SHARE;
    let record_share = per_record.as_secs_f64() * records_per_sec * 100.0;
    let record_bytes = store.size_bytes().saturating_sub(db_bytes) as f64 / RECORDS as f64;

    // The query: every route over 24 h, exact p99 each.
    let range = TimeRange {
        from_ms: first,
        to_ms: first + DAY_MS,
        preset: Some("24h".into()),
        max_points: 120,
    };
    let tiered = time(|| store.read(|c| query::endpoint_rows(c, &range)).unwrap());
    let scan = time(|| store.read(|c| scan_windows(c, &range)).unwrap());
    let rows = store.read(|c| query::endpoint_rows(c, &range)).unwrap();
    let exact = store.read(|c| scan_windows(c, &range)).unwrap();
    let same = rows.len() == ROUTES
        && rows
            .iter()
            .zip(&exact)
            .all(|(r, p99)| r.latency.p99_ms == *p99);

    println!("## History (`history`)\n");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| write path, {ROUTES} routes at {RPS} requests/s: CPU per 10 s window (3 tiers) | {:.2} ms |",
        window_cpu.as_secs_f64() * 1e3 / WINDOWS as f64
    );
    println!("| write path, share of one core (windows; target <= 1 %) | {window_share:.3} % |");
    println!(
        "| error records at 1 % of {RPS} requests/s: CPU per record / share of one core | {:.1} µs / {record_share:.3} % |",
        per_record.as_secs_f64() * 1e6
    );
    println!(
        "| write path, share of one core (windows + error records; target <= 1 %) | {:.3} % |",
        window_share + record_share
    );
    println!(
        "| database per day, {ROUTES} routes (all tiers) / per route | {:.1} MiB / {:.0} KiB |",
        db_bytes as f64 / 1048576.0,
        db_bytes as f64 / ROUTES as f64 / 1024.0
    );
    println!("| database per stored error record | {record_bytes:.0} B |");
    println!(
        "| 24 h of windows written in | {:.1} s |",
        fill_wall.as_secs_f64()
    );
    println!(
        "| 24 h query, {ROUTES} routes, exact p99 each (target <= 50 ms) | {:.1} ms |",
        tiered.as_secs_f64() * 1e3
    );
    println!(
        "| same query scanning every 10 s window | {:.1} ms ({:.0}x slower) |",
        scan.as_secs_f64() * 1e3,
        scan.as_secs_f64() / tiered.as_secs_f64()
    );
    println!(
        "| p99 per route equal both ways | {} |\n",
        if same { "yes" } else { "NO" }
    );
    drop(store);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

fn sightline_app_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Median of five runs.
fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    runs.sort();
    runs[2]
}

/// p99 per route (in route-id order) merging every 10 s row in the range.
fn scan_windows(conn: &rusqlite::Connection, range: &TimeRange) -> Result<Vec<f64>, StoreError> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM routes ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT histogram, latency_max_us FROM windows WHERE tier = 0 AND route_id = ?1 AND start_ms >= ?2 AND start_ms < ?3",
    )?;
    for id in ids {
        let mut h = new_histogram();
        let mut max = 0u64;
        let mut rows = stmt.query(rusqlite::params![
            id,
            range.from_ms as i64,
            range.to_ms as i64
        ])?;
        while let Some(r) = rows.next()? {
            let blob: Vec<u8> = r.get(0)?;
            merge_histogram(&mut h, &blob)?;
            max = max.max(r.get::<_, i64>(1)? as u64);
        }
        out.push(h.highest_equivalent(h.value_at_quantile(0.99)).min(max) as f64 / 1_000.0);
    }
    Ok(out)
}
