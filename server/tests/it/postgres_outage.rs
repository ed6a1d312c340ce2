//! PostgreSQL going away, for real: stopped under traffic, the live view carries on, the
//! store health says so, and once it is back nothing recorded meanwhile is missing.
//! Unreachable at start: a clear error naming the server, or, when asked to wait,
//! history unavailable (503) until it answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sightline::{Config, Sightline};

use crate::common::{TestApp, fast_config, spawn};
use crate::postgres::Postgres;

fn config(url: &str) -> Config {
    Config {
        database_url: Some(url.into()),
        instance_id: "web-1".into(),
        ..fast_config()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Sends `GET /ok` every 20 ms until `stop`; counts the answers.
fn traffic(
    app: &TestApp,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    let (http, url) = (app.http.clone(), app.url("/ok"));
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let response = http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            sent.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// Requests stored over `[from, to)`, as the overview reads them.
async fn stored(app: &TestApp, from: u64, to: u64) -> (StatusCode, Value) {
    let response = app
        .get(&format!("/sightline/api/overview?from={from}&to={to}"))
        .await;
    (response.status(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_30_s_under_traffic_loses_nothing() {
    let pg = Arc::new(Postgres::start());
    let url = pg.database("outage");
    let started = now_ms();
    let app = spawn(config(&url)).await;
    let (stop, sent) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let load = traffic(&app, stop.clone(), sent.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    let server = pg.clone();
    blocking(move || server.stop()).await;
    let before = sent.load(Ordering::Relaxed);
    // The live view carries on, and says history writes are failing.
    let snapshot = app
        .snapshot_where("a failed history write", |s| {
            s["store"]["write_error"].is_string()
        })
        .await;
    let error = snapshot["store"]["write_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("127.0.0.1"), "{error}");
    app.snapshot_where("requests counted during the outage", |s| {
        s["overview"]["total_requests"].as_u64() > Some(before + 50)
    })
    .await;
    let health = app.get("/sightline/api/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = stored(&app, started - 60_000, now_ms() + 60_000).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("127.0.0.1"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_secs(30)).await;

    let server = pg.clone();
    blocking(move || server.resume()).await;
    app.snapshot_where("history writes resumed", |s| {
        s["store"]["write_error"].is_null()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let total = sent.load(Ordering::Relaxed);
    // Shutting down writes the window in progress.
    let sightline = app.sightline.clone();
    blocking(move || sightline.shutdown()).await;
    assert_eq!(sightline_lost(&app), 0);

    let reader = spawn(config(&url)).await;
    let (status, body) = stored(&reader, started - 60_000, now_ms() + 60_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requests"].as_u64(), Some(total), "{body}");
}

fn sightline_lost(app: &TestApp) -> u64 {
    app.sightline.store().map_or(0, |s| s.health().windows_lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_at_start_is_a_clear_error_or_waited_for() {
    let pg = Arc::new(Postgres::start());
    let url = pg.database("late");
    let server = pg.clone();
    blocking(move || server.stop()).await;

    let refused = Sightline::start(config(&url)).unwrap_err().to_string();
    let host = format!("127.0.0.1:{}", pg.port);
    assert!(refused.contains(&host), "{refused}");

    let app = spawn(Config {
        wait_for_database: true,
        ..config(&url)
    })
    .await;
    let (status, body) = stored(&app, now_ms() - 60_000, now_ms()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].as_str().unwrap().contains(&host), "{body}");
    app.snapshot_where("the store health shows the outage", |s| {
        s["store"]["write_error"].is_string()
    })
    .await;
    for _ in 0..10 {
        assert_eq!(app.get("/ok").await.status(), StatusCode::OK);
    }

    let server = pg.clone();
    blocking(move || server.resume()).await;
    let from = now_ms() - 60_000;
    for attempt in 0.. {
        let (status, body) = stored(&app, from, now_ms() + 60_000).await;
        if status == StatusCode::OK && body["requests"].as_u64() == Some(10) {
            break;
        }
        assert!(attempt < 300, "history never caught up: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
