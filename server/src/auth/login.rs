//! `POST {path}/api/login` and `POST {path}/api/logout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::Auth;
use super::limit::Key;

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    /// Where to go after signing in (a path below the base path).
    pub next: Option<String>,
}

/// The longest user name or password taken.
const MAX_PASSWORD: usize = 1_024;

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Where a sign-in may lead: a path below the base path, never another host.
fn next_target(auth: &Auth, next: Option<String>) -> String {
    next.filter(|n| {
        let below = n
            .strip_prefix(auth.base.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']));
        below && !n.starts_with("//") && !n.contains(['\\', '\r', '\n'])
    })
    .unwrap_or_else(|| auth.base.as_str().to_owned())
}

fn too_many(auth: &Auth, form: bool, wait: u64) -> Response {
    let mut response = if form {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!DOCTYPE html><title>Too many attempts</title><p>Too many failed sign-ins. Try again in {wait} s. <a href=\"{}\">Back to sign-in</a></p>",
                auth.base.join("/login")
            ),
        )
            .into_response()
    } else {
        json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many failed sign-ins; try again in {wait} s"),
        )
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// `POST {path}/api/login`: a form (redirects) or JSON (answers JSON).
pub async fn login(State(auth): State<Arc<Auth>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let headers = req.headers().clone();
    let Ok(body) = axum::body::to_bytes(req.into_body(), 16 * 1024).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the sign-in body is too large",
        );
    };
    let form = is_form(&headers);
    let parsed: Result<LoginForm, String> = if form {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let Ok(credentials) = parsed else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send username and password as JSON or as a form",
        );
    };
    if credentials.password.len() > MAX_PASSWORD || credentials.username.len() > MAX_PASSWORD {
        return json_error(
            StatusCode::BAD_REQUEST,
            "username and password are at most 1024 bytes each",
        );
    }
    let next = next_target(&auth, credentials.next);

    let mut keys = vec![if auth.has_account(&credentials.username) {
        Key::account(&credentials.username)
    } else {
        Key::NoSuchAccount
    }];
    match auth.client_address(&headers, peer) {
        Some(ip) => keys.push(Key::address(ip)),
        None => auth.warn_no_peer_address(),
    }
    // Counted before the password is checked, so parallel guesses cannot slip past.
    let reservation = match auth.limiter.reserve(keys, Instant::now()) {
        Ok(r) => r,
        Err(wait) => return too_many(&auth, form, wait),
    };
    let checker = auth.clone();
    let (name, password) = (credentials.username, credentials.password);
    let verified = match auth
        .verifier
        .run(move |memory| checker.verify(&name, &password, memory))
        .await
    {
        Ok(verified) => verified,
        Err(_) => {
            // Not checked, so it does not count.
            auth.limiter.succeeded(reservation);
            let mut response = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins are being checked; try again in a few seconds",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5));
            return response;
        }
    };
    let Some(principal) = verified else {
        if form {
            let back = format!(
                "{}?error=1&next={}",
                auth.base.join("/login"),
                sightline_app::history::encode_component(&next)
            );
            return Redirect::to(&back).into_response();
        }
        return json_error(StatusCode::UNAUTHORIZED, "wrong username or password");
    };
    auth.limiter.succeeded(reservation);
    let token = auth.sessions.start(principal.clone(), auth.session_ttl);
    let cookie = auth.cookie(Some(&token), auth.over_tls(&headers));
    let mut response = if form {
        Redirect::to(&next).into_response()
    } else {
        Json(serde_json::json!({ "name": principal.name, "role": principal.role })).into_response()
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `POST {path}/api/logout`: ends the session (and the live streams opened under it) and
/// clears the cookie.
pub async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    if let Some(token) = super::session_cookie(&headers) {
        auth.sessions.end(&token);
    }
    let cookie = auth.cookie(None, auth.over_tls(&headers));
    let mut response = if is_form(&headers) || headers.get(header::CONTENT_TYPE).is_none() {
        Redirect::to(&auth.base.join("/login")).into_response()
    } else {
        Json(serde_json::json!({ "signed_out": true })).into_response()
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_below_the_base_path() {
        let auth = super::super::tests::auth();
        let next = |n: &str| next_target(&auth, Some(n.to_owned()));
        assert_eq!(next("/ops/errors?range=1h"), "/ops/errors?range=1h");
        assert_eq!(next("/ops"), "/ops");
        for away in [
            "https://evil.example/",
            "//evil.example",
            "/opsevil",
            "/ops\\..",
            "/other",
        ] {
            assert_eq!(next(away), "/ops", "{away}");
        }
        assert_eq!(next_target(&auth, None), "/ops");
    }
}
