//! Several instances, one dashboard: every instance publishes its state to Redis every
//! snapshot period and adds up everyone's.
//!
//! ```text
//! ticker ──state──▶ outbox ──▶ link ──PUBLISH {cluster}:state──▶ Redis
//!    ▲                          │ ◀──────── SUBSCRIBE ────────────┘
//!    └──── snapshots ◀── view ◀─┘ (every instance's latest state)
//! ```
//!
//! Off unless a Redis URL is configured; nothing else changes for a single instance.

pub mod events;
pub mod link;
pub mod view;
pub mod wire;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sightline_app::snapshot::DashboardSnapshot;
use tokio::sync::mpsc;

use crate::live::events::CheckedEvent;
use crate::live::hub::Hub;
use crate::live::uplink::{Replay, Uplink};
use view::View;
use wire::{Identity, InstanceState};

/// The default key prefix: several services can share one Redis with their own.
pub const DEFAULT_CLUSTER: &str = "sightline";
/// States waiting for the link; more are dropped (and counted), never waited for.
const OUTBOX: usize = 4;
/// Events waiting for the link; more are sent to this instance's clients only.
const OFFERS: usize = 1_024;

/// An event handed to the link, and who wants its id.
pub type Offer = (CheckedEvent, Option<tokio::sync::oneshot::Sender<u64>>);

/// Where the instances meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSettings {
    /// `redis://[user:password@]host[:port][/db]` (plain TCP; TLS is not built in).
    pub redis_url: String,
    /// Prefix of every key and channel.
    pub prefix: String,
}

impl ClusterSettings {
    /// The URL without its password, for logs.
    pub fn redacted_url(&self) -> String {
        match self.redis_url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}"),
                None => self.redis_url.clone(),
            },
            None => self.redis_url.clone(),
        }
    }
}

/// The state of the Redis link, for the badge and `GET {path}/api/health`.
#[derive(Debug, Default)]
pub struct Health {
    connected: AtomicBool,
    error: Mutex<Option<String>>,
    published: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
    rejected: AtomicU64,
}

/// What [`Health`] holds, read at once.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HealthReport {
    pub connected: bool,
    pub error: Option<String>,
    /// States published, and not published because the link was down or busy.
    pub published: u64,
    pub dropped: u64,
    /// States received from other instances, and those that could not be read.
    pub received: u64,
    pub rejected: u64,
}

impl Health {
    /// Marks the link up; `true` when it was not.
    fn up(&self) -> bool {
        *self.error.lock().unwrap_or_else(PoisonError::into_inner) = None;
        !self.connected.swap(true, Ordering::AcqRel)
    }

    /// Marks the link down; `true` when it was up (or never came up).
    fn down(&self, error: &str) -> bool {
        let mut held = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        let first = held.is_none();
        *held = Some(error.to_owned());
        self.connected.store(false, Ordering::Release);
        first
    }

