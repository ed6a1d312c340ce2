//! The requests worth keeping one by one: error responses (4xx and 5xx) and requests slower
//! than the slow threshold. The layer hands them over with a non-blocking `try_send` into a
//! bounded queue that the history writer empties; when it is full they are counted, not
//! waited for. Paths and messages are cut to [`MAX_TEXT`] bytes, so a request with a huge
//! URI costs the queue no more than any other.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Requests held for the writer at most.
pub const QUEUE: usize = 8_192;
/// Longest path or message kept with a request, in bytes (a longer one is cut on a
/// character boundary and ends in [`CUT`]).
pub const MAX_TEXT: usize = 1_024;
/// What a cut path or message ends in.
pub const CUT: &str = "\u{2026}";

/// `text`, cut to at most [`MAX_TEXT`] bytes; copies no more than that.
pub fn clipped(text: &str) -> String {
    if text.len() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_TEXT - CUT.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + CUT.len());
    out.push_str(&text[..end]);
    out.push_str(CUT);
    out
}

/// The same for an owned string: returned as it is when short enough.
pub fn clip(text: String) -> String {
    if text.len() <= MAX_TEXT {
        text
    } else {
        clipped(&text)
    }
}

/// One request kept with its details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub time_ms: u64,
    pub method: &'static str,
    pub route: std::sync::Arc<str>,
    pub path: String,
    pub status: u16,
    pub latency_us: u64,
    pub bytes: u64,
    pub message: Option<String>,
}

/// A message an app attaches to an error response (as a response extension) so that the
/// error log shows it.
///
/// ```
/// # use axum::response::IntoResponse;
/// let mut response = http::StatusCode::BAD_GATEWAY.into_response();
/// response
///     .extensions_mut()
///     .insert(sightline::ErrorMessage::new("payment provider timed out"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMessage(pub String);

impl ErrorMessage {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[derive(Debug)]
pub struct Details {
    /// Requests at least this slow (µs) are kept; `u64::MAX` until history is on.
    slow_us: AtomicU64,
    sender: OnceLock<SyncSender<Detail>>,
    dropped: AtomicU64,
}

impl Default for Details {
    fn default() -> Self {
        Self {
            slow_us: AtomicU64::new(u64::MAX),
            sender: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }
}

impl Details {
    /// Starts keeping details; the receiver goes to the writer. Only the first call counts.
    pub fn connect(&self) -> Option<Receiver<Detail>> {
        let (tx, rx) = sync_channel(QUEUE);
        self.sender.set(tx).ok().map(|()| rx)
    }

    pub fn set_slow_threshold_ms(&self, ms: u64) {
        self.slow_us
            .store(ms.saturating_mul(1_000), Ordering::Relaxed);
    }

    /// Whether a finished request is kept (checked before building its [`Detail`]).
    #[inline]
    pub fn wants(&self, status: u16, latency_us: u64) -> bool {
        self.sender.get().is_some()
            && (status >= 400 || latency_us >= self.slow_us.load(Ordering::Relaxed))
    }

    pub fn push(&self, mut detail: Detail) {
        let Some(sender) = self.sender.get() else {
            return;
        };
        detail.path = clip(detail.path);
        detail.message = detail.message.map(clip);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sender.try_send(detail)
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests not kept because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(status: u16) -> Detail {
        Detail {
            time_ms: 1,
            method: "GET",
            route: "/a".into(),
            path: "/a".into(),
            status,
            latency_us: 10,
            bytes: 0,
            message: None,
        }
    }

    #[test]
    fn nothing_is_kept_until_connected_and_a_full_queue_counts_drops() {
        let d = Details::default();
        assert!(!d.wants(500, 1));
        let rx = d.connect().unwrap();
        assert!(d.connect().is_none());
        assert!(d.wants(500, 1) && d.wants(404, 1) && !d.wants(200, 1));
        d.set_slow_threshold_ms(2);
        assert!(d.wants(200, 2_000) && !d.wants(200, 1_999));
        for _ in 0..QUEUE + 3 {
            d.push(detail(500));
        }
        assert_eq!(d.dropped(), 3);
        assert_eq!(rx.try_iter().count(), QUEUE);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_marked() {
        let exact = "a".repeat(MAX_TEXT);
        assert_eq!(clipped(&exact), exact);
        let cut = clipped(&"a".repeat(MAX_TEXT + 1));
        assert_eq!(cut.len(), MAX_TEXT);
        assert!(cut.ends_with(CUT) && cut.starts_with("aaa"));
        // Two-byte characters: the cut never splits one.
        let wide = clip("é".repeat(MAX_TEXT));
        assert!(
            wide.len() <= MAX_TEXT && wide.ends_with(CUT),
            "{}",
            wide.len()
        );
        assert!(wide.trim_end_matches(CUT).chars().all(|c| c == 'é'));

        let d = Details::default();
        let rx = d.connect().unwrap();
        d.push(Detail {
            path: "/x".repeat(MAX_TEXT),
            message: Some("m".repeat(5 * MAX_TEXT)),
            ..detail(500)
        });
        let kept = rx.try_recv().unwrap();
        assert_eq!(
            (kept.path.len(), kept.message.unwrap().len()),
            (MAX_TEXT, MAX_TEXT)
        );
    }
}
