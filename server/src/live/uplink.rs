//! Where custom events go when this instance is one of several: to the cluster, which
//! numbers them and hands them back to every instance (this one included) in one order.
//! Alone, or while the cluster cannot take them, they go to this instance's clients only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::events::CheckedEvent;
use super::hub::Hub;

/// How long `POST {path}/api/events` waits for the cluster's id before answering without.
const ID_WAIT: Duration = Duration::from_secs(2);

/// Cluster ids: `2^52 + epoch * 2^31 + seq` (see `cluster::events`).
/// Where cluster ids begin.
const BASE: u64 = 1 << 52;
pub const SEQ_BITS: u32 = 31;

pub fn pack(epoch: u64, seq: u64) -> u64 {
    BASE + (epoch << SEQ_BITS) + (seq & ((1 << SEQ_BITS) - 1))
}

/// `(epoch, seq)` of a cluster id; `None` for any other id.
pub fn unpack(id: u64) -> Option<(u64, u64)> {
    let rest = id.checked_sub(BASE)?;
    let epoch = rest >> SEQ_BITS;
    (epoch > 0 && epoch < 1 << 20).then_some((epoch, rest & ((1 << SEQ_BITS) - 1)))
}

/// Whether two ids are cluster ids of one epoch.
pub fn same_epoch(a: u64, b: u64) -> bool {
    matches!((unpack(a), unpack(b)), (Some(x), Some(y)) if x.0 == y.0)
}

/// A custom event as the cluster delivers it: with the id every instance shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEvent {
    pub id: u64,
    pub event: String,
    pub channel: Option<String>,
    pub time_ms: u64,
    /// One line of JSON.
    pub data: String,
    /// The sender's token for it (0: none).
    pub token: u64,
}

/// Why events after an id cannot be replayed: the client starts over (`reset`).
pub type ReplayRefused = String;

pub type Replay = Pin<Box<dyn Future<Output = Result<Vec<RemoteEvent>, ReplayRefused>> + Send>>;

/// The cluster, as the hub sees it.
pub trait Uplink: Send + Sync + std::fmt::Debug {
    /// Hands an event over; gives it back when the cluster cannot take it now. `reply`
    /// gets the cluster's id once assigned.
    fn offer(
        &self,
        event: CheckedEvent,
        reply: Option<oneshot::Sender<u64>>,
    ) -> Result<(), CheckedEvent>;

    /// Every event after `id`, in order, from the cluster's own record; refused when the
    /// events after `id` are not all there (trimmed, from a lost epoch, from the future).
    fn replay_after(&self, id: u64) -> Replay;
}

impl Hub {
    pub fn set_uplink(&self, uplink: Arc<dyn Uplink>) {
        let _ = self.uplink.set(uplink);
    }

    pub fn uplink(&self) -> Option<&Arc<dyn Uplink>> {
        self.uplink.get()
    }

    /// Sends a checked event: through the cluster when there is one that takes it (then
    /// `None`: the cluster numbers it), else to this instance's clients (its id).
    pub fn send(&self, e: CheckedEvent) -> Option<u64> {
        let e = match self.uplink() {
            Some(up) => match up.offer(e, None) {
                Ok(()) => return None,
                Err(e) => e,
            },
            None => e,
        };
        Some(self.publish_custom(&e.event, e.channel.as_deref(), &e.data))
    }

    /// The same, waiting a little for the cluster's id. `None` only when the cluster took
    /// the event but did not number it in time (it is still sent, exactly once).
    pub async fn send_and_wait(&self, e: CheckedEvent) -> Option<u64> {
        let e = match self.uplink() {
            Some(up) => {
                let (reply, id) = oneshot::channel();
                match up.offer(e, Some(reply)) {
                    Ok(()) => return tokio::time::timeout(ID_WAIT, id).await.ok()?.ok(),
                    Err(e) => e,
                }
            }
            None => e,
        };
        Some(self.publish_custom(&e.event, e.channel.as_deref(), &e.data))
    }

    /// An event numbered by the cluster, to this instance's clients.
    pub fn deliver(&self, e: &RemoteEvent) {
        self.publish_event(
            Some(e.id),
            &e.event,
            e.channel.as_deref(),
            &e.data,
            e.time_ms,
        );
    }

    /// Events may be missing (the cluster lost its record, or this instance missed more
    /// than it can recover): every client is told, and nothing before is replayed.
    /// `head`: the id the cluster's record is at now, which clients then resume from.
    pub fn events_lost(&self, reason: &str, head: Option<u64>) {
        self.reset_all(reason, head);
    }
}