    fn published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    pub fn report(&self) -> HealthReport {
        HealthReport {
            connected: self.connected.load(Ordering::Acquire),
            error: self
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            published: self.published.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
pub struct Cluster {
    pub settings: ClusterSettings,
    pub identity: Identity,
    pub health: Health,
    view: Mutex<View>,
    outbox: mpsc::Sender<Vec<u8>>,
    offers: mpsc::Sender<Offer>,
    pub hub: Arc<Hub>,
    /// Events kept in the cluster's record (the stream's length).
    pub record_len: usize,
    /// The link's connection while it is up, for replaying the record to clients.
    conn: Mutex<Option<redis::aio::MultiplexedConnection>>,
}

/// Why the cluster link could not start.
#[derive(Debug, thiserror::Error)]
#[error("the Redis URL {url}: {reason}")]
pub struct InvalidRedisUrl {
    pub url: String,
    pub reason: String,
}

/// The running link; it stops when this is dropped.
#[derive(Debug)]
pub struct LinkHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LinkHandle {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Cluster {
    /// Starts the link. Only a malformed URL fails: an unreachable Redis is retried while
    /// this instance shows its own view.
    pub fn start(
        settings: ClusterSettings,
        identity: Identity,
        hub: Arc<Hub>,
        record_len: usize,
    ) -> Result<(Arc<Self>, LinkHandle), crate::Error> {
        let client =
            redis::Client::open(settings.redis_url.as_str()).map_err(|e| InvalidRedisUrl {
                url: settings.redacted_url(),
                reason: e.to_string(),
            })?;
        let (outbox, rx) = mpsc::channel(OUTBOX);
        let (offers, offered) = mpsc::channel(OFFERS);
        let cluster = Arc::new(Self {
            settings,
            view: Mutex::new(View::new(identity.clone())),
            identity,
            health: Health::default(),
            outbox,
            offers,
            hub: hub.clone(),
            record_len: record_len.max(1),
            conn: Mutex::new(None),
        });
        hub.set_uplink(cluster.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = link::spawn(cluster.clone(), client, rx, offered, stopped)?;
        Ok((
            cluster,
            LinkHandle {
                stop: Some(stop),
                thread: Some(thread),
            },
        ))
    }

    /// A channel or key of this cluster: `{prefix}:{name}`.
    pub fn channel(&self, name: &str) -> String {
        format!("{}:{name}", self.settings.prefix)
    }

    fn set_conn(&self, conn: Option<redis::aio::MultiplexedConnection>) {
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = conn;
    }

    fn view(&self) -> std::sync::MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes this instance's state into the view and queues it for Redis (dropped, and
    /// counted, when the queue is full).
    pub fn share(&self, state: InstanceState, now_ms: u64) {
        let bytes = state.encode();
        let _ = self.view().insert(state, now_ms);
        if self.outbox.try_send(bytes).is_err() {
            self.health.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A message from Redis.
    fn receive(&self, bytes: &[u8]) {
        let state = match InstanceState::decode(bytes) {
            Ok(state) => state,
            Err(error) => {
                self.health.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("an unreadable cluster state: {error}");
                return;
            }
        };
        let mut view = self.view();
        if view.is_local(&state) {
            return;
        }
        self.health.received.fetch_add(1, Ordering::Relaxed);
        if view.insert(state, crate::clock::now_ms()).is_err() {
            self.health.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The snapshot of all instances and one per instance id, from this instance's own.
    pub fn snapshots(
        &self,
        local: &DashboardSnapshot,
        now_ms: u64,
    ) -> (DashboardSnapshot, Vec<(String, DashboardSnapshot)>) {
        let report = self.health.report();
        let link = (report.connected, report.error);
        let mut view = self.view();
        view.prune(now_ms);
        let all = view.snapshot(local, None, link.clone(), now_ms);
        let each = view
            .ids()
            .into_iter()
            .map(|id| {
                let snapshot = view.snapshot(local, Some(&id), link.clone(), now_ms);
                (id, snapshot)
            })
            .collect();
        (all, each)
    }
}

impl Uplink for Cluster {
    fn offer(
        &self,
        event: CheckedEvent,
        reply: Option<tokio::sync::oneshot::Sender<u64>>,
    ) -> Result<(), CheckedEvent> {
        if !self.health.report().connected {
            return Err(event);
        }
        self.offers
            .try_send((event, reply))
            .map_err(|e| e.into_inner().0)
    }

    fn replay_after(&self, id: u64) -> Replay {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (meta, stream) = (self.channel("events:meta"), self.channel("events"));
        Box::pin(async move {
            let Some(mut conn) = conn else {
                return Err("the cluster cannot be reached; here is a fresh snapshot".into());
            };
            let replay = events::record::replay_after(&mut conn, &meta, &stream, id);
            match tokio::time::timeout(std::time::Duration::from_secs(2), replay).await {
                Ok(result) => result,
                Err(_) => Err("the cluster did not answer; here is a fresh snapshot".into()),
            }
        })
    }
}
