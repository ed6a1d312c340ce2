//! History: the write path at 5,000 requests/s over 50 routes, the database it grows per
//! day, and a 24 h query with exact p99 per route, against scanning every 10 s window
//! (what a store without tiers would do), measured in the same run: on SQLite with one
//! instance, then on PostgreSQL with three instances writing at once and the query
//! merging all three (measured right after the fill, and again after `VACUUM ANALYZE`,
//! as autovacuum leaves the table at steady state).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sightline::metrics::details::{Detail, Details};
use sightline::metrics::histogram::new_histogram;
use sightline::store::postgres::Target;
use sightline::store::query;
use sightline::store::reader::{Reader, Rows};
use sightline::store::tiers::Piece;
use sightline::store::writer::{WindowBatch, WindowCounts};
use sightline::store::{Database, Options, Store, StoreError};
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

fn open(database: Database, instance: &str) -> Store {
    let details: &'static Details = Box::leak(Box::default());
    let options = Options {
        database,
        instance: instance.to_owned(),
        defaults: Settings {
            retention_days: 30,
            slow_threshold_ms: 500,
        },
        wait_for_database: false,
    };
    Store::open(&options, details).expect("open the store")
}

/// Four windows of every route, made up front so the timing covers only the write path.
fn batches(names: &[Arc<str>], seed: u64) -> Vec<WindowBatch> {
    let mut rng = Rng(seed);
    (0..4)
        .map(|_| {
            let routes: Vec<WindowCounts> = (0..ROUTES).map(|r| window(r, &mut rng)).collect();
            let mut overall = WindowCounts::default();
            for c in &routes {
                overall.merge(c);
            }
            WindowBatch {
                start_ms: 0,
                overall: Some(overall),
                routes: names
                    .iter()
                    .zip(routes)
                    .map(|(n, c)| ("GET", n.clone(), c))
                    .collect(),
                samples: None,
            }
        })
        .collect()
}

/// Writes 24 h of windows from `first` on, as the server does.
fn fill(store: &Store, batches: &[WindowBatch], first: u64) {
    for i in 0..WINDOWS {
        let mut b = batches[(i % 4) as usize].clone();
        b.start_ms = first + i * WINDOW_MS;
        store.write(b);
        if i % 64 == 63 {
            store.flush();
        }
    }
    store.flush();
    assert_eq!(store.write_error(), None, "the history writes failed");
}

/// The query's figures: its time (median of five), the same answer scanning every 10 s
/// row, and whether the p99s agree.
struct QueryFigures {
    tiered: Duration,
    scan: Duration,
    same: bool,
}

fn measure_query(store: &Store, range: &TimeRange) -> QueryFigures {
    let tiered = time(|| store.read(|c| query::endpoint_rows(c, range)).unwrap());
    let scan = time(|| store.read(|c| scan_windows(c, range)).unwrap());
    let rows = store.read(|c| query::endpoint_rows(c, range)).unwrap();
    let exact = store.read(|c| scan_windows(c, range)).unwrap();
    let same = rows.len() == ROUTES
        && rows
            .iter()
            .all(|r| exact.get(&(r.method.clone(), r.route.clone())) == Some(&r.latency.p99_ms));
    QueryFigures { tiered, scan, same }
}

