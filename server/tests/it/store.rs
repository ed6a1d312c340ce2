//! The store on both backends, from one test body each: exact percentiles over any range,
//! across window, tier and restart boundaries; rollups; retention; settings; missing
//! figures. Then what only several instances sharing a database can show: answers per
//! instance and for all of them equal brute force, a retried write counts once, and two
//! instances pruning at once delete each row once.

use std::sync::Arc;

use sightline::metrics::histogram::new_histogram;
use sightline::store::query;
use sightline::store::reader::{ALL_ROUTES, Rows};
use sightline::store::samples::{FIELDS, SampleAcc};
use sightline::store::tiers::{Piece, SIZES, bucket, horizons_at};
use sightline::store::writer::{WindowBatch, WindowCounts};
use sightline::store::{Store, StoreError};
use sightline_app::history::{
    DAY_MS, EndpointsParams, HOUR_MS, MINUTE_MS, RangeParams, SampleGroup, Settings,
    SettingsUpdate, TimeRange,
};

use crate::backends::Backend;

const T0: u64 = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS;

pub fn counts(latencies: &[u64]) -> WindowCounts {
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

pub fn batch(start_ms: u64, latencies: &[u64]) -> WindowBatch {
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
pub fn latencies(i: u64, seed: &mut u64) -> Vec<u64> {
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

pub fn range(from_ms: u64, to_ms: u64) -> TimeRange {
    TimeRange {
        from_ms,
        to_ms,
        preset: None,
        max_points: 60,
        instance: None,
    }
}

fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).max(1) - 1] as f64 / 1_000.0
}

pub fn assert_matches(store: &Store, from: u64, to: u64, windows: &[(u64, Vec<u64>)]) {
    assert_matches_in(store, &range(from, to), windows)
}

/// The overview and the per-route answer over `r` (of its instance, or all) equal brute
/// force over the raw latencies of `windows` starting in it.
pub fn assert_matches_in(store: &Store, r: &TimeRange, windows: &[(u64, Vec<u64>)]) {
    let (from, to) = (r.from_ms, r.to_ms);
    let mut all: Vec<u64> = windows
        .iter()
        .filter(|(start, _)| *start >= from && *start < to)
        .flat_map(|(_, l)| l.iter().copied())
        .collect();
    all.sort_unstable();
    let o = store.read(|c| query::overview(c, r)).unwrap();
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
            instance: r.instance.clone(),
            ..RangeParams::default()
        },
        ..EndpointsParams::default()
    }
    .resolve(to)
    .unwrap();
    let e = store.read(|c| query::endpoints(c, &q)).unwrap();
    assert_eq!(e.items[0].latency, o.latency);
}

/// Every row of `tier` (all instances) of route `route`: start and counts.
pub fn tier_rows(store: &Store, tier: usize, route: i64) -> Vec<(u64, WindowCounts)> {
    let mut out = Vec::new();
    let whole = [Piece {
        tier,
        from: 0,
        to: u64::MAX,
    }];
    let rows = Rows {
        instance: None,
        route: Some(route),
    };
    store
        .read(|db| {
            db.windows(rows, &whole, &mut |_, start, row| {
                out.push((start, row.to_counts()))
            })
        })
        .unwrap();
    out.sort_by_key(|(start, _)| *start);
    out
}

pub fn route_id(store: &Store, route: &str) -> i64 {
    let routes = store.read(|db| db.routes()).unwrap();
    routes.iter().find(|r| r.2 == route).unwrap().0
}

