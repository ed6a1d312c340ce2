//! Custom events over real sockets: posting, validation, channels, and replay for clients
//! that reconnect with `Last-Event-ID`.

use crate::common::{SseClient, TestApp, fast_config, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sightline::Config;

async fn post(app: &TestApp, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/sightline/api/events"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The next custom event (snapshots skipped), as (id, name, data).
async fn next_custom(client: &mut SseClient) -> (Option<u64>, String, String) {
    loop {
        let event = client.next_named().await;
        if event.1 != "snapshot" {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_gets_exactly_what_it_missed_in_order() {
    let app = spawn(fast_config()).await;
    let mut first = SseClient::connect(app.addr, "/sightline/api/sse", "").await;
    let response = post(
        &app,
        json!({ "event": "deploy", "data": { "version": "1.0" } }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (seen, name, data) = next_custom(&mut first).await;
    assert_eq!(
        (name.as_str(), data.as_str()),
        ("deploy", r#"{"version":"1.0"}"#)
    );
    drop(first);

    let mut sent = Vec::new();
    for n in 0..5 {
        let r: Value = post(&app, json!({ "event": "step", "data": n }))
            .await
            .json()
            .await
            .unwrap();
        sent.push(r["id"].as_u64().unwrap());
    }
    let seen = seen.unwrap();
    for (header, path) in [
        (
            format!("Last-Event-ID: {seen}\r\n"),
            "/sightline/api/sse".to_owned(),
        ),
        (
            String::new(),
            format!("/sightline/api/sse?lastEventId={seen}"),
        ),
    ] {
        let mut again = SseClient::connect(app.addr, &path, &header).await;
        let mut got = Vec::new();
        while got.len() < 5 {
            let (id, name, data) = next_custom(&mut again).await;
            assert_eq!(name, "step");
            got.push((id.unwrap(), data));
        }
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            sent,
            "ids in order"
        );
        assert_eq!(
            got.iter().map(|g| g.1.as_str()).collect::<Vec<_>>(),
            ["0", "1", "2", "3", "4"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_older_than_the_buffer_gets_reset_and_a_fresh_snapshot() {
    let app = spawn(Config {
        sse_replay: 3,
        ..fast_config()
    })
    .await;
    app.snapshot_where("a first snapshot", |_| true).await;
    let first: Value = post(&app, json!({ "event": "a" }))
        .await
        .json()
        .await
        .unwrap();
    let first = first["id"].as_u64().unwrap();
    for _ in 0..4 {
        post(&app, json!({ "event": "b" })).await;
    }
    let mut client = SseClient::connect(
        app.addr,
        "/sightline/api/sse",
        &format!("Last-Event-ID: {}\r\n", first - 1),
    )
    .await;
    let (id, name, _) = client.next_named().await;
    assert_eq!((id, name.as_str()), (None, "reset"));
    let (_, name, data) = client.next_named().await;
    assert_eq!(name, "snapshot");
    assert!(data.starts_with("{\"timestamp_ms\":"));
    // An id from another server (or no number at all) is as old as can be.
    let mut client =
        SseClient::connect(app.addr, "/sightline/api/sse", "Last-Event-ID: x\r\n").await;
    assert_eq!(client.next_named().await.1, "reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_and_envelopes() {
    let app = spawn(fast_config()).await;
    let mut ops = SseClient::connect(app.addr, "/sightline/api/sse?channels=ops,db", "").await;
    let mut browser = SseClient::connect(app.addr, "/sightline/api/sse?envelope=1", "").await;
    for (event, channel) in [("one", Some("dev")), ("two", Some("ops")), ("three", None)] {
        let mut body = json!({ "event": event, "data": { "n": event } });
        if let Some(c) = channel {
            body["channel"] = json!(c);
        }
        assert_eq!(post(&app, body).await.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(next_custom(&mut ops).await.1, "two");
    assert_eq!(next_custom(&mut ops).await.1, "three");
    let mut names = Vec::new();
    for _ in 0..3 {
        let (id, name, data) = next_custom(&mut browser).await;
        assert_eq!(name, "event");
        let envelope: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(envelope["id"].as_u64(), id);
        assert!(envelope["time_ms"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(envelope["data"]["n"], envelope["event"]);
        names.push(envelope["event"].as_str().unwrap().to_owned());
    }
    assert_eq!(names, ["one", "two", "three"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_refused_and_nothing_is_sent() {
    let app = spawn(fast_config()).await;
    let mut client = SseClient::connect(app.addr, "/sightline/api/sse", "").await;
    for (body, status, says) in [
        (
            json!({ "event": "two words" }),
            StatusCode::BAD_REQUEST,
            "event",
        ),
        (
            json!({ "event": "x".repeat(65) }),
            StatusCode::BAD_REQUEST,
            "event",
        ),
        (
            json!({ "event": "ok", "channel": "a/b" }),
            StatusCode::BAD_REQUEST,
            "channel",
        ),
        (json!({ "data": 1 }), StatusCode::BAD_REQUEST, "event"),
        (
            json!({ "event": "ok", "data": "x".repeat(70_000) }),
            StatusCode::PAYLOAD_TOO_LARGE,
            "64",
        ),
    ] {
        let response = post(&app, body).await;
        assert_eq!(response.status(), status);
        let answer: Value = response.json().await.unwrap();
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }
    let broken = app
        .http
        .post(app.url("/sightline/api/send"))
        .header("content-type", "application/json")
        .body("{\"event\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    // The first custom event this client sees is the one sent after the refusals.
    app.sightline
        .broadcast("after", &json!({ "ok": true }))
        .unwrap();
    let (_, name, data) = next_custom(&mut client).await;
    assert_eq!((name.as_str(), data.as_str()), ("after", r#"{"ok":true}"#));
    assert!(app.sightline.broadcast("bad name", &1).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_logs_arrive_as_log_events() {
    use tracing_subscriber::layer::SubscriberExt;
    let app = spawn(fast_config()).await;
    let mut client = SseClient::connect(app.addr, "/sightline/api/sse?channels=log", "").await;
    let subscriber =
        tracing_subscriber::registry().with(app.sightline.log_layer(tracing::Level::INFO));
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!("too detailed");
        tracing::warn!(order = 7, "payment retried");
    });
    let (_, name, data) = next_custom(&mut client).await;
    assert_eq!(name, "log");
    let log: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(log["level"], "warn");
    assert_eq!(log["message"], "payment retried");
    assert_eq!(log["fields"]["order"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_channel_list_is_bounded() {
    let app = spawn(fast_config()).await;
    let many: Vec<String> = (0..=sightline::live::sse::MAX_CHANNELS)
        .map(|n| format!("c{n}"))
        .collect();
    let response = app
        .get(&format!("/sightline/api/sse?channels={}", many.join(",")))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["param"], "channels", "{body}");
    let long = "x".repeat(65);
    let response = app
        .get(&format!("/sightline/api/sse?channels={long}"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // At the limit, it streams.
    let fine = many[..sightline::live::sse::MAX_CHANNELS].join(",");
    let mut client =
        SseClient::connect(app.addr, &format!("/sightline/api/sse?channels={fine}"), "").await;
    assert_eq!(client.next_event().await.1, "snapshot");
}
