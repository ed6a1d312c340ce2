//! The one place that turns the server's SSE stream into signals.
//!
//! The server renders the first paint from the latest snapshot and embeds it in the page
//! ([`InitialSnapshot`]); the browser starts from that same value, then an `EventSource` on
//! `{base}/api/sse` replaces it at every tick. EventSource reconnects by itself; if the
//! browser gives up on a connection, a new one is opened after a pause.

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
    use_context::<Live>().expect("provide_live() is called in App")
}

/// The `<script>` carrying the first snapshot to the browser (rendered by the server).
#[component]
pub fn InitialSnapshotScript() -> impl IntoView {
    let json = use_context::<InitialSnapshot>()
        .map(|initial| initial.json.replace('<', "\\u003c"))
        .unwrap_or_else(|| "null".into());
    view! { <script type="application/json" id=INITIAL_SNAPSHOT_ID inner_html=json></script> }
}

/// Creates the live signals and, in the browser, the connection that drives them.
pub fn provide_live(base: &BasePath) -> Live {
    let (status, set_status) = signal(LiveStatus::Connecting);
    let (snapshot, set_snapshot) = signal(initial_snapshot());
    let (updated_at, set_updated_at) = signal(None::<f64>);
    let (now, set_now) = signal(None::<f64>);
    #[cfg(feature = "hydrate")]
    {
        let url = base.join("/api/sse");
        Effect::new(move |_| {
            let clock = js_sys_now;
            set_now.set(Some(clock()));
            if let Some(taken) = snapshot.get_untracked().map(|s| s.timestamp_ms as f64) {
                set_updated_at.set(Some(taken));
            }
            let _ = set_interval_with_handle(
                move || set_now.set(Some(clock())),
                std::time::Duration::from_secs(1),
            );
            browser::connect(url.clone(), set_status, set_snapshot, set_updated_at);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (base, set_status, set_snapshot, set_updated_at, set_now);
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
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{EventSource, MessageEvent};

    use super::{LiveStatus, js_sys_now};
    use crate::snapshot::DashboardSnapshot;

    /// Pause before replacing an EventSource the browser closed for good.
    const REOPEN_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

    pub fn connect(
        url: String,
        set_status: WriteSignal<LiveStatus>,
        set_snapshot: WriteSignal<Option<DashboardSnapshot>>,
        set_updated_at: WriteSignal<Option<f64>>,
    ) {
        let Ok(source) = EventSource::new(&url) else {
            set_status.set(LiveStatus::Reconnecting);
            return;
        };
        let on_open = Closure::<dyn FnMut()>::new(move || set_status.set(LiveStatus::Connected));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_snapshot = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<DashboardSnapshot>(&text) {
                Ok(snapshot) => {
                    set_status.set(LiveStatus::Connected);
                    set_snapshot.set(Some(snapshot));
                    set_updated_at.set(Some(js_sys_now()));
                }
                Err(error) => leptos::logging::warn!("unreadable snapshot: {error}"),
            }
        });
        let _ = source
            .add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref());
        on_snapshot.forget();

        let on_error = Closure::<dyn FnMut()>::new({
            let source = source.clone();
            move || {
                set_status.set(LiveStatus::Reconnecting);
                if source.ready_state() == EventSource::CLOSED {
                    let url = url.clone();
                    set_timeout(
                        move || connect(url, set_status, set_snapshot, set_updated_at),
                        REOPEN_AFTER,
                    );
                }
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }
}
