//! Forwards the app's `tracing` events to SSE clients as `event: log` (channel `log`),
//! with their level, target, message and fields as JSON.

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
        if *meta.level() > self.level {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let data = serde_json::json!({
            "level": meta.level().as_str().to_ascii_lowercase(),
            "target": meta.target(),
            "message": fields.message,
            "fields": fields.fields,
        });
        self.hub
            .publish_custom("log", Some("log"), &data.to_string());
    }
}
