//! The one place that turns the server's SSE stream into signals.
//!
//! The server renders the first paint from the latest snapshot and embeds it in the page
//! ([`InitialSnapshot`]); the browser starts from that same value, then an `EventSource` on
//! `{base}/api/sse` replaces it at every tick. Custom events and logs arrive on the same
//! connection (as enveloped `event` events) and are kept, newest first and at most
//! [`MAX_EVENTS`], for the Events page. EventSource reconnects by itself (sending
//! `Last-Event-ID`, so nothing is missed); if the browser gives up on a connection, a new
//! one is opened after a pause, resuming from the last id seen.
//!
//! Server-rendered pages share nothing in the browser but this module: every island asks
//! [`use_live`] for the same signals, and the connection opens once all of them hydrated.

use leptos::prelude::*;

use crate::BasePath;
use crate::snapshot::DashboardSnapshot;

/// Id of the `<script type="application/json">` holding the first snapshot.
pub const INITIAL_SNAPSHOT_ID: &str = "sightline-snapshot";

/// The snapshot the server rendered the page from (server side, provided as context).
#[derive(Clone, Debug)]
pub struct InitialSnapshot {
    pub snapshot: DashboardSnapshot,
    pub json: std::sync::Arc<str>,
}

/// State of the live connection, as the header badge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    /// Rendered on the server, or the first connection is being opened.
    Connecting,
    Connected,
    /// The connection dropped; the browser is retrying.
    Reconnecting,
}

/// Custom events and logs kept in the browser; older ones are dropped.
pub const MAX_EVENTS: usize = 500;

/// A custom event or log line, as the server's envelope carries it.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct LiveEvent {
    pub id: u64,
    pub event: String,
    pub channel: Option<String>,
    pub time_ms: u64,
    pub data: serde_json::Value,
    /// Not an event: a mark that events may be missing here (the server said `reset`).
    #[serde(default)]
    pub gap: bool,
}

impl LiveEvent {
    /// A log line's level; `None` for custom events.
    pub fn level(&self) -> Option<&str> {
        (self.event == "log").then(|| self.data["level"].as_str().unwrap_or("info"))
    }
}

/// Events received, newest first, with how many arrived in all.
#[derive(Clone, Copy, Debug)]
pub struct LiveEvents {
    pub items: ReadSignal<std::collections::VecDeque<LiveEvent>>,
    pub received: ReadSignal<u64>,
}

pub fn use_live_events() -> LiveEvents {
    use_context::<LiveEvents>().unwrap_or_else(|| page_live().1)
}

/// The page's live signals where no context provides them: in an island, in the browser.
fn page_live() -> (Live, LiveEvents) {
    #[cfg(feature = "hydrate")]
    return browser_live();
    #[cfg(not(feature = "hydrate"))]
    panic!("provide_live() is called in App")
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// Opens the connection; set when the first island asks for the live signals.
    static STARTER: std::cell::RefCell<Option<Box<dyn FnOnce()>>> = const { std::cell::RefCell::new(None) };
}

/// Starts the live connection, if an island on this page uses it (browser only; the boot
/// script calls this after hydrating every island).
#[cfg(feature = "hydrate")]
pub fn start() {
    if let Some(start) = STARTER.with(|s| s.borrow_mut().take()) {
        start();
    }
}

/// The live signals in the browser: one set per page, shared by every island (islands
/// have no common parent to provide them).
#[cfg(feature = "hydrate")]
fn browser_live() -> (Live, LiveEvents) {
    thread_local! {
        static LIVE: std::cell::OnceCell<(Live, LiveEvents)> = const { std::cell::OnceCell::new() };
    }
    LIVE.with(|cell| {
        *cell.get_or_init(|| {
            let owner = Owner::new();
            let pair = owner.with(|| {
                let signed_in = crate::auth::CurrentUser::from_request().0.is_some();
                let live = provide_live(&BasePath::current(), signed_in);
                (
                    live,
                    use_context::<LiveEvents>().expect("provided just now"),
                )
            });
            std::mem::forget(owner);
            pair
        })
    })
}

