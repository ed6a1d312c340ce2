//! One bad row stops nothing: rows planted corrupt in the database file are skipped by
//! queries (which answer with the other rows) and replaced by later writes, and what was
//! skipped shows in the live snapshot and in the settings API.

use crate::common::{TempDir, TestApp, fast_config, spawn};
use reqwest::StatusCode;
use serde_json::Value;
use sightline::Config;

fn history_config(dir: &TempDir) -> Config {
    Config {
        db_path: Some(dir.db()),
        ..fast_config()
    }
}

async fn shutdown(app: &TestApp) {
    let sightline = app.sightline.clone();
    tokio::task::spawn_blocking(move || sightline.shutdown())
        .await
        .unwrap();
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.get(&format!("/sightline/api/{path}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn send(app: &TestApp, path: &str, n: usize, status: StatusCode) {
    for _ in 0..n {
        assert_eq!(app.get(path).await.status(), status, "{path}");
    }
}

/// Requests per route over the last five minutes.
async fn requests_of(app: &TestApp, route: &str) -> Option<u64> {
    let page = json(app, "endpoints?range=5m&limit=50").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["route"] == route)
        .and_then(|row| row["requests"].as_u64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_skipped_and_later_writes_still_land() {
    let dir = TempDir::new("corrupt");
    let first = spawn(history_config(&dir)).await;
    send(&first, "/ok", 5, StatusCode::OK).await;
    send(&first, "/fail", 2, StatusCode::INTERNAL_SERVER_ERROR).await;
    shutdown(&first).await;

    // Every stored row of `/fail` gets a histogram no decoder accepts, and one stored
    // request gets text where its latency belongs.
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        let fail: i64 = conn
            .query_row("SELECT id FROM routes WHERE route = '/fail'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let corrupted = conn
            .execute(
                "UPDATE windows SET histogram = X'07FF' WHERE route_id = ?1",
                [fail],
            )
            .unwrap();
        assert!(corrupted >= 3, "one row per tier at least: {corrupted}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        conn.execute(
            "INSERT INTO requests (time_ms, method, route, path, status, latency_us, bytes, message)
             VALUES (?1, 'GET', '/fail', '/fail', 500, 'very slow', 0, NULL)",
            [now - 1_000],
        )
        .unwrap();
    }

    let app = spawn(history_config(&dir)).await;
    // Queries answer, with every row that still reads.
    let overview = json(&app, "overview?range=5m").await;
    assert_eq!(overview["requests"], 7, "{overview}");
    assert_eq!(requests_of(&app, "/ok").await, Some(5));
    assert_eq!(requests_of(&app, "/fail").await, None);
    let errors = json(&app, "errors?range=5m").await;
    let paths: Vec<&str> = errors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/fail", "/fail"], "{errors}");
    // What was skipped is visible live and in the settings.
    app.snapshot_where("skipped rows in the store section", |s| {
        s["store"]["enabled"] == true && s["store"]["rows_skipped"].as_u64() > Some(0)
    })
    .await;
    let settings = json(&app, "settings").await;
    assert!(
        settings["store"]["rows_skipped"].as_u64() > Some(0),
        "{settings}"
    );
    assert_eq!(settings["store"]["write_error"], Value::Null, "{settings}");

    // Writes merging into the corrupt rows replace them instead of failing.
    send(&app, "/fail", 3, StatusCode::INTERNAL_SERVER_ERROR).await;
    send(&app, "/ok", 4, StatusCode::OK).await;
    shutdown(&app).await;
    let store = app.sightline.store().unwrap();
    assert_eq!(store.write_error(), None);
    let overview = json(&app, "overview?range=5m").await;
    assert_eq!(overview["requests"], 14, "{overview}");
    assert_eq!(requests_of(&app, "/ok").await, Some(9));
    assert_eq!(requests_of(&app, "/fail").await, Some(3));
    let errors = json(&app, "errors?range=5m&status=5xx").await;
    assert_eq!(errors["items"].as_array().unwrap().len(), 5, "{errors}");
}
