//! Compact encodings of what a window row holds: the latency histogram and the status
//! counts.
//!
//! A histogram is stored as its non-empty buckets only: `(index delta, count)` pairs as
//! LEB128 varints, after a one-byte format tag. Bucket indexes follow the HDR layout of
//! [`crate::metrics::histogram`], so decoding restores the exact counts and percentiles
//! over merged rows are the same as over the raw values, within the layout's precision.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::metrics::histogram::{LEN, index_of, new_histogram, value_at};

const FORMAT_V1: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unknown histogram format {0}")]
    Format(u8),
    #[error("truncated histogram")]
    Truncated,
    #[error("bucket index out of range")]
    Index,
    #[error("malformed status counts {0:?}")]
    Status(String),
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(input: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first().ok_or(DecodeError::Truncated)?;
        *input = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(DecodeError::Truncated)
}

pub fn encode_histogram(h: &Histogram<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_V1);
    let mut last = 0usize;
    for v in h.iter_recorded() {
        let index = index_of(v.value_iterated_to());
        put_varint(&mut out, (index - last) as u64);
        put_varint(&mut out, v.count_at_value());
        last = index;
    }
    out
}

/// The non-empty buckets of an encoded histogram, as `(index, count)` in index order.
pub fn histogram_buckets(mut bytes: &[u8]) -> Result<Vec<(usize, u64)>, DecodeError> {
    let (&format, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
    if format != FORMAT_V1 {
        return Err(DecodeError::Format(format));
    }
    bytes = rest;
    let mut buckets = Vec::with_capacity(bytes.len() / 2);
    let mut index = 0usize;
    while !bytes.is_empty() {
        index = index
            .checked_add(get_varint(&mut bytes)? as usize)
            .ok_or(DecodeError::Index)?;
        let count = get_varint(&mut bytes)?;
        if index >= LEN {
            return Err(DecodeError::Index);
        }
        buckets.push((index, count));
    }
    Ok(buckets)
}

/// Adds decoded buckets to `into`: only the buckets given are touched.
pub fn add_buckets(into: &mut Histogram<u64>, buckets: &[(usize, u64)]) {
    for &(index, count) in buckets {
        into.saturating_record_n(value_at(index), count);
    }
}

/// Adds the encoded counts to `into`.
pub fn merge_histogram(into: &mut Histogram<u64>, bytes: &[u8]) -> Result<(), DecodeError> {
    add_buckets(into, &histogram_buckets(bytes)?);
    Ok(())
}

pub fn decode_histogram(bytes: &[u8]) -> Result<Histogram<u64>, DecodeError> {
    let mut h = new_histogram();
    merge_histogram(&mut h, bytes)?;
    Ok(h)
}

/// `200:17,404:2`.
pub fn encode_status(status: &BTreeMap<u16, u64>) -> String {
    let mut out = String::new();
    for (code, n) in status {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("{code}:{n}"));
    }
    out
}

/// Parses `200:17,404:2` into `(code, count)` pairs.
pub fn parse_status(raw: &str) -> Result<Vec<(u16, u64)>, DecodeError> {
    raw.split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            pair.split_once(':')
                .and_then(|(code, n)| Some((code.parse::<u16>().ok()?, n.parse::<u64>().ok()?)))
                .ok_or_else(|| DecodeError::Status(pair.to_owned()))
        })
        .collect()
}

pub fn merge_status(into: &mut BTreeMap<u16, u64>, raw: &str) -> Result<(), DecodeError> {
    for (code, n) in parse_status(raw)? {
        *into.entry(code).or_default() += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram::MAX_MICROS;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn histograms_round_trip(values in proptest::collection::vec(1u64..=MAX_MICROS, 0..300)) {
            let mut h = new_histogram();
            for v in &values {
                h.saturating_record(*v);
            }
            let decoded = decode_histogram(&encode_histogram(&h)).unwrap();
            prop_assert_eq!(decoded.len(), h.len());
            for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(decoded.value_at_quantile(q), h.value_at_quantile(q));
            }
            prop_assert!(decoded == h);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_histogram(&bytes);
        }
    }

    #[test]
    fn status_round_trips_and_merges() {
        let a = BTreeMap::from([(200, 17), (404, 2)]);
        assert_eq!(encode_status(&a), "200:17,404:2");
        let mut m = a.clone();
        merge_status(&mut m, "404:1,500:3").unwrap();
        assert_eq!(m, BTreeMap::from([(200, 17), (404, 3), (500, 3)]));
        assert!(merge_status(&mut m, "20x:1").is_err());
    }

    #[test]
    fn an_empty_histogram_is_one_byte() {
        assert_eq!(encode_histogram(&new_histogram()), vec![FORMAT_V1]);
    }
}
