//! Live streams over real sockets: they end with their session, a forged or foreign
//! `Last-Event-ID` is told to start over instead of being left silent, and snapshots keep
//! coming while every worker of the app is blocked.

use std::time::{Duration, Instant};

use crate::common::{
    SseClient, TestApp, client, fast_config, secured, session_cookie, sign_in, spawn,
};
use reqwest::{StatusCode, header};
use sightline::Config;

/// A stream opened with the session's cookie; `Connection: close`, so its end is seen.
async fn stream_of(app: &TestApp, cookie: &str) -> SseClient {
    let mut client = SseClient::connect(
        app.addr,
        "/sightline/api/sse",
        &format!("Cookie: {cookie}\r\nConnection: close\r\n"),
    )
    .await;
    assert!(client.head.starts_with("http/1.1 200"), "{}", client.head);
    assert_eq!(client.next_event().await.1, "snapshot");
    client
}

/// Reads to the end: the stream must say `signed-out` and then close.
async fn ends_signed_out(mut client: SseClient) {
    loop {
        let Some(block) = client.next_block().await else {
            panic!("the stream closed without saying why");
        };
        if block.contains("event: signed-out") {
            break;
        }
    }
    assert!(
        client.next_block().await.is_none(),
        "nothing follows signed-out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_sessions_streams() {
    let app = spawn(secured()).await;
    let cookie = session_cookie(&sign_in(&app, "ann", "ann's long password").await);
    let other = session_cookie(&sign_in(&app, "ann", "ann's long password").await);
    let first = stream_of(&app, &cookie).await;
    let second = stream_of(&app, &cookie).await;
    let mut unrelated = stream_of(&app, &other).await;
    let out = client()
        .post(app.url("/sightline/api/logout"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    ends_signed_out(first).await;
    ends_signed_out(second).await;
    // Another session's stream goes on.
    assert_eq!(unrelated.next_event().await.1, "snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_session_ends_its_streams() {
    let app = spawn(Config {
        session_ttl: Duration::from_secs(3),
        ..secured()
    })
    .await;
    let cookie = session_cookie(&sign_in(&app, "ann", "ann's long password").await);
    let stream = stream_of(&app, &cookie).await;
    ends_signed_out(stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_this_server_never_issued_gets_reset_not_silence() {
    let app = spawn(fast_config()).await;
    app.snapshot_where("the first snapshot", |_| true).await;
    for forged in [u64::MAX.to_string(), (u64::MAX / 2).to_string()] {
        let mut client = SseClient::connect(
            app.addr,
            "/sightline/api/sse",
            &format!("Last-Event-ID: {forged}\r\n"),
        )
        .await;
        let (_, name, data) = client.next_named().await;
        assert_eq!(name, "reset", "{forged}");
        assert!(data.contains("not issued by this server"), "{data}");
        // Then the stream goes on: a fresh snapshot, and the ones after it.
        let (first, name, _) = client.next_event().await;
        assert_eq!(name, "snapshot");
        let (next, name, _) = client.next_event().await;
        assert_eq!(name, "snapshot");
        assert!(next > first);
    }
}

#[test]
fn snapshots_keep_coming_while_every_app_worker_is_blocked() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn(fast_config()));
    runtime.block_on(app.snapshot_where("the first snapshot", |_| true));
    // Every worker of the app's runtime is stuck in blocking code for 5 s.
    let block = Duration::from_secs(5);
    for _ in 0..4 {
        runtime.spawn(async move { std::thread::sleep(block) });
    }
    let started = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    let mut starved = None;
    while started.elapsed() < block - Duration::from_millis(300) {
        let snapshot = app.sightline.latest_snapshot().unwrap();
        seen.insert(snapshot.timestamp_ms);
        if snapshot.runtime.starved {
            starved = Some(snapshot.runtime.scheduling_lag_max_ms);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        seen.len() >= 5,
        "only {} snapshots while the app was blocked",
        seen.len()
    );
    let lag = starved.expect("the dashboard said the runtime is starved");
    assert!(lag >= 1_000.0, "lag shown: {lag} ms");
    runtime.shutdown_background();
}
