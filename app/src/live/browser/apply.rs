//! What arrives on the live stream, and how a tab shows it: the same in the leader tab,
//! which reads the stream, and in the others, which get it relayed.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use leptos::prelude::*;

use super::super::policy::RecentIds;
use super::super::{LiveEvent, LiveStatus, MAX_EVENTS, js_sys_now};
use crate::snapshot::DashboardSnapshot;

/// One thing the stream said, as it is relayed between tabs.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// A snapshot (`id` empty when it was polled rather than streamed).
    Snapshot {
        id: String,
        data: String,
    },
    Event {
        id: String,
        data: String,
    },
    /// Events may be missing before what follows.
    Reset {
        data: String,
    },
    Status {
        status: LiveStatus,
    },
    SignedOut,
}

/// Where a tab shows what arrives.
#[derive(Clone)]
pub struct Sinks {
    pub status: WriteSignal<LiveStatus>,
    pub snapshot: WriteSignal<Option<DashboardSnapshot>>,
    pub updated_at: WriteSignal<Option<f64>>,
    pub events: WriteSignal<VecDeque<LiveEvent>>,
    pub received: WriteSignal<u64>,
    /// The last event id seen, to resume from on a new connection (whichever tab opens it).
    pub last_id: Rc<RefCell<Option<String>>>,
    /// Events already shown here.
    pub seen: Rc<RefCell<RecentIds>>,
    /// When the snapshot shown here was taken (server clock, ms): an older one arriving
    /// later (a slow poll, a leader's cached copy) is not shown over it.
    pub shown_ms: Rc<std::cell::Cell<u64>>,
    /// Where to go when the session ends.
    pub login: String,
}

impl Sinks {
    fn note_id(&self, id: &str) {
        if !id.is_empty() {
            *self.last_id.borrow_mut() = Some(id.to_owned());
        }
    }

    fn push(&self, item: LiveEvent) {
        self.events.update(|items| {
            items.push_front(item);
            items.truncate(MAX_EVENTS);
        });
    }

    /// Shows `incoming` in this tab.
    pub fn apply(&self, incoming: &Incoming) {
        match incoming {
            Incoming::Snapshot { id, data } => {
                self.note_id(id);
                match serde_json::from_str::<DashboardSnapshot>(data) {
                    Ok(snapshot) if snapshot.timestamp_ms < self.shown_ms.get() => {}
                    Ok(snapshot) => {
                        self.shown_ms.set(snapshot.timestamp_ms);
                        self.snapshot.set(Some(snapshot));
                        self.updated_at.set(Some(js_sys_now()));
                    }
                    Err(error) => leptos::logging::warn!("unreadable snapshot: {error}"),
                }
            }
            Incoming::Event { id, data } => {
                self.note_id(id);
                match serde_json::from_str::<LiveEvent>(data) {
                    Ok(item) => {
                        if self.seen.borrow_mut().first_time(item.id) {
                            self.push(item);
                            self.received.update(|n| *n += 1);
                        }
                    }
                    Err(error) => leptos::logging::warn!("unreadable event: {error}"),
                }
            }
            // The events since the last id are lost (or the id meant nothing to this
            // server): mark the gap; the fresh snapshot follows on the stream.
            Incoming::Reset { data } => {
                self.seen.borrow_mut().forget();
                self.push(LiveEvent {
                    id: 0,
                    event: "reset".into(),
                    channel: None,
                    time_ms: js_sys_now() as u64,
                    data: serde_json::from_str(data).unwrap_or_default(),
                    gap: true,
                });
            }
            Incoming::Status { status } => {
                if *status == LiveStatus::Connected {
                    mark_live();
                }
                self.status.set(*status);
            }
            // Signed out (here or in another tab) or expired: to the login page, back
            // here after.
            Incoming::SignedOut => {
                if let Some(window) = web_sys::window() {
                    let here = window.location().pathname().unwrap_or_default()
                        + &window.location().search().unwrap_or_default();
                    let target = format!(
                        "{}?next={}",
                        self.login,
                        crate::history::encode_component(&here)
                    );
                    let _ = window.location().assign(&target);
                }
            }
        }
    }
}

/// Marks, once, the moment this page first went live (`performance` mark
/// `sightline-live`): what was fetched before it is what the page needed to go live.
fn mark_live() {
    thread_local!(static MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if !MARKED.with(|m| m.replace(true))
        && let Some(performance) = web_sys::window().and_then(|w| w.performance())
    {
        let _ = performance.mark("sightline-live");
    }
}
