//! Stored rows that cannot be read (a corrupt histogram, text where a number belongs) are
//! logged, counted and skipped: a query answers with the other rows, and the writer
//! replaces such a row rather than failing every later write.

use std::cell::Cell;

use super::StoreError;
use super::codec::{merge_histogram, merge_status};
use crate::metrics::window::WindowCounts;

thread_local! {
    /// Rows skipped on this thread since [`take_skipped`] last ran.
    static SKIPPED: Cell<u64> = const { Cell::new(0) };
}

/// Logs a row of `table` that could not be read and counts it; the caller goes on
/// without it.
pub fn skip_row(table: &str, error: &StoreError) {
    tracing::warn!(table, error = %error, "skipping a stored row that cannot be read");
    SKIPPED.with(|n| n.set(n.get() + 1));
}

/// Rows skipped on this thread since the last call (the store adds them to its health).
pub fn take_skipped() -> u64 {
    SKIPPED.with(|n| n.replace(0))
}

/// The columns of a `windows` row, as either backend reads them.
pub struct WindowColumns<'a> {
    pub requests: i64,
    pub client_errors: i64,
    pub server_errors: i64,
    pub bytes: i64,
    pub latency_sum_us: i64,
    pub latency_max_us: i64,
    pub status: &'a str,
    pub histogram: &'a [u8],
}

impl WindowColumns<'_> {
    pub fn decode(&self) -> Result<WindowCounts, StoreError> {
        let mut counts = WindowCounts {
            requests: self.requests as u64,
            client_errors: self.client_errors as u64,
            server_errors: self.server_errors as u64,
            bytes: self.bytes as u64,
            latency_sum_us: self.latency_sum_us as u64,
            latency_max_us: self.latency_max_us as u64,
            ..WindowCounts::default()
        };
        merge_status(&mut counts.status, self.status)?;
        merge_histogram(&mut counts.histogram, self.histogram)?;
        Ok(counts)
    }
}
