//! Server-Sent Events framing. Whatever an event name or its data holds, a frame stays one
//! event: data is split on every line ending (`\r\n`, `\r`, `\n`) into `data:` lines, and an
//! event name keeps only characters that cannot start a new field or event.

use bytes::{BufMut, Bytes, BytesMut};

/// A comment line that keeps idle connections (and proxies) from timing out.
pub const HEARTBEAT: &[u8] = b":\n\n";

/// The heartbeat as the dashboard gets it (`?envelope=1`): an event, so that the page can
/// tell a quiet stream from one that stopped delivering.
pub const HEARTBEAT_EVENT: &[u8] = b"event: heartbeat\ndata:\n\n";

/// Encodes one event; `id` and `event` are optional as in the SSE format.
pub fn event(id: Option<u64>, name: Option<&str>, data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 48);
    if let Some(id) = id {
        out.put_slice(b"id: ");
        out.put_slice(id.to_string().as_bytes());
        out.put_u8(b'\n');
    }
    if let Some(name) = name {
        out.put_slice(b"event: ");
        for c in name.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')) {
            let mut buf = [0; 4];
            out.put_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.put_u8(b'\n');
    }
    for line in lines(data) {
        out.put_slice(b"data: ");
        out.put_slice(line.as_bytes());
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
    out.freeze()
}

/// The `retry:` field: how long the browser waits before reconnecting.
pub fn retry(millis: u64) -> Bytes {
    Bytes::from(format!("retry: {millis}\n\n"))
}

/// Splits on `\r\n`, `\r` and `\n`, as an SSE parser does; always at least one line.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal SSE parser following the WHATWG rules, to check frames from the outside.
    pub(crate) fn parse(stream: &str) -> Vec<(Option<String>, Option<String>, String)> {
        let mut events = Vec::new();
        let (mut id, mut name, mut data, mut has_data) = (None, None, String::new(), false);
        // Its own line splitting, independent of the encoder's.
        let normalised = stream.replace("\r\n", "\n").replace('\r', "\n");
        for line in normalised.split('\n') {
            if line.is_empty() {
                if has_data {
                    events.push((id.take(), name.take(), std::mem::take(&mut data)));
                }
                has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.to_owned()),
                "event" => name = Some(value.to_owned()),
                "data" => {
                    if has_data {
                        data.push('\n');
                    }
                    data.push_str(value);
                    has_data = true;
                }
                _ => {}
            }
        }
        events
    }

    #[test]
    fn a_simple_event() {
        let f = event(Some(7), Some("snapshot"), "{\"a\":1}");
        assert_eq!(&f[..], b"id: 7\nevent: snapshot\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn multi_line_data_round_trips() {
        let data = "one\ntwo\r\nthree\rfour";
        let f = event(Some(1), Some("x"), data);
        let parsed = parse(std::str::from_utf8(&f).unwrap());
        assert_eq!(
            parsed,
            vec![(
                Some("1".into()),
                Some("x".into()),
                "one\ntwo\nthree\nfour".into()
            )]
        );
    }

    #[test]
    fn names_and_data_cannot_inject_fields_or_events() {
        let f = event(
            Some(3),
            Some("evil\nid: 99\n\nevent: other"),
            "x\n\nid: 100\nevent: pwned\ndata: y",
        );
        let text = std::str::from_utf8(&f).unwrap();
        let parsed = parse(text);
        assert_eq!(parsed.len(), 1, "{text}");
        let (id, name, data) = &parsed[0];
        assert_eq!(id.as_deref(), Some("3"));
        assert_eq!(name.as_deref(), Some("evilid: 99event: other"));
        assert_eq!(data, "x\n\nid: 100\nevent: pwned\ndata: y");
    }

    proptest::proptest! {
        /// Whatever the name and data hold (line breaks of every kind, NUL, any Unicode),
        /// a frame parses back as exactly one event with the same id and data, and a name
        /// that lost only its line-breaking characters.
        #[test]
        fn any_name_and_data_stay_one_event(
            id in proptest::option::of(0u64..u64::MAX),
            name in proptest::option::of("[a-z\r\n\0:. ]{0,12}"),
            data in "(\\PC|\r|\n|\r\n|\0|:|data: |id: |event: ){0,40}",
        ) {
            let frame = event(id, name.as_deref(), &data);
            let text = std::str::from_utf8(&frame).unwrap();
            let parsed = parse(text);
            proptest::prop_assert_eq!(parsed.len(), 1, "{:?}", text);
            let (got_id, got_name, got_data) = &parsed[0];
            proptest::prop_assert_eq!(got_id.clone(), id.map(|i| i.to_string()));
            let clean_name = name.map(|n| n.replace(['\r', '\n', '\0'], ""));
            proptest::prop_assert_eq!(got_name.clone(), clean_name);
            let normalised = data.replace("\r\n", "\n").replace('\r', "\n");
            proptest::prop_assert_eq!(got_data, &normalised);
        }
    }

    proptest::proptest! {
        /// Bytes that are not UTF-8 (as an app might hand over) go through lossy decoding;
        /// the frame still parses as one event and no line of it starts a field that the
        /// encoder did not write.
        #[test]
        fn non_utf8_input_stays_one_event(
            name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let name = String::from_utf8_lossy(&name);
            let data = String::from_utf8_lossy(&data);
            let frame = event(Some(9), Some(&name), &data);
            let text = std::str::from_utf8(&frame).unwrap();
            proptest::prop_assert_eq!(parse(text).len(), 1, "{:?}", text);
            proptest::prop_assert!(text.ends_with("\n\n"));
            let body = &text[..text.len() - 2];
            proptest::prop_assert!(!body.contains("\n\n") && !body.contains('\r'));
            for line in body.split('\n') {
                proptest::prop_assert!(
                    line.starts_with("id: ") || line.starts_with("event: ") || line.starts_with("data: "),
                    "{:?}", line
                );
            }
        }
    }

    #[test]
    fn empty_data_is_still_one_event() {
        let parsed = parse(std::str::from_utf8(&event(None, None, "")).unwrap());
        assert_eq!(parsed, vec![(None, None, String::new())]);
        assert_eq!(&retry(5000)[..], b"retry: 5000\n\n");
    }
}
