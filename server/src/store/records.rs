//! Bounds on the error and slow-request records the writer stores, so that a scan or a
//! flood cannot fill the database: at most [`PER_ROUTE`] per route in each 10 s window,
//! and [`PER_UNMATCHED`] for requests that matched no route (what a scan sends). The rest
//! are counted per window (`record_counts`: stored and not stored), not stored. Window
//! rows count every request either way, so totals stay exact.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::metrics::details::Detail;
use crate::metrics::recorder::UNMATCHED;

/// Records stored per route and 10 s window at most.
pub const PER_ROUTE: u32 = 20;
/// Records stored per 10 s window for requests that matched no route.
pub const PER_UNMATCHED: u32 = 3;
const WINDOW_MS: u64 = 10_000;
/// How long a window's quota is remembered after a newer window began. A record older
/// than that (one queued while the database refused writes) starts a fresh quota.
const REMEMBER_MS: u64 = 60_000;

/// Records of one window: stored, and not stored because of the quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub kept: u64,
    pub capped: u64,
}

/// Which records are stored: counts per (window, route) of those let through.
#[derive(Debug, Default)]
pub struct Quota {
    used: HashMap<(u64, Arc<str>), u32>,
    newest: u64,
}

impl Quota {
    /// Whether `detail` is stored; counted in `tallies` either way.
    pub fn admit(&mut self, detail: &Detail, tallies: &mut BTreeMap<u64, Tally>) -> bool {
        let window = detail.time_ms - detail.time_ms % WINDOW_MS;
        let limit = if &*detail.route == UNMATCHED {
            PER_UNMATCHED
        } else {
            PER_ROUTE
        };
        let used = self.used.entry((window, detail.route.clone())).or_default();
        let keep = *used < limit;
        let tally = tallies.entry(window).or_default();
        if keep {
            *used += 1;
            tally.kept += 1;
        } else {
            tally.capped += 1;
        }
        if window > self.newest {
            self.newest = window;
            let oldest = window.saturating_sub(REMEMBER_MS);
            self.used.retain(|(w, _), _| *w >= oldest);
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::details::{CUT, Details, MAX_TEXT};
    use crate::store::tests::TempDb;
    use crate::store::{Options, Store};
    use sightline_app::history::Settings;

    const T0: u64 = 1_800_000_000_000;

    fn detail(time_ms: u64, route: &str, path: String) -> Detail {
        Detail {
            time_ms,
            method: "GET",
            route: Arc::from(route),
            path,
            status: 404,
            latency_us: 900,
            bytes: 0,
            message: None,
        }
    }

    #[test]
    fn each_route_keeps_its_share_of_each_window_and_the_rest_is_counted() {
        let mut quota = Quota::default();
        let mut tallies = BTreeMap::new();
        let mut kept = |q: &mut Quota, t: u64, route: &str, n: u32| {
            (0..n)
                .filter(|_| q.admit(&detail(t, route, "/".into()), &mut tallies))
                .count() as u32
        };
        assert_eq!(kept(&mut quota, T0, "/a", 50), PER_ROUTE);
        assert_eq!(kept(&mut quota, T0 + 9_999, "/b", 5), 5);
        assert_eq!(kept(&mut quota, T0 + 1, UNMATCHED, 40), PER_UNMATCHED);
        // The next window starts afresh.
        assert_eq!(kept(&mut quota, T0 + 10_000, "/a", 50), PER_ROUTE);
        let first = u64::from(PER_ROUTE + 5 + PER_UNMATCHED);
        assert_eq!(
            tallies,
            BTreeMap::from([
                (
                    T0,
                    Tally {
                        kept: first,
                        capped: 95 - first
                    }
                ),
                (
                    T0 + 10_000,
                    Tally {
                        kept: u64::from(PER_ROUTE),
                        capped: 50 - u64::from(PER_ROUTE)
                    }
                ),
            ])
        );
    }

    #[test]
    fn a_flood_stores_a_bounded_number_of_short_records_and_counts_the_rest() {
        let db = TempDb::new("records-cap");
        let details: &'static Details = Box::leak(Box::default());
        let settings = Settings {
            retention_days: 30,
            slow_threshold_ms: 500,
        };
        let store = Store::open(&Options::sqlite(&db.0, settings), details).unwrap();
        let now = crate::clock::now_ms();
        let window = now - now % WINDOW_MS;
        for i in 0..200 {
            details.push(detail(window + i, "/a/{id}", format!("/a/{i}")));
            details.push(detail(window + i, UNMATCHED, format!("/scan/{i}")));
        }
        let huge = format!("/{}", "ü".repeat(4 * MAX_TEXT));
        details.push(Detail {
            message: Some("x".repeat(3 * MAX_TEXT)),
            ..detail(window + 500, "/b", huge)
        });
        store.flush();
        assert_eq!(store.write_error(), None);

        let per_route: Vec<(String, i64)> = store
            .sqlite(|c| {
                let mut stmt = c.prepare(
                    "SELECT route, count(*) FROM requests GROUP BY route ORDER BY route",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            per_route,
            [
                (UNMATCHED.to_owned(), i64::from(PER_UNMATCHED)),
                ("/a/{id}".to_owned(), i64::from(PER_ROUTE)),
                ("/b".to_owned(), 1),
            ]
        );
        // Stored and not stored add up to everything the layer handed over.
        let (kept, capped): (i64, i64) = store
            .sqlite(|c| {
                Ok(c.query_row(
                    "SELECT kept, capped FROM record_counts WHERE start_ms = ?1",
                    [window as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap()
            .unwrap();
        assert_eq!(kept, i64::from(PER_ROUTE + PER_UNMATCHED) + 1);
        assert_eq!(kept + capped, 401);
        assert_eq!(store.health().records_capped, capped as u64);

        let (path, message): (String, String) = store
            .sqlite(|c| {
                Ok(c.query_row(
                    "SELECT path, message FROM requests WHERE route = '/b'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap()
            .unwrap();
        assert!(
            path.len() <= MAX_TEXT && path.ends_with(CUT),
            "{}",
            path.len()
        );
        assert!(path.starts_with("/üü"));
        assert_eq!(message.len(), MAX_TEXT);
    }
}
