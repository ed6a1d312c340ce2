//! Stored rows that cannot be read (a corrupt histogram, text where a number belongs) are
//! logged, counted and skipped: a query answers with the other rows, and the writer
//! replaces such a row rather than failing every later write.

use std::cell::Cell;

use super::StoreError;

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
