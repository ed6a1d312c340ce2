//! `--routes FILE`: the upstream's routes, as one pattern per line or as an OpenAPI
//! document (JSON or YAML; its `paths`, their operations, and the path of its first
//! `servers` URL).
//!
//! ```text
//! # method optional; {name}, :name and {*rest} parameters
//! GET  /users/{id}
//! /orders/{id}/items/{item}
//! ```

use std::path::Path;

use crate::metrics::templates::Pattern;

/// The operations a route is counted under (`trace` is not one: a path that lists only
/// `trace` counts any method, and TRACE requests elsewhere are `(unmatched)`).
const OPERATIONS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Reads and checks every pattern of `path`; the error names the file, line and problem.
pub fn read(path: &Path) -> Result<Vec<Pattern>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--routes {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("--routes {}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<Pattern>, String> {
    let trimmed = text.trim_start();
    let patterns = if trimmed.starts_with('{') {
        openapi_json(text)?
    } else if text
        .lines()
        .any(|l| l.starts_with("openapi:") || l.starts_with("swagger:"))
    {
        openapi_yaml(text)?
    } else {
        lines(text)?
    };
    if patterns.is_empty() {
        return Err("no route in it".into());
    }
    Ok(patterns)
}

fn lines(text: &str) -> Result<Vec<Pattern>, String> {
    let mut patterns = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let pattern = Pattern::parse(line).map_err(|e| format!("line {}: {e}", number + 1))?;
        patterns.push(pattern);
    }
    Ok(patterns)
}

/// Patterns of one OpenAPI path and the operations it lists (any method when none).
fn operations(base: &str, path: &str, methods: &[String]) -> Result<Vec<Pattern>, String> {
    let full = format!("{}{path}", base.trim_end_matches('/'));
    if methods.is_empty() {
        return Ok(vec![Pattern::parse(&full)?]);
    }
    (methods.iter())
        .map(|m| Pattern::parse(&format!("{m} {full}")))
        .collect()
}

/// The path part of an OpenAPI server URL (`https://api.example.com/v1` -> `/v1`).
fn server_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| {
        rest.find('/').map_or("", |slash| &rest[slash..])
    });
    if rest.starts_with('/') && !rest.contains('{') {
        rest.to_owned()
    } else {
        String::new()
    }
}

fn openapi_json(text: &str) -> Result<Vec<Pattern>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON document: {e}"))?;
    let paths = doc
        .get("paths")
        .and_then(|p| p.as_object())
        .ok_or("an OpenAPI document needs a `paths` object")?;
    let base = doc
        .pointer("/servers/0/url")
        .and_then(|u| u.as_str())
        .map(server_path)
        .unwrap_or_default();
    let mut patterns = Vec::new();
    // `x-...` extensions sit beside the paths.
    for (path, item) in paths.iter().filter(|(path, _)| path.starts_with('/')) {
        let methods: Vec<String> = OPERATIONS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_ascii_uppercase())
            .collect();
        patterns.extend(operations(&base, path, &methods).map_err(|e| format!("paths: {e}"))?);
    }
    Ok(patterns)
}

/// The `paths` (and first `servers` URL) of a YAML OpenAPI document, read by indentation:
/// enough for the documents generators write, without a YAML parser.
fn openapi_yaml(text: &str) -> Result<Vec<Pattern>, String> {
    let mut base = String::new();
    let mut in_paths = false;
    let mut in_servers = false;
    let mut path_indent = None;
    let mut operation_indent = None;
    let mut current: Option<(String, Vec<String>, usize)> = None;
    let mut patterns = Vec::new();
    let mut finish = |current: &mut Option<(String, Vec<String>, usize)>, base: &str| {
        if let Some((path, methods, line)) = current.take() {
            let found =
                operations(base, &path, &methods).map_err(|e| format!("line {line}: {e}"))?;
            patterns.extend(found);
        }
        Ok::<_, String>(())
    };
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if indent == 0 {
            finish(&mut current, &base)?;
            in_paths = content.starts_with("paths:");
            in_servers = content.starts_with("servers:");
            continue;
        }
        if in_servers && base.is_empty() {
            if let Some(url) = content.trim_start_matches("- ").strip_prefix("url:") {
                base = server_path(unquote(url.trim()));
            }
            continue;
        }
        if !in_paths {
            continue;
        }
        // `key:` or `key: value` (`get: {}`).
        let Some(key) = content
            .strip_suffix(':')
            .or_else(|| content.split_once(": ").map(|(key, _)| key))
            .map(unquote)
        else {
            continue;
        };
        let path_level = *path_indent.get_or_insert(indent);
        if indent == path_level {
            finish(&mut current, &base)?;
            operation_indent = None;
            if key.starts_with('/') {
                current = Some((key.to_owned(), Vec::new(), number + 1));
            }
        } else if let Some((_, methods, _)) = current.as_mut()
            // Only the path item's own keys, not a schema's properties further in.
            && indent == *operation_indent.get_or_insert(indent)
            && OPERATIONS.contains(&key)
        {
            methods.push(key.to_ascii_uppercase());
        }
    }
    finish(&mut current, &base)?;
    Ok(patterns)
}

fn unquote(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(patterns: &[Pattern]) -> Vec<String> {
        patterns
            .iter()
            .map(|p| {
                let method = p
                    .method
                    .map_or("*", |m| crate::metrics::recorder::METHODS[m as usize]);
                format!("{method} {}", p.template)
            })
            .collect()
    }

    #[test]
    fn a_pattern_list_with_comments() {
        let p =
            parse("# the API\nGET /users/{id}   # one user\n\n/orders/:id/items/{item}\n").unwrap();
        assert_eq!(
            shown(&p),
            ["GET /users/{id}", "* /orders/{id}/items/{item}"]
        );
        let err = parse("GET /a\nGET b\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(parse("# nothing\n").unwrap_err().contains("no route"));
    }

    #[test]
    fn openapi_json_and_yaml_give_the_same_routes() {
        let json = r#"{"openapi": "3.0.0", "servers": [{"url": "https://api.example.com/v1"}],
            "paths": {"/pets": {"get": {}, "post": {}, "parameters": []}, "x-internal": {},
                      "/pets/{petId}": {"get": {"responses": {}}, "trace": {}}}}"#;
        let yaml = "openapi: 3.0.0\nservers:\n  - url: https://api.example.com/v1\n\
            info:\n  title: pets\npaths:\n  /pets:\n    get:\n      summary: all\n      \
            responses:\n        '200':\n          description: ok\n          \
            content:\n            delete: {}\n    post: {}\n  x-internal:\n    \
            get: {}\n  '/pets/{petId}':\n    parameters:\n      - name: petId\n    \
            get:\n      summary: one\n    trace: {}\ncomponents:\n  schemas: {}\n";
        let expected = ["GET /v1/pets", "POST /v1/pets", "GET /v1/pets/{petId}"];
        assert_eq!(shown(&parse(json).unwrap()), expected);
        assert_eq!(shown(&parse(yaml).unwrap()), expected);
        assert!(parse("{\"openapi\": \"3\"}").unwrap_err().contains("paths"));
    }
}
