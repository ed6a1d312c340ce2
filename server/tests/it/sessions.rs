//! Sessions over real sockets: safe cookies, revoked at sign-out, expiring; the sign-in
//! form brings you back where you were, without JavaScript, and never off the dashboard.

use std::time::Duration;

use crate::common::{client, secured, session_cookie, sign_in, spawn};
use reqwest::{StatusCode, header};
use serde_json::json;
use sightline::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_carry_safe_cookies_end_at_logout_and_expire() {
    let app = spawn(Config {
        session_ttl: Duration::from_secs(4),
        ..secured()
    })
    .await;
    let http = client();
    assert_eq!(
        sign_in(&app, "ann", "wrong").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&app, "nobody", "ann's long password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let response = sign_in(&app, "ann", "ann's long password").await;
    assert_eq!(response.status(), StatusCode::OK);
    let set = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/sightline",
        "Max-Age=4",
    ] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let cookie = session_cookie(&response);
    let me = |cookie: String| {
        http.get(app.url("/sightline/api/snapshot"))
            .header(header::COOKIE, cookie)
            .send()
    };
    assert_eq!(me(cookie.clone()).await.unwrap().status(), StatusCode::OK);

    // Logout revokes the session server-side, not only in the browser.
    let out = http
        .post(app.url("/sightline/api/logout"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .send()
        .await
        .unwrap();
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(me(cookie).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // A session lasts its time and no longer.
    let cookie = session_cookie(&sign_in(&app, "ann", "ann's long password").await);
    assert_eq!(me(cookie.clone()).await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    assert_eq!(me(cookie).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Behind a TLS proxy that is trusted, the cookie is Secure.
    let proxied = spawn(Config {
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..secured()
    })
    .await;
    let response = client()
        .post(proxied.url("/sightline/api/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "username": "ann", "password": "ann's long password" }))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_form_keeps_next_without_javascript() {
    let app = spawn(secured()).await;
    let http = client();
    // The page a signed-out visitor is sent to carries `next` in the form as served.
    let login = http
        .get(app.url("/sightline/login?next=%2Fsightline%2Ferrors%3Frange%3D1h"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login.contains(r#"name="next" value="/sightline/errors?range=1h""#),
        "{login}"
    );
    let form = |password: &str| {
        http.post(app.url("/sightline/api/login"))
            .form(&[
                ("username", "ann"),
                ("password", password),
                ("next", "/sightline/errors?range=1h"),
            ])
            .send()
    };
    let wrong = form("nope").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        wrong.headers()[header::LOCATION],
        "/sightline/login?error=1&next=%2Fsightline%2Ferrors%3Frange%3D1h"
    );
    let right = form("ann's long password").await.unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        right.headers()[header::LOCATION],
        "/sightline/errors?range=1h"
    );
    assert!(right.headers().contains_key(header::SET_COOKIE));
    // `next` never leads off the dashboard.
    for away in ["https://evil.example/", "//evil.example/x", "/sightlinex"] {
        let response = http
            .post(app.url("/sightline/api/login"))
            .form(&[
                ("username", "ann"),
                ("password", "ann's long password"),
                ("next", away),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[header::LOCATION], "/sightline", "{away}");
    }
}
