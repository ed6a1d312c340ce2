//! The store against a real SQLite file: exact percentiles over any range, across window,
//! tier and restart boundaries; retention; settings.

use std::sync::Arc;

use sightline_app::history::{
    DAY_MS, EndpointsParams, HOUR_MS, MINUTE_MS, RangeParams, SampleGroup, Settings,
    SettingsUpdate, TimeRange,
};

use super::query;
use super::samples::{FIELDS, SampleAcc};
use super::tiers::{SIZES, horizons_at};
use super::writer::{WindowBatch, WindowCounts, prune};
use super::{Store, StoreError};
use crate::metrics::details::Details;
use crate::metrics::histogram::new_histogram;

const T0: u64 = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS;

pub struct TempDb(pub std::path::PathBuf);

impl TempDb {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "sightline-test-{}-{name}-{}",
            std::process::id(),
            crate::clock::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir.join("history.db"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

fn settings() -> Settings {
    Settings {
        retention_days: 30,
        slow_threshold_ms: 500,
    }
}

fn open(db: &TempDb) -> Store {
    let details: &'static Details = Box::leak(Box::default());
    Store::open(&db.0, settings(), details).unwrap()
}

fn counts(latencies: &[u64]) -> WindowCounts {
    let mut c = WindowCounts {
        requests: latencies.len() as u64,
        latency_sum_us: latencies.iter().sum(),
        latency_max_us: latencies.iter().copied().max().unwrap_or(0),
        histogram: new_histogram(),
        ..WindowCounts::default()
    };
    for &l in latencies {
        c.histogram.saturating_record(l);
        *c.status
            .entry(if l % 7 == 0 { 500 } else { 200 })
            .or_default() += 1;
    }
    c.server_errors = c.status.get(&500).copied().unwrap_or(0);
    c
}

fn batch(start_ms: u64, latencies: &[u64]) -> WindowBatch {
    let c = counts(latencies);
    WindowBatch {
        start_ms,
        overall: Some(c.clone()),
        routes: vec![("GET", Arc::from("/a"), c)],
        samples: None,
    }
}

/// Latencies for window `i`: each window its own distribution, so that merging per-window
/// percentiles any other way than exactly would show.
fn latencies(i: u64, seed: &mut u64) -> Vec<u64> {
    let n = 5 + (i % 13) as usize;
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            let base = if i.is_multiple_of(17) {
                200_000
            } else {
                1_000 + (i % 50) * 300
            };
            base + *seed % 5_000
        })
        .collect()
}

fn range(from_ms: u64, to_ms: u64) -> TimeRange {
    TimeRange {
        from_ms,
        to_ms,
        preset: None,
        max_points: 60,
    }
}

fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).max(1) - 1] as f64 / 1_000.0
}

fn assert_matches(store: &Store, from: u64, to: u64, windows: &[(u64, Vec<u64>)]) {
    let mut all: Vec<u64> = windows
        .iter()
        .filter(|(start, _)| *start >= from && *start < to)
        .flat_map(|(_, l)| l.iter().copied())
        .collect();
    all.sort_unstable();
    let o = store
        .read(|c| query::overview(c, &range(from, to)))
        .unwrap();
    assert_eq!(o.requests, all.len() as u64, "count over [{from}, {to})");
    assert!(!all.is_empty());
    for (got, q) in [
        (o.latency.p50_ms, 0.5),
        (o.latency.p95_ms, 0.95),
        (o.latency.p99_ms, 0.99),
    ] {
        let want = exact_quantile(&all, q);
        assert!(
            (got - want).abs() <= want * 0.01,
            "p{q} over [{from}, {to}): {got} vs brute force {want}"
        );
    }
    assert_eq!(o.latency.max_ms, *all.last().unwrap() as f64 / 1_000.0);
    let avg = all.iter().sum::<u64>() as f64 / all.len() as f64 / 1_000.0;
    assert!((o.latency.avg_ms - avg).abs() < 1e-9);
    // The per-route answer agrees with the all-routes one.
    let q = EndpointsParams {
        range: RangeParams {
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            ..RangeParams::default()
        },
        ..EndpointsParams::default()
    }
    .resolve(to)
    .unwrap();
    let e = store.read(|c| query::endpoints(c, &q)).unwrap();
    assert_eq!(e.items[0].latency, o.latency);
}

