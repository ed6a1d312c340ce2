//! The hub: encodes each event once and fans the same bytes out to every SSE client.
//!
//! Publishing never waits for a client. Each client reads from a bounded broadcast ring;
//! one that falls behind by more than the ring catches up from the replay buffer (the
//! custom events it missed, then the latest snapshot), so a stalled client costs neither
//! the others' latency nor memory, and never misses an event without being told.
//!
//! Event ids increase by one per event. They start at the process's start time in
//! milliseconds, so the ids of a restarted server are higher than those of the one before
//! and a `Last-Event-ID` from before the restart is recognised as too old.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use sightline_app::snapshot::DashboardSnapshot;
use tokio::sync::broadcast;

use super::frame;
pub use super::scope::Scope;

/// Frames kept for clients that are a little behind.
const RING: usize = 16;
/// Bytes the replay buffer holds at most (both encodings of each event counted), whatever
/// its length in events: 1,000 events of 60 KB would otherwise pin 120 MB.
pub const REPLAY_BYTES: usize = 8 << 20;

/// One encoded SSE frame; cloning shares the bytes.
#[derive(Clone, Debug)]
pub struct Frame {
    pub id: Option<u64>,
    pub bytes: Bytes,
    /// Set for custom events.
    pub custom: Option<Arc<Custom>>,
    /// Which clients a snapshot is for (in a cluster, each instance has its own).
    pub scope: Scope,
}

/// What a custom event carries besides its frame.
#[derive(Debug)]
pub struct Custom {
    pub channel: Option<Arc<str>>,
    /// The same event as `event: event` with a JSON envelope (`{id, event, channel,
    /// time_ms, data}`), for browsers, whose EventSource cannot listen to unknown names.
    pub enveloped: Bytes,
    /// The id clients see: this hub's own, or in a cluster the cluster's.
    pub shown: u64,
}

/// The most recent snapshot, as a value, as JSON and as a frame.
#[derive(Debug)]
pub struct Latest {
    pub snapshot: DashboardSnapshot,
    pub json: Arc<str>,
    pub frame: Frame,
}

/// Recent custom events, for clients that reconnect or fall behind.
#[derive(Debug)]
pub(super) struct Replay {
    events: VecDeque<Frame>,
    capacity: usize,
    /// Bytes held by `events`.
    bytes: usize,
    /// Every custom event with an id at or above this is still in `events`.
    floor: u64,
}

#[derive(Debug)]
pub struct Hub {
    next_id: AtomicU64,
    pub(super) latest: ArcSwapOption<Latest>,
    /// In a cluster, the latest snapshot of each instance.
    pub(super) latest_each: ArcSwap<HashMap<Arc<str>, Arc<Latest>>>,
    /// The id clients saw last on a custom event (0 before any): a cluster's snapshots
    /// carry it, so a client's `Last-Event-ID` is always a place in the events.
    pub(super) last_shown: AtomicU64,
    /// Clients narrowed to each instance: only those instances' snapshots are streamed.
    pub(super) watched: Mutex<HashMap<Arc<str>, usize>>,
    /// Also serialises publishing, so ids reach the ring in order.
    replay: Mutex<Replay>,
    pub(super) tx: broadcast::Sender<Frame>,
    connections: AtomicU64,
    limit: u64,
    /// In a cluster, where custom events go first (see `live::uplink`).
    pub(super) uplink: std::sync::OnceLock<Arc<dyn super::uplink::Uplink>>,
}

impl Hub {
    pub fn new(connection_limit: u64) -> Arc<Self> {
        Self::with_replay(connection_limit, 1_000, crate::clock::now_ms().max(1))
    }

    /// `replay`: custom events kept for reconnecting clients; `first_id`: the first id.
    pub fn with_replay(connection_limit: u64, replay: usize, first_id: u64) -> Arc<Self> {
        Arc::new(Self {
            next_id: AtomicU64::new(first_id),
            latest: ArcSwapOption::empty(),
            latest_each: ArcSwap::from_pointee(HashMap::new()),
            watched: Mutex::new(HashMap::new()),
            last_shown: AtomicU64::new(0),
            replay: Mutex::new(Replay {
                events: VecDeque::with_capacity(replay.min(4_096)),
                capacity: replay,
                bytes: 0,
                floor: first_id,
            }),
            tx: broadcast::channel(RING).0,
            connections: AtomicU64::new(0),
            limit: connection_limit,
            uplink: std::sync::OnceLock::new(),
        })
    }

