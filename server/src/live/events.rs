//! Custom events: `POST {path}/api/events` (or `/api/send`) and `Sightline::broadcast`,
//! checked the same way before anything is sent.

use serde::Deserialize;

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;

/// Why an event was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("`event` must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' or '-', got {0:?}")]
    Name(String),
    #[error("`channel` must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' or '-', got {0:?}")]
    Channel(String),
    #[error("`data` could not be encoded as JSON: {0}")]
    Data(String),
    #[error("the body is over 64 KiB ({MAX_BODY} bytes)")]
    TooLarge,
    #[error("the body is not the expected JSON: {0}")]
    Body(String),
}

/// `[A-Za-z0-9_.-]{1,64}`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The body of `POST {path}/api/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    pub event: String,
    #[serde(default)]
    pub data: serde_json::Value,
    pub channel: Option<String>,
}

/// A checked event: its name, channel, and data as one line of JSON.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckedEvent {
    pub event: String,
    pub channel: Option<String>,
    pub data: String,
}

pub fn check(
    event: &str,
    channel: Option<&str>,
    data: &impl serde::Serialize,
) -> Result<CheckedEvent, EventError> {
    if !valid_name(event) {
        return Err(EventError::Name(event.chars().take(80).collect()));
    }
    if let Some(c) = channel.filter(|c| !valid_name(c)) {
        return Err(EventError::Channel(c.chars().take(80).collect()));
    }
    // Compact JSON never holds a raw line break: one `data:` line.
    let data = serde_json::to_string(data).map_err(|e| EventError::Data(e.to_string()))?;
    Ok(CheckedEvent {
        event: event.to_owned(),
        channel: channel.map(str::to_owned),
        data,
    })
}

/// Parses and checks a request body.
pub fn parse(body: &[u8]) -> Result<CheckedEvent, EventError> {
    if body.len() > MAX_BODY {
        return Err(EventError::TooLarge);
    }
    let request: EventRequest =
        serde_json::from_slice(body).map_err(|e| EventError::Body(e.to_string()))?;
    check(&request.event, request.channel.as_deref(), &request.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("deploy.v2-final_1"));
        for bad in ["", "a b", "x\ny", "é", &"a".repeat(65), "data:"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn bodies_parse_or_say_why() {
        let ok = parse(br#"{"event":"deploy","data":{"v":"1.2\n"},"channel":"ops"}"#).unwrap();
        assert_eq!(ok.data, r#"{"v":"1.2\n"}"#);
        assert!(!ok.data.contains('\n'));
        assert_eq!(ok.channel.as_deref(), Some("ops"));
        assert!(matches!(parse(b"{"), Err(EventError::Body(_))));
        assert!(matches!(
            parse(br#"{"event":"a b"}"#),
            Err(EventError::Name(_))
        ));
        assert!(matches!(
            parse(br#"{"event":"a","channel":""}"#),
            Err(EventError::Channel(_))
        ));
        assert!(matches!(
            parse(br#"{"event":"a","extra":1}"#),
            Err(EventError::Body(_))
        ));
        assert_eq!(parse(&vec![b' '; MAX_BODY + 1]), Err(EventError::TooLarge));
    }
}
