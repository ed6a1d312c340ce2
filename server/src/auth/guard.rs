//! The one middleware in front of every dashboard route. Deny by default:
//!
//! - only an exact public list is served without a sign-in: the login page, signing in
//!   and out, the health probe (`ok`/`degraded` and nothing else), the favicon and the
//!   compiled assets under `{path}/pkg/`;
//! - a request that changes anything (any method but GET/HEAD/OPTIONS) must come from the
//!   dashboard's own origin (`Sec-Fetch-Site`, else `Origin`, checked against the host),
//!   unless it carries a bearer token; this holds with access control off as well;
//! - below `{path}/api/`, such requests must send JSON (`415` otherwise), except signing
//!   in and out, which also take forms;
//! - everything that changes state is for admins, except the server functions, which each
//!   check the role themselves (most only read);
//! - unknown callers get `401` JSON on the API and a redirect to the login page elsewhere.

use std::sync::Arc;

use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::Auth;

/// What the guard decided a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// On the public list.
    Public,
    /// Below `{path}/api/`: answered with JSON.
    Api,
    /// A page: unknown callers are sent to the login page.
    Page,
}

impl Auth {
    fn kind(&self, path: &str) -> Kind {
        let Some(rest) = path.strip_prefix(self.base.as_str()) else {
            // Nothing outside the base path is the dashboard's, so nothing there is public.
            return Kind::Page;
        };
        if matches!(
            rest,
            "/login" | "/api/login" | "/api/logout" | "/api/health" | "/favicon.svg"
        ) || (rest.starts_with("/pkg/") && !rest.contains(".."))
        {
            Kind::Public
        } else if rest.starts_with("/api/") {
            Kind::Api
        } else {
            Kind::Page
        }
    }

    /// Whether anyone may fetch `path` without signing in.
    pub fn is_public(&self, path: &str) -> bool {
        self.kind(path) == Kind::Public
    }

    /// Requests that need the admin role: every method that changes state, except the
    /// server functions (each checks the role itself) and signing in and out.
    pub fn is_admin_only(&self, method: &Method, path: &str) -> bool {
        let rest = path.strip_prefix(self.base.as_str()).unwrap_or(path);
        !method.is_safe() && !rest.starts_with("/api/fn/") && self.kind(path) != Kind::Public
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

/// Whether a request was sent by a page of another site (what a browser says it is).
/// Clients that are not browsers send neither header and are not refused for it.
fn cross_site(auth: &Auth, uri: &Uri, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("null");
    let Some(host) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return true;
    };
    let same = |value: Option<&str>| value.is_some_and(|h| h.eq_ignore_ascii_case(host));
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    !(same(text(header::HOST))
        || same(uri.authority().map(|a| a.as_str()))
        || (auth.trusted_header.is_some() && same(text("x-forwarded-host".parse().unwrap()))))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json")
                || (v.len() > 5 && v[..v.len() - 5].contains('/') && v.ends_with("+json"))
        })
}

/// For handlers that change state: `None` if the caller is an admin, else the refusal.
/// Checked where the change happens, so a route mounted outside the guard fails closed.
pub fn refuse_unless_admin(caller: Option<&super::Principal>) -> Option<Response> {
    match caller {
        Some(p) if p.is_admin() => None,
        Some(_) => Some(json_error(
            StatusCode::FORBIDDEN,
            "this needs the admin role",
        )),
        None => Some(json_error(StatusCode::UNAUTHORIZED, "sign in first")),
    }
}

