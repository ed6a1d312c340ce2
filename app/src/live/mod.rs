//! The one place that turns the server's SSE stream into signals.
//!
//! The server renders the first paint from the latest snapshot and embeds it in the page
//! ([`InitialSnapshot`]); the browser starts from that same value, then the live stream on
//! `{base}/api/sse` replaces it at every tick. Custom events and logs arrive on the same
//! connection (as enveloped `event` events) and are kept, newest first and at most
//! [`MAX_EVENTS`], for the Events page.
//!
//! In the browser, every tab of a dashboard shares one connection: a leader tab holds the
//! stream and relays it to the others ([`browser`]); the rules for reconnecting, electing,
//! pausing hidden tabs and noticing a stream that went quiet are in [`policy`].
//!
//! Server-rendered pages share nothing in the browser but this module: every island asks
//! [`use_live`] for the same signals, and the connection opens once all of them hydrated.

#[cfg(feature = "hydrate")]
mod browser;
pub mod policy;

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
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LiveStatus {
    /// Rendered on the server, or the first connection is being opened.
    Connecting,
    Connected,
    /// The connection failed; the next attempt is due at this browser time (ms since the
    /// epoch), if known.
    Reconnecting {
        at_ms: Option<f64>,
    },
    /// The stream delivers nothing (a buffering proxy, a dead connection): the snapshot is
    /// polled meanwhile, and the stream is tried again in the background.
    Polling,
    /// Every tab of the dashboard has been hidden for a while: no connection until one is
    /// shown again.
    Paused,
}

/// Name of the `<meta>` tag carrying [`LiveConfig`] to the browser.
pub const CONFIG_META_NAME: &str = "sightline-live";

/// The server's live timings the browser needs: how often a snapshot and a heartbeat
/// come (to notice a stream gone quiet), the `retry:` it asks for, and how long every tab
/// may be hidden before the connection closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    pub snapshot_ms: u64,
    pub heartbeat_ms: u64,
    pub retry_ms: u64,
    pub pause_hidden_ms: u64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            snapshot_ms: 2_000,
            heartbeat_ms: 15_000,
            retry_ms: 5_000,
            pause_hidden_ms: 60_000,
        }
    }
}

impl LiveConfig {
    /// `2000,15000,5000,60000`: the fields in order.
    pub fn meta_content(&self) -> String {
        format!(
            "{},{},{},{}",
            self.snapshot_ms, self.heartbeat_ms, self.retry_ms, self.pause_hidden_ms
        )
    }

    pub fn parse_meta(content: &str) -> Option<Self> {
        let mut fields = content.split(',').map(|f| f.trim().parse::<u64>().ok());
        let config = Self {
            snapshot_ms: fields.next()??,
            heartbeat_ms: fields.next()??,
            retry_ms: fields.next()??,
            pause_hidden_ms: fields.next()??,
        };
        fields.next().is_none().then_some(config)
    }

    /// From context on the server; from the rendered `<meta>` in the browser.
    pub fn current() -> Self {
        use_context::<Self>()
            .or_else(|| {
                crate::hydration::page_meta(CONFIG_META_NAME).and_then(|c| Self::parse_meta(&c))
            })
            .unwrap_or_default()
    }
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
        let (url, snapshot_url) = match instance {
            Some(id) => {
                let id = crate::history::encode_component(&id);
                (
                    base.join(&format!("/api/sse?envelope=1&instance={id}")),
                    base.join(&format!("/api/snapshot?instance={id}")),
                )
            }
            None => (base.join("/api/sse?envelope=1"), base.join("/api/snapshot")),
        };
        let sinks = browser::Sinks {
            login: base.join("/login"),
            status: set_status,
            snapshot: set_snapshot,
            updated_at: set_updated_at,
            events: set_items,
            received: set_received,
            last_id: Default::default(),
            seen: Default::default(),
            shown_ms: Default::default(),
        };
        // Started once every island on the page has hydrated ([`start`]), so that no
        // island hydrates against values the server did not render.
        let start = move || {
            if !signed_in {
                return;
            }
            let clock = js_sys_now;
            set_now.set(Some(clock()));
            if let Some(taken) = snapshot.get_untracked().map(|s| s.timestamp_ms) {
                set_updated_at.set(Some(taken as f64));
                sinks.shown_ms.set(taken);
            }
            let _ = set_interval_with_handle(
                move || set_now.set(Some(clock())),
                std::time::Duration::from_secs(1),
            );
            let endpoints = browser::Endpoints {
                stream: url,
                snapshot: snapshot_url,
            };
            browser::join(endpoints, LiveConfig::current(), sinks);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_meta_round_trips_and_refuses_garbage() {
        let c = LiveConfig {
            snapshot_ms: 300,
            heartbeat_ms: 1_000,
            retry_ms: 250,
            pause_hidden_ms: 3_000,
        };
        assert_eq!(LiveConfig::parse_meta(&c.meta_content()), Some(c));
        for bad in ["", "1,2,3", "1,2,3,4,5", "1,x,3,4", "-1,2,3,4"] {
            assert_eq!(LiveConfig::parse_meta(bad), None, "{bad}");
        }
    }
}
