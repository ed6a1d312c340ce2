//! Route templates for requests no router matched (the reverse proxy's): from a list of
//! patterns (`GET /users/{id}`, `/files/{*path}`, Express-style `/users/:id`), or, without
//! one, guessed from the path by replacing the segments that look like identifiers.
//!
//! Patterns: the one whose segments are most specific wins (a literal segment beats a
//! parameter with a fixed prefix or suffix, which beats a bare parameter, which beats a
//! catch-all), then the one naming the request's method. A path no pattern matches is
//! `(unmatched)`.
//!
//! Guesses: numbers, UUIDs and hex strings of 16 or more digits become `{id}`; every other
//! segment is kept as it is.

use std::borrow::Cow;

use super::recorder::{METHODS, method_index};

/// A path guessed into a template longer than this is counted as `(unmatched)`.
const MAX_GUESSED_LEN: usize = 256;
const GET: u8 = 0;
const HEAD: u8 = 5;

/// Where a request without a matched route is counted.
#[derive(Debug, PartialEq, Eq)]
pub enum Template<'a> {
    /// A pattern's template.
    Known(&'a str),
    /// A template read off the path: a route only once it answers below 400.
    Guessed(Cow<'a, str>),
    Unmatched,
}

/// Patterns, or (when there are none) guesses.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    patterns: Vec<Pattern>,
}

impl Templates {
    /// Guesses from the path.
    pub fn automatic() -> Self {
        Self::default()
    }

    /// These patterns, or guesses when the list is empty.
    pub fn new(patterns: Vec<Pattern>) -> Self {
        Self { patterns }
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    pub fn resolve<'a>(&'a self, method: u8, path: &'a str) -> Template<'a> {
        if self.patterns.is_empty() {
            let guessed = guess(path);
            if guessed.len() > MAX_GUESSED_LEN {
                return Template::Unmatched;
            }
            return Template::Guessed(guessed);
        }
        // Every matching pattern ranks each segment of the path, so the ranks compare
        // position by position; then naming the method beats not naming it, which beats
        // a GET pattern answering a HEAD request.
        let mut best: Option<(&Pattern, Vec<u8>, u8)> = None;
        for pattern in &self.patterns {
            let by_method = match pattern.method {
                None => 1,
                Some(m) if m == method => 2,
                Some(m) if m == GET && method == HEAD => 0,
                Some(_) => continue,
            };
            let Some(rank) = pattern.rank(path) else {
                continue;
            };
            let better = best
                .as_ref()
                .is_none_or(|(_, top, top_method)| (&rank, by_method) > (top, *top_method));
            if better {
                best = Some((pattern, rank, by_method));
            }
        }
        best.map_or(Template::Unmatched, |(p, ..)| Template::Known(&p.template))
    }
}

/// `[METHOD] /path/{param}/...`, as written in a routes file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// `None`: any method.
    pub method: Option<u8>,
    segments: Box<[Segment]>,
    /// The path with every parameter as `{name}`: what the dashboard shows.
    pub template: Box<str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(Box<str>),
    /// `prefix{name}suffix`; both empty for a bare parameter.
    Param {
        prefix: Box<str>,
        suffix: Box<str>,
    },
    /// `{*name}` (or `*`), last: the rest of the path, possibly empty.
    Rest,
}

