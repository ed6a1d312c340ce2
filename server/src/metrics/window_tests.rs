//! Tests of the rolling windows, on a fake clock.

use super::super::recorder::Recorder;
use super::*;

const T0: u64 = 1_700_000_000_000;

fn record(recorder: &Recorder, route: &str, status: u16, n: u64, latency_us: u64) {
    let cell = recorder.cell(0, Some(route));
    (0..n).for_each(|_| cell.record(status, latency_us, 100));
}

#[test]
fn rates_cover_their_windows_and_rpm_decays() {
    let recorder = Recorder::new(10);
    let mut w = Windows::new();
    // 5 requests in each of 30 seconds.
    for s in 0..30 {
        record(&recorder, "/a", 200, 5, 1_000);
        w.rotate(T0 + s * 1_000, &recorder.cells());
    }
    let now = T0 + 29_000;
    let o = w.overview(now);
    assert_eq!(o.rps, 5.0);
    assert_eq!(o.rpm, 150.0);
    assert_eq!(o.total_requests, 150);
    // Traffic stops: rps falls after 10 s, rpm after 60 s, totals stay.
    assert_eq!(w.overview(now + 10_000).rps, 0.0);
    // At +40 s the minute still holds seconds 10..29.
    assert_eq!(w.overview(now + 40_000).rpm, 100.0);
    assert_eq!(w.overview(now + 60_000).rpm, 0.0);
    assert_eq!(w.overview(now + 60_000).total_requests, 150);
    assert_eq!(w.overview(now + 60_000).latency, LatencySummary::default());
}

#[test]
fn error_shares_and_status_counts_are_exact() {
    let recorder = Recorder::new(10);
    let mut w = Windows::new();
    record(&recorder, "/ok", 200, 7, 500);
    record(&recorder, "/missing", 404, 2, 500);
    record(&recorder, "/boom", 500, 1, 500);
    w.rotate(T0, &recorder.cells());
    let o = w.overview(T0);
    assert_eq!(
        (o.total_requests, o.client_errors, o.server_errors),
        (10, 2, 1)
    );
    assert_eq!(o.client_error_rate_percent, 20.0);
    assert_eq!(o.server_error_rate_percent, 10.0);
    let e = w.endpoints(T0);
    assert_eq!(
        e.status.by_code,
        BTreeMap::from([(200, 7), (404, 2), (500, 1)])
    );
    assert_eq!(
        (
            e.status.success,
            e.status.client_error,
            e.status.server_error
        ),
        (7, 2, 1)
    );
    assert_eq!(e.top_by_requests[0].route, "/ok");
    assert_eq!(
        e.top_by_error_rate
            .iter()
            .map(|s| s.route.as_str())
            .collect::<Vec<_>>(),
        ["/boom", "/missing"]
    );
}

#[test]
fn latency_merges_the_minute_and_matches_brute_force() {
    let recorder = Recorder::new(10);
    let mut w = Windows::new();
    let mut all = Vec::new();
    // Different latencies in different 10 s windows: a max-of-windows p95 would be wrong.
    for s in 0..50u64 {
        let latency = if s < 40 { 1_000 + s * 10 } else { 50_000 };
        let n = if s < 40 { 20 } else { 1 };
        record(&recorder, "/a", 200, n, latency);
        all.extend(std::iter::repeat_n(latency, n as usize));
        w.rotate(T0 + s * 1_000, &recorder.cells());
    }
    all.sort_unstable();
    let exact = |q: f64| all[((q * all.len() as f64).ceil() as usize).max(1) - 1] as f64 / 1_000.0;
    let l = w.overview(T0 + 49_000).latency;
    assert_eq!(l.count, all.len() as u64);
    for (got, q) in [(l.p50_ms, 0.5), (l.p95_ms, 0.95), (l.p99_ms, 0.99)] {
        let want = exact(q);
        assert!((got - want).abs() <= want * 0.01, "p{q}: {got} vs {want}");
    }
    assert_eq!(l.max_ms, 50.0);
    let avg = all.iter().sum::<u64>() as f64 / all.len() as f64 / 1_000.0;
    assert!((l.avg_ms - avg).abs() < 1e-9);
}
