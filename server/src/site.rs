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
        let (coding, body) = match (self.br, self.gzip) {
            (Some(br), _) if accepts(request, "br") => (Some("br"), br),
            (_, Some(gz)) if accepts(request, "gzip") => (Some("gzip"), gz),
            _ => (None, self.identity),
        };
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
}

/// Whether `Accept-Encoding` allows `coding` (listed, or `*`, with a non-zero weight).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let mut wildcard = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(coding) {
                return weight > 0.0;
            }
            if name == "*" {
                wildcard = weight > 0.0;
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

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

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
        let encoding = |h: &HeaderMap| {
            let r = asset.respond(h);
            let len = r.headers().get(header::CONTENT_LENGTH).cloned();
            (
                r.headers()
                    .get(header::CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap().to_owned()),
                len,
            )
        };
        let br = with(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd");
        assert_eq!(encoding(&br).0.as_deref(), Some("br"));
        let gz = with(header::ACCEPT_ENCODING, "gzip;q=0.8, br;q=0");
        assert_eq!(encoding(&gz).0.as_deref(), Some("gzip"));
        assert_eq!(encoding(&HeaderMap::new()).0, None);
        let any = with(header::ACCEPT_ENCODING, "*");
        assert_eq!(encoding(&any).0.as_deref(), Some("br"));
        let none = with(header::ACCEPT_ENCODING, "identity, *;q=0");
        assert_eq!(encoding(&none).0, None);
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
