//! Time ranges: `range`, or `from`/`to`, plus `max_points`, resolved against the clock.

use serde::{Deserialize, Serialize};

use super::{
    DAY_MS, DEFAULT_MAX_POINTS, DEFAULT_RANGE, MAX_MAX_POINTS, MAX_SPAN_MS, MAX_TIME_MS, PRESETS,
    ParamError, non_empty, parse_bounded, parse_u64, text_param,
};

/// `range`, or `from`/`to`, plus `max_points`: as given in a URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RangeParams {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub max_points: Option<String>,
    /// One instance's history (its id); absent: every instance, merged.
    pub instance: Option<String>,
}

/// A resolved range: windows starting in `[from_ms, to_ms)` count.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub from_ms: u64,
    pub to_ms: u64,
    /// The preset it came from, if any.
    pub preset: Option<String>,
    pub max_points: u32,
    /// Only this instance's history; `None`: every instance, merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl TimeRange {
    pub fn span_ms(&self) -> u64 {
        self.to_ms.saturating_sub(self.from_ms)
    }

    /// Series step: the span over `max_points`, rounded up to whole 10 s windows.
    pub fn step_ms(&self) -> u64 {
        let raw = self.span_ms().div_ceil(u64::from(self.max_points.max(1)));
        raw.div_ceil(10_000).max(1).saturating_mul(10_000)
    }
}

impl RangeParams {
    pub fn preset(range: &str) -> Self {
        Self {
            range: Some(range.to_owned()),
            ..Self::default()
        }
    }

    pub fn resolve(&self, now_ms: u64) -> Result<TimeRange, ParamError> {
        let max_points = parse_bounded(
            "max_points",
            text_param("max_points", &self.max_points)?,
            DEFAULT_MAX_POINTS,
            MAX_MAX_POINTS,
        )?;
        let instance = text_param("instance", &self.instance)?.map(str::to_owned);
        let (from, to) = (text_param("from", &self.from)?, text_param("to", &self.to)?);
        if let Some(range) = text_param("range", &self.range)? {
            if from.is_some() || to.is_some() {
                return Err(ParamError::new(
                    "range",
                    "give either `range` or `from`/`to`, not both",
                ));
            }
            let span = PRESETS
                .iter()
                .find(|(name, _)| *name == range)
                .map(|(_, span)| *span)
                .ok_or_else(|| {
                    let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                    ParamError::new(
                        "range",
                        format!("unknown range {range:?}; use one of {}", names.join(", ")),
                    )
                })?;
            return Ok(TimeRange {
                from_ms: now_ms.saturating_sub(span),
                to_ms: now_ms,
                preset: Some(range.to_owned()),
                max_points,
                instance,
            });
        }
        let Some(from) = from else {
            if to.is_some() {
                return Err(ParamError::new("from", "`to` needs `from`"));
            }
            return RangeParams {
                max_points: self.max_points.clone(),
                instance: self.instance.clone(),
                ..Self::preset(DEFAULT_RANGE)
            }
            .resolve(now_ms);
        };
        let from_ms = parse_time("from", from)?;
        let to_ms = to
            .map(|t| parse_time("to", t))
            .transpose()?
            .unwrap_or(now_ms);
        if from_ms >= to_ms {
            return Err(ParamError::new(
                "from",
                format!("must be before `to` ({from_ms} >= {to_ms})"),
            ));
        }
        if to_ms - from_ms > MAX_SPAN_MS {
            return Err(ParamError::new(
                "from",
                format!("the range may span at most {} days", MAX_SPAN_MS / DAY_MS),
            ));
        }
        Ok(TimeRange {
            from_ms,
            to_ms,
            preset: None,
            max_points,
            instance,
        })
    }

    /// The query string (without `?`) that reproduces this range.
    pub fn to_query(&self) -> String {
        let mut pairs = Vec::new();
        for (key, value) in [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("max_points", &self.max_points),
            ("instance", &self.instance),
        ] {
            if let Some(v) = non_empty(value) {
                pairs.push(format!("{key}={}", encode_component(v)));
            }
        }
        pairs.join("&")
    }
}

/// A time in ms since the Unix epoch, no later than [`MAX_TIME_MS`].
fn parse_time(param: &str, raw: &str) -> Result<u64, ParamError> {
    let ms = parse_u64(param, raw)?;
    if ms > MAX_TIME_MS {
        return Err(ParamError::new(
            param,
            format!("at most {MAX_TIME_MS} (ms since 1970: the end of the year 9999), got {ms}"),
        ));
    }
    Ok(ms)
}

