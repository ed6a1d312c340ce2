//! The Dashboard's live charts: the windows each snapshot sends are the windows history
//! stores (same requests, errors, p95 and CPU), and `/api/recent` reads back every window
//! of the last 15 minutes, across a restart, on both backends.

use std::time::Duration;

use crate::backends::Backend;
use crate::common::{TestApp, fast_config, spawn};
use reqwest::StatusCode;
use serde_json::Value;
use sightline::Config;

fn config(db: &Backend) -> Config {
    db.config(Config {
        instance_id: "web-1".into(),
        ..fast_config()
    })
}

async fn recent(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/sightline/api/recent{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn points(v: &Value) -> &Vec<Value> {
    v["points"].as_array().unwrap()
}

fn requests(points: &[Value]) -> u64 {
    points.iter().map(|p| p["requests"].as_u64().unwrap()).sum()
}

async fn stop(app: TestApp) {
    let sightline = app.sightline.clone();
    tokio::task::spawn_blocking(move || sightline.shutdown())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_windows_are_the_stored_windows_and_history_reads_them_all_back() {
    for db in Backend::each() {
        windows_agree(&db).await;
    }
}

async fn windows_agree(db: &Backend) {
    let name = db.name();
    let app = spawn(config(db)).await;
    for i in 0..30 {
        let path = if i % 10 == 0 { "/fail" } else { "/ok" };
        app.get(path).await;
    }
    // The window that served them finishes, and snapshots carry it.
    let snapshot = app
        .snapshot_where("a finished window with the requests", |s| {
            requests(s["recent"].as_array().unwrap()) == 30
        })
        .await;
    let live: Vec<Value> = snapshot["recent"].as_array().unwrap().clone();
    let mut starts: Vec<u64> = live
        .iter()
        .map(|p| p["start_ms"].as_u64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "{name}: oldest first"
    );
    assert!(starts.iter().all(|t| t % 10_000 == 0), "{name}: {starts:?}");
    assert!(
        live.iter().all(|p| p["cpu_percent"].is_number()),
        "{name}: {live:?}"
    );

    // History holds the same windows with the same figures, once written.
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = points(&recent(&app, "").await).clone();
        if starts
            .iter()
            .all(|t| stored.iter().any(|p| p["start_ms"] == *t))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for p in &live {
        let s = stored
            .iter()
            .find(|s| s["start_ms"] == p["start_ms"])
            .unwrap_or_else(|| panic!("{name}: window {p} not in history {stored:?}"));
        for field in ["requests", "client_errors", "server_errors", "p95_ms"] {
            assert_eq!(s[field], p[field], "{name}: {field} of {p} vs {s}");
        }
        let (a, b) = (s["cpu_percent"].as_f64(), p["cpu_percent"].as_f64());
        assert!(
            (a.unwrap() - b.unwrap()).abs() < 1e-9,
            "{name}: {a:?} vs {b:?}"
        );
    }
    let with_traffic: Vec<&Value> = stored.iter().filter(|p| p["requests"] != 0).collect();
    assert_eq!(requests(&stored), 30, "{name}: {stored:?}");
    assert!(with_traffic.iter().all(|p| p["p95_ms"].is_number()));
    assert_eq!(
        with_traffic
            .iter()
            .map(|p| p["server_errors"].as_u64().unwrap())
            .sum::<u64>(),
        3,
        "{name}"
    );
    // Windows without requests are points too (the server was up), with no p95.
    let idle =
        |p: &Value| p["requests"] == 0 && p["p95_ms"].is_null() && p["cpu_percent"].is_number();
    app.snapshot_where("an idle window finished", |s| {
        s["recent"].as_array().unwrap().iter().any(idle)
    })
    .await;
    let mut found = false;
    for _ in 0..100 {
        if points(&recent(&app, "").await).iter().any(idle) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "{name}: no idle window in history");
    // One instance's windows; another's (none here) are none.
    assert_eq!(requests(points(&recent(&app, "?instance=web-1").await)), 30);
    assert!(points(&recent(&app, "?instance=web-2").await).is_empty());
    // Requests in the window still in progress when the server stops.
    for _ in 0..5 {
        app.get("/ok").await;
    }
    stop(app).await;

    // The next process reads the same windows back, the one cut short by the stop too
    // (once it has ended: the window in progress is never read).
    let app = spawn(config(db)).await;
    let mut after = recent(&app, "").await;
    for _ in 0..150 {
        if requests(points(&after)) == 35 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = recent(&app, "").await;
    }
    let (from, to) = (
        after["from_ms"].as_u64().unwrap(),
        after["to_ms"].as_u64().unwrap(),
    );
    assert_eq!(to - from, 15 * 60_000, "{name}: {after}");
    assert_eq!(requests(points(&after)), 35, "{name}: {after}");
    starts = points(&after)
        .iter()
        .map(|p| p["start_ms"].as_u64().unwrap())
        .collect();
    assert!(
        starts.iter().all(|t| (from..to).contains(t)),
        "{name}: {after}"
    );
    stop(app).await;
}
