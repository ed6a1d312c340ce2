//! Query strings as the REST API receives them. One that is too long, that holds a value
//! which is not UTF-8 once percent-decoded, or that does not parse gets a JSON 400
//! naming the parameter (`query` when no single one is to blame).

use axum::{
    extract::{Query, rejection::QueryRejection},
    http::StatusCode,
    response::Response,
};
use sightline_app::history::ParamError;

use super::error_response;

/// The longest query string accepted, in bytes: room for every parameter at its longest.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The parameters in `raw` (the query string as sent), or the 400 to answer instead.
pub fn params<T>(
    raw: Option<&str>,
    query: Result<Query<T>, QueryRejection>,
) -> Result<T, Box<Response>> {
    if let Some(raw) = raw {
        if raw.len() > MAX_QUERY_BYTES {
            return Err(refuse(ParamError::new(
                "query",
                format!(
                    "the query string may be at most {MAX_QUERY_BYTES} bytes, got {}",
                    raw.len()
                ),
            )));
        }
        if let Some(key) = first_non_utf8(raw) {
            let param = if key.is_empty() {
                "query"
            } else {
                key.as_str()
            };
            return Err(refuse(ParamError::new(
                param,
                "not UTF-8 once percent-decoded; send text as UTF-8, percent-encoded",
            )));
        }
    }
    query.map(|Query(p)| p).map_err(|e| {
        let message = e.body_text();
        let param = named_field(&message).unwrap_or("query");
        refuse(ParamError::new(param, message.clone()))
    })
}

fn refuse(e: ParamError) -> Box<Response> {
    Box::new(error_response(
        StatusCode::BAD_REQUEST,
        e.to_string(),
        Some(e.param),
    ))
}

/// The first name between backquotes, as serde names fields (`duplicate field `from``).
fn named_field(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once('`')?;
    let (name, _) = rest.split_once('`')?;
    Some(name).filter(|n| !n.is_empty())
}

/// The key (lossily decoded) of the first pair whose key or value is not UTF-8.
fn first_non_utf8(raw: &str) -> Option<String> {
    raw.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key);
        let valid =
            std::str::from_utf8(&key).is_ok() && std::str::from_utf8(&decode(value)).is_ok();
        (!valid).then(|| String::from_utf8_lossy(&key).into_owned())
    })
}

/// Form decoding: `+` is a space and `%XX` the byte it names; a stray `%` stays as it is.
fn decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let Some(byte) = bytes.get(i + 1..i + 3).and_then(hex_byte) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let hi = char::from(pair[0]).to_digit(16)?;
    let lo = char::from(pair[1]).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_decode_to_bytes() {
        assert_eq!(decode("a+b%20c%2"), b"a b c%2");
        assert_eq!(decode("%e2%82%AC"), "€".as_bytes());
        assert_eq!(decode("%zz%"), b"%zz%");
    }

    #[test]
    fn the_first_non_utf8_pair_is_named() {
        assert_eq!(first_non_utf8("range=1h&search=%E2%82%AC"), None);
        assert_eq!(first_non_utf8("range=1h&search=%FF"), Some("search".into()));
        assert_eq!(first_non_utf8("from=1&%C3=2"), Some("\u{FFFD}".into()));
        assert_eq!(first_non_utf8("=%FF"), Some(String::new()));
        assert_eq!(first_non_utf8(""), None);
    }

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            named_field("Failed to deserialize query string: duplicate field `from`"),
            Some("from")
        );
        assert_eq!(named_field("no name here"), None);
        assert_eq!(named_field("empty ``"), None);
    }
}
