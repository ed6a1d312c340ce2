//! One live connection for every tab of a dashboard. Tabs talk over a `BroadcastChannel`
//! named after the stream; one of them leads: it holds the only `EventSource` and relays
//! everything to the others.
//!
//! The leader is the holder of a Web Lock of the same name where the browser has Web
//! Locks (secure contexts): the browser hands it to a waiting tab the moment the leader's
//! tab closes or crashes. Elsewhere (plain HTTP on another host, exactly where HTTP/1.1's
//! six connections per host run out) the tabs elect one over the channel itself
//! ([`Election`]). Without `BroadcastChannel` a tab leads alone.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::Set;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{BroadcastChannel, MessageEvent};

use super::super::policy::{Audience, Election};
use super::super::{LiveConfig, LiveStatus, js_sys_now};
use super::Endpoints;
use super::apply::{Incoming, Sinks};
use super::stream::{Emit, Stream};
use super::wire::{Note, decode, encode};

/// How often each tab checks its timers.
const TICK_MS: u32 = 250;

/// The last status and snapshot relayed, for tabs that join later.
#[derive(Default)]
struct Latest {
    status: Option<Incoming>,
    snapshot: Option<Incoming>,
}

struct Tab {
    id: u32,
    endpoints: Endpoints,
    config: LiveConfig,
    sinks: Sinks,
    channel: Option<BroadcastChannel>,
    /// `Some` when leaders are elected over the channel.
    election: Option<Election>,
    stream: Option<Rc<RefCell<Stream>>>,
    audience: Audience,
    latest: Rc<RefCell<Latest>>,
    last_report: f64,
}

fn post(channel: &BroadcastChannel, note: &Note) {
    let _ = channel.post_message(&encode(note));
}

fn visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

impl Tab {
    fn leading(&self) -> bool {
        self.stream.is_some()
    }

    fn tell(&self, note: &Note) {
        if let Some(channel) = &self.channel {
            post(channel, note);
        }
    }

    /// Shows what the stream says here and relays it to the other tabs.
    fn emitter(&self) -> Emit {
        let (sinks, channel, latest) = (
            self.sinks.clone(),
            self.channel.clone(),
            self.latest.clone(),
        );
        Rc::new(move |incoming: Incoming| {
            {
                let mut latest = latest.borrow_mut();
                match &incoming {
                    Incoming::Status { .. } => latest.status = Some(incoming.clone()),
                    Incoming::Snapshot { .. } => latest.snapshot = Some(incoming.clone()),
                    _ => {}
                }
            }
            if let Some(channel) = &channel {
                post(channel, &Note::Live(incoming.clone()));
            }
            sinks.apply(&incoming);
        })
    }

    /// This tab leads from now on: it opens the stream, resuming after the last id seen
    /// here (relayed from the previous leader).
    fn lead(&mut self) {
        if self.leading() {
            return;
        }
        self.audience = Audience::new(js_sys_now());
        if let Some(election) = &mut self.election {
            election.lead();
        }
        self.stream = Some(Stream::start(
            self.endpoints.clone(),
            self.config,
            self.sinks.last_id.clone(),
            self.emitter(),
        ));
    }

    fn step_down(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.borrow_mut().stop();
        }
    }

    fn heard(&mut self, note: Note) {
        let now = js_sys_now();
        match note {
            // A leader of a moment ago may still speak: only followers listen.
            Note::Live(incoming) if !self.leading() => {
                let mut latest = self.latest.borrow_mut();
                match &incoming {
                    Incoming::Status { .. } => latest.status = Some(incoming.clone()),
                    Incoming::Snapshot { .. } => latest.snapshot = Some(incoming.clone()),
                    _ => {}
                }
                drop(latest);
                self.sinks.apply(&incoming);
            }
            Note::Welcome { to, incoming } if to == self.id && !self.leading() => {
                self.sinks.apply(&incoming);
            }
            Note::Live(_) | Note::Welcome { .. } => {}
            Note::Leader {
                tab,
                visible: theirs,
            } => {
                let me_visible = visible();
                if let Some(election) = &mut self.election
                    && election.heard_leader(tab, theirs, me_visible, now)
                {
                    self.step_down();
                }
            }
            Note::Leaving { tab } => {
                if let Some(election) = &mut self.election {
                    election.leader_left(tab);
                }
            }
            Note::Visible { .. } => self.shown(now),
            Note::Hello { tab } if self.leading() => {
                let latest = self.latest.borrow();
                for incoming in [&latest.status, &latest.snapshot].into_iter().flatten() {
                    self.tell(&Note::Welcome {
                        to: tab,
                        incoming: incoming.clone(),
                    });
                }
            }
            Note::Hello { .. } => {}
        }
    }

    /// Some tab of the dashboard is visible (this one or another).
    fn shown(&mut self, now: f64) {
        if let Some(stream) = &self.stream {
            self.audience.seen_visible(now);
            stream.borrow_mut().resume();
        }
    }

    fn tick(&mut self) {
        let now = js_sys_now();
        let me_visible = visible();
        if let Some(election) = &mut self.election {
            if election.leading() {
                let note = Note::Leader {
                    tab: self.id,
                    visible: me_visible,
                };
                self.tell(&note);
            } else if election.take_over(now) {
                self.lead();
            }
        }
        if me_visible && now - self.last_report >= Audience::REPORT_MS {
            self.last_report = now;
            if self.leading() {
                self.audience.seen_visible(now);
            } else {
                self.tell(&Note::Visible { tab: self.id });
            }
        }
        if let Some(stream) = &self.stream {
            let mut stream = stream.borrow_mut();
            if self
                .audience
                .all_hidden_for(self.config.pause_hidden_ms as f64, now)
            {
                stream.pause();
            } else {
                stream.tick(now);
            }
        }
    }

    /// This tab became visible or hidden.
    fn visibility_changed(&mut self) {
        if !visible() {
            return;
        }
        let now = js_sys_now();
        self.last_report = now;
        if self.leading() {
            self.shown(now);
        } else {
            self.tell(&Note::Visible { tab: self.id });
        }
    }

    /// The page is going away: let a waiting tab take over at once.
    fn leaving(&mut self) {
        if self.leading() {
            self.tell(&Note::Leaving { tab: self.id });
            self.step_down();
        }
        if let Some(election) = &mut self.election {
            election.resign();
        }
    }
}