#[test]
fn percentiles_over_any_range_match_brute_force_across_windows_tiers_and_restarts() {
    for db in Backend::each() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        // Three and a half hours of 10 s windows, with a restart in the middle of hour two.
        let windows: Vec<(u64, Vec<u64>)> = (0..1_260)
            .map(|i| (T0 + i * 10_000, latencies(i, &mut seed)))
            .collect();
        let restart_at = 700;
        {
            let store = db.open("web-1");
            for (start, l) in &windows[..restart_at] {
                store.write(batch(*start, l));
            }
            // The window in progress at shutdown is written half now, half after the restart.
            let (start, l) = &windows[restart_at];
            store.write(batch(*start, &l[..2]));
            store.close();
        }
        let store = db.open("web-1");
        let (start, l) = &windows[restart_at];
        store.write(batch(*start, &l[2..]));
        for (start, l) in &windows[restart_at + 1..] {
            store.write(batch(*start, l));
        }
        store.flush();
        assert_eq!(store.write_error(), None, "{}", db.name());

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

        // A day later the 10 s rows are pruned; ranges on whole minutes answer the same
        // from the minute rows, and totals are unchanged.
        let before = store.read(|c| query::overview(c, &range(T0, end))).unwrap();
        store.prune(end + DAY_MS + HOUR_MS, 30 * DAY_MS).unwrap();
        assert!(tier_rows(&store, 0, ALL_ROUTES).is_empty(), "{}", db.name());
        let after = store.read(|c| query::overview(c, &range(T0, end))).unwrap();
        assert_eq!(
            (after.requests, after.latency.clone()),
            (before.requests, before.latency)
        );
        assert_eq!(after.status, before.status);
        assert_matches(&store, T0 + 13 * MINUTE_MS, T0 + 97 * MINUTE_MS, &windows);
    }
}

#[test]
fn rollups_hold_the_same_totals_as_the_windows() {
    for db in Backend::each() {
        let store = db.open("web-1");
        let mut seed = 7;
        for i in 0..400 {
            store.write(batch(T0 + i * 10_000, &latencies(i, &mut seed)));
        }
        store.flush();
        let route = route_id(&store, "/a");
        let sums: Vec<(u64, u64)> = (0..SIZES.len())
            .map(|tier| {
                tier_rows(&store, tier, route)
                    .iter()
                    .fold((0, 0), |(n, e), (_, c)| {
                        (n + c.requests, e + c.server_errors)
                    })
            })
            .collect();
        assert!(sums[0].0 > 0);
        assert!(
            sums.iter().all(|s| *s == sums[0]),
            "{}: {sums:?}",
            db.name()
        );
    }
}

#[test]
fn retention_deletes_exactly_what_is_out_of_range() {
    for db in Backend::each() {
        let store = db.open("web-1");
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
        store.prune(now, 30 * DAY_MS).unwrap();
        let horizons = horizons_at(now, 30 * DAY_MS);
        for (tier, horizon) in horizons.iter().enumerate() {
            let starts: Vec<u64> = tier_rows(&store, tier, ALL_ROUTES)
                .into_iter()
                .map(|(start, _)| start)
                .collect();
            let expected: Vec<u64> = ages
                .iter()
                .map(|age| bucket(tier, now - age))
                .filter(|start| *start >= *horizon)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(starts, expected, "{}: tier {tier}", db.name());
        }
        // Nothing is older than the retention; the newest windows are all still there.
        assert!(horizons[2] <= now - 30 * DAY_MS && now - 30 * DAY_MS - horizons[2] < HOUR_MS);
        let o = store
            .read(|c| query::overview(c, &range(now - 2 * DAY_MS, now)))
            .unwrap();
        assert_eq!(o.requests, 3, "{}", db.name());
    }
}

#[test]
fn settings_persist_and_bad_values_change_nothing() -> Result<(), StoreError> {
    for db in Backend::each() {
        {
            let store = db.open("web-1");
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
        let store = db.open("web-1");
        assert_eq!(
            store.settings(),
            Settings {
                retention_days: 7,
                slow_threshold_ms: 120
            },
            "{}",
            db.name()
        );
    }
    Ok(())
}

#[test]
fn unmeasured_figures_are_stored_and_read_as_missing() {
    for db in Backend::each() {
        let store = db.open("web-1");
        let mut values = [Some(3.0); FIELDS.len()];
        let missing: Vec<usize> = ["load_average_1m", "threads", "open_fds"]
            .iter()
            .map(|name| FIELDS.iter().position(|f| f.name == *name).unwrap())
            .collect();
        for i in &missing {
            values[*i] = None;
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
        // One row per tier, missing where nothing was measured.
        for tier in 0..SIZES.len() {
            let mut rows = Vec::new();
            let whole = [Piece {
                tier,
                from: 0,
                to: u64::MAX,
            }];
            store
                .read(|c| c.samples(None, &whole, &mut |_, acc| rows.push(acc)))
                .unwrap();
            assert_eq!(rows.len(), 1, "{}: tier {tier}", db.name());
            for (i, _) in FIELDS.iter().enumerate() {
                assert_eq!(
                    rows[0].value(i).is_none(),
                    missing.contains(&i),
                    "field {i}"
                );
            }
        }
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
}
