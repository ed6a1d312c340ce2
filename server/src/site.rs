//! The compiled dashboard (WASM, JS, CSS, icon), embedded in the library at build time, so
//! an app that depends on `sightline` alone serves a complete dashboard.
//!
//! Each file is embedded with its brotli and gzip copies; a request gets the smallest one
//! its `Accept-Encoding` allows. `Config::site_root` replaces all of this with a directory
//! (what `cargo leptos watch` rebuilds) for development.

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// Relative to the site root: `pkg/sightline.wasm`, `favicon.svg`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// A digest of the uncompressed bytes, for `ETag`.
    pub tag: &'static str,
    pub identity: &'static [u8],
    pub br: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/site.rs"));

/// The embedded file at `path` (relative to the site root).
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    FILES
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .map(|i| &FILES[i])
}

/// `GET {base}/pkg/{*file}`.
pub(crate) async fn pkg(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match find(&format!("pkg/{file}")) {
        Some(asset) => asset.respond(&headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET {base}/favicon.svg`.
pub(crate) async fn favicon(headers: HeaderMap) -> Response {
    match find("favicon.svg") {
        Some(asset) => asset.respond(&headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl Asset {
    fn respond(&self, request: &HeaderMap) -> Response {
        let (coding, body) = self.pick(request);
        // One tag per representation: a cache must not answer a gzip request with brotli.
        let etag = format!("\"{}{}\"", self.tag, coding.map_or("", |c| &c[..1]));
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        // The names do not change between releases: revalidate (a 304) on every load.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex digits and quotes"),
        );
        if not_modified(request, &etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Some(coding) = coding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        (headers, body).into_response()
    }

    /// The copy to send: the client's most preferred encoding among those embedded
    /// (brotli on a tie, being smaller), else the plain bytes.
    fn pick(&self, request: &HeaderMap) -> (Option<&'static str>, &'static [u8]) {
        let mut best = (None, self.identity, 0.0_f32);
        for (coding, bytes) in [("br", self.br), ("gzip", self.gzip)] {
            let Some(bytes) = bytes else { continue };
            let weight = weight(request, coding);
            if weight > best.2 {
                best = (Some(coding), bytes, weight);
            }
        }
        (best.0, best.1)
    }
}

/// The weight `Accept-Encoding` gives `coding` (its own entry, else `*`, else 0).
fn weight(headers: &HeaderMap, coding: &str) -> f32 {
    let mut wildcard = 0.0;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let weight = parts
                .filter_map(|p| {
                    let (key, value) = p.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("q").then_some(value)
                })
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            if name.eq_ignore_ascii_case(coding) {
                return weight;
            }
            if name == "*" {
                wildcard = weight;
            }
        }
    }
    wildcard
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_embedded_with_compressed_copies() {
        for name in [
            "pkg/sightline.js",
            "pkg/sightline.wasm",
            "pkg/sightline.css",
        ] {
            let asset = find(name).unwrap_or_else(|| panic!("{name} is not embedded"));
            assert!(!asset.identity.is_empty());
            let br = asset.br.expect("a brotli copy");
            let gz = asset.gzip.expect("a gzip copy");
            assert!(br.len() < asset.identity.len() && gz.len() < asset.identity.len());
        }
        assert!(find("favicon.svg").is_some());
        assert!(find("pkg/nothing.js").is_none());
    }

    #[test]
    fn encoding_follows_accept_encoding() {
        let asset = find("pkg/sightline.wasm").unwrap();
        let sent = |accept: Option<&'static str>| {
            let mut h = HeaderMap::new();
            if let Some(accept) = accept {
                h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(accept));
            }
            let r = asset.respond(&h);
            let coding = r
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap().to_owned());
            // The bytes the body will carry (hyper writes them as Content-Length).
            let length = http_body::Body::size_hint(r.body()).exact().unwrap() as usize;
            (coding, length)
        };
        let br = asset.br.unwrap().len();
        let gz = asset.gzip.unwrap().len();
        let plain = asset.identity.len();
        assert_eq!(
            sent(Some("gzip, deflate, br, zstd")),
            (Some("br".into()), br)
        );
        assert_eq!(sent(Some("gzip;q=0.8, br;q=0")), (Some("gzip".into()), gz));
        assert_eq!(
            sent(Some("br;q=0.5, gzip;Q=0.9")),
            (Some("gzip".into()), gz)
        );
        assert_eq!(sent(Some("GZIP")), (Some("gzip".into()), gz));
        assert_eq!(sent(None), (None, plain));
        assert_eq!(sent(Some("*")), (Some("br".into()), br));
        assert_eq!(sent(Some("gzip;q=0, *")), (Some("br".into()), br));
        assert_eq!(sent(Some("identity, *;q=0")), (None, plain));
        assert_eq!(sent(Some("br;q=nonsense")), (Some("br".into()), br));
    }

    #[test]
    fn a_matching_etag_is_not_modified() {
        let asset = find("pkg/sightline.css").unwrap();
        let first = asset.respond(&HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag.clone());
        assert_eq!(asset.respond(&again).status(), StatusCode::NOT_MODIFIED);
        // A brotli response has another tag: the identity tag does not validate it.
        again.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        let br = asset.respond(&again);
        assert_eq!(br.status(), StatusCode::OK);
        assert_ne!(br.headers()[header::ETAG], etag);
    }
}
