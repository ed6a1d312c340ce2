//! Access control over real sockets: every route the dashboard serves is closed without
//! credentials (the list comes from the router itself), viewers cannot change things,
//! sessions expire and end at logout, and the sign-in limit ignores spoofed headers.

mod common;

use std::time::Duration;

use common::{TestApp, fast_config, spawn};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sightline::{Access, ApiToken, Config, Credentials, Password, Role, User};

const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";

fn secured() -> Config {
    Config {
        access: Access::Protected(Credentials {
            users: vec![
                User {
                    name: "ann".into(),
                    password: Password::Plain("ann's long password".into()),
                    role: Role::Admin,
                },
                User {
                    name: "vic".into(),
                    password: Password::Hash(
                        sightline::auth::hash_password("vic's long password").unwrap(),
                    ),
                    role: Role::Viewer,
                },
            ],
            tokens: vec![
                ApiToken {
                    token: ADMIN_TOKEN.into(),
                    role: Role::Admin,
                },
                ApiToken {
                    token: VIEWER_TOKEN.into(),
                    role: Role::Viewer,
                },
            ],
        }),
        ..fast_config()
    }
}

/// A client that follows no redirects, so they can be checked.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    client()
        .post(app.url("/sightline/api/login"))
        .json(&json!({ "username": name, "password": password }))
        .send()
        .await
        .unwrap()
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_closed_without_credentials() {
    let app = spawn(secured()).await;
    let routes = app.sightline.routes();
    assert!(routes.len() > 20, "{routes:?}");
    // Only signing in and the static assets are open.
    let open = |path: &str| {
        [
            "/sightline/login",
            "/sightline/api/login",
            "/sightline/api/logout",
            "/sightline/favicon.svg",
        ]
        .contains(&path)
            || path.starts_with("/sightline/pkg")
    };
    let http = client();
    let mut checked = 0;
    for (method, pattern) in routes {
        let path = pattern
            .replace("{*rest}", "anything")
            .replace("{*name}", "fetch_overview");
        let response = http
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = response.status();
        if open(&path) {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            continue;
        }
        checked += 1;
        if path.starts_with("/sightline/api/") {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(
                response.headers()[header::WWW_AUTHENTICATE],
                "Bearer realm=\"sightline\""
            );
            let body: Value = response.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("sign in"),
                "{method} {path}: {body}"
            );
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}");
            let location = response.headers()[header::LOCATION].to_str().unwrap();
            assert!(
                location.starts_with("/sightline/login?next="),
                "{method} {path}: {location}"
            );
        }
    }
    assert!(checked > 20);
    // The app's own routes are not the dashboard's business.
    assert_eq!(app.get("/ok").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_but_cannot_change_things() {
    let app = spawn(secured()).await;
    let http = client();
    let admin_only = [
        (
            "/sightline/api/settings",
            json!({ "slow_threshold_ms": 300 }),
        ),
        ("/sightline/api/events", json!({ "event": "deploy" })),
        ("/sightline/api/send", json!({ "event": "deploy" })),
        (
            "/sightline/api/fn/save_settings",
            json!({ "update": { "slow_threshold_ms": 300 } }),
        ),
    ];
    let viewer = session_cookie(&sign_in(&app, "vic", "vic's long password").await);
    for (path, body) in &admin_only {
        for auth in [format!("Bearer {VIEWER_TOKEN}"), String::new()] {
            let mut request = http.post(app.url(path)).json(body);
            request = if auth.is_empty() {
                request.header(header::COOKIE, &viewer)
            } else {
                request.header(header::AUTHORIZATION, &auth)
            };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            let body: Value = response.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("admin"), "{body}");
        }
        let response = http
            .post(app.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        // Past the guard (this server keeps no history, so settings answer an error).
        assert!(
            ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&response.status()),
            "admin on {path}: {}",
            response.status()
        );
    }
    // Reading works for the viewer.
    let response = http
        .get(app.url("/sightline/api/snapshot"))
        .header(header::COOKIE, &viewer)
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::UNAUTHORIZED);
    let page = http
        .get(app.url("/sightline/settings"))
        .bearer_auth(VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_carry_safe_cookies_end_at_logout_and_expire() {
    let app = spawn(Config {
        session_ttl: Duration::from_secs(2),
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
        "Max-Age=2",
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
    assert_ne!(
        me(cookie.clone()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

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
    assert_ne!(
        me(cookie.clone()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    tokio::time::sleep(Duration::from_millis(2_200)).await;
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
async fn the_sign_in_form_redirects_back_and_on() {
    let app = spawn(secured()).await;
    let http = client();
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
    assert!(
        wrong.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/sightline/login?error=1")
    );
    let right = form("ann's long password").await.unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        right.headers()[header::LOCATION],
        "/sightline/errors?range=1h"
    );
    assert!(right.headers().contains_key(header::SET_COOKIE));
    // `next` never leads off the dashboard.
    let away = http
        .post(app.url("/sightline/api/login"))
        .form(&[
            ("username", "ann"),
            ("password", "ann's long password"),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(away.headers()[header::LOCATION], "/sightline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarded_for_headers_do_not_reset_the_sign_in_limit() {
    let app = spawn(secured()).await;
    let attempt = |n: usize, password: &'static str| {
        client()
            .post(app.url("/sightline/api/login"))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({ "username": "ann", "password": password }))
            .send()
    };
    for n in 0..sightline::auth::LIMIT_FAILURES {
        assert_eq!(
            attempt(n, "guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    for n in 10..13 {
        let limited = attempt(n, "ann's long password").await.unwrap();
        assert_eq!(
            limited.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "attempt from 203.0.113.{n}"
        );
        let wait: u64 = limited.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&wait));
    }

    // Trusting the header is a choice: then it names the client.
    let proxied = spawn(Config {
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..secured()
    })
    .await;
    let attempt = |ip: &'static str, password: &'static str| {
        client()
            .post(proxied.url("/sightline/api/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({ "username": "ann", "password": password }))
            .send()
    };
    for _ in 0..sightline::auth::LIMIT_FAILURES {
        attempt("198.51.100.1", "guess").await.unwrap();
    }
    assert_eq!(
        attempt("198.51.100.1", "guess").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("198.51.100.2", "ann's long password")
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
