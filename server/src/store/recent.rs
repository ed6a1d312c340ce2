//! The Dashboard's live charts read back from history: the last 15 minutes in 10 s
//! windows, each with the figures the live snapshot sends for its newest windows
//! ([`crate::metrics::recent`]), so the two agree wherever they overlap.

use sightline_app::history::{RECENT_SPAN_MS, RecentHistory, TimeRange, WINDOW_MS};
use sightline_app::snapshot::WindowPoint;

use super::StoreError;
use super::query::{per_step, sample_steps};
use super::reader::Reader;
use super::samples::{FIELDS, Group};
use crate::metrics::summary::summarize;

/// Windows of `instance` (or of every instance, merged) that finished before `now_ms`'s
/// window and started at most 15 minutes before it. A window is there when its samples
/// or requests were stored: the server was up, whether or not it served requests.
pub fn recent(
    db: &dyn Reader,
    instance: Option<String>,
    now_ms: u64,
) -> Result<RecentHistory, StoreError> {
    let to_ms = now_ms / WINDOW_MS * WINDOW_MS;
    let range = TimeRange {
        from_ms: to_ms.saturating_sub(RECENT_SPAN_MS),
        to_ms,
        preset: None,
        max_points: (RECENT_SPAN_MS / WINDOW_MS) as u32,
        instance,
    };
    debug_assert_eq!(range.step_ms(), WINDOW_MS);
    let h = db.horizons()?;
    let windows = per_step(db, &range, &h)?;
    let samples = sample_steps(db, &range, &h)?;
    let cpu = FIELDS
        .iter()
        .position(|f| f.group == Group::System && f.name == "cpu_percent")
        .expect("CPU is sampled");
    // A window is there when its samples or its requests were stored (samples can be
    // rarer than windows: `--sample-interval-ms` over 10 s).
    let starts: std::collections::BTreeSet<u64> =
        windows.keys().chain(samples.keys()).copied().collect();
    let mut points: Vec<WindowPoint> = starts
        .into_iter()
        .map(|start_ms| {
            let counts = windows.get(&start_ms);
            let requests = counts.map_or(0, |c| c.requests);
            WindowPoint {
                start_ms,
                requests,
                client_errors: counts.map_or(0, |c| c.client_errors),
                server_errors: counts.map_or(0, |c| c.server_errors),
                p95_ms: counts.filter(|_| requests > 0).map(|c| {
                    summarize(Some(&c.histogram), c.latency_sum_us, c.latency_max_us).p95_ms
                }),
                cpu_percent: samples.get(&start_ms).and_then(|acc| acc.value(cpu)),
            }
        })
        .collect();
    points.sort_by_key(|p| p.start_ms);
    Ok(RecentHistory {
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        points,
    })
}
