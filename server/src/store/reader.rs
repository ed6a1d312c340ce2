//! What the query layer reads, on either backend. Each backend answers these few
//! primitives with its own SQL; [`super::query`] turns them into the API's answers, so both
//! answer every query the same way. Merging (histograms added, counts summed) always
//! happens here in Rust, never as a maximum or an average of stored percentiles.

use sightline_app::history::{RequestRecord, StoredInstance, TimeRange};

use super::StoreError;
use super::samples::SampleAcc;
use super::stored_window::StoredWindow;
use super::tiers::{Horizons, Piece};

/// Route id of the all-routes rows.
pub const ALL_ROUTES: i64 = 0;

/// Which rows of `windows` to read.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    /// One instance (by id); `None`: all of them.
    pub instance: Option<&'a str>,
    /// One route (by row id, [`ALL_ROUTES`] for all together); `None`: every route's rows.
    pub route: Option<i64>,
}

/// Which stored requests to count and page through.
#[derive(Clone, Debug)]
pub enum RecordFilter {
    /// At least this slow, slowest first.
    Slow { min_us: i64 },
    /// Status in `lo..=hi`, route or path containing `needle` (lower case; empty: any),
    /// newest first.
    Errors { lo: i64, hi: i64, needle: String },
}

/// One page of stored requests and how many match in all.
pub struct RecordRows {
    pub total: u64,
    pub items: Vec<RequestRecord>,
}

pub trait Reader {
    /// Where pruning stands, per tier.
    fn horizons(&self) -> Result<Horizons, StoreError>;

    /// Every route ever stored: id, method, route template.
    fn routes(&self) -> Result<Vec<(i64, String, String)>, StoreError>;

    /// Calls `f(route_id, start_ms, row)` for every row of `rows` in `pieces`.
    fn windows(
        &self,
        rows: Rows<'_>,
        pieces: &[Piece],
        f: &mut dyn FnMut(i64, u64, &StoredWindow),
    ) -> Result<(), StoreError>;

    /// Calls `f(start_ms, samples)` for every samples row of `instance` (all: `None`) in
    /// `pieces`.
    fn samples(
        &self,
        instance: Option<&str>,
        pieces: &[Piece],
        f: &mut dyn FnMut(u64, SampleAcc),
    ) -> Result<(), StoreError>;

    /// Page `page` (from 1) of `limit` stored requests in `range` matching `filter`.
    fn records(
        &self,
        range: &TimeRange,
        filter: &RecordFilter,
        page: u32,
        limit: u32,
    ) -> Result<RecordRows, StoreError>;

    /// Start of the oldest stored window.
    fn oldest(&self) -> Result<Option<u64>, StoreError>;

    /// Instances with all-routes rows in `pieces`: first and last row starts, requests.
    fn instances(&self, pieces: &[Piece]) -> Result<Vec<StoredInstance>, StoreError>;
}

/// A time in ms as stored (BIGINT), saturating: an open end reads "forever".
pub fn sql_ms(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

/// `(page - 1) * limit`, the rows a page skips.
pub fn offset(page: u32, limit: u32) -> i64 {
    i64::from(page.saturating_sub(1)).saturating_mul(i64::from(limit))
}

/// Adds one backend's per-piece instance rows up: earliest first, latest last, requests
/// summed; sorted by id.
pub fn merge_instances(rows: impl IntoIterator<Item = StoredInstance>) -> Vec<StoredInstance> {
    let mut out: std::collections::BTreeMap<String, StoredInstance> = Default::default();
    for row in rows {
        out.entry(row.id.clone())
            .and_modify(|seen| {
                seen.first_ms = seen.first_ms.min(row.first_ms);
                seen.last_ms = seen.last_ms.max(row.last_ms);
                seen.requests += row.requests;
            })
            .or_insert(row);
    }
    out.into_values().collect()
}
