//! The leader tab's connection: one `EventSource`, reopened with backoff when it fails,
//! watched for silence (then the snapshot is polled), closed while every tab is hidden.
//! Everything it reads goes to `emit`, which shows it here and relays it to the other tabs.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{EventSource, MessageEvent};

use super::super::policy::{Backoff, stalled};
use super::super::{LiveConfig, LiveStatus, js_sys_now};
use super::Endpoints;
use super::apply::Incoming;

/// The server asks clients turned away at its connection limit to wait this long.
const OVERLOADED_RETRY_MS: f64 = 30_000.0;

pub type Emit = Rc<dyn Fn(Incoming)>;

pub struct Stream {
    endpoints: Endpoints,
    config: LiveConfig,
    emit: Emit,
    last_id: Rc<RefCell<Option<String>>>,
    source: Option<EventSource>,
    /// Bumped with every new source: callbacks of closed ones are ignored.
    generation: u32,
    /// When the current source was created, and when it opened (`None` while it is
    /// connecting).
    created_at: f64,
    opened_at: Option<f64>,
    /// The current source dropped once after opening; the browser retries it by itself
    /// after the server's `retry:`.
    dropped: bool,
    last_message: f64,
    backoff: Backoff,
    /// When a new source is due.
    retry_at: Option<f64>,
    polling: bool,
    next_poll: f64,
    paused: bool,
    this: Weak<RefCell<Stream>>,
}

impl Stream {
    /// Opens the stream, resuming after `last_id`.
    pub fn start(
        endpoints: Endpoints,
        config: LiveConfig,
        last_id: Rc<RefCell<Option<String>>>,
        emit: Emit,
    ) -> Rc<RefCell<Self>> {
        let stream = Rc::new_cyclic(|this| {
            RefCell::new(Self {
                endpoints,
                config,
                emit,
                last_id,
                source: None,
                generation: 0,
                created_at: 0.0,
                opened_at: None,
                dropped: false,
                last_message: 0.0,
                backoff: Backoff::default(),
                retry_at: None,
                polling: false,
                next_poll: 0.0,
                paused: false,
                this: this.clone(),
            })
        });
        stream.borrow_mut().open();
        stream
    }

    fn status(&self, status: LiveStatus) {
        (self.emit)(Incoming::Status { status });
    }