impl Pattern {
    /// Parses `GET /users/{id}`, `/users/:id` or `/assets/{*path}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (method, path) = match text.split_once(char::is_whitespace) {
            Some((method, path)) => (Some(method), path.trim()),
            None => (None, text),
        };
        let method = match method {
            None => None,
            Some(m) => {
                let upper = m.to_ascii_uppercase();
                let index = http::Method::from_bytes(upper.as_bytes())
                    .map(|m| method_index(&m))
                    .map_err(|_| format!("`{m}` is not an HTTP method"))?;
                if METHODS[index as usize] != upper {
                    return Err(format!(
                        "`{m}` is not an HTTP method (one of {})",
                        METHODS[..7].join(", ")
                    ));
                }
                Some(index)
            }
        };
        if !path.starts_with('/') {
            return Err(format!("`{path}` does not start with `/`"));
        }
        let mut segments = Vec::new();
        let mut shown = Vec::new();
        let parts: Vec<&str> = path[1..].split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let (segment, text) = parse_segment(part, last)
                .map_err(|e| format!("`{path}`, segment `{part}`: {e}"))?;
            segments.push(segment);
            shown.push(text);
        }
        Ok(Self {
            method,
            segments: segments.into(),
            template: format!("/{}", shown.join("/")).into(),
        })
    }

    /// How specifically this pattern matches `path`: a rank for each of the path's
    /// segments (higher is more specific), or `None`.
    fn rank(&self, path: &str) -> Option<Vec<u8>> {
        let mut rank = Vec::with_capacity(self.segments.len());
        let mut parts = path.strip_prefix('/')?.split('/');
        for segment in &self.segments {
            match segment {
                Segment::Rest => {
                    // At least one segment, possibly empty (`/assets/`), like axum.
                    parts.next()?;
                    rank.extend(std::iter::repeat_n(0, 1 + parts.count()));
                    return Some(rank);
                }
                Segment::Literal(literal) => {
                    (parts.next()? == &**literal).then_some(())?;
                    rank.push(3);
                }
                Segment::Param { prefix, suffix } => {
                    let part = parts.next()?;
                    let fits = part.len() > prefix.len() + suffix.len()
                        && part.starts_with(&**prefix)
                        && part.ends_with(&**suffix);
                    fits.then_some(())?;
                    rank.push(if prefix.is_empty() && suffix.is_empty() {
                        1
                    } else {
                        2
                    });
                }
            }
        }
        parts.next().is_none().then_some(rank)
    }
}

fn parse_segment(part: &str, last: bool) -> Result<(Segment, String), String> {
    if part == "*" || (part.starts_with("{*") && part.ends_with('}')) {
        if !last {
            return Err("a catch-all must be the last segment".into());
        }
        let name = part.trim_start_matches("{*").trim_end_matches('}');
        let name = if name.is_empty() || name == "*" {
            "rest"
        } else {
            name
        };
        return Ok((Segment::Rest, format!("{{*{name}}}")));
    }
    if let Some(name) = part.strip_prefix(':') {
        check_name(name)?;
        return Ok((param("", ""), format!("{{{name}}}")));
    }
    match (part.find('{'), part.rfind('}')) {
        (None, None) => Ok((Segment::Literal(part.into()), part.to_owned())),
        (Some(open), Some(close)) if open < close => {
            let name = &part[open + 1..close];
            let (prefix, suffix) = (&part[..open], &part[close + 1..]);
            if [prefix, name, suffix]
                .iter()
                .any(|s| s.contains(['{', '}']))
            {
                return Err("one parameter per segment".into());
            }
            check_name(name)?;
            Ok((param(prefix, suffix), part.to_owned()))
        }
        _ => Err("unbalanced `{` `}`".into()),
    }
}

fn param(prefix: &str, suffix: &str) -> Segment {
    Segment::Param {
        prefix: prefix.into(),
        suffix: suffix.into(),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.".contains(c))
    {
        return Err(format!("`{name}` is not a parameter name"));
    }
    Ok(())
}

/// The path with every identifier-like segment replaced by `{id}`; borrowed when none is.
pub fn guess(path: &str) -> Cow<'_, str> {
    if !path.split('/').any(is_identifier) {
        return Cow::Borrowed(path);
    }
    let replaced: Vec<&str> = path
        .split('/')
        .map(|s| if is_identifier(s) { "{id}" } else { s })
        .collect();
    Cow::Owned(replaced.join("/"))
}