pub async fn guard(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let kind = auth.kind(&path);
    if !auth.is_open()
        && auth.trusted_header.is_none()
        && req
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .is_none()
    {
        auth.warn_no_peer_address();
    }
    let changes = !req.method().is_safe();
    let identity = auth.identify(req.headers());
    // Exempt: a valid API token (browsers never attach one by themselves). Not a mere
    // `Authorization` header, and never with access control off, where there are no tokens.
    let by_token = !auth.is_open() && has_bearer(req.headers()) && identity.is_some();
    if changes && !by_token && cross_site(&auth, req.uri(), req.headers()) {
        return json_error(
            StatusCode::FORBIDDEN,
            "cross-site request refused: changes must come from the dashboard's own pages",
        );
    }
    if kind == Kind::Public {
        if let Some((principal, _)) = identity {
            req.extensions_mut().insert(principal);
        }
        return next.run(req).await;
    }
    let Some((principal, session)) = identity else {
        if kind == Kind::Api {
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "sign in first: a session cookie from the login page, or Authorization: Bearer <token>",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sightline\""),
            );
            return response;
        }
        let target = req
            .uri()
            .path_and_query()
            .map_or(path.clone(), |pq| pq.as_str().to_owned());
        let login = format!(
            "{}?next={}",
            auth.base.join("/login"),
            sightline_app::history::encode_component(&target)
        );
        return Redirect::to(&login).into_response();
    };
    if !principal.is_admin() && auth.is_admin_only(req.method(), &path) {
        return json_error(StatusCode::FORBIDDEN, "this needs the admin role");
    }
    if changes && kind == Kind::Api && !is_json(req.headers()) {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON (Content-Type: application/json)",
        );
    }
    req.extensions_mut().insert(principal);
    if let Some(session) = session {
        req.extensions_mut().insert(session);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_is_what_the_browser_says_or_the_origin_matching_the_host() {
        let auth = super::super::tests::auth();
        let uri: Uri = "/ops/api/settings".parse().unwrap();
        let cross =
            |pairs: &[(&'static str, &'static str)]| cross_site(&auth, &uri, &headers(pairs));
        assert!(!cross(&[("host", "dash.example:8080")]));
        assert!(!cross(&[
            ("host", "dash.example:8080"),
            ("origin", "http://dash.example:8080")
        ]));
        assert!(!cross(&[
            ("host", "dash.example"),
            ("origin", "https://DASH.example")
        ]));
        assert!(cross(&[
            ("host", "dash.example"),
            ("origin", "http://evil.example")
        ]));
        assert!(cross(&[
            ("host", "dash.example"),
            ("origin", "http://dash.example:81")
        ]));
        assert!(cross(&[("host", "dash.example"), ("origin", "null")]));
        assert!(!cross(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://x")
        ]));
        assert!(!cross(&[("sec-fetch-site", "none")]));
        assert!(cross(&[
            ("sec-fetch-site", "same-site"),
            ("host", "a.example")
        ]));
        assert!(cross(&[("sec-fetch-site", "cross-site")]));
        // A forwarded host counts only behind a trusted proxy.
        let proxied = [
            ("host", "10.0.0.2:3000"),
            ("x-forwarded-host", "dash.example"),
            ("origin", "https://dash.example"),
        ];
        assert!(cross(&proxied));
        let mut trusting = super::super::tests::auth();
        trusting.trusted_header = Some("x-forwarded-for".into());
        assert!(!cross_site(&trusting, &uri, &headers(&proxied)));
    }

    #[test]
    fn json_means_a_json_media_type() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(is_json(&headers(&[(
            "content-type",
            "application/vnd.api+json"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[(
            "content-type",
            "text/plain; x=application/json"
        )])));
        assert!(!is_json(&headers(&[("content-type", "+json")])));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn only_the_exact_public_list_is_public_and_changes_are_for_admins() {
        let auth = super::super::tests::auth();
        for path in [
            "/ops/login",
            "/ops/api/login",
            "/ops/api/logout",
            "/ops/favicon.svg",
            "/ops/pkg/sightline.js",
        ] {
            assert!(auth.is_public(path), "{path}");
        }
        for path in [
            "/ops",
            "/ops/",
            "/ops/login/",
            "/ops/loginx",
            "/ops/api/login/x",
            "/ops/pkg/../api/settings",
            "/api/fn/save_settings",
            "/login",
            "/",
            "/opsx/login",
            "/ops/api/fn/errors",
        ] {
            assert!(!auth.is_public(path), "{path}");
        }
        assert!(auth.is_admin_only(&Method::POST, "/ops/api/settings"));
        assert!(auth.is_admin_only(&Method::DELETE, "/ops/api/anything-new"));
        assert!(auth.is_admin_only(&Method::PUT, "/ops/settings"));
        assert!(!auth.is_admin_only(&Method::GET, "/ops/api/settings"));
        assert!(!auth.is_admin_only(&Method::POST, "/ops/api/fn/errors"));
        assert!(!auth.is_admin_only(&Method::POST, "/ops/api/logout"));
    }
}
