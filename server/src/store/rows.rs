//! Reading stored rows one at a time. A row that does not decode (a corrupt histogram,
//! text where a number belongs) is logged, counted and skipped: the query answers with
//! the other rows, and the writer replaces it rather than failing every later write.

use std::cell::Cell;

use rusqlite::Row;

use super::StoreError;
use super::codec::{merge_histogram, merge_status};
use super::samples::SampleAcc;
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

/// Every row of `rows` through `decode`, skipping those it cannot read. Errors stepping
/// through the rows (a locked or unreadable database) still end the query.
pub fn each<T>(
    mut rows: rusqlite::Rows<'_>,
    table: &str,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        match decode(r) {
            Ok(value) => out.push(value),
            Err(e) => skip_row(table, &e),
        }
    }
    Ok(out)
}

fn from_sql(e: rusqlite::types::FromSqlError) -> StoreError {
    StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Blob,
        Box::new(e),
    ))
}

/// The counts of a `windows` row whose `requests` column is at `first`, followed by
/// `client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status,
/// histogram`.
pub fn counts_at(r: &Row<'_>, first: usize) -> Result<WindowCounts, StoreError> {
    let mut counts = WindowCounts {
        requests: r.get::<_, i64>(first)? as u64,
        client_errors: r.get::<_, i64>(first + 1)? as u64,
        server_errors: r.get::<_, i64>(first + 2)? as u64,
        bytes: r.get::<_, i64>(first + 3)? as u64,
        latency_sum_us: r.get::<_, i64>(first + 4)? as u64,
        latency_max_us: r.get::<_, i64>(first + 5)? as u64,
        ..WindowCounts::default()
    };
    merge_status(
        &mut counts.status,
        r.get_ref(first + 6)?.as_str().map_err(from_sql)?,
    )?;
    merge_histogram(
        &mut counts.histogram,
        r.get_ref(first + 7)?.as_blob().map_err(from_sql)?,
    )?;
    Ok(counts)
}

/// The accumulated samples of a `samples` row whose `n` column is at `first`, followed
/// by the sample columns in field order.
pub fn samples_at(r: &Row<'_>, first: usize) -> Result<SampleAcc, StoreError> {
    let n = r.get::<_, i64>(first)? as u64;
    // NULL is a figure no sample measured: it stays missing.
    let stored = (0..super::samples::FIELDS.len())
        .map(|i| r.get::<_, Option<f64>>(first + 1 + i))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(SampleAcc::from_stored(n, stored))
}
