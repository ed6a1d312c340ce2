//! What a proxy changes in headers: hop-by-hop fields removed both ways (RFC 9110 §7.6.1:
//! those `Connection` names, and the fixed ones), `X-Forwarded-*` set on the way in.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, header};

/// Hop-by-hop by definition, whether or not `Connection` names them (`Trailer` is not:
/// it declares the trailer fields end to end).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRANSFER_ENCODING,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// `Upgrade: websocket` when the message is an HTTP/1.1 WebSocket upgrade (`Connection:
/// upgrade` too). Other protocols are not passed through: a tunnel's traffic is not
/// recorded.
pub fn upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let asked = tokens(headers, header::CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade"));
    let websocket = tokens(headers, header::UPGRADE).any(|t| t.eq_ignore_ascii_case("websocket"));
    (asked && websocket).then(|| HeaderValue::from_static("websocket"))
}

/// Whether `TE` lists `trailers`.
pub fn asks_trailers(headers: &HeaderMap) -> bool {
    tokens(headers, header::TE).any(|t| t.eq_ignore_ascii_case("trailers"))
}

/// The comma-separated tokens of every `name` field.
fn tokens(headers: &HeaderMap, name: HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Removes every `Set-Cookie` for the cookie `name`.
pub fn drop_cookie(headers: &mut HeaderMap, name: &str) {
    let sets = |v: &HeaderValue| {
        v.as_bytes()
            .split(|b| *b == b'=')
            .next()
            .is_some_and(|n| n.trim_ascii() == name.as_bytes())
    };
    if !headers.get_all(header::SET_COOKIE).iter().any(sets) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !sets(v))
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for value in kept {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Removes the hop-by-hop fields, `Upgrade` too; `upgrade` puts a passed-through
/// upgrade back (`Connection: upgrade`, `Upgrade: protocol`).
pub fn remove_hop_by_hop(headers: &mut HeaderMap, upgrade: Option<HeaderValue>) {
    // Most messages have none: one pass over the names instead of a lookup for each.
    let any = headers
        .keys()
        .any(|name| name == header::UPGRADE || HOP_BY_HOP.contains(name));
    if !any && upgrade.is_none() {
        return;
    }
    // Fields the sender declared hop-by-hop for this connection.
    let named: Vec<HeaderName> = tokens(headers, header::CONNECTION)
        .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
}

/// What the proxy knows of the request's way in.
pub struct Hop<'a> {
    /// The peer's address.
    pub client: Option<IpAddr>,
    /// The peer connected over TLS.
    pub tls: bool,
    /// The client's `Host` (or HTTP/2 authority).
    pub host: Option<&'a HeaderValue>,
    /// The peer is a proxy trusted to have set `X-Forwarded-Proto` itself.
    pub trusted: bool,
}

/// `X-Forwarded-For` gets the peer's address appended; `-Proto` and `-Host` say what the
/// client asked for as this hop saw it (`-Proto` as a trusted proxy in front said, when it
/// did: the scheme is what it alone knows; the host it passes on in `Host`).
pub fn set_forwarded(headers: &mut HeaderMap, hop: Hop<'_>) {
    let Hop {
        client,
        tls,
        host,
        trusted,
    } = hop;
    if let Some(ip) = client {
        // Every earlier hop, from however many fields they came in.
        let earlier: Vec<&[u8]> = (headers.get_all(&X_FORWARDED_FOR).iter())
            .map(HeaderValue::as_bytes)
            .filter(|v| !v.trim_ascii().is_empty())
            .collect();
        let chain = if earlier.is_empty() {
            Some(address_value(ip))
        } else {
            let mut chain = earlier.join(&b", "[..]);
            chain.extend_from_slice(format!(", {ip}").as_bytes());
            HeaderValue::from_bytes(&chain).ok()
        };
        if let Some(chain) = chain {
            headers.insert(X_FORWARDED_FOR.clone(), chain);
        }
    }
    if !(trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
        let proto = if tls { "https" } else { "http" };
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    }
    match host {
        Some(host) => headers.insert(X_FORWARDED_HOST.clone(), host.clone()),
        None => headers.remove(&X_FORWARDED_HOST),
    };
}

/// The address as a header value; a connection's requests come from one address, so the
/// last one formatted on this thread is kept.
fn address_value(ip: IpAddr) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(IpAddr, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((seen, value)) if *seen == ip => value.clone(),
        _ => {
            let value = HeaderValue::from_str(&ip.to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
            *last = Some((ip, value.clone()));
            value
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn hop_by_hop_fields_go_and_end_to_end_ones_stay() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic eA=="),
            ("trailer", "x-checksum"),
            ("set-cookie", "a=1"),
        ]);
        assert!(asks_trailers(&h));
        h.append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
        remove_hop_by_hop(&mut h, None);
        let left: Vec<(&str, &str)> = h
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            left,
            [
                ("trailer", "x-checksum"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2")
            ]
        );
        let session = HeaderValue::from_static("sightline_session=x; Path=/sightline");
        h.append(header::SET_COOKIE, session);
        drop_cookie(&mut h, "sightline_session");
        let cookies: Vec<_> = h.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
    }

    #[test]
    fn an_upgrade_is_recognised_and_passed_on() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        let protocol = upgrade(&h);
        assert_eq!(protocol.as_ref().unwrap(), "websocket");
        remove_hop_by_hop(&mut h, protocol);
        assert_eq!(h[header::CONNECTION], "upgrade");
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(upgrade(&map(&[("upgrade", "websocket")])), None);
        let h2c = map(&[
            ("connection", "upgrade, http2-settings"),
            ("upgrade", "h2c"),
        ]);
        assert_eq!(upgrade(&h2c), None);
    }

    #[test]
    fn forwarded_headers_extend_the_chain() {
        let mut h = map(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-host", "spoofed"),
        ]);
        h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.2"));
        let hop = |client: [u8; 4], tls, host, trusted| Hop {
            client: Some(client.into()),
            tls,
            host,
            trusted,
        };
        set_forwarded(&mut h, hop([127, 0, 0, 1], false, None, false));
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 198.51.100.2, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert!(h.get("x-forwarded-host").is_none());
        let host = HeaderValue::from_static("shop.example");
        let mut h = HeaderMap::new();
        set_forwarded(&mut h, hop([10, 0, 0, 2], true, Some(&host), false));
        assert_eq!(h["x-forwarded-for"], "10.0.0.2");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "shop.example");
        // Behind a trusted proxy, the scheme it said stands; a host a client made up does
        // not (the front proxy passes the real one on in `Host`).
        let mut h = map(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "made-up.example"),
        ]);
        let front = HeaderValue::from_static("shop.example");
        set_forwarded(&mut h, hop([10, 0, 0, 1], false, Some(&front), true));
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "shop.example");
        set_forwarded(&mut h, hop([10, 0, 0, 1], false, Some(&front), false));
        assert_eq!(h["x-forwarded-proto"], "http");
    }
}
