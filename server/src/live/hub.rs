//! The hub: encodes each event once and fans the same bytes out to every SSE client.
//!
//! Publishing never waits for a client. Each client reads from a bounded broadcast ring;
//! one that falls behind by more than the ring skips ahead to the latest snapshot, so a
//! stalled client costs neither the others' latency nor memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use sightline_app::snapshot::DashboardSnapshot;
use tokio::sync::broadcast;

use super::frame;

/// Frames kept for clients that are a little behind.
const RING: usize = 16;

/// One encoded SSE frame; cloning shares the bytes.
#[derive(Clone, Debug)]
pub struct Frame {
    pub id: Option<u64>,
    pub bytes: Bytes,
}

/// The most recent snapshot, as a value, as JSON and as a frame.
#[derive(Debug)]
pub struct Latest {
    pub snapshot: DashboardSnapshot,
    pub json: Arc<str>,
    pub frame: Frame,
}

#[derive(Debug)]
pub struct Hub {
    next_id: AtomicU64,
    latest: ArcSwapOption<Latest>,
    tx: broadcast::Sender<Frame>,
    connections: AtomicU64,
    limit: u64,
}

impl Hub {
    pub fn new(connection_limit: u64) -> Arc<Self> {
        Arc::new(Self {
            next_id: AtomicU64::new(1),
            latest: ArcSwapOption::empty(),
            tx: broadcast::channel(RING).0,
            connections: AtomicU64::new(0),
            limit: connection_limit,
        })
    }

    /// Encodes the snapshot once and sends it to every client.
    pub fn publish_snapshot(&self, snapshot: DashboardSnapshot) {
        let json: Arc<str> = serde_json::to_string(&snapshot)
            .expect("a snapshot always serialises")
            .into();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = Frame {
            id: Some(id),
            bytes: frame::event(Some(id), Some("snapshot"), &json),
        };
        self.latest.store(Some(Arc::new(Latest {
            snapshot,
            json,
            frame: frame.clone(),
        })));
        // No receivers is not an error: nobody is watching.
        let _ = self.tx.send(frame);
    }

    pub fn heartbeat(&self) {
        let _ = self.tx.send(Frame {
            id: None,
            bytes: Bytes::from_static(frame::HEARTBEAT),
        });
    }

    pub fn latest(&self) -> Option<Arc<Latest>> {
        self.latest.load_full()
    }

    /// Open SSE connections right now.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Registers a client, or `None` when the connection limit is reached.
    pub fn subscribe(self: &Arc<Self>) -> Option<Subscription> {
        let counted = self
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            });
        counted.ok()?;
        Some(Subscription {
            rx: self.tx.subscribe(),
            hub: self.clone(),
        })
    }
}

/// One client's place in the stream; the connection count drops with it.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Frame>,
    hub: Arc<Hub>,
}

impl Subscription {
    /// The next frame for this client. After falling behind the ring it gets the latest
    /// snapshot and continues from there. `None` once the hub is gone.
    pub async fn next(&mut self, last_id: u64) -> Option<Frame> {
        loop {
            match self.rx.recv().await {
                Ok(frame) if frame.id.is_some_and(|id| id <= last_id) => continue,
                Ok(frame) => return Some(frame),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.rx = self.rx.resubscribe();
                    if let Some(latest) = self.hub.latest().filter(|l| l.frame.id > Some(last_id)) {
                        return Some(latest.frame.clone());
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
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
        let hub = Hub::new(10);
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
}
