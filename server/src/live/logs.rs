//! Forwards the app's `tracing` events to SSE clients as `event: log` (channel `log`),
//! with their level, target, message and fields as JSON.
//!
//! Not forwarded: the HTTP transport's own chatter (`hyper`, `h2`, ...), which a busy
//! server produces per connection, and Sightline's credentials notice (the generated
//! password is for the person who started the app, not for every viewer). Each line is
//! capped at [`MAX_TEXT`] bytes of message and of fields.

use std::fmt::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::hub::Hub;

/// A `tracing_subscriber` layer; get one from `Sightline::log_layer`.
#[derive(Debug, Clone)]
pub struct LogLayer {
    pub(crate) hub: Arc<Hub>,
    /// The most verbose level forwarded.
    pub(crate) level: Level,
}

/// Bytes of a log line's message, and of its fields, forwarded at most.
pub const MAX_TEXT: usize = 2_048;

/// Targets never forwarded (a prefix up to `::` or the whole target).
const SILENT: [&str; 7] = [
    "hyper",
    "hyper_util",
    "h2",
    "tower",
    "rustls",
    "mio",
    crate::CREDENTIALS_TARGET,
];

fn silent(target: &str) -> bool {
    SILENT.iter().any(|s| {
        target
            .strip_prefix(s)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// `text` cut to at most `max` bytes on a character boundary, marked when cut.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.put(field, serde_json::Value::String(text));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, serde_json::Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Levels compare by verbosity: TRACE > DEBUG > ... > ERROR.
        if *meta.level() > self.level || silent(meta.target()) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut extra = serde_json::Value::Object(fields.fields);
        if extra.to_string().len() > MAX_TEXT {
            extra = serde_json::json!({ "truncated": truncate(extra.to_string(), MAX_TEXT) });
        }
        let data = serde_json::json!({
            "level": meta.level().as_str().to_ascii_lowercase(),
            "target": meta.target(),
            "message": truncate(fields.message, MAX_TEXT),
            "fields": extra,
        });
        self.hub.send(super::events::CheckedEvent {
            event: "log".into(),
            channel: Some("log".into()),
            data: data.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_and_credentials_stay_out_and_long_text_is_cut() {
        for target in [
            "hyper",
            "hyper::proto::h1",
            "h2::codec",
            crate::CREDENTIALS_TARGET,
        ] {
            assert!(silent(target), "{target}");
        }
        for target in ["hyperion", "my_app", "sightline", "h2o::x"] {
            assert!(!silent(target), "{target}");
        }
        let cut = truncate("é".repeat(3_000), MAX_TEXT);
        assert!(cut.len() <= MAX_TEXT + '…'.len_utf8() && cut.ends_with('…'));
        assert_eq!(truncate("short".into(), MAX_TEXT), "short");
    }
}
