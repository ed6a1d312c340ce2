//! The live pipeline over real sockets: middleware -> snapshot -> SSE.

use std::time::Duration;

use crate::common::{SseClient, fast_config, spawn};
use serde_json::{Value, json};
use sightline::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_counts_exactly_what_was_sent() {
    let app = spawn(fast_config()).await;
    for _ in 0..7 {
        assert_eq!(app.get("/ok").await.status(), 200);
    }
    for id in 0..3 {
        assert_eq!(app.get(&format!("/missing/{id}")).await.status(), 404);
    }
    for _ in 0..2 {
        assert_eq!(app.get("/fail").await.status(), 500);
    }
    // A scan of unknown paths: one bucket, not four endpoints.
    for n in 0..4 {
        assert_eq!(app.get(&format!("/scan/{n}/admin.php")).await.status(), 404);
    }

    let s = app
        .snapshot_where("16 requests are counted", |s| {
            s["overview"]["total_requests"] == 16
        })
        .await;
    let o = &s["overview"];
    assert_eq!(o["client_errors"], 7);
    assert_eq!(o["server_errors"], 2);
    assert_eq!(o["client_error_rate_percent"], json!(7.0 * 100.0 / 16.0));
    assert_eq!(o["server_error_rate_percent"], json!(2.0 * 100.0 / 16.0));
    assert_eq!(o["latency"]["count"], 16);
    let status = &s["endpoints"]["status"];
    assert_eq!(status["by_code"], json!({ "200": 7, "404": 7, "500": 2 }));
    assert_eq!(
        (status["success"].clone(), status["client_error"].clone()),
        (json!(7), json!(7))
    );

    let top: Vec<(String, u64)> = s["endpoints"]["top_by_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["route"].as_str().unwrap().to_owned(),
                e["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        [
            ("/ok".into(), 7),
            ("(unmatched)".into(), 4),
            ("/missing/{id}".into(), 3),
            ("/fail".into(), 2)
        ]
    );
    let failing = &s["endpoints"]["top_by_error_rate"][0];
    assert_eq!(failing["error_rate_percent"], json!(100.0));

    // Polling the dashboard's own API is not counted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.snapshot().await["overview"]["total_requests"], 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cancelled_mid_flight_still_counts() {
    use tokio::io::AsyncWriteExt;
    let app = spawn(fast_config()).await;
    // The request is in the server's socket before the client goes away, however slowly
    // the server gets to it.
    let mut client = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    (client
        .write_all(b"GET /hang HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(client);
    let s = app
        .snapshot_where("the cancelled request is counted", |s| {
            s["overview"]["total_requests"] == 1
        })
        .await;
    assert_eq!(s["endpoints"]["status"]["by_code"], json!({ "499": 1 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_sends_retry_and_a_snapshot_at_once_then_increasing_ids_and_heartbeats() {
    let app = spawn(fast_config()).await;
    app.snapshot_where("a first snapshot exists", |_| true)
        .await;
    let mut sse = SseClient::connect(app.addr, "/sightline/api/sse", "").await;

    assert!(sse.head.starts_with("http/1.1 200"), "{}", sse.head);
    assert!(
        sse.head.contains("content-type: text/event-stream"),
        "{}",
        sse.head
    );
    assert!(sse.head.contains("cache-control: no-cache"), "{}", sse.head);
    assert!(sse.head.contains("x-accel-buffering: no"), "{}", sse.head);

    // retry first, then the latest snapshot before anything else.
    assert_eq!(sse.next_block().await.unwrap(), "retry: 1234");
    let first = sse.next_block().await.unwrap();
    assert!(
        first.starts_with("id: ") && first.contains("\nevent: snapshot\ndata: {"),
        "{first}"
    );

    let mut last: u64 = first[4..first.find('\n').unwrap()].parse().unwrap();
    let mut heartbeats = 0;
    let mut snapshots = 0;
    while snapshots < 5 || heartbeats == 0 {
        let block = sse.next_block().await.unwrap();
        if block == ":" {
            heartbeats += 1;
            continue;
        }
        let id: u64 = block[4..block.find('\n').unwrap()].parse().unwrap();
        assert!(id > last, "ids increase: {id} after {last}");
        let data = block.split("\ndata: ").nth(1).unwrap();
        let snapshot: Value = serde_json::from_str(data).unwrap();
        assert_eq!(snapshot["server"]["sse_connections"], 1);
        last = id;
        snapshots += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_hold_up_the_others() {
    const REPLAY: usize = 20;
    let app = spawn(Config {
        sse_replay: REPLAY,
        ..fast_config()
    })
    .await;
    app.snapshot_where("a first snapshot exists", |_| true)
        .await;
    // Connects with a tiny receive window, then never reads again.
    let mut stalled =
        SseClient::connect_with_receive_buffer(app.addr, "/sightline/api/sse", 4_096).await;
    let mut reader = SseClient::connect(app.addr, "/sightline/api/sse", "").await;
    reader.next_event().await;
    // Far more events than the server's send buffer (as large as this kernel lets it
    // grow), the stalled client's receive buffer, the broadcast ring and the replay buffer
    // hold together. The reader gets every one, in order (each is read before the next is
    // sent, so the reader never falls behind), while the other client sleeps.
    let payload = "x".repeat(30_000);
    let held = largest_send_buffer() + (4 << 20);
    let count = held / payload.len() + REPLAY + 64;
    let mut last = 0;
    for _ in 0..count {
        last = app.sightline.broadcast("bulk", &payload).unwrap().unwrap();
        loop {
            let (id, event, data) = reader.next_event().await;
            if event == "bulk" {
                assert_eq!((id, data.len()), (last, payload.len() + 2));
                break;
            }
        }
    }
    // The stalled client really was stalled past every buffer: when it reads again, it is
    // told that what it missed is gone (`reset`) before the last event sent, then the
    // stream goes on.
    loop {
        let (id, name, _) = stalled.next_named().await;
        if name == "reset" {
            break;
        }
        assert!(
            id < Some(last),
            "the stalled client got all {count} events without a reset"
        );
    }
    assert_eq!(stalled.next_event().await.1, "snapshot");
}

/// The most a TCP socket's send buffer can grow to on this machine (Linux), else 16 MiB.
fn largest_send_buffer() -> usize {
    let tcp = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok());
    let core = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    tcp.max(core).unwrap_or(16 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_count_is_exact_and_returns_to_zero() {
    let app = spawn(fast_config()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut c = SseClient::connect(app.addr, "/sightline/api/sse", "").await;
        c.next_event().await;
        clients.push(c);
    }
    app.snapshot_where("3 live connections", |s| {
        s["server"]["sse_connections"] == 3
    })
    .await;
    clients.truncate(1);
    app.snapshot_where("1 live connection", |s| s["server"]["sse_connections"] == 1)
        .await;
    clients.clear();
    app.snapshot_where("no live connection", |s| {
        s["server"]["sse_connections"] == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limit_browsers_are_told_to_retry_later() {
    let app = spawn(Config {
        sse_max_connections: 1,
        ..fast_config()
    })
    .await;
    let mut first = SseClient::connect(app.addr, "/sightline/api/sse", "").await;
    first.next_event().await;

    // EventSource gives up on any non-200 answer, so a browser gets a stream saying "later".
    let mut turned_away = SseClient::connect(app.addr, "/sightline/api/sse", "").await;
    assert!(
        turned_away.head.starts_with("http/1.1 200"),
        "{}",
        turned_away.head
    );
    assert_eq!(turned_away.next_block().await.unwrap(), "retry: 30000");
    assert!(
        turned_away
            .next_block()
            .await
            .unwrap()
            .starts_with("event: overloaded\n")
    );

    // Other clients get 503 with Retry-After and a JSON message.
    let response = app.get("/sightline/api/sse").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "30");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("try again later"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_works_over_http2() {
    let app = spawn(fast_config()).await;
    app.snapshot_where("a first snapshot exists", |_| true)
        .await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut response = h2.get(app.url("/sightline/api/sse")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut received = String::new();
    while !received.contains("event: snapshot") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .unwrap()
            .unwrap()
            .expect("stream open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.starts_with("retry: 1234\n\n"), "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_paths_get_a_json_404() {
    let app = spawn(fast_config()).await;
    let response = app.get("/sightline/api/no-such-thing").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("/sightline/api/no-such-thing")
    );
}

#[test]
fn dropping_sightline_on_its_own_runtime_thread_returns() {
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sightline = sightline::Sightline::start(fast_config()).unwrap();
            // The runtime's only thread is busy: a lag probe spawned meanwhile cannot run.
            std::thread::sleep(Duration::from_millis(600));
            drop(sightline);
        });
        done.send(()).unwrap();
    });
    wait.recv_timeout(Duration::from_secs(10))
        .expect("dropping Sightline returned");
}
