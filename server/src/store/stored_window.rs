//! A `windows` row as either backend reads it, decoded into what merging needs: the
//! counts, the status pairs and the histogram's non-empty buckets. Adding a row to a
//! running total touches only those buckets, so a query over thousands of rows never
//! builds (or walks) a full histogram per row.

use super::StoreError;
use super::codec::{add_buckets, histogram_buckets, parse_status};
use crate::metrics::histogram::{LEN, value_at};
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
        self.add_counts(into);
        add_buckets(&mut into.histogram, &self.buckets);
    }

    /// Everything but the histogram.
    fn add_counts(&self, into: &mut WindowCounts) {
        into.requests += self.requests;
        into.client_errors += self.client_errors;
        into.server_errors += self.server_errors;
        into.bytes += self.bytes;
        into.latency_sum_us += self.latency_sum_us;
        into.latency_max_us = into.latency_max_us.max(self.latency_max_us);
        for &(code, n) in &self.status {
            *into.status.entry(code).or_default() += n;
        }
    }

    /// This row alone, as counts.
    pub fn to_counts(&self) -> WindowCounts {
        let mut counts = WindowCounts::default();
        self.merge_into(&mut counts);
        counts
    }
}

/// A running total of many rows, for queries that add thousands of them into a few
/// totals: each bucket is one addition into a plain array, and the histogram is built
/// once, by [`RowSum::finish`] (recording into it bucket by bucket costs several times
/// more per bucket).
#[derive(Default)]
pub struct RowSum {
    counts: WindowCounts,
    /// Counts by histogram index; empty until a row with latencies is added.
    buckets: Vec<u64>,
}

impl RowSum {
    pub fn add(&mut self, row: &StoredWindow) {
        row.add_counts(&mut self.counts);
        if row.buckets.is_empty() {
            return;
        }
        if self.buckets.is_empty() {
            self.buckets = vec![0; LEN];
        }
        for &(index, count) in &row.buckets {
            // Indexes were checked against LEN when the row was decoded.
            self.buckets[index] = self.buckets[index].saturating_add(count);
        }
    }

    pub fn finish(self) -> WindowCounts {
        let mut counts = self.counts;
        for (index, &n) in self.buckets.iter().enumerate() {
            if n > 0 {
                counts.histogram.saturating_record_n(value_at(index), n);
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram::new_histogram;
    use crate::store::codec::{encode_histogram, encode_status};

    fn row(latencies_us: &[u64], status: &str) -> StoredWindow {
        let mut h = new_histogram();
        for &v in latencies_us {
            h.saturating_record(v);
        }
        let bytes = encode_histogram(&h);
        WindowColumns {
            requests: latencies_us.len() as i64,
            client_errors: 1,
            server_errors: 0,
            bytes: 10,
            latency_sum_us: latencies_us.iter().sum::<u64>() as i64,
            latency_max_us: latencies_us.iter().copied().max().unwrap_or(0) as i64,
            status,
            histogram: &bytes,
        }
        .decode()
        .unwrap()
    }

    #[test]
    fn a_row_sum_equals_merging_row_by_row() {
        let rows = [
            row(&[120, 5_000, 5_000, 90_000], "200:3,404:1"),
            row(&[], ""),
            row(&[7, 120, 3_000_000], "200:2,500:1"),
        ];
        let mut merged = WindowCounts::default();
        let mut sum = RowSum::default();
        for r in &rows {
            r.merge_into(&mut merged);
            sum.add(r);
        }
        let summed = sum.finish();
        assert!(summed.histogram == merged.histogram);
        assert_eq!(summed.histogram.len(), 7);
        assert_eq!(
            (
                summed.requests,
                summed.client_errors,
                summed.bytes,
                summed.latency_max_us
            ),
            (
                merged.requests,
                merged.client_errors,
                merged.bytes,
                merged.latency_max_us
            )
        );
        assert_eq!(encode_status(&summed.status), "200:5,404:1,500:1");
        assert_eq!(RowSum::default().finish().histogram.len(), 0);
    }
}
