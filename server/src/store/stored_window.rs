//! A `windows` row as either backend reads it, decoded into what merging needs: the
//! counts, the status pairs and the histogram's non-empty buckets. Adding a row to a
//! running total touches only those buckets, so a query over thousands of rows never
//! builds (or walks) a full histogram per row.

use super::StoreError;
use super::codec::{add_buckets, histogram_buckets, parse_status};
use crate::metrics::window::WindowCounts;

/// The columns of a `windows` row, borrowed from the driver's row.
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

/// One decoded `windows` row.
#[derive(Clone, Debug, Default)]
pub struct StoredWindow {
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub bytes: u64,
    pub latency_sum_us: u64,
    pub latency_max_us: u64,
    status: Vec<(u16, u64)>,
    buckets: Vec<(usize, u64)>,
}

impl WindowColumns<'_> {
    /// Decodes the row, or says why it cannot be read (nothing is half-decoded).
    pub fn decode(&self) -> Result<StoredWindow, StoreError> {
        Ok(StoredWindow {
            requests: self.requests as u64,
            client_errors: self.client_errors as u64,
            server_errors: self.server_errors as u64,
            bytes: self.bytes as u64,
            latency_sum_us: self.latency_sum_us as u64,
            latency_max_us: self.latency_max_us as u64,
            status: parse_status(self.status)?,
            buckets: histogram_buckets(self.histogram)?,
        })
    }
}

impl StoredWindow {
    /// Adds this row to `into`: counts summed, histograms added.
    pub fn merge_into(&self, into: &mut WindowCounts) {
        into.requests += self.requests;
        into.client_errors += self.client_errors;
        into.server_errors += self.server_errors;
        into.bytes += self.bytes;
        into.latency_sum_us += self.latency_sum_us;
        into.latency_max_us = into.latency_max_us.max(self.latency_max_us);
        for &(code, n) in &self.status {
            *into.status.entry(code).or_default() += n;
        }
        add_buckets(&mut into.histogram, &self.buckets);
    }

    /// This row alone, as counts.
    pub fn to_counts(&self) -> WindowCounts {
        let mut counts = WindowCounts::default();
        self.merge_into(&mut counts);
        counts
    }
}