/// Percent-encodes everything but unreserved characters.
pub fn encode_component(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HOUR_MS, MINUTE_MS};

    const NOW: u64 = 1_800_000_000_000;

    fn params(pairs: &[(&str, &str)]) -> RangeParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        RangeParams {
            range: get("range"),
            from: get("from"),
            to: get("to"),
            max_points: get("max_points"),
            instance: get("instance"),
        }
    }

    #[test]
    fn presets_and_explicit_ranges_resolve() {
        let r = params(&[("range", "15m")]).resolve(NOW).unwrap();
        assert_eq!((r.from_ms, r.to_ms), (NOW - 15 * MINUTE_MS, NOW));
        let r = params(&[]).resolve(NOW).unwrap();
        assert_eq!(r.span_ms(), HOUR_MS);
        let r = params(&[("from", "1000"), ("to", "5000"), ("max_points", "7")])
            .resolve(NOW)
            .unwrap();
        assert_eq!((r.from_ms, r.to_ms, r.max_points), (1000, 5000, 7));
        let since = (NOW - 1000).to_string();
        assert_eq!(params(&[("from", &since)]).resolve(NOW).unwrap().to_ms, NOW);
        assert_eq!(
            params(&[("from", "1000")]).resolve(NOW).unwrap_err().param,
            "from"
        );
    }

    #[test]
    fn bad_ranges_name_their_parameter() {
        for (pairs, param) in [
            (vec![("range", "2w")], "range"),
            (vec![("range", "1h"), ("from", "1")], "range"),
            (vec![("from", "x")], "from"),
            (vec![("from", "10"), ("to", "y")], "to"),
            (vec![("from", "10"), ("to", "5")], "from"),
            (vec![("to", "5")], "from"),
            (vec![("max_points", "0")], "max_points"),
            (vec![("max_points", "100000")], "max_points"),
        ] {
            let err = params(&pairs).resolve(NOW).unwrap_err();
            assert_eq!(err.param, param, "{pairs:?}: {err}");
        }
    }

    #[test]
    fn edge_values_name_their_parameter() {
        let max = u64::MAX.to_string();
        let near_max = (u64::MAX - 1).to_string();
        let past_max = "18446744073709551616";
        let beyond = (MAX_TIME_MS + 1).to_string();
        let long = "9".repeat(300);
        for (pairs, param) in [
            (vec![("from", near_max.as_str())], "from"),
            (
                vec![("from", near_max.as_str()), ("to", max.as_str())],
                "from",
            ),
            (vec![("from", "1"), ("to", max.as_str())], "to"),
            (vec![("from", "1"), ("to", past_max)], "to"),
            (vec![("from", beyond.as_str())], "from"),
            (vec![("from", "-1"), ("to", "5")], "from"),
            (vec![("from", "5"), ("to", "-1")], "to"),
            (vec![("from", "5000"), ("to", "1000")], "from"),
            (vec![("from", "5000"), ("to", "5000")], "from"),
            (vec![("from", "0"), ("to", max.as_str())], "to"),
            (vec![("max_points", "2001")], "max_points"),
            (vec![("max_points", max.as_str())], "max_points"),
            (vec![("max_points", "-1")], "max_points"),
            (vec![("range", long.as_str())], "range"),
            (vec![("from", long.as_str())], "from"),
            (vec![("instance", long.as_str())], "instance"),
        ] {
            let err = params(&pairs).resolve(NOW).unwrap_err();
            assert_eq!(err.param, param, "{pairs:?}: {err}");
        }
        let r = params(&[("from", "0"), ("to", &MAX_SPAN_MS.to_string())])
            .resolve(NOW)
            .unwrap();
        assert_eq!(r.span_ms(), MAX_SPAN_MS);
        assert!(r.step_ms() >= 10_000);
        let late = (MAX_TIME_MS - 1).to_string();
        let r = params(&[("from", &late), ("to", &MAX_TIME_MS.to_string())])
            .resolve(NOW)
            .unwrap();
        assert_eq!((r.span_ms(), r.step_ms()), (1, 10_000));
        let r = params(&[("range", "1h")]).resolve(0).unwrap();
        assert_eq!((r.from_ms, r.to_ms), (0, 0));
        let reversed = TimeRange {
            from_ms: 10,
            to_ms: 5,
            ..TimeRange::default()
        };
        assert_eq!((reversed.span_ms(), reversed.step_ms()), (0, 10_000));
    }

    #[test]
    fn step_is_whole_windows() {
        let r = params(&[("range", "1h"), ("max_points", "60")])
            .resolve(NOW)
            .unwrap();
        assert_eq!(r.step_ms(), 60_000);
        let r = params(&[("range", "5m"), ("max_points", "1000")])
            .resolve(NOW)
            .unwrap();
        assert_eq!(r.step_ms(), 10_000);
    }

    #[test]
    fn query_strings_round_trip() {
        let p = params(&[("from", "1"), ("to", "2")]);
        assert_eq!(p.to_query(), "from=1&to=2");
        let p = params(&[("range", "1h"), ("instance", "web 1")]);
        assert_eq!(p.to_query(), "range=1h&instance=web%201");
        assert_eq!(p.resolve(NOW).unwrap().instance.as_deref(), Some("web 1"));
        assert_eq!(
            params(&[("instance", " ")]).resolve(NOW).unwrap().instance,
            None
        );
        assert_eq!(encode_component("/a b?"), "%2Fa%20b%3F");
    }
}
