//! What tabs tell each other, and how it travels: as plain JavaScript objects, which a
//! `BroadcastChannel` copies as they are (structured clone), so neither side encodes or
//! parses JSON for it.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use super::super::LiveStatus;
use super::apply::Incoming;

#[derive(Clone, Debug)]
pub enum Note {
    /// Relayed from the stream by the leader.
    Live(Incoming),
    /// The leader's latest status or snapshot, for the tab that said hello.
    Welcome { to: u32, incoming: Incoming },
    /// "I lead" (election over the channel only).
    Leader { tab: u32, visible: bool },
    /// The leader's page is going away.
    Leaving { tab: u32 },
    /// This tab is visible (every second while it is, and when it becomes so).
    Visible { tab: u32 },
    /// A new tab asks the leader for the current state.
    Hello { tab: u32 },
}

fn set(o: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(o: &JsValue, key: &str) -> Option<String> {
    get(o, key).as_string()
}

fn tab(o: &JsValue, key: &str) -> Option<u32> {
    get(o, key).as_f64().map(|n| n as u32)
}

const STATES: [(&str, LiveStatus); 4] = [
    ("connecting", LiveStatus::Connecting),
    ("connected", LiveStatus::Connected),
    ("polling", LiveStatus::Polling),
    ("paused", LiveStatus::Paused),
];

fn put_incoming(o: &Object, incoming: &Incoming) {
    let (kind, id, data) = match incoming {
        Incoming::Snapshot { id, data } => ("snapshot", Some(id), Some(data)),
        Incoming::Event { id, data } => ("event", Some(id), Some(data)),
        Incoming::Reset { data } => ("reset", None, Some(data)),
        Incoming::SignedOut => ("signed-out", None, None),
        Incoming::Status { status } => {
            let state = match status {
                LiveStatus::Reconnecting { at_ms } => {
                    if let Some(at) = at_ms {
                        set(o, "at", JsValue::from_f64(*at));
                    }
                    "reconnecting"
                }
                other => STATES
                    .iter()
                    .find(|(_, s)| s == other)
                    .map_or("connecting", |(name, _)| name),
            };
            set(o, "state", JsValue::from_str(state));
            ("status", None, None)
        }
    };
    set(o, "kind", JsValue::from_str(kind));
    if let Some(id) = id {
        set(o, "id", JsValue::from_str(id));
    }
    if let Some(data) = data {
        set(o, "data", JsValue::from_str(data));
    }
}

fn take_incoming(o: &JsValue) -> Option<Incoming> {
    Some(match text(o, "kind")?.as_str() {
        "snapshot" => Incoming::Snapshot {
            id: text(o, "id")?,
            data: text(o, "data")?,
        },
        "event" => Incoming::Event {
            id: text(o, "id")?,
            data: text(o, "data")?,
        },
        "reset" => Incoming::Reset {
            data: text(o, "data")?,
        },
        "signed-out" => Incoming::SignedOut,
        "status" => {
            let state = text(o, "state")?;
            let status = match state.as_str() {
                "reconnecting" => LiveStatus::Reconnecting {
                    at_ms: get(o, "at").as_f64(),
                },
                name => STATES.iter().find(|(n, _)| *n == name)?.1,
            };
            Incoming::Status { status }
        }
        _ => return None,
    })
}

pub fn encode(note: &Note) -> JsValue {
    let o = Object::new();
    let (name, tab) = match note {
        Note::Live(incoming) => {
            put_incoming(&o, incoming);
            ("live", None)
        }
        Note::Welcome { to, incoming } => {
            put_incoming(&o, incoming);
            ("welcome", Some(*to))
        }
        Note::Leader { tab, visible } => {
            set(&o, "visible", JsValue::from_bool(*visible));
            ("leader", Some(*tab))
        }
        Note::Leaving { tab } => ("leaving", Some(*tab)),
        Note::Visible { tab } => ("visible", Some(*tab)),
        Note::Hello { tab } => ("hello", Some(*tab)),
    };
    set(&o, "note", JsValue::from_str(name));
    if let Some(tab) = tab {
        set(&o, "tab", JsValue::from_f64(f64::from(tab)));
    }
    o.into()
}

/// `None` for anything that is not a note of ours.
pub fn decode(o: &JsValue) -> Option<Note> {
    Some(match text(o, "note")?.as_str() {
        "live" => Note::Live(take_incoming(o)?),
        "welcome" => Note::Welcome {
            to: tab(o, "tab")?,
            incoming: take_incoming(o)?,
        },
        "leader" => Note::Leader {
            tab: tab(o, "tab")?,
            visible: get(o, "visible").as_bool()?,
        },
        "leaving" => Note::Leaving {
            tab: tab(o, "tab")?,
        },
        "visible" => Note::Visible {
            tab: tab(o, "tab")?,
        },
        "hello" => Note::Hello {
            tab: tab(o, "tab")?,
        },
        _ => return None,
    })
}
