//! Custom events across instances over a real Redis: one order, ids that mean the same on
//! every instance, replay across instances, `reset` after Redis lost its record.

use serde_json::{Value, json};

use super::cluster::member;
use super::common::{SseClient, TestApp, spawn};
use super::redis::Redis;

async fn post(app: &TestApp, name: &str) -> u64 {
    let response = app
        .http
        .post(app.url("/sightline/api/events"))
        .json(&json!({ "event": name, "data": { "name": name } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    body["id"].as_u64().expect("the cluster's id")
}

/// The next custom event (snapshots and resets skipped), as (id, name).
async fn next_custom(client: &mut SseClient) -> (u64, String) {
    loop {
        let (id, name, _) = client.next_named().await;
        if name != "snapshot" {
            return (id.expect("custom events carry ids"), name);
        }
    }
}

/// Connects and waits until the instance is linked (its first snapshot says so).
async fn linked_client(app: &TestApp, headers: &str) -> SseClient {
    app.snapshot_where("linked", |s| s["cluster"]["connected"] == true)
        .await;
    SseClient::connect(app.addr, "/sightline/api/sse", headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_every_instance_in_one_order_and_replay_anywhere() {
    let redis = Redis::start();
    let a = spawn(member(&redis, "a")).await;
    let b = spawn(member(&redis, "b")).await;
    let c = spawn(member(&redis, "c")).await;
    let mut clients = Vec::new();
    for app in [&a, &b, &c] {
        clients.push(linked_client(app, "").await);
    }

    // Sent on different instances; every client sees each with the same id, in one order.
    let mut sent = Vec::new();
    for (i, app) in [&a, &b, &c, &a].into_iter().enumerate() {
        let name = format!("e{i}");
        sent.push((post(app, &name).await, name));
    }
    assert!(sent.windows(2).all(|w| w[0].0 < w[1].0), "{sent:?}");
    for client in &mut clients {
        for expected in &sent {
            assert_eq!(&next_custom(client).await, expected);
        }
    }

    // A client of A goes away, misses 50 events, and comes back to B.
    let last = sent.last().unwrap().0;
    drop(clients.remove(0));
    let mut missed = Vec::new();
    for i in 0..50 {
        let name = format!("m{i}");
        let app = if i % 2 == 0 { &a } else { &c };
        missed.push((post(app, &name).await, name));
    }
    let mut back = SseClient::connect(
        b.addr,
        "/sightline/api/sse",
        &format!("Last-Event-ID: {last}\r\n"),
    )
    .await;
    for expected in &missed {
        assert_eq!(&next_custom(&mut back).await, expected);
    }
    // And then the live stream, with nothing twice.
    let after = post(&c, "after").await;
    assert_eq!(next_custom(&mut back).await, (after, "after".to_owned()));

    // Redis loses its record: an id from before is told to start over.
    assert_eq!(redis.cli(&["FLUSHALL"]), "OK");
    let fresh = post(&a, "fresh").await;
    assert_ne!(fresh >> 32, after >> 32, "a new epoch");
    // B's client, which saw everything so far, is told before the first event of the
    // new epoch: nothing in between.
    let client = &mut clients[0];
    for expected in missed.iter().chain([&(after, "after".to_owned())]) {
        assert_eq!(&next_custom(client).await, expected);
    }
    let (_, name, _) = loop {
        let event = client.next_named().await;
        if event.1 != "snapshot" {
            break event;
        }
    };
    assert_eq!(name, "reset");
    assert_eq!(next_custom(client).await, (fresh, "fresh".to_owned()));
    for app in [&b, &c] {
        let mut stale = SseClient::connect(
            app.addr,
            "/sightline/api/sse",
            &format!("Last-Event-ID: {after}\r\n"),
        )
        .await;
        let (_, name, data) = stale.next_named().await;
        assert_eq!(name, "reset", "{data}");
    }
}