/// Signals fed by the live stream.
#[derive(Clone, Copy, Debug)]
pub struct Live {
    pub status: ReadSignal<LiveStatus>,
    pub snapshot: ReadSignal<Option<DashboardSnapshot>>,
    /// Browser clock (ms) when the shown snapshot was taken or received; `None` until
    /// hydrated, so server and browser render the same first paint.
    pub updated_at: ReadSignal<Option<f64>>,
    /// Browser clock (ms), ticking every second after hydration.
    pub now: ReadSignal<Option<f64>>,
}

/// Reads the live signals provided by [`provide_live`].
pub fn use_live() -> Live {
    use_context::<Live>().unwrap_or_else(|| page_live().0)
}

/// The `<script>` carrying the first snapshot to the browser (rendered by the server).
#[component]
pub fn InitialSnapshotScript() -> impl IntoView {
    let json = use_context::<InitialSnapshot>()
        .map(|initial| initial.json.replace('<', "\\u003c"))
        .unwrap_or_else(|| "null".into());
    view! { <script type="application/json" id=INITIAL_SNAPSHOT_ID inner_html=json></script> }
}

/// Creates the live signals (in `App` on the server; in the browser, once per page for all
/// islands) and, in the browser, the connection that drives them, opened by [`start`] (only
/// when signed in: the stream is closed to everyone else).
pub fn provide_live(base: &BasePath, signed_in: bool) -> Live {
    let (status, set_status) = signal(LiveStatus::Connecting);
    let (snapshot, set_snapshot) = signal(initial_snapshot());
    let (updated_at, set_updated_at) = signal(None::<f64>);
    let (now, set_now) = signal(None::<f64>);
    let (items, set_items) = signal(std::collections::VecDeque::<LiveEvent>::new());
    let (received, set_received) = signal(0u64);
    provide_context(LiveEvents { items, received });
    #[cfg(feature = "hydrate")]
    {
        // Narrowed to one instance of a cluster, the stream is too.
        let instance = web_sys::window()
            .and_then(|w| web_sys::UrlSearchParams::new_with_str(&w.location().search().ok()?).ok())
            .and_then(|q| q.get(crate::components::instances::INSTANCE_PARAM))
            .filter(|i| !i.is_empty());
        let url = match instance {
            Some(id) => base.join(&format!(
                "/api/sse?envelope=1&instance={}",
                crate::history::encode_component(&id)
            )),
            None => base.join("/api/sse?envelope=1"),
        };
        let sinks = browser::Sinks {
            login: base.join("/login"),
            status: set_status,
            snapshot: set_snapshot,
            updated_at: set_updated_at,
            events: set_items,
            received: set_received,
            last_id: std::rc::Rc::new(std::cell::Cell::new(None)),
        };
        // Started once every island on the page has hydrated ([`start`]), so that no
        // island hydrates against values the server did not render.
        let start = move || {
            if !signed_in {
                return;
            }
            let clock = js_sys_now;
            set_now.set(Some(clock()));
            if let Some(taken) = snapshot.get_untracked().map(|s| s.timestamp_ms as f64) {
                set_updated_at.set(Some(taken));
            }
            let _ = set_interval_with_handle(
                move || set_now.set(Some(clock())),
                std::time::Duration::from_secs(1),
            );
            browser::connect(url, sinks);
        };
        STARTER.with(|s| *s.borrow_mut() = Some(Box::new(start)));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (
        base,
        signed_in,
        set_status,
        set_snapshot,
        set_updated_at,
        set_now,
        set_items,
        set_received,
    );
    let live = Live {
        status,
        snapshot,
        updated_at,
        now,
    };
    provide_context(live);
    live
}

fn initial_snapshot() -> Option<DashboardSnapshot> {
    #[cfg(feature = "hydrate")]
    {
        let element = web_sys::window()?
            .document()?
            .get_element_by_id(INITIAL_SNAPSHOT_ID)?;
        serde_json::from_str(&element.text_content()?).ok()?
    }
    #[cfg(not(feature = "hydrate"))]
    use_context::<InitialSnapshot>().map(|initial| initial.snapshot)
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.time_origin() + p.now())
        .unwrap_or_default()
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{EventSource, MessageEvent};

    use super::{LiveEvent, LiveStatus, MAX_EVENTS, js_sys_now};
    use crate::snapshot::DashboardSnapshot;

    /// Pause before replacing an EventSource the browser closed for good.
    const REOPEN_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

    /// Where the stream's events go.
    #[derive(Clone)]
    pub struct Sinks {
        pub status: WriteSignal<LiveStatus>,
        pub snapshot: WriteSignal<Option<DashboardSnapshot>>,
        pub updated_at: WriteSignal<Option<f64>>,
        pub events: WriteSignal<VecDeque<LiveEvent>>,
        pub received: WriteSignal<u64>,
        /// The last event id seen, to resume from on a new connection.
        pub last_id: Rc<Cell<Option<String>>>,
        /// Where to go when the session ends.
        pub login: String,
    }

    fn listen(source: &EventSource, name: &str, f: impl FnMut(MessageEvent) + 'static) {
        let callback = Closure::<dyn FnMut(MessageEvent)>::new(f);
        let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        callback.forget();
    }

    pub fn connect(url: String, sinks: Sinks) {
        let full = match sinks.last_id.take() {
            Some(id) => format!("{url}&lastEventId={id}"),
            None => url.clone(),
        };
        let Ok(source) = EventSource::new(&full) else {
            sinks.status.set(LiveStatus::Reconnecting);
            return;
        };
        let status = sinks.status;
        let on_open = Closure::<dyn FnMut()>::new(move || status.set(LiveStatus::Connected));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        listen(&source, "snapshot", {
            let sinks = sinks.clone();
            move |event: MessageEvent| {
                sinks.last_id.set(Some(event.last_event_id()));
                let Some(text) = event.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<DashboardSnapshot>(&text) {
                    Ok(snapshot) => {
                        sinks.status.set(LiveStatus::Connected);
                        sinks.snapshot.set(Some(snapshot));
                        sinks.updated_at.set(Some(js_sys_now()));
                    }
                    Err(error) => leptos::logging::warn!("unreadable snapshot: {error}"),
                }
            }
        });
        listen(&source, "event", {
            let sinks = sinks.clone();
            move |event: MessageEvent| {
                sinks.last_id.set(Some(event.last_event_id()));
                let Some(text) = event.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<LiveEvent>(&text) {
                    Ok(item) => {
                        sinks.events.update(|items| {
                            items.push_front(item);
                            items.truncate(MAX_EVENTS);
                        });
                        sinks.received.update(|n| *n += 1);
                    }
                    Err(error) => leptos::logging::warn!("unreadable event: {error}"),
                }
            }
        });

        // The events since the last id are lost (or the id meant nothing here): mark the
        // gap; the fresh snapshot follows.
        listen(&source, "reset", {
            let sinks = sinks.clone();
            move |event: MessageEvent| {
                let reason = event
                    .data()
                    .as_string()
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                    .unwrap_or_default();
                let gap = LiveEvent {
                    id: 0,
                    event: "reset".into(),
                    channel: None,
                    time_ms: js_sys_now() as u64,
                    data: reason,
                    gap: true,
                };
                sinks.events.update(|items| {
                    items.push_front(gap);
                    items.truncate(MAX_EVENTS);
                });
            }
        });
        // Signed out (here or in another tab) or expired: to the login page, back here after.
        listen(&source, "signed-out", {
            let (source, login) = (source.clone(), sinks.login.clone());
            move |_| {
                source.close();
                if let Some(window) = web_sys::window() {
                    let here = window.location().pathname().unwrap_or_default()
                        + &window.location().search().unwrap_or_default();
                    let target =
                        format!("{login}?next={}", crate::history::encode_component(&here));
                    let _ = window.location().assign(&target);
                }
            }
        });

        let on_error = Closure::<dyn FnMut()>::new({
            let source = source.clone();
            move || {
                sinks.status.set(LiveStatus::Reconnecting);
                if source.ready_state() == EventSource::CLOSED {
                    let (url, sinks) = (url.clone(), sinks.clone());
                    set_timeout(move || connect(url, sinks), REOPEN_AFTER);
                }
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }
}
