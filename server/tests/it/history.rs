//! History over real sockets and a real SQLite file: what one server recorded, the next
//! one (same database) serves; every REST endpoint answers, and every bad parameter gets a
//! 400 naming it.

use std::time::Duration;

use crate::backends::Backend;
use crate::common::{TempDir, TestApp, fast_config, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline::Config;

fn history_config(dir: &TempDir) -> Config {
    Backend::Sqlite(TempDir(dir.0.clone())).config(backend_config())
}

/// Fast ticks, 50 ms counts as slow, instance `web-1`; the database is the backend's.
fn backend_config() -> Config {
    Config {
        slow_threshold_ms: 50,
        instance_id: "web-1".into(),
        ..fast_config()
    }
}

async fn shutdown(app: TestApp) {
    let sightline = app.sightline.clone();
    tokio::task::spawn_blocking(move || sightline.shutdown())
        .await
        .unwrap();
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// 20 ok, 3 not found, 2 failed, 1 slow, 1 bad gateway with a message, 1 panic.
async fn send_known_traffic(app: &TestApp) {
    for _ in 0..20 {
        assert_eq!(app.get("/ok").await.status(), StatusCode::OK);
    }
    for id in 0..3 {
        assert_eq!(
            app.get(&format!("/missing/{id}")).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    for _ in 0..2 {
        assert_eq!(
            app.get("/fail").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(app.get("/slow").await.status(), StatusCode::OK);
    assert_eq!(app.get("/upstream").await.status(), StatusCode::BAD_GATEWAY);
    // The panic ends the connection: no response, but a recorded 500.
    assert!(app.http.get(app.url("/panic")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart_and_every_endpoint_answers() {
    for db in Backend::each() {
        survives_a_restart_and_every_endpoint_answers(&db).await;
    }
}

async fn survives_a_restart_and_every_endpoint_answers(db: &Backend) {
    let first = spawn(db.config(backend_config())).await;
    send_known_traffic(&first).await;
    shutdown(first).await;

    let app = spawn(db.config(backend_config())).await;
    let api = "/sightline/api";

    let o = json(&app, &format!("{api}/overview?range=5m&max_points=30")).await;
    assert_eq!(o["requests"], 28, "{o}");
    assert_eq!(o["client_errors"], 3);
    assert_eq!(o["server_errors"], 4);
    assert_eq!(
        o["status"]["by_code"],
        json!({"200": 21, "404": 3, "500": 3, "502": 1})
    );
    assert_eq!(o["rps_series"].as_array().unwrap().len(), 30);
    let rps = o["rps"].as_f64().unwrap();
    assert!((rps - 28.0 / 300.0).abs() < 1e-9, "{rps}");
    assert!(o["latency"]["max_ms"].as_f64().unwrap() >= 80.0);

    let e = json(&app, &format!("{api}/endpoints?range=5m&sort=requests")).await;
    assert_eq!(e["total"], 6, "{e}");
    assert_eq!(e["items"][0]["route"], "/ok");
    assert_eq!(e["items"][0]["requests"], 20);
    let e = json(&app, &format!("{api}/endpoints?range=5m&search=MISS")).await;
    assert_eq!(e["total"], 1);
    assert_eq!(e["items"][0]["route"], "/missing/{id}");
    let e = json(
        &app,
        &format!("{api}/endpoints?range=5m&sort=route&order=asc&limit=2&page=2"),
    )
    .await;
    let routes: Vec<&str> = e["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["/ok", "/panic"]);

    let top = json(&app, &format!("{api}/endpoints/top?range=5m&metric=errors")).await;
    assert_eq!(top["items"][0]["route"], "/missing/{id}");
    let top = json(
        &app,
        &format!("{api}/endpoints/top?range=5m&metric=latency&limit=1"),
    )
    .await;
    assert_eq!(top["items"].as_array().unwrap().len(), 1);
    let top = json(
        &app,
        &format!("{api}/endpoints/top?range=5m&metric=latency"),
    )
    .await;
    let routes: Vec<&str> = top["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route"].as_str().unwrap())
        .collect();
    // The slowest handler first, but for `/panic`, whose time includes the panic hook
    // (seconds of symbolising when RUST_BACKTRACE is set).
    let slow = routes.iter().position(|r| *r == "/slow").unwrap();
    assert!(routes[..slow].iter().all(|r| *r == "/panic"), "{routes:?}");

    let slow = json(&app, &format!("{api}/endpoints/slow?range=5m")).await;
    assert_eq!(slow["threshold_ms"], 50);
    let items = slow["items"].as_array().unwrap();
    // Only requests over the threshold: `/slow` (80 ms), and any other that a loaded
    // machine held up past 50 ms (`/panic` when its hook took long).
    assert!(
        (items.iter()).all(|r| r["latency_ms"].as_f64().unwrap() >= 50.0),
        "{items:?}"
    );
    let fast = items.iter().filter(|r| r["path"] == "/ok").count();
    assert!(
        fast < 20,
        "not every request is over the threshold: {items:?}"
    );
    let record = items.iter().find(|r| r["path"] == "/slow").unwrap();
    assert!(record["latency_ms"].as_f64().unwrap() >= 80.0);
    let slow = json(
        &app,
        &format!("{api}/endpoints/slow?range=5m&threshold=60000"),
    )
    .await;
    assert_eq!(slow["total"], 0);

    let errors = json(&app, &format!("{api}/errors?range=5m")).await;
    assert_eq!(errors["total"], 7, "{errors}");
    let errors = json(&app, &format!("{api}/errors?range=5m&status=5xx")).await;
    assert_eq!(errors["total"], 4);
    let messages: Vec<&str> = errors["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"inventory service refused"),
        "{messages:?}"
    );
    assert!(messages.contains(&"panic: boom"), "{messages:?}");
    let errors = json(
        &app,
        &format!("{api}/errors?range=5m&route=missing&limit=2"),
    )
    .await;
    assert_eq!(
        (
            errors["total"].as_u64(),
            errors["items"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    assert_eq!(errors["items"][0]["path"], "/missing/2", "newest first");

    let d = json(&app, &format!("{api}/errors/distribution?range=5m")).await;
    assert_eq!(d["status"]["client_error"], 3);
    assert_eq!(d["status"]["server_error"], 4);
    let fives: f64 = d["server_errors_series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum();
    assert_eq!(fives, 4.0);

    for (group, series) in [
        ("system", "cpu_percent"),
        ("process", "rss_bytes"),
        ("runtime", "workers"),
    ] {
        let s = json(&app, &format!("{api}/{group}?range=5m")).await;
        let points = s["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == series)
            .unwrap()["points"]
            .clone();
        assert!(!points.as_array().unwrap().is_empty(), "{group}: {s}");
    }
    let rss = json(&app, &format!("{api}/process?range=5m")).await;
    let rss = rss["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "rss_bytes")
        .unwrap()["points"][0][1]
        .as_f64()
        .unwrap();
    assert!(rss > 1e6, "{rss}");

    let csv = app.get(&format!("{api}/export?range=5m&format=csv")).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("instance,method,route,requests,"), "{csv}");
    // All instances together: the row has no instance of its own.
    assert!(csv.contains("\r\n,GET,/ok,20,0,0,"), "{csv}");
    let csv = app
        .get(&format!("{api}/export?range=5m&format=csv&instance=web-1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("\r\nweb-1,GET,/ok,20,0,0,"), "{csv}");
    let exported = json(&app, &format!("{api}/export?range=5m&dataset=errors")).await;
    let exported = exported.as_array().unwrap();
    assert_eq!(exported.len(), 7);
    assert!(
        exported.iter().all(|r| r["instance"] == "web-1"),
        "{exported:?}"
    );
    // Narrowed to an instance that served nothing: nothing.
    let o = json(&app, &format!("{api}/overview?range=5m&instance=web-2")).await;
    assert_eq!(o["requests"], 0, "{o}");
    let instances = json(&app, &format!("{api}/instances?range=5m")).await;
    assert_eq!(instances["items"][0]["id"], "web-1", "{instances}");
    assert_eq!(instances["items"][0]["requests"], 28, "{instances}");

    // Settings: saved, validated, and still there after another restart.
    let settings = json(&app, &format!("{api}/settings")).await;
    assert_eq!(settings["retention_days"], 30);
    assert_eq!(settings["database"], db.name(), "{settings}");
    assert_eq!(settings["instances"][0]["id"], "web-1", "{settings}");
    let saved = app
        .http
        .post(app.url(&format!("{api}/settings")))
        .json(&json!({ "retention_days": 9, "slow_threshold_ms": 250 }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    shutdown(app).await;
    let app = spawn(db.config(backend_config())).await;
    let settings = json(&app, &format!("{api}/settings")).await;
    assert_eq!(
        (
            settings["retention_days"].as_u64(),
            settings["slow_threshold_ms"].as_u64()
        ),
        (Some(9), Some(250))
    );
    // The history is still all there.
    let o = json(&app, &format!("{api}/overview?range=5m")).await;
    assert_eq!(o["requests"], 28);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_parameter_gets_a_400_naming_it() {
    for db in Backend::each() {
        bad_parameters_get_a_400_naming_them(&db).await;
    }
}

async fn bad_parameters_get_a_400_naming_them(db: &Backend) {
    let app = spawn(db.config(backend_config())).await;
    let api = "/sightline/api";
    let cases: &[(&str, &str)] = &[
        ("overview?range=2w", "range"),
        ("overview?range=1h&from=1", "range"),
        ("overview?from=abc", "from"),
        ("overview?from=10&to=x", "to"),
        ("overview?from=10&to=5", "from"),
        ("overview?to=5", "from"),
        ("overview?max_points=0", "max_points"),
        ("system?max_points=999999", "max_points"),
        ("process?range=", ""),
        ("runtime?from=-1", "from"),
        ("endpoints?sort=nope", "sort"),
        ("endpoints?order=up", "order"),
        ("endpoints?page=0", "page"),
        ("endpoints?limit=100000", "limit"),
        ("endpoints?page=x", "page"),
        ("endpoints/top?metric=cpu", "metric"),
        ("endpoints/top?limit=0", "limit"),
        ("endpoints/slow?threshold=-1", "threshold"),
        ("endpoints/slow?threshold=99999999", "threshold"),
        ("errors?status=200", "status"),
        ("errors?status=5xx&page=-2", "page"),
        ("errors/distribution?range=forever", "range"),
        ("export?format=xml", "format"),
        ("export?dataset=users", "dataset"),
        ("export?range=1y", "range"),
        (
            "export?instance=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "instance",
        ),
        (
            "endpoints?instance=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "instance",
        ),
        ("instances?range=1y", "range"),
    ];
    for (query, param) in cases {
        let response = app.get(&format!("{api}/{query}")).await;
        let status = response.status();
        if param.is_empty() {
            // An empty value means "not given".
            assert_eq!(status, StatusCode::OK, "{query}");
            continue;
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["param"], *param, "{query}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(param), "{query}: {message}");
    }
    for (body, param) in [
        (json!({ "retention_days": 0 }), Some("retention_days")),
        (json!({ "retention_days": "many" }), Some("retention_days")),
        (json!({ "slow_threshold_ms": 0 }), Some("slow_threshold_ms")),
        (
            json!({ "slow_threshold_ms": [1] }),
            Some("slow_threshold_ms"),
        ),
    ] {
        let response = app
            .http
            .post(app.url(&format!("{api}/settings")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["param"].as_str(), param, "{answer}");
    }
    let response = app
        .http
        .post(app.url(&format!("{api}/settings")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["error"].as_str().is_some(), "{answer}");
    // Nothing was changed by the refused updates.
    let settings = json(&app, &format!("{api}/settings")).await;
    assert_eq!(
        (
            settings["retention_days"].as_u64(),
            settings["slow_threshold_ms"].as_u64()
        ),
        (Some(30), Some(50))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_delays_history_but_not_the_live_view() {
    let dir = TempDir::new("locked");
    let app = spawn(history_config(&dir)).await;
    let store = app.sightline.store().unwrap().clone();
    let blocker = rusqlite::Connection::open(dir.db()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    for _ in 0..3 {
        assert_eq!(
            app.get("/fail").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    // The writer tries, fails, keeps the records and says why.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.write_error().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no write error reported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        store.write_error().unwrap().contains("locked"),
        "{:?}",
        store.write_error()
    );
    // Live numbers carry on meanwhile.
    app.snapshot_where("3 requests live", |s| s["overview"]["total_requests"] == 3)
        .await;

    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let errors = json(&app, "/sightline/api/errors?range=5m").await;
        if errors["total"] == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "records never written: {errors}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(store.write_error(), None);
}

#[tokio::test]
async fn an_unusable_database_path_stops_start_with_the_reason() {
    let err = sightline::Sightline::start(Config {
        db_path: Some("/proc/no-such-dir/history.db".into()),
        ..fast_config()
    })
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("/proc/no-such-dir/history.db"),
        "{message}"
    );
}