    pub(super) fn replay(&self) -> std::sync::MutexGuard<'_, Replay> {
        self.replay.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes the snapshot once and sends it to every client.
    pub fn publish_snapshot(&self, snapshot: DashboardSnapshot) {
        let json: Arc<str> = serde_json::to_string(&snapshot)
            .expect("a snapshot always serialises")
            .into();
        let _order = self.replay();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = Frame {
            id: Some(id),
            bytes: frame::event(Some(id), Some("snapshot"), &json),
            custom: None,
            scope: Scope::Any,
        };
        self.latest.store(Some(Arc::new(Latest {
            snapshot,
            json,
            frame: frame.clone(),
        })));
        // No receivers is not an error: nobody is watching.
        let _ = self.tx.send(frame);
    }

    /// Sends a custom event (`data`: one line of JSON) to every client of this instance;
    /// returns its id. The caller has checked the name and channel (see `live::events`).
    pub fn publish_custom(&self, event: &str, channel: Option<&str>, data: &str) -> u64 {
        self.publish_event(None, event, channel, data, crate::clock::now_ms())
    }

    /// The same with the id clients see given (a cluster's), or this hub's own; returns
    /// the hub's id, which orders the stream.
    pub(super) fn publish_event(
        &self,
        sse_id: Option<u64>,
        event: &str,
        channel: Option<&str>,
        data: &str,
        time_ms: u64,
    ) -> u64 {
        let mut replay = self.replay();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = custom_frame(
            Some(id),
            sse_id.unwrap_or(id),
            event,
            channel,
            data,
            time_ms,
        );
        let size = frame_size(&frame);
        if replay.capacity > 0 && size <= REPLAY_BYTES {
            while replay.events.len() >= replay.capacity || replay.bytes + size > REPLAY_BYTES {
                let Some(evicted) = replay.events.pop_front() else {
                    break;
                };
                replay.bytes -= frame_size(&evicted);
                replay.floor = evicted.id.map_or(replay.floor, |id| id + 1);
            }
            replay.bytes += size;
            replay.events.push_back(frame.clone());
        } else {
            replay.events.clear();
            replay.bytes = 0;
            replay.floor = id + 1;
        }
        let _ = self.tx.send(frame);
        id
    }

    /// Forgets every event kept for replay and tells every client that events may be
    /// missing here (`event: reset`); the next snapshot follows as usual.
    pub(super) fn reset_all(&self, reason: &str, head: Option<u64>) {
        let mut replay = self.replay();
        if let Some(head) = head {
            self.last_shown.store(head, Ordering::Relaxed);
        }
        replay.events.clear();
        replay.bytes = 0;
        replay.floor = self.next_id.load(Ordering::Relaxed);
        let _ = self.tx.send(reset_frame(reason));
    }

    /// This hub's id of the custom event clients know as `shown`, while it is kept.
    pub fn position_of(&self, shown: u64) -> Option<u64> {
        self.replay()
            .events
            .iter()
            .find(|f| f.custom.as_ref().is_some_and(|c| c.shown == shown))
            .and_then(|f| f.id)
    }

    pub fn heartbeat(&self) {
        let _ = self.tx.send(Frame {
            id: None,
            bytes: Bytes::from_static(frame::HEARTBEAT),
            custom: None,
            scope: Scope::Any,
        });
    }

    pub fn latest(&self) -> Option<Arc<Latest>> {
        self.latest.load_full()
    }

