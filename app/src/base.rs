//! The path the dashboard is mounted under (`/sightline` by default).
//!
//! The server knows it from its configuration and provides it as context; the browser reads
//! it back from a `<meta>` tag the server rendered, so islands build the same links and
//! API addresses the server does.

use std::sync::Arc;

/// Name of the `<meta>` tag that carries the base path to the browser.
pub const META_NAME: &str = "sightline-base";

/// The dashboard's base path: starts with `/`, never ends with one (e.g. `/sightline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasePath(Arc<str>);

/// Why a configured base path was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidBasePath(pub String);

impl std::fmt::Display for InvalidBasePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidBasePath {}

impl BasePath {
    /// Validates and normalises a configured path: `sightline/` becomes `/sightline`.
    pub fn parse(raw: &str) -> Result<Self, InvalidBasePath> {
        let trimmed = raw.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Err(InvalidBasePath(format!(
                "the dashboard path {raw:?} is empty: choose a path such as /sightline"
            )));
        }
        let valid = trimmed.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        });
        if !valid {
            return Err(InvalidBasePath(format!(
                "the dashboard path {raw:?} may only hold segments of letters, digits, '-', '_', '.' and '~', such as /ops/sightline"
            )));
        }
        Ok(Self(format!("/{trimmed}").into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `base.join("/api/sse")` is `/sightline/api/sse`.
    pub fn join(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.0)
    }

    /// The base path for the code running now: from context on the server, from the
    /// rendered `<meta>` tag in the browser.
    pub fn current() -> Self {
        if let Some(base) = leptos::prelude::use_context::<Self>() {
            return base;
        }
        Self::from_document().unwrap_or_default()
    }

    fn from_document() -> Option<Self> {
        Self::parse(&crate::hydration::page_meta(META_NAME)?).ok()
    }
}

impl Default for BasePath {
    fn default() -> Self {
        Self("/sightline".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_slashes() {
        assert_eq!(
            BasePath::parse("sightline/").unwrap().as_str(),
            "/sightline"
        );
        assert_eq!(
            BasePath::parse("/ops/metrics").unwrap().as_str(),
            "/ops/metrics"
        );
        assert_eq!(BasePath::parse("/a/").unwrap().join("/pkg"), "/a/pkg");
    }

    #[test]
    fn refuses_root_and_odd_segments() {
        for raw in ["", "/", "//", "/a//b", "/../etc", "/a b", "/a?x", "/%2e"] {
            let err = BasePath::parse(raw).unwrap_err();
            assert!(err.0.contains("path"), "{raw}: {err}");
        }
    }
}
