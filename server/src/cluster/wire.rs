//! What each instance publishes every snapshot period: its identity, its host, process and
//! runtime samples, and its last minute in parts that add up exactly (counts, and latency
//! histograms in the store's compact codec).
//!
//! One JSON message per instance and period. Its size is bounded: routes past
//! [`MAX_ROUTES`] (the busiest kept) are merged into `(overflow)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use sightline_app::snapshot::{ProcessStats, RuntimeStats, SystemStats};

use crate::metrics::histogram::new_histogram;
use crate::metrics::recent::RecentWindow;
use crate::metrics::recorder::OVERFLOW;
use crate::metrics::summary::{Minute, Totals};
use crate::metrics::window::Windows;
use crate::store::codec::{decode_histogram, encode_histogram};

/// Format of [`InstanceState`]; a message of another format is ignored (and counted).
pub const FORMAT: u8 = 1;
/// Routes per message; the rest go to `(overflow)`. A message with more is refused.
pub const MAX_ROUTES: usize = 100;
/// Bytes per message at most; a longer one is refused unread.
pub const MAX_MESSAGE: usize = 512 << 10;

/// Who an instance is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The configured instance id (`--instance-id`, by default the host name).
    pub id: String,
    /// Random per process start: two processes that claim one id are told apart.
    pub run: String,
    pub host: String,
    pub version: String,
    pub pid: u32,
    pub started_at_ms: u64,
}

/// One instance's state, as published.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceState {
    pub format: u8,
    pub identity: Identity,
    /// The publisher's clock when it sent this.
    pub sent_ms: u64,
    /// Its snapshot period: it is stale after three without a message.
    pub period_ms: u64,
    pub sse_connections: u64,
    pub system: SystemStats,
    pub process: ProcessStats,
    pub runtime: RuntimeStats,
    pub totals: WireTotals,
    pub overall: Part,
    pub routes: Vec<RoutePart>,
    /// The last few finished 10 s windows, for the live charts (absent from older
    /// versions).
    #[serde(default)]
    pub recent: Vec<WindowPart>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WireTotals {
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// Responses by status code since start.
    pub status: Vec<(u16, u64)>,
}

/// [`Minute`] on the wire: the histogram as the store's codec, in base64.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Part {
    pub last_10s: u64,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    pub histogram: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoutePart {
    pub method: String,
    pub route: String,
    #[serde(flatten)]
    pub part: Part,
}

/// One finished 10 s window: traffic as it adds up, and the host CPU samples.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WindowPart {
    pub start_ms: u64,
    pub part: Part,
    pub cpu_sum: f64,
    pub cpu_samples: u32,
}

impl WindowPart {
    fn encode(w: &RecentWindow) -> Self {
        Self {
            start_ms: w.start_ms,
            part: Part::encode(&w.traffic.clone().unwrap_or_default()),
            cpu_sum: w.cpu_sum,
            cpu_samples: w.cpu_samples,
        }
    }

    /// Back to a [`RecentWindow`]; `None` when the histogram does not decode.
    pub fn decode(&self) -> Option<RecentWindow> {
        let traffic = self.part.decode()?;
        Some(RecentWindow {
            start_ms: self.start_ms,
            traffic: (traffic.requests > 0).then_some(traffic),
            cpu_sum: self.cpu_sum,
            cpu_samples: self.cpu_samples,
        })
    }
}

impl Part {
    fn encode(minute: &Minute) -> Self {
        Self {
            last_10s: minute.last_10s,
            requests: minute.requests,
            client_errors: minute.client_errors,
            server_errors: minute.server_errors,
            latency_sum_us: minute.latency_sum_us,
            latency_max_us: minute.latency_max_us,
            histogram: minute
                .histogram
                .as_ref()
                .map(|h| B64.encode(encode_histogram(h)))
                .unwrap_or_default(),
        }
    }

    /// Back to a [`Minute`]; `None` when the histogram does not decode.
    pub fn decode(&self) -> Option<Minute> {
        let histogram = if self.histogram.is_empty() {
            None
        } else {
            let bytes = B64.decode(&self.histogram).ok()?;
            Some(decode_histogram(&bytes).ok()?)
        };
        Some(Minute {
            last_10s: self.last_10s,
            requests: self.requests,
            client_errors: self.client_errors,
            server_errors: self.server_errors,
            latency_sum_us: self.latency_sum_us,
            latency_max_us: self.latency_max_us,
            histogram,
        })
    }
}

/// Adds `other` into `into`: counts sum, histograms add, maxima take the larger.
///
/// Saturating: the figures may come from any process that can publish to Redis.
pub fn add_minute(into: &mut Minute, other: &Minute) {
    into.last_10s = into.last_10s.saturating_add(other.last_10s);
    into.requests = into.requests.saturating_add(other.requests);
    into.client_errors = into.client_errors.saturating_add(other.client_errors);
    into.server_errors = into.server_errors.saturating_add(other.server_errors);
    into.latency_sum_us = into.latency_sum_us.saturating_add(other.latency_sum_us);
    into.latency_max_us = into.latency_max_us.max(other.latency_max_us);
    if let Some(h) = &other.histogram {
        into.histogram
            .get_or_insert_with(new_histogram)
            .add(h)
            .expect("every histogram has the same layout");
    }
}

/// What the ticker knows besides the windows.
pub struct Local<'a> {
    pub identity: &'a Identity,
    pub period_ms: u64,
    pub sse_connections: u64,
    pub system: &'a SystemStats,
    pub process: &'a ProcessStats,
    pub runtime: &'a RuntimeStats,
    pub recent: &'a [RecentWindow],
}

impl InstanceState {
    pub fn build(local: Local<'_>, windows: &Windows, now_ms: u64) -> Self {
        let mut routes = windows.route_minutes(now_ms);
        // The busiest first; past the cap, one `(overflow)` row for the rest.
        routes.sort_by_key(|r| std::cmp::Reverse(r.2.requests));
        let mut rest = routes.split_off(routes.len().min(MAX_ROUTES - 1));
        let mut kept: Vec<(String, String, Minute)> = routes
            .into_iter()
            .map(|(method, route, minute)| (method.to_owned(), route.to_owned(), minute))
            .collect();
        if let Some((_, _, mut overflow)) = rest.pop() {
            for (_, _, minute) in &rest {
                add_minute(&mut overflow, minute);
            }
            kept.push(("*".to_owned(), OVERFLOW.to_owned(), overflow));
        }
        let Totals {
            requests,
            client_errors,
            server_errors,
            status,
        } = windows.totals();
        Self {
            format: FORMAT,
            identity: local.identity.clone(),
            sent_ms: now_ms,
            period_ms: local.period_ms,
            sse_connections: local.sse_connections,
            system: local.system.clone(),
            process: local.process.clone(),
            runtime: local.runtime.clone(),
            totals: WireTotals {
                requests,
                client_errors,
                server_errors,
                status: status.into_iter().collect(),
            },
            overall: Part::encode(&windows.minute(now_ms)),
            routes: kept
                .into_iter()
                .map(|(method, route, minute)| RoutePart {
                    method,
                    route,
                    part: Part::encode(&minute),
                })
                .collect(),
            recent: local.recent.iter().map(WindowPart::encode).collect(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a state always serialises")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_MESSAGE {
            return Err(format!("{} bytes, more than {MAX_MESSAGE}", bytes.len()));
        }
        let state: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if state.format != FORMAT {
            return Err(format!("unknown format {}", state.format));
        }
        Ok(state)
    }
}