    fn open(&mut self) {
        self.close_source();
        self.generation += 1;
        let url = match self.last_id.borrow().as_deref() {
            Some(id) => format!(
                "{}&lastEventId={}",
                self.endpoints.stream,
                crate::history::encode_component(id)
            ),
            None => self.endpoints.stream.clone(),
        };
        self.created_at = js_sys_now();
        let Ok(source) = EventSource::new(&url) else {
            self.retry_later(js_sys_now());
            return;
        };
        let generation = self.generation;
        let on = |name: &str, f: fn(&mut Stream, MessageEvent)| {
            let this = self.this.clone();
            let callback = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(stream) = this.upgrade() {
                    let mut stream = stream.borrow_mut();
                    if stream.generation == generation {
                        f(&mut stream, event);
                    }
                }
            });
            let _ =
                source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
            callback.forget();
        };
        on("open", |s, _| s.opened());
        on("error", |s, _| s.failed());
        on("snapshot", |s, e| {
            s.relay(e, |id, data| Incoming::Snapshot { id, data })
        });
        on("event", |s, e| {
            s.relay(e, |id, data| Incoming::Event { id, data })
        });
        on("reset", |s, e| {
            s.relay(e, |_, data| Incoming::Reset { data })
        });
        on("heartbeat", |s, _| s.heard());
        on("signed-out", |s, _| {
            s.close_source();
            (s.emit)(Incoming::SignedOut);
        });
        // At the server's connection limit: wait as long as it asks.
        on("overloaded", |s, _| {
            s.close_source();
            let at = js_sys_now() + OVERLOADED_RETRY_MS;
            s.retry_at = Some(at);
            s.status(LiveStatus::Reconnecting { at_ms: Some(at) });
        });
        self.source = Some(source);
    }

    fn close_source(&mut self) {
        if let Some(source) = self.source.take() {
            source.close();
        }
        self.opened_at = None;
        self.dropped = false;
    }

    fn opened(&mut self) {
        let now = js_sys_now();
        self.opened_at = Some(now);
        self.dropped = false;
        self.last_message = now;
        if !self.polling {
            self.status(LiveStatus::Connected);
        }
    }

    /// Something arrived: the stream delivers.
    fn heard(&mut self) {
        self.last_message = js_sys_now();
        if self.polling {
            self.polling = false;
            self.status(LiveStatus::Connected);
        }
    }

    fn relay(&mut self, event: MessageEvent, make: fn(String, String) -> Incoming) {
        self.heard();
        if let Some(data) = event.data().as_string() {
            (self.emit)(make(event.last_event_id(), data));
        }
    }

    fn failed(&mut self) {
        let now = js_sys_now();
        let reconnecting = self
            .source
            .as_ref()
            .is_some_and(|s| s.ready_state() == EventSource::CONNECTING);
        if reconnecting && self.opened_at.is_some() && !self.dropped {
            // An ordinary drop: the browser reconnects by itself after the server's `retry:`.
            self.opened_at = None;
            self.dropped = true;
            if !self.polling {
                self.status(LiveStatus::Reconnecting {
                    at_ms: Some(now + self.config.retry_ms as f64),
                });
            }
            return;
        }
        // Closed for good (an error status), or reconnecting keeps failing: our backoff.
        // An `EventSource` refused with 401 says only "error": ask the snapshot endpoint,
        // which says whether the session ended (and shows fresh data if it answers).
        self.close_source();
        self.retry_later(now);
        self.poll();
    }

    fn retry_later(&mut self, now: f64) {
        let at = now + self.backoff.next_delay_ms(js_sys::Math::random());
        self.retry_at = Some(at);
        if !self.polling {
            self.status(LiveStatus::Reconnecting { at_ms: Some(at) });
        }
    }

    /// Called a few times a second: due reconnects, the silence watchdog, polling.
    pub fn tick(&mut self, now: f64) {
        if self.paused {
            return;
        }
        if self.retry_at.is_some_and(|at| now >= at) {
            self.retry_at = None;
            self.open();
        }
        if let Some(since) = self.opened_at {
            self.backoff.up(since, now);
        }
        // Silent since it opened (or never opened at all, headers held back): poll
        // meanwhile, and keep trying new streams in the background, with backoff.
        let (heartbeat, snapshot) = (
            self.config.heartbeat_ms as f64,
            self.config.snapshot_ms as f64,
        );
        let quiet_since = self
            .opened_at
            .map_or(self.created_at, |_| self.last_message);
        if self.source.is_some() && stalled(quiet_since, now, heartbeat, snapshot) {
            if !self.polling {
                self.polling = true;
                self.next_poll = now;
                self.status(LiveStatus::Polling);
            }
            self.close_source();
            self.retry_later(now);
        }
        if self.polling && now >= self.next_poll {
            self.next_poll = now + self.config.snapshot_ms as f64;
            self.poll();
        }
    }

    /// Fetches the snapshot once; a 401 means the session ended.
    fn poll(&self) {
        let (url, emit) = (self.endpoints.snapshot.clone(), self.emit.clone());
        spawn_local(async move {
            let response = gloo_net::http::Request::get(&url).send().await;
            match response {
                Ok(r) if r.status() == 401 => emit(Incoming::SignedOut),
                Ok(r) if r.ok() => {
                    if let Ok(data) = r.text().await {
                        emit(Incoming::Snapshot {
                            id: String::new(),
                            data,
                        });
                    }
                }
                _ => {}
            }
        });
    }

    /// Every tab is hidden: close the connection until one is shown.
    pub fn pause(&mut self) {
        if self.paused {
            return;
        }
        self.close_source();
        self.paused = true;
        self.polling = false;
        self.retry_at = None;
        self.status(LiveStatus::Paused);
    }

    /// A tab is shown again: reopen at once, resuming after the last id.
    pub fn resume(&mut self) {
        if !self.paused {
            return;
        }
        self.paused = false;
        self.status(LiveStatus::Connecting);
        self.open();
    }

    /// This tab no longer leads.
    pub fn stop(&mut self) {
        self.close_source();
        self.retry_at = None;
        self.polling = false;
        self.paused = true;
    }
}
