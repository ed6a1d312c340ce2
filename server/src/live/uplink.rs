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

/// A custom event as the cluster delivers it: with the id every instance shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEvent {
    pub id: u64,
    pub event: String,
    pub channel: Option<String>,
    pub time_ms: u64,
    /// One line of JSON.
    pub data: String,
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
    pub fn events_lost(&self, reason: &str) {
        self.reset_all(reason);
    }
}