    /// What a client that has seen up to `last_id` gets before the live stream: the
    /// custom events it missed and the latest snapshot, in id order; or, when the events
    /// it missed are no longer kept, `reset` and the latest snapshot. Without `last_id`
    /// (a first connection), the latest snapshot.
    pub fn catch_up(&self, last_id: Option<u64>, instance: Option<&str>) -> Vec<Frame> {
        let replay = self.replay();
        let latest = self.latest_for(instance).map(|l| l.frame.clone());
        let Some(last) = last_id else {
            return latest.into_iter().collect();
        };
        let reason = if last.saturating_add(1) < replay.floor {
            Some("the events since your last id are no longer kept; here is a fresh snapshot")
        } else if last > self.last_id() {
            Some("your last id was not issued by this server; here is a fresh snapshot")
        } else {
            None
        };
        if let Some(reason) = reason {
            let mut out = vec![reset_frame(reason)];
            out.extend(latest);
            return out;
        }
        let mut out: Vec<Frame> = replay
            .events
            .iter()
            .filter(|f| f.id.is_some_and(|id| id > last))
            .cloned()
            .collect();
        // A cluster's snapshots carry no id: the latest always comes along.
        out.extend(latest.filter(|f| f.id.is_none_or(|id| id > last)));
        out.sort_by_key(|f| f.id.unwrap_or(u64::MAX));
        out
    }

    /// The id of the most recent event (one less than the first id before any).
    pub fn last_id(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - 1
    }

    /// Open SSE connections right now.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Registers a client, or `None` when the connection limit is reached. Subscribe
    /// before [`Hub::catch_up`], so nothing falls between the two.
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
            pending: VecDeque::new(),
            instance: None,
        })
    }
}

/// A custom event's frame: `hub_id` orders it in this hub (`None` outside the hub's
/// sequence), `shown` is the id its clients see.
pub fn custom_frame(
    hub_id: Option<u64>,
    shown: u64,
    event: &str,
    channel: Option<&str>,
    data: &str,
    time_ms: u64,
) -> Frame {
    let quoted = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let envelope = format!(
        "{{\"id\":{shown},\"event\":{},\"channel\":{},\"time_ms\":{time_ms},\"data\":{data}}}",
        quoted(event),
        channel.map_or_else(|| "null".to_owned(), quoted),
    );
    Frame {
        id: hub_id,
        bytes: frame::event(Some(shown), Some(event), data),
        custom: Some(Arc::new(Custom {
            channel: channel.map(Arc::from),
            enveloped: frame::event(Some(shown), Some("event"), &envelope),
            shown,
        })),
        scope: Scope::Any,
    }
}

/// `event: reset` with its reason: events may be missing before what follows.
pub fn reset_frame(reason: &str) -> Frame {
    let data = serde_json::json!({ "reason": reason }).to_string();
    Frame {
        id: None,
        bytes: frame::event(None, Some("reset"), &data),
        custom: None,
        scope: Scope::Any,
    }
}

/// Bytes a replayed event holds: its frame and its envelope.
fn frame_size(frame: &Frame) -> usize {
    frame.bytes.len() + frame.custom.as_ref().map_or(0, |c| c.enveloped.len())
}

/// One client's place in the stream; the connection count drops with it.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Frame>,
    hub: Arc<Hub>,
    pending: VecDeque<Frame>,
    /// In a cluster, the instance the client is narrowed to.
    instance: Option<Arc<str>>,
}

impl Subscription {
    /// The next frame after `last_id` for this client. After falling behind the ring it
    /// catches up from the replay buffer. `None` once the hub is gone.
    pub async fn next(&mut self, last_id: u64) -> Option<Frame> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                if frame.id.is_some_and(|id| id <= last_id) {
                    continue;
                }
                return Some(frame);
            }
            match self.rx.recv().await {
                Ok(frame) if frame.id.is_some_and(|id| id <= last_id) => continue,
                Ok(frame) => return Some(frame),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.rx = self.rx.resubscribe();
                    self.pending = self
                        .hub
                        .catch_up(Some(last_id), self.instance.as_deref())
                        .into();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Narrows the client to one instance of a cluster (`None`: all of them).
    pub fn narrow(mut self, instance: Option<&str>) -> Self {
        self.instance = instance.map(Arc::from);
        if let Some(id) = &self.instance {
            self.hub.watch(id, true);
        }
        self
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.connections.fetch_sub(1, Ordering::AcqRel);
        if let Some(id) = &self.instance {
            self.hub.watch(id, false);
        }
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