/// Asks for the Web Lock `name`; `granted` runs once this tab holds it, which it then does
/// for as long as the page lives. `false` where the browser has no Web Locks.
fn request_lock(name: &str, granted: impl FnOnce() + 'static) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let locks = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("locks"))
        .unwrap_or(JsValue::UNDEFINED);
    if locks.is_undefined() || locks.is_null() {
        return false;
    }
    let Some(request) = js_sys::Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return false;
    };
    let mut granted = Some(granted);
    let callback = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_lock| {
        if let Some(granted) = granted.take() {
            granted();
        }
        // Held until the page goes: a promise that never settles.
        js_sys::Promise::new(&mut |_, _| {})
    });
    let asked = request
        .call2(&locks, &JsValue::from_str(name), callback.as_ref())
        .is_ok();
    callback.forget();
    asked
}

fn listen(target: &web_sys::EventTarget, name: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
    callback.forget();
}

/// Joins the dashboard's tabs: leads, or follows the leader.
pub fn join(endpoints: Endpoints, config: LiveConfig, sinks: Sinks) {
    let now = js_sys_now();
    let id = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let name = format!("sightline:{}", endpoints.stream);
    let channel = BroadcastChannel::new(&name).ok();
    let tab = Rc::new(RefCell::new(Tab {
        id,
        endpoints,
        config,
        sinks,
        channel: channel.clone(),
        election: None,
        stream: None,
        audience: Audience::new(now),
        latest: Default::default(),
        last_report: 0.0,
    }));
    tab.borrow().sinks.status.set(LiveStatus::Connecting);
    match &channel {
        None => tab.borrow_mut().lead(),
        Some(channel) => {
            let on_note = Closure::<dyn FnMut(MessageEvent)>::new({
                let tab = tab.clone();
                move |event: MessageEvent| {
                    if let Some(note) = decode(&event.data()) {
                        tab.borrow_mut().heard(note);
                    }
                }
            });
            channel.set_onmessage(Some(on_note.as_ref().unchecked_ref()));
            on_note.forget();
            post(channel, &Note::Hello { tab: id });
            let granted = {
                let tab = tab.clone();
                move || tab.borrow_mut().lead()
            };
            if !request_lock(&name, granted) {
                tab.borrow_mut().election = Some(Election::new(id, now));
            }
        }
    }
    if let Some(window) = web_sys::window() {
        let tick = Closure::<dyn FnMut()>::new({
            let tab = tab.clone();
            move || tab.borrow_mut().tick()
        });
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            TICK_MS as i32,
        );
        tick.forget();
        if let Some(document) = window.document() {
            listen(&document, "visibilitychange", {
                let tab = tab.clone();
                move |_: web_sys::Event| tab.borrow_mut().visibility_changed()
            });
        }
        listen(&window, "pagehide", {
            let tab = tab.clone();
            move |_: web_sys::Event| tab.borrow_mut().leaving()
        });
        // Restored from the back/forward cache: this tab stepped down when it was left
        // (and may hold a Web Lock with no stream behind it); start afresh.
        listen(&window, "pageshow", |event: web_sys::Event| {
            let restored = js_sys::Reflect::get(&event, &JsValue::from_str("persisted"))
                .ok()
                .and_then(|p| p.as_bool())
                .unwrap_or(false);
            if restored && let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        });
    }
}
