//! The settings users change, how a change is checked, and what `GET settings` answers.

use serde::{Deserialize, Serialize};

use super::{MAX_PARAM_BYTES, ParamError, parse_u64};

pub const MIN_RETENTION_DAYS: u32 = 1;
pub const MAX_RETENTION_DAYS: u32 = 365;
pub const MIN_SLOW_THRESHOLD_MS: u64 = 1;
pub const MAX_SLOW_THRESHOLD_MS: u64 = 3_600_000;

/// The settings users change from the Settings page or `POST {path}/api/settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub retention_days: u32,
    pub slow_threshold_ms: u64,
}

/// A settings change as submitted: any field may be left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsUpdate {
    pub retention_days: Option<serde_json::Value>,
    pub slow_threshold_ms: Option<serde_json::Value>,
}

fn whole_number(param: &str, value: &serde_json::Value) -> Result<u64, ParamError> {
    match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| ParamError::new(param, format!("expected a whole number, got {n}"))),
        serde_json::Value::String(s) if s.len() > MAX_PARAM_BYTES => Err(ParamError::new(
            param,
            format!("expected a whole number, got {} bytes of text", s.len()),
        )),
        serde_json::Value::String(s) => parse_u64(param, s),
        serde_json::Value::Array(_) => Err(ParamError::new(
            param,
            "expected a whole number, got a list",
        )),
        serde_json::Value::Object(_) => Err(ParamError::new(
            param,
            "expected a whole number, got an object",
        )),
        other => Err(ParamError::new(
            param,
            format!("expected a whole number, got {other}"),
        )),
    }
}

impl SettingsUpdate {
    pub fn apply(&self, current: &Settings) -> Result<Settings, ParamError> {
        let mut next = current.clone();
        if let Some(v) = &self.retention_days {
            let days = whole_number("retention_days", v)?;
            if !(u64::from(MIN_RETENTION_DAYS)..=u64::from(MAX_RETENTION_DAYS)).contains(&days) {
                return Err(ParamError::new(
                    "retention_days",
                    format!(
                        "must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days, got {days}"
                    ),
                ));
            }
            next.retention_days = days as u32;
        }
        if let Some(v) = &self.slow_threshold_ms {
            let ms = whole_number("slow_threshold_ms", v)?;
            if !(MIN_SLOW_THRESHOLD_MS..=MAX_SLOW_THRESHOLD_MS).contains(&ms) {
                return Err(ParamError::new(
                    "slow_threshold_ms",
                    format!(
                        "must be between {MIN_SLOW_THRESHOLD_MS} and {MAX_SLOW_THRESHOLD_MS} ms, got {ms}"
                    ),
                ));
            }
            next.slow_threshold_ms = ms;
        }
        Ok(next)
    }
}

/// `GET {path}/api/settings`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsInfo {
    pub retention_days: u32,
    pub slow_threshold_ms: u64,
    pub version: String,
    /// `sqlite` or `postgresql`.
    #[serde(default)]
    pub database: String,
    /// The SQLite file, or the PostgreSQL server and database (never the password).
    pub database_path: String,
    pub database_bytes: u64,
    pub oldest_ms: Option<u64>,
    /// Every instance with stored history: its first and last windows.
    #[serde(default)]
    pub instances: Vec<super::StoredInstance>,
    /// Whether history is being written: errors, losses, records not kept.
    pub store: crate::snapshot::StoreHealth,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_updates_are_validated() {
        let current = Settings {
            retention_days: 30,
            slow_threshold_ms: 500,
        };
        let update = SettingsUpdate {
            retention_days: Some(serde_json::json!(7)),
            slow_threshold_ms: Some(serde_json::json!("250")),
        };
        assert_eq!(
            update.apply(&current).unwrap(),
            Settings {
                retention_days: 7,
                slow_threshold_ms: 250
            }
        );
        for (update, param) in [
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!(0)),
                    ..Default::default()
                },
                "retention_days",
            ),
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!(1.5)),
                    ..Default::default()
                },
                "retention_days",
            ),
            (
                SettingsUpdate {
                    slow_threshold_ms: Some(serde_json::json!(-3)),
                    ..Default::default()
                },
                "slow_threshold_ms",
            ),
            (
                SettingsUpdate {
                    slow_threshold_ms: Some(serde_json::json!(MAX_SLOW_THRESHOLD_MS + 1)),
                    ..Default::default()
                },
                "slow_threshold_ms",
            ),
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!(u64::MAX)),
                    ..Default::default()
                },
                "retention_days",
            ),
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!("9".repeat(10_000))),
                    ..Default::default()
                },
                "retention_days",
            ),
            (
                SettingsUpdate {
                    retention_days: Some(serde_json::json!({ "days": 3 })),
                    ..Default::default()
                },
                "retention_days",
            ),
        ] {
            assert_eq!(update.apply(&current).unwrap_err().param, param);
        }
    }
}