/// A number, a UUID, or 16 or more hex digits.
fn is_identifier(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if bytes.len() >= 16 && bytes.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(lines: &[&str]) -> Templates {
        Templates::new(lines.iter().map(|l| Pattern::parse(l).unwrap()).collect())
    }

    #[test]
    fn guesses_replace_numbers_uuids_and_long_hex_only() {
        assert_eq!(guess("/users/42/orders"), "/users/{id}/orders");
        assert_eq!(
            guess("/o/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x/507f1f77bcf86cd799439011"),
            "/o/{id}/x/{id}"
        );
        assert!(matches!(
            guess("/static/app.js"),
            Cow::Borrowed("/static/app.js")
        ));
        assert_eq!(guess("/v2/cafe/deadbeef"), "/v2/cafe/deadbeef");
        assert_eq!(guess("/"), "/");
        assert_eq!(guess("/a//7/"), "/a//{id}/");
    }

    #[test]
    fn the_most_specific_pattern_wins_then_the_one_naming_the_method() {
        let t = templates(&[
            "/users/{id}",
            "GET /users/me",
            "/users/:id/orders/{order}",
            "POST /users/{id}",
            "/files/{name}.json",
            "/files/{name}",
            "/assets/{*path}",
        ]);
        let get = method_index(&http::Method::GET);
        let post = method_index(&http::Method::POST);
        let delete = method_index(&http::Method::DELETE);
        assert_eq!(t.resolve(get, "/users/me"), Template::Known("/users/me"));
        assert_eq!(
            t.resolve(delete, "/users/me"),
            Template::Known("/users/{id}")
        );
        assert_eq!(t.resolve(post, "/users/me"), Template::Known("/users/{id}"));
        assert_eq!(
            t.resolve(get, "/users/7/orders/9"),
            Template::Known("/users/{id}/orders/{order}")
        );
        assert_eq!(
            t.resolve(get, "/files/a.json"),
            Template::Known("/files/{name}.json")
        );
        assert_eq!(
            t.resolve(get, "/files/a.txt"),
            Template::Known("/files/{name}")
        );
        assert_eq!(
            t.resolve(get, "/assets/js/app.js"),
            Template::Known("/assets/{*path}")
        );
        assert_eq!(
            t.resolve(get, "/assets/"),
            Template::Known("/assets/{*path}")
        );
        assert_eq!(t.resolve(get, "/assets"), Template::Unmatched);
        assert_eq!(t.resolve(get, "/users/7/orders"), Template::Unmatched);
        assert_eq!(t.resolve(get, "/users"), Template::Unmatched);
        assert_eq!(t.resolve(get, "/users/"), Template::Unmatched);
    }

    #[test]
    fn an_exact_end_beats_a_catch_all_and_get_answers_head() {
        let t = templates(&[
            "/users/{id}/{*rest}",
            "GET /users/{id}",
            "/assets/{*file}",
            "/assets",
        ]);
        let head = method_index(&http::Method::HEAD);
        let get = method_index(&http::Method::GET);
        let post = method_index(&http::Method::POST);
        assert_eq!(t.resolve(get, "/users/7"), Template::Known("/users/{id}"));
        assert_eq!(t.resolve(head, "/users/7"), Template::Known("/users/{id}"));
        assert_eq!(t.resolve(post, "/users/7"), Template::Unmatched);
        assert_eq!(
            t.resolve(get, "/users/7/a/b"),
            Template::Known("/users/{id}/{*rest}")
        );
        assert_eq!(t.resolve(get, "/assets"), Template::Known("/assets"));
        assert_eq!(
            t.resolve(get, "/assets/x"),
            Template::Known("/assets/{*file}")
        );
        let long = format!("/{}", "z".repeat(300));
        assert_eq!(
            Templates::automatic().resolve(get, &long),
            Template::Unmatched
        );
    }

    #[test]
    fn bad_patterns_are_refused_with_the_reason() {
        for (text, reason) in [
            ("users/{id}", "does not start with `/`"),
            ("FETCH /x", "not an HTTP method"),
            ("/a/{*rest}/b", "catch-all must be the last"),
            ("/a/{id", "unbalanced"),
            ("/a/{}", "not a parameter name"),
            ("/a/{x}{y}", "one parameter per segment"),
        ] {
            let err = Pattern::parse(text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
        }
        assert_eq!(
            Pattern::parse("get /a/:id/{*}").unwrap().template.as_ref(),
            "/a/{id}/{*rest}"
        );
    }
}