pub fn run() {
    let names: Vec<Arc<str>> = (0..ROUTES)
        .map(|i| Arc::from(format!("/api/r{i}/{{id}}")))
        .collect();
    let now = sightline_app_now();
    // 24 h of windows, ending a little after now, so that pruning (which runs meanwhile)
    // leaves every 10 s row for the scan to compare with.
    let first = now - now % WINDOW_MS - WINDOWS * WINDOW_MS + 600_000;
    let range = TimeRange {
        from_ms: first,
        to_ms: first + DAY_MS,
        preset: Some("24h".into()),
        max_points: 120,
        instance: None,
    };

    // SQLite, one instance.
    let path = temp_db();
    let details: &'static Details = Box::leak(Box::default());
    let store = Store::open(
        &Options {
            instance: "bench-0".into(),
            ..Options::sqlite(
                &path,
                Settings {
                    retention_days: 30,
                    slow_threshold_ms: 500,
                },
            )
        },
        details,
    )
    .unwrap();
    let batches0 = batches(&names, 0x9E37_79B9_7F4A_7C15);
    let cpu = super::process_cpu_time();
    let wall = Instant::now();
    fill(&store, &batches0, first);
    let window_cpu = super::process_cpu_time() - cpu;
    let fill_wall = wall.elapsed();
    let window_share = window_cpu.as_secs_f64() / (DAY_MS as f64 / 1_000.0) * 100.0;
    let db_bytes = store.size_bytes().unwrap();

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
    let record_bytes = store.size_bytes().unwrap().saturating_sub(db_bytes) as f64 / RECORDS as f64;
    let sqlite = measure_query(&store, &range);
    drop(store);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());

    // PostgreSQL, three instances writing at once, each its own traffic.
    let server = crate::postgres::Postgres::start();
    let url = server.database("bench");
    let target = Target::parse(&url).unwrap();
    let stores: Vec<Store> = (0..3)
        .map(|i| {
            open(
                Database::Postgres(Box::new(target.clone())),
                &format!("bench-{i}"),
            )
        })
        .collect();
    let all_batches: Vec<Vec<WindowBatch>> =
        (0..3).map(|i| batches(&names, 0x0051_AB1E + i)).collect();
    let cpu = super::process_cpu_time();
    let wall = Instant::now();
    std::thread::scope(|s| {
        for (store, batches) in stores.iter().zip(&all_batches) {
            s.spawn(move || fill(store, batches, first));
        }
    });
    let pg_cpu = (super::process_cpu_time() - cpu) / 3;
    let pg_wall = wall.elapsed();
    let pg_share = pg_cpu.as_secs_f64() / (DAY_MS as f64 / 1_000.0) * 100.0;
    let pg_bytes = stores[0].size_bytes().unwrap() / 3;
    // Right after the fill, autovacuum is still catching up with a day of rewritten
    // minute and hour rows written in a few minutes (and competes for the same cores);
    // then as at steady state, once it has caught up.
    let unvacuumed = time(|| stores[0].read(|c| query::endpoint_rows(c, &range)).unwrap());
    server.psql_in("bench", "VACUUM ANALYZE");
    let merged = measure_query(&stores[0], &range);
    let one = TimeRange {
        instance: Some("bench-1".into()),
        ..range.clone()
    };
    let single = time(|| stores[0].read(|c| query::endpoint_rows(c, &one)).unwrap());
    drop(stores);
    drop(server);

    println!("## History (`history`)\n");
    println!("| measure | SQLite, 1 instance | PostgreSQL, 3 instances | target |");
    println!("|---|---|---|---|");
    println!(
        "| write path, {ROUTES} routes at {RPS} requests/s: CPU per 10 s window (3 tiers), per instance | {:.2} ms | {:.2} ms | |",
        window_cpu.as_secs_f64() * 1e3 / WINDOWS as f64,
        pg_cpu.as_secs_f64() * 1e3 / WINDOWS as f64
    );
    println!(
        "| write path, share of one core per instance (windows) | {window_share:.3} % | {pg_share:.3} % | <= 1 % |"
    );
    println!(
        "| error records at 1 % of {RPS} requests/s: CPU per record / share of one core | {:.1} µs / {record_share:.3} % | | |",
        per_record.as_secs_f64() * 1e6
    );
    println!(
        "| database per day per instance, {ROUTES} routes (all tiers) | {:.1} MiB | {:.1} MiB | |",
        db_bytes as f64 / 1048576.0,
        pg_bytes as f64 / 1048576.0
    );
    println!(
        "| database per route per day, per instance | {:.0} KiB | {:.0} KiB | |",
        db_bytes as f64 / ROUTES as f64 / 1024.0,
        pg_bytes as f64 / ROUTES as f64 / 1024.0
    );
    println!("| database per stored error record | {record_bytes:.0} B | | |");
    println!(
        "| 24 h of windows written in (wall) | {:.1} s | {:.1} s (3 at once) | |",
        fill_wall.as_secs_f64(),
        pg_wall.as_secs_f64()
    );
    println!(
        "| 24 h query, {ROUTES} routes, exact p99 each, all instances merged | {:.1} ms | {:.1} ms | <= 100 ms (PostgreSQL) |",
        sqlite.tiered.as_secs_f64() * 1e3,
        merged.tiered.as_secs_f64() * 1e3
    );
    println!(
        "| same query, one instance of three | | {:.1} ms | |",
        single.as_secs_f64() * 1e3
    );
    println!(
        "| merged query right after the fill, before `VACUUM ANALYZE` | | {:.1} ms | |",
        unvacuumed.as_secs_f64() * 1e3
    );
    println!(
        "| same query scanning every 10 s row | {:.1} ms ({:.0}x slower) | {:.1} ms ({:.0}x slower) | |",
        sqlite.scan.as_secs_f64() * 1e3,
        sqlite.scan.as_secs_f64() / sqlite.tiered.as_secs_f64(),
        merged.scan.as_secs_f64() * 1e3,
        merged.scan.as_secs_f64() / merged.tiered.as_secs_f64()
    );
    println!(
        "| p99 per route equal both ways | {} | {} | |\n",
        if sqlite.same { "yes" } else { "NO" },
        if merged.same { "yes" } else { "NO" }
    );
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

/// p99 per (method, route), merging every 10 s row of every instance in the range.
fn scan_windows(
    db: &dyn Reader,
    range: &TimeRange,
) -> Result<std::collections::HashMap<(String, String), f64>, StoreError> {
    let mut merged: std::collections::HashMap<i64, WindowCounts> = Default::default();
    let every_row = [Piece {
        tier: 0,
        from: range.from_ms,
        to: range.to_ms,
    }];
    let rows = Rows {
        instance: None,
        route: None,
    };
    db.windows(rows, &every_row, &mut |id, _, row| {
        row.merge_into(merged.entry(id).or_default())
    })?;
    let mut out = std::collections::HashMap::new();
    for (id, method, route) in db.routes()? {
        if let Some(c) = merged.get(&id) {
            let h = &c.histogram;
            let p99 = h
                .highest_equivalent(h.value_at_quantile(0.99))
                .min(c.latency_max_us);
            out.insert((method, route), p99 as f64 / 1_000.0);
        }
    }
    Ok(out)
}
