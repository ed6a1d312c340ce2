//! A latency histogram that many threads record into at once, with no lock: one
//! `fetch_add` per value. Its buckets follow the HDR layout exactly (2 significant digits,
//! microseconds, up to one hour), so draining it into an `hdrhistogram::Histogram` loses
//! nothing and percentiles stay within 1 %.

use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;

/// Highest latency told apart, in microseconds; longer requests count as one hour.
pub const MAX_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits kept (relative error below 1 %).
pub const SIGFIG: u8 = 2;

// HDR layout for lowest value 1 and 2 significant digits.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF: usize = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = (1 << (SUB_BUCKET_HALF_MAGNITUDE + 1)) - 1;
const LEADING_ZERO_BASE: u32 = 64 - SUB_BUCKET_HALF_MAGNITUDE - 1;
/// Buckets needed to reach `MAX_MICROS`.
pub const LEN: usize = index_of(MAX_MICROS) + 1;

/// Index of the bucket holding `value` (clamped to `MAX_MICROS`).
pub const fn index_of(value: u64) -> usize {
    let value = if value > MAX_MICROS {
        MAX_MICROS
    } else {
        value
    };
    let bucket = LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = (value >> bucket) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub_bucket - SUB_BUCKET_HALF
}

/// Lowest value that falls in bucket `index`.
pub const fn value_at(index: usize) -> u64 {
    let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = (index & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
    if bucket < 0 {
        (sub_bucket - SUB_BUCKET_HALF) as u64
    } else {
        (sub_bucket as u64) << bucket
    }
}

/// An empty `hdrhistogram::Histogram` with the same layout.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, SIGFIG).expect("valid histogram bounds")
}

pub struct AtomicHistogram {
    counts: Box<[AtomicU64]>,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        Self {
            counts: (0..LEN).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl std::fmt::Debug for AtomicHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicHistogram").finish_non_exhaustive()
    }
}

impl AtomicHistogram {
    #[inline]
    pub fn record(&self, micros: u64) {
        self.counts[index_of(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// Moves every count into `into` (and `also`, when given), leaving this one empty.
    /// Values recorded meanwhile land either in this drain or the next, never nowhere.
    pub fn drain_into(&self, into: &mut Histogram<u64>, mut also: Option<&mut Histogram<u64>>) {
        for (index, count) in self.counts.iter().enumerate() {
            if count.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let n = count.swap(0, Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let value = value_at(index);
            into.saturating_record_n(value, n);
            if let Some(also) = also.as_deref_mut() {
                also.saturating_record_n(value, n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_hdrhistogram() {
        let mut reference = new_histogram();
        let atomic = AtomicHistogram::default();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            // xorshift, spread over every magnitude up to an hour
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let value = (x % MAX_MICROS) >> (x % 32);
            reference.record(value.max(1)).unwrap();
            atomic.record(value.max(1));
        }
        let mut drained = new_histogram();
        atomic.drain_into(&mut drained, None);
        assert_eq!(drained.len(), reference.len());
        for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                drained.value_at_quantile(q),
                reference.value_at_quantile(q),
                "quantile {q}"
            );
        }
    }

    #[test]
    fn every_bucket_maps_back_to_itself() {
        for index in 0..LEN {
            assert_eq!(index_of(value_at(index)), index, "bucket {index}");
        }
        assert_eq!(index_of(u64::MAX), LEN - 1);
    }

    #[test]
    fn draining_empties() {
        let atomic = AtomicHistogram::default();
        atomic.record(1_500);
        atomic.record(1_500);
        let mut first = new_histogram();
        let mut all = new_histogram();
        atomic.drain_into(&mut first, Some(&mut all));
        assert_eq!((first.len(), all.len()), (2, 2));
        let mut second = new_histogram();
        atomic.drain_into(&mut second, None);
        assert_eq!(second.len(), 0);
        assert!(first.equivalent(first.value_at_quantile(0.5), 1_500));
    }
}
