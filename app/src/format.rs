//! How numbers read on the dashboard: units chosen for the magnitude, fixed precision.

/// `1536` -> `1.5 KiB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Milliseconds with a precision that suits them: `0.42 ms`, `12.3 ms`, `1.25 s`.
pub fn millis(ms: f64) -> String {
    if ms >= 1_000.0 {
        format!("{:.2} s", ms / 1_000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A 0-100 share: `12.5%`, `100%`, `0.04%`.
pub fn percent(p: f64) -> String {
    if p == 0.0 || p >= 100.0 {
        format!("{p:.0}%")
    } else if p < 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// `1234567` -> `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate: `0`, `0.4`, `12.3`, `1,234`.
pub fn rate(r: f64) -> String {
    if r == 0.0 {
        "0".into()
    } else if r < 100.0 {
        format!("{r:.1}")
    } else {
        count(r.round() as u64)
    }
}

/// `3725` seconds -> `1h 2m 5s`.
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m {s}s"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// How often something happens: `every second`, `every 2 s`, `every 1.5 s`, `every 500 ms`.
pub fn every(ms: u64) -> String {
    match ms {
        1_000 => "every second".into(),
        ms if ms.is_multiple_of(1_000) => format!("every {} s", ms / 1_000),
        ms if ms > 1_000 => format!("every {:.1} s", ms as f64 / 1_000.0),
        ms => format!("every {ms} ms"),
    }
}

/// Year, month, day, hour, minute, second of `ms` since the epoch, shifted by
/// `offset_minutes` (local time = UTC + offset).
pub fn civil(ms: u64, offset_minutes: i32) -> (i64, u32, u32, u32, u32, u32) {
    let secs = (ms / 1_000) as i64 + i64::from(offset_minutes) * 60;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a proleptic Gregorian date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3_600) as u32,
        (rem / 60 % 60) as u32,
        (rem % 60) as u32,
    )
}

/// `14:05`.
pub fn clock(ms: u64, offset_minutes: i32) -> String {
    let (_, _, _, h, m, _) = civil(ms, offset_minutes);
    format!("{h:02}:{m:02}")
}

/// `11-22 14:05`: for axes spanning days.
pub fn day_clock(ms: u64, offset_minutes: i32) -> String {
    let (_, mo, d, h, m, _) = civil(ms, offset_minutes);
    format!("{mo:02}-{d:02} {h:02}:{m:02}")
}

/// `2026-11-22 14:05:09`.
pub fn date_time(ms: u64, offset_minutes: i32) -> String {
    let (y, mo, d, h, m, s) = civil(ms, offset_minutes);
    format!("{y}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}")
}

/// `2026-11-22T14:05`: the value of an `<input type="datetime-local">`.
pub fn datetime_local(ms: u64, offset_minutes: i32) -> String {
    let (y, mo, d, h, m, _) = civil(ms, offset_minutes);
    format!("{y}-{mo:02}-{d:02}T{h:02}:{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_naturally() {
        assert_eq!(every(1_000), "every second");
        assert_eq!(every(2_000), "every 2 s");
        assert_eq!(every(1_500), "every 1.5 s");
        assert_eq!(every(250), "every 250 ms");
    }

    #[test]
    fn civil_times() {
        // 2026-11-22 11:28:24 UTC
        let t = 1_795_346_904_000;
        assert_eq!(date_time(t, 0), "2026-11-22 11:28:24");
        assert_eq!(date_time(t, 60), "2026-11-22 12:28:24");
        assert_eq!(date_time(t, -12 * 60), "2026-11-21 23:28:24");
        assert_eq!(clock(t, 0), "11:28");
        assert_eq!(day_clock(t, 0), "11-22 11:28");
        assert_eq!(datetime_local(t, 0), "2026-11-22T11:28");
        assert_eq!(date_time(951_782_400_000, 0), "2000-02-29 00:00:00");
        assert_eq!(date_time(0, 0), "1970-01-01 00:00:00");
    }

    #[test]
    fn formats() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(millis(0.4219), "0.42 ms");
        assert_eq!(millis(12.34), "12.3 ms");
        assert_eq!(millis(1250.0), "1.25 s");
        // 100 % reads as 100 %, never "1.0%".
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(12.345), "12.3%");
        assert_eq!(percent(0.04), "0.04%");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(2.25), "2.2");
        assert_eq!(rate(1234.4), "1,234");
        assert_eq!(duration(3_725), "1h 2m 5s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(90_061), "1d 1h 1m");
    }
}
