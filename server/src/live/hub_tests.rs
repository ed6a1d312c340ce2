//! Tests of the hub: limits, catching up, replay bounds.

use super::*;

#[tokio::test]
async fn the_limit_holds_and_drops_free_places() {
    let hub = Hub::new(2);
    let a = hub.subscribe().unwrap();
    let _b = hub.subscribe().unwrap();
    assert!(hub.subscribe().is_none());
    assert_eq!(hub.connections(), 2);
    drop(a);
    assert_eq!(hub.connections(), 1);
    assert!(hub.subscribe().is_some());
}

#[tokio::test]
async fn a_client_behind_the_ring_skips_to_the_latest() {
    let hub = Hub::with_replay(10, 100, 1);
    let mut slow = hub.subscribe().unwrap();
    for n in 0..(RING as u64 * 3) {
        hub.publish_snapshot(DashboardSnapshot {
            timestamp_ms: n,
            ..DashboardSnapshot::default()
        });
    }
    let frame = slow.next(0).await.unwrap();
    assert_eq!(frame.id, hub.latest().unwrap().frame.id);
    // Every client shares the same encoded bytes.
    assert_eq!(
        frame.bytes.as_ptr(),
        hub.latest().unwrap().frame.bytes.as_ptr()
    );
}

#[tokio::test]
async fn a_client_behind_the_ring_gets_every_custom_event_it_missed() {
    let hub = Hub::with_replay(10, 100, 1);
    let mut slow = hub.subscribe().unwrap();
    for n in 0..(RING as u64 * 3) {
        hub.publish_custom("tick", None, &n.to_string());
    }
    let mut ids = Vec::new();
    let mut last = 0;
    while ids.len() < RING * 3 {
        let frame = slow.next(last).await.unwrap();
        last = frame.id.unwrap();
        ids.push(last);
    }
    assert_eq!(ids, (1..=RING as u64 * 3).collect::<Vec<_>>());
}

#[test]
fn catch_up_replays_in_order_or_says_reset() {
    let hub = Hub::with_replay(10, 3, 100);
    hub.publish_custom("a", None, "1"); // 100
    hub.publish_snapshot(DashboardSnapshot::default()); // 101
    hub.publish_custom("b", Some("ops"), "2"); // 102
    hub.publish_custom("c", None, "3"); // 103
    let ids = |frames: Vec<Frame>| frames.iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(hub.catch_up(Some(100), None)),
        [Some(101), Some(102), Some(103)]
    );
    assert_eq!(
        ids(hub.catch_up(Some(99), None)),
        [Some(100), Some(101), Some(102), Some(103)]
    );
    assert_eq!(ids(hub.catch_up(None, None)), [Some(101)]);
    hub.publish_custom("d", None, "4"); // 104 evicts 100
    let reset = hub.catch_up(Some(99), None);
    assert!(reset[0].bytes.starts_with(b"event: reset\n"));
    assert_eq!(ids(reset)[1..], [Some(101)]);
    assert_eq!(
        ids(hub.catch_up(Some(100), None)),
        [Some(101), Some(102), Some(103), Some(104)]
    );
    // An id from the future (forged, or another server's) is told to start over.
    for forged in [105, u64::MAX] {
        let reset = hub.catch_up(Some(forged), None);
        assert!(reset[0].bytes.starts_with(b"event: reset\n"), "{forged}");
        assert_eq!(ids(reset)[1..], [Some(101)]);
    }
}

#[test]
fn the_replay_buffer_is_bounded_in_bytes_too() {
    let hub = Hub::with_replay(10, 1_000, 1);
    let big = format!("\"{}\"", "x".repeat(60_000));
    for _ in 0..1_000 {
        hub.publish_custom("big", None, &big);
    }
    let replay = hub.replay();
    assert!(replay.bytes <= REPLAY_BYTES, "{}", replay.bytes);
    let held: usize = replay.events.iter().map(frame_size).sum();
    assert_eq!(held, replay.bytes);
    assert!(replay.events.len() < 1_000 && replay.events.len() > 10);
    // The floor moved with what was evicted.
    assert_eq!(replay.floor, replay.events[0].id.unwrap());
}
