//! Reading SQLite rows one at a time; a row that does not decode is skipped
//! ([`crate::store::skipped`]).

use rusqlite::Row;

use crate::store::StoreError;
use crate::store::samples::SampleAcc;
use crate::store::skipped::skip_row;
use crate::store::stored_window::{StoredWindow, WindowColumns};

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

/// The `windows` row whose `requests` column is at `first`, followed by
/// `client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status,
/// histogram`.
pub fn window_at(r: &Row<'_>, first: usize) -> Result<StoredWindow, StoreError> {
    WindowColumns {
        requests: r.get(first)?,
        client_errors: r.get(first + 1)?,
        server_errors: r.get(first + 2)?,
        bytes: r.get(first + 3)?,
        latency_sum_us: r.get(first + 4)?,
        latency_max_us: r.get(first + 5)?,
        status: r.get_ref(first + 6)?.as_str().map_err(from_sql)?,
        histogram: r.get_ref(first + 7)?.as_blob().map_err(from_sql)?,
    }
    .decode()
}

/// The accumulated samples of a `samples` row whose `n` column is at `first`, followed
/// by the sample columns in field order.
pub fn samples_at(r: &Row<'_>, first: usize) -> Result<SampleAcc, StoreError> {
    let n = r.get::<_, i64>(first)? as u64;
    // NULL is a figure no sample measured: it stays missing.
    let stored = (0..crate::store::samples::FIELDS.len())
        .map(|i| r.get::<_, Option<f64>>(first + 1 + i))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(SampleAcc::from_stored(n, stored))
}