#[test]
fn percentiles_over_any_range_match_brute_force_across_windows_tiers_and_restarts() {
    let db = TempDb::new("exact");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    // Three and a half hours of 10 s windows, with a restart in the middle of hour two.
    let windows: Vec<(u64, Vec<u64>)> = (0..1_260)
        .map(|i| (T0 + i * 10_000, latencies(i, &mut seed)))
        .collect();
    let restart_at = 700;
    {
        let store = open(&db);
        for (start, l) in &windows[..restart_at] {
            store.write(batch(*start, l));
        }
        // The window in progress at shutdown is written half now, half after the restart.
        let (start, l) = &windows[restart_at];
        store.write(batch(*start, &l[..2]));
        store.close();
    }
    let store = open(&db);
    let (start, l) = &windows[restart_at];
    store.write(batch(*start, &l[2..]));
    for (start, l) in &windows[restart_at + 1..] {
        store.write(batch(*start, l));
    }
    store.flush();
    assert_eq!(store.write_error(), None);

    let end = T0 + 1_260 * 10_000;
    for (from, to) in [
        (T0, end),                                  // everything: hours inside
        (T0 + 7 * MINUTE_MS + 23_456, end - 1_234), // ragged edges on every tier
        (T0 + 55 * MINUTE_MS, T0 + 65 * MINUTE_MS), // across an hour boundary
        (T0 + 6_990_000, T0 + 7_020_000),           // across the restart
        (T0 + 20_000, T0 + 30_000),                 // one window
    ] {
        assert_matches(&store, from, to, &windows);
    }

    // A day later the 10 s rows are pruned; ranges on whole minutes answer the same from
    // the minute rows, and totals are unchanged.
    let before = store.read(|c| query::overview(c, &range(T0, end))).unwrap();
    store
        .read(|c| {
            let mut conn = rusqlite::Connection::open(c.path().unwrap())?;
            prune(&mut conn, end + DAY_MS + HOUR_MS, 30 * DAY_MS)
        })
        .unwrap();
    let tier0: i64 = store
        .read(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM windows WHERE tier = 0", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert_eq!(tier0, 0);
    let after = store.read(|c| query::overview(c, &range(T0, end))).unwrap();
    assert_eq!(
        (after.requests, after.latency.clone()),
        (before.requests, before.latency)
    );
    assert_eq!(after.status, before.status);
    assert_matches(&store, T0 + 13 * MINUTE_MS, T0 + 97 * MINUTE_MS, &windows);
}

#[test]
fn rollups_hold_the_same_totals_as_the_windows() {
    let db = TempDb::new("rollups");
    let store = open(&db);
    let mut seed = 7;
    for i in 0..400 {
        store.write(batch(T0 + i * 10_000, &latencies(i, &mut seed)));
    }
    store.flush();
    let sums: Vec<(i64, i64, i64)> = store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT tier, sum(requests), sum(server_errors) FROM windows WHERE route_id = 1 GROUP BY tier ORDER BY tier",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    assert_eq!(sums.len(), SIZES.len());
    assert!(
        sums.iter().all(|s| (s.1, s.2) == (sums[0].1, sums[0].2)),
        "{sums:?}"
    );
}

#[test]
fn retention_deletes_exactly_what_is_out_of_range() {
    let db = TempDb::new("retention");
    let store = open(&db);
    let now = T0 + 40 * DAY_MS + 5 * HOUR_MS + 17 * MINUTE_MS;
    let ages = [
        40 * DAY_MS,
        30 * DAY_MS + 2 * HOUR_MS,
        30 * DAY_MS - 2 * HOUR_MS,
        8 * DAY_MS,
        7 * DAY_MS - HOUR_MS,
        DAY_MS + 3 * MINUTE_MS,
        DAY_MS - 3 * MINUTE_MS,
        10_000,
    ];
    for age in ages {
        store.write(batch(now - age - (now - age) % 10_000, &[1_000]));
    }
    store.flush();
    store
        .read(|c| {
            let mut conn = rusqlite::Connection::open(c.path().unwrap())?;
            prune(&mut conn, now, 30 * DAY_MS)
        })
        .unwrap();
    let horizons = horizons_at(now, 30 * DAY_MS);
    for (tier, horizon) in horizons.iter().enumerate() {
        let starts: Vec<i64> = store
            .read(|c| {
                let mut stmt =
                    c.prepare("SELECT start_ms FROM windows WHERE tier = ?1 AND route_id = 0")?;
                let rows = stmt.query_map([tier as i64], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap();
        let expected: Vec<i64> = ages
            .iter()
            .map(|age| super::tiers::bucket(tier, now - age) as i64)
            .filter(|start| *start as u64 >= *horizon)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(starts, expected, "tier {tier}");
    }
    // Nothing is older than the retention; the newest windows are all still there.
    assert!(horizons[2] <= now - 30 * DAY_MS && now - 30 * DAY_MS - horizons[2] < HOUR_MS);
    let o = store
        .read(|c| query::overview(c, &range(now - 2 * DAY_MS, now)))
        .unwrap();
    assert_eq!(o.requests, 3);
}

#[test]
fn settings_persist_and_bad_values_change_nothing() -> Result<(), StoreError> {
    let db = TempDb::new("settings");
    {
        let store = open(&db);
        let saved = store
            .update_settings(&SettingsUpdate {
                retention_days: Some(serde_json::json!(7)),
                slow_threshold_ms: Some(serde_json::json!(120)),
            })
            .unwrap();
        assert_eq!(saved.retention_days, 7);
        let err = store
            .update_settings(&SettingsUpdate {
                retention_days: Some(serde_json::json!(0)),
                slow_threshold_ms: Some(serde_json::json!(5)),
            })
            .unwrap_err();
        assert!(err.to_string().contains("retention_days"), "{err}");
        assert_eq!(store.settings().slow_threshold_ms, 120);
    }
    let store = open(&db);
    assert_eq!(
        store.settings(),
        Settings {
            retention_days: 7,
            slow_threshold_ms: 120
        }
    );
    Ok(())
}

#[test]
fn unmeasured_figures_are_stored_and_read_as_missing() {
    let db = TempDb::new("missing");
    let store = open(&db);
    let mut values = [Some(3.0); FIELDS.len()];
    for name in ["load_average_1m", "threads", "open_fds"] {
        let i = FIELDS.iter().position(|f| f.name == name).unwrap();
        values[i] = None;
    }
    let mut samples = SampleAcc::default();
    samples.add(&values);
    store.write(WindowBatch {
        start_ms: T0,
        samples: Some(samples),
        ..WindowBatch::default()
    });
    store.flush();
    assert_eq!(store.write_error(), None);
    let nulls: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM samples
                 WHERE sys_load_average_1m IS NULL AND proc_threads IS NULL AND proc_open_fds IS NULL",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(
        nulls, 3,
        "one row per tier, NULL where nothing was measured"
    );
    let r = range(T0, T0 + MINUTE_MS);
    let system = store
        .read(|c| query::samples(c, &r, SampleGroup::System))
        .unwrap();
    assert!(system.series("load_average_1m").is_empty(), "{system:?}");
    assert_eq!(system.series("cpu_percent"), vec![(T0, 3.0)]);
    let process = store
        .read(|c| query::samples(c, &r, SampleGroup::Process))
        .unwrap();
    assert!(process.series("threads").is_empty(), "{process:?}");
    assert!(process.series("open_fds").is_empty(), "{process:?}");
    assert_eq!(process.series("rss_bytes"), vec![(T0, 3.0)]);
}
