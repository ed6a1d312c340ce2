//! Several instances, one history database (on both backends, from one test body each):
//! answers per instance and for all of them equal brute force over each one's raw
//! latencies; a write retried after its first attempt landed counts once; two instances
//! pruning at the same moment delete each row once.

use std::sync::Barrier;

use sightline::store::postgres::schema::PRUNE_LOCK;
use sightline::store::query;
use sightline::store::reader::Rows;
use sightline::store::tiers::{Piece, SIZES, horizons_at};
use sightline::store::writer::Unit;
use sightline_app::history::{DAY_MS, HOUR_MS, TimeRange};

use crate::backends::Backend;
use crate::store::{assert_matches_in, batch, latencies, range};

const T0: u64 = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS;
const INSTANCES: [&str; 3] = ["web-1", "web-2", "web-3"];

fn scoped(r: TimeRange, instance: &str) -> TimeRange {
    TimeRange {
        instance: Some(instance.to_owned()),
        ..r
    }
}

#[test]
fn three_instances_writing_at_once_answer_each_and_all_exactly() {
    for db in Backend::each() {
        // Started together on an empty database: one migrates, the others wait for it.
        let stores: Vec<_> = std::thread::scope(|s| {
            let opening: Vec<_> = INSTANCES.iter().map(|id| s.spawn(|| db.open(id))).collect();
            opening.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // Each instance its own traffic over the same 70 minutes.
        let traffic: Vec<Vec<(u64, Vec<u64>)>> = (0..3u64)
            .map(|k| {
                let mut seed = 0x9E37_79B9 + k * 7_919;
                (0..420)
                    .map(|i| {
                        let mut l = latencies(i + k * 5, &mut seed);
                        l.truncate(3 + (i as usize + k as usize) % 9);
                        (T0 + i * 10_000, l)
                    })
                    .collect()
            })
            .collect();
        std::thread::scope(|s| {
            for (store, windows) in stores.iter().zip(&traffic) {
                s.spawn(move || {
                    for (start, l) in windows {
                        store.write(batch(*start, l));
                    }
                    store.flush();
                });
            }
        });
        for store in &stores {
            assert_eq!(store.write_error(), None, "{}", db.name());
        }
        let everything: Vec<(u64, Vec<u64>)> = traffic.iter().flatten().cloned().collect();
        let end = T0 + 420 * 10_000;
        for (from, to) in [(T0, end), (T0 + 123_456, T0 + 61 * 60_000 + 7)] {
            // Any instance answers for all of them, merged exactly...
            for store in &stores {
                assert_matches_in(store, &range(from, to), &everything);
            }
            // ...and for each one alone.
            for (id, windows) in INSTANCES.iter().zip(&traffic) {
                assert_matches_in(&stores[0], &scoped(range(from, to), id), windows);
            }
        }
        let seen = stores[2]
            .read(|c| query::instances(c, &range(T0, end)))
            .unwrap();
        let ids: Vec<(&str, u64, u64)> = seen
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.first_ms, i.last_ms))
            .collect();
        let last = T0 + 419 * 10_000;
        assert_eq!(
            ids,
            INSTANCES.map(|id| (id, T0, last)).to_vec(),
            "{}",
            db.name()
        );
        let unknown = stores[0]
            .read(|c| query::overview(c, &scoped(range(T0, end), "web-9")))
            .unwrap();
        assert_eq!(unknown.requests, 0);
    }
}

#[test]
fn a_write_retried_after_it_landed_counts_once() {
    for db in Backend::each() {
        let mut sink = db.sink("web-1", "run-1");
        let unit = |seq: u64, start: u64, l: &[u64]| Unit {
            seq,
            time_ms: start,
            windows: vec![batch(start, l)],
            ..Unit::default()
        };
        let first = unit(1, T0, &[1_000, 2_000, 3_000]);
        sink.write(std::slice::from_ref(&first)).unwrap();
        // The answer was lost (a timeout): the writer sends the same unit again, with
        // what arrived meanwhile.
        let second = unit(2, T0 + 10_000, &[4_000]);
        sink.write(&[first, second]).unwrap();
        // A new run of the same instance starts its own marks.
        let mut restarted = db.sink("web-1", "run-2");
        restarted.write(&[unit(1, T0 + 20_000, &[5_000])]).unwrap();

        let reader = db.open("web-2");
        let o = reader
            .read(|c| query::overview(c, &range(T0, T0 + 60_000)))
            .unwrap();
        assert_eq!(o.requests, 5, "{}", db.name());
        assert_eq!(o.latency.max_ms, 5.0);
        // The minute and hour rows did not count the retry either.
        for tier in 0..SIZES.len() {
            let total: u64 = crate::store::tier_rows(&reader, tier, 0)
                .iter()
                .map(|(_, c)| c.requests)
                .sum();
            assert_eq!(total, 5, "{}: tier {tier}", db.name());
        }
    }
}

/// Rows of every route and instance in `tier` starting before `before`.
fn rows_before(store: &sightline::store::Store, tier: usize, before: u64) -> u64 {
    let mut n = 0;
    let piece = [Piece {
        tier,
        from: 0,
        to: before,
    }];
    let every = Rows {
        instance: None,
        route: None,
    };
    store
        .read(|c| c.windows(every, &piece, &mut |_, _, _| n += 1))
        .unwrap();
    n
}

#[test]
fn two_instances_pruning_at_once_delete_each_row_once() {
    for db in Backend::each() {
        let stores = [db.open("web-1"), db.open("web-2")];
        let now = T0 + 40 * DAY_MS + 5 * HOUR_MS;
        for (k, store) in stores.iter().enumerate() {
            for age_h in (0..40 * 24).step_by(7) {
                let t = now - age_h * HOUR_MS - k as u64 * 10_000;
                store.write(batch(t - t % 10_000, &[1_000 + age_h]));
            }
            store.flush();
        }
        let retention = 30 * DAY_MS;
        let horizons = horizons_at(now, retention);
        let doomed: u64 = (0..SIZES.len())
            .map(|tier| rows_before(&stores[0], tier, horizons[tier]))
            .sum();
        assert!(doomed > 0);
        let barrier = Barrier::new(2);
        let results: Vec<Option<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = stores
                .iter()
                .map(|store| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        store.prune(now, retention).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let deleted: u64 = results.iter().flatten().sum();
        assert_eq!(deleted, doomed, "{}: {results:?}", db.name());
        if let Some(server) = db.server() {
            // While another instance holds the pruning lock, this one leaves the work to it.
            let later = now + 3 * DAY_MS;
            let locked = server.hold_advisory_lock(PRUNE_LOCK);
            assert_eq!(stores[0].prune(later, retention).unwrap(), None);
            drop(locked);
            // The server frees the lock once it notices the holder's session ended: a
            // moment after the holder is gone.
            let pruned = (0..200).find_map(|_| {
                let pruned = stores[0].prune(later, retention).unwrap();
                if pruned.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                pruned
            });
            assert!(pruned.expect("the lock is freed") > 0);
        }
        for (tier, horizon) in horizons.iter().enumerate() {
            assert_eq!(rows_before(&stores[1], tier, *horizon), 0);
        }
    }
}
