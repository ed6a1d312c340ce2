//! The one place that turns the server's SSE stream into signals.
//!
//! [`provide_live`] opens an `EventSource` on `{base}/api/sse` in the browser and keeps it
//! open (EventSource reconnects by itself; when the browser gives up, a new one is opened
//! after a pause). Components read the connection state with [`use_live`].

use leptos::prelude::*;

use crate::BasePath;

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
}

/// Reads the live signals provided by [`provide_live`].
pub fn use_live() -> Live {
    use_context::<Live>().expect("provide_live() is called in App")
}

/// Creates the live signals and, in the browser, the connection that drives them.
pub fn provide_live(base: &BasePath) -> Live {
    let (status, set_status) = signal(LiveStatus::Connecting);
    #[cfg(feature = "hydrate")]
    {
        let url = base.join("/api/sse");
        Effect::new(move |_| browser::connect(url.clone(), set_status));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (base, set_status);
    let live = Live { status };
    provide_context(live);
    live
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::EventSource;

    use super::LiveStatus;

    /// Pause before replacing an EventSource the browser closed for good.
    const REOPEN_AFTER_MS: i32 = 3_000;

    pub fn connect(url: String, set_status: WriteSignal<LiveStatus>) {
        let Ok(source) = EventSource::new(&url) else {
            set_status.set(LiveStatus::Reconnecting);
            return;
        };
        let on_open = Closure::<dyn FnMut()>::new(move || set_status.set(LiveStatus::Connected));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let reopen_url = url.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            set_status.set(LiveStatus::Reconnecting);
            let closed = event
                .target()
                .and_then(|t| t.dyn_into::<EventSource>().ok())
                .is_some_and(|s| s.ready_state() == EventSource::CLOSED);
            if closed {
                let url = reopen_url.clone();
                set_timeout(
                    move || connect(url, set_status),
                    std::time::Duration::from_millis(REOPEN_AFTER_MS as u64),
                );
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        // Lives as long as the page: the dashboard keeps one stream open.
        std::mem::forget(source);
    }
}
