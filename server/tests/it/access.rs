//! Access control over real sockets, deny by default: every route the router builds is
//! closed without credentials (the list comes from the router itself), Sightline mounts
//! nothing outside its base path, the public pages carry no data, viewers cannot change
//! things.

use std::time::Duration;

use crate::common::{
    ADMIN_TOKEN, TempDir, VIEWER_TOKEN, client, secured, session_cookie, sign_in, spawn,
};
use axum::{Router, routing::post};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sightline::{Config, Sightline};

fn with_history(dir: &TempDir) -> Config {
    Config {
        db_path: Some(dir.db()),
        ..secured()
    }
}

/// The paths open to anyone, on purpose: signing in and out, the health probe, the
/// favicon, and the compiled site the login page needs.
pub(crate) fn is_public(path: &str) -> bool {
    const PUBLIC: [&str; 5] = [
        "/sightline/login",
        "/sightline/api/login",
        "/sightline/api/logout",
        "/sightline/api/health",
        "/sightline/favicon.svg",
    ];
    PUBLIC.contains(&path) || path.starts_with("/sightline/pkg")
}

/// What a caller without credentials must get on a guarded path.
pub(crate) async fn assert_closed(response: reqwest::Response, what: &str) {
    let status = response.status();
    let path = response.url().path().to_owned();
    if path.starts_with("/sightline/api/") {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"sightline\""
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("sign in"),
            "{what}: {body}"
        );
    } else {
        assert_eq!(status, StatusCode::SEE_OTHER, "{what}");
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/sightline/login?next="),
            "{what}: {location}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_closed_without_credentials() {
    let dir = TempDir::new("access-routes");
    let app = spawn(with_history(&dir)).await;
    let routes = app.sightline.routes();
    assert!(routes.len() > 20, "{routes:?}");
    for (method, path) in &routes {
        assert!(
            path == "/sightline" || path.starts_with("/sightline/"),
            "{method} {path} is outside the base path"
        );
    }
    let http = client();
    let mut checked = 0;
    for (method, pattern) in &routes {
        let path = pattern
            .replace("{*rest}", "anything")
            .replace("{*file}", "sightline.wasm");
        // The route's own method, and one it does not take.
        for method in [method.clone(), Method::DELETE] {
            let what = format!("{method} {path}");
            let request = http.request(method.clone(), app.url(&path));
            let response = request.json(&json!({})).send().await.unwrap();
            if is_public(&path) {
                // Public, so never "sign in first" (a failed sign-in is its own 401).
                let status = response.status();
                if method == Method::GET && path.starts_with("/sightline/pkg") {
                    // The embedded site itself, to anyone: the login page needs it.
                    assert_eq!(status, StatusCode::OK, "{what}");
                    let kind = &response.headers()[header::CONTENT_TYPE];
                    assert_eq!(kind, "application/wasm", "{what}");
                }
                let text = response.text().await.unwrap();
                assert!(
                    !status.is_server_error() && !text.contains("sign in first"),
                    "{what}: {status} {text}"
                );
                if method == Method::GET && path.ends_with("/api/health") {
                    // The probe says "ok" or "degraded" per part, and nothing else.
                    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
                    assert_eq!(keys, ["cluster", "history", "status"], "{what}");
                    assert!(
                        body.as_object()
                            .unwrap()
                            .values()
                            .all(|v| { ["ok", "degraded", "off"].contains(&v.as_str().unwrap()) })
                    );
                }
                continue;
            }
            checked += 1;
            assert_closed(response, &what).await;
        }
    }
    assert!(checked > 40, "{checked}");

    // Every server function: closed at the base path, absent at the site root (where an
    // embedding app's own routes live), as JSON and as text/plain. The list the router
    // mounts is every server function Sightline registered, no more, no less.
    let functions = sightline_app::api::paths();
    let mut registered: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .filter(|path| path.starts_with("/api/fn/sightline/"))
        .collect();
    registered.sort_unstable();
    let mut mounted = functions.to_vec();
    mounted.sort_unstable();
    assert_eq!(mounted, registered);
    let body = json!({ "update": { "retention_days": 3 } }).to_string();
    for path in functions.iter().copied().chain(["/api/fn/save_settings"]) {
        for content_type in ["application/json", "text/plain"] {
            let send = |url: String| {
                http.post(url)
                    .header(header::CONTENT_TYPE, content_type)
                    .body(body.clone())
                    .send()
            };
            let at_base = send(app.url(&format!("/sightline{path}"))).await.unwrap();
            if functions.contains(&path) {
                assert_closed(at_base, &format!("POST /sightline{path}")).await;
            }
            let at_root = send(app.url(path)).await.unwrap();
            assert_eq!(at_root.status(), StatusCode::NOT_FOUND, "POST {path}");
        }
    }
    let settings = app.sightline.store().unwrap().settings();
    assert_eq!(settings.retention_days, Config::default().retention_days);
    // The app's own routes, and its 404s, are not the dashboard's business.
    assert_eq!(app.get("/ok").await.status(), StatusCode::OK);
    let missing = http.get(app.url("/no/such/route")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_mounts_nothing_outside_its_base_path() {
    let dir = TempDir::new("access-embed");
    let sightline = Sightline::start(with_history(&dir)).unwrap();
    // An app with its own server functions at /api/fn/...: merging must not collide (axum
    // panics on overlapping routes) and the app's routes must answer there.
    let app = Router::new()
        .route(
            "/api/fn/{*name}",
            post(|| async { "the app's own server function" }),
        )
        // An app that serves every registered server function itself (they share one
        // registry with Sightline's): Sightline's run there without its guard, so they
        // must refuse on their own.
        .route(
            "/everything/api/fn/{*name}",
            post(|req: axum::extract::Request| async move {
                let (mut parts, body) = req.into_parts();
                let path = parts
                    .uri
                    .path()
                    .trim_start_matches("/everything")
                    .to_owned();
                parts.uri = path.parse().unwrap();
                leptos_axum::handle_server_fns(axum::extract::Request::from_parts(parts, body))
                    .await
            }),
        )
        .merge(sightline.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = client();
    for path in sightline_app::api::paths() {
        let response = http
            .post(format!("http://{addr}{path}"))
            .json(&json!({ "update": { "retention_days": 3 } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.text().await.unwrap(),
            "the app's own server function"
        );
    }
    for path in sightline_app::api::paths() {
        let response = http
            .post(format!("http://{addr}/everything{path}"))
            // Arguments every one of them accepts (unknown fields are ignored).
            .json(&json!({ "update": { "retention_days": 3 }, "params": {}, "group": "system" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains("sign in first"), "{path}: {text}");
    }
    assert_eq!(
        sightline.store().unwrap().settings().retention_days,
        Config::default().retention_days
    );

    // Served without connection info, clients cannot be told apart: sign-ins are still
    // limited per account, not all put in one bucket.
    let attempt = |name: &'static str, password: &'static str| {
        http.post(format!("http://{addr}/sightline/api/login"))
            .json(&json!({ "username": name, "password": password }))
            .send()
    };
    for _ in 0..sightline::auth::LIMIT_FAILURES {
        let status = attempt("ann", "guess").await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let limited = attempt("ann", "ann's long password").await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = attempt("vic", "vic's long password").await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_pages_carry_no_data() {
    // A name no page could hold by chance (the default, the host name, might be `login`).
    let app = spawn(Config {
        instance_id: "instance-7f3a9c".into(),
        ..secured()
    })
    .await;
    for _ in 0..3 {
        app.get("/ok").await;
        app.get("/missing/7").await;
    }
    // The server has figures to show (seen with a token)...
    let snapshot: Value = loop {
        let response = client()
            .get(app.url("/sightline/api/snapshot"))
            .bearer_auth(VIEWER_TOKEN)
            .send()
            .await
            .unwrap();
        let snapshot: Value = response.json().await.unwrap();
        if snapshot.to_string().contains("/missing/{id}") {
            break snapshot;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let instance = snapshot["server"]["instance_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // ...and none of them reaches anyone who has not signed in.
    let http = client();
    let mut pages = Vec::new();
    let login = http.get(app.url("/sightline/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    for path in [
        "/sightline/login",
        "/sightline/login?error=1&next=%2Fsightline%2Ferrors",
        "/sightline/pkg/missing.js",
        "/sightline/favicon.svg",
        "/sightline/api/snapshot",
        "/sightline/api/nothing-here",
        "/sightline/",
        "/sightline/no-such-page",
    ] {
        let response = http.get(app.url(path)).send().await.unwrap();
        assert!(!response.status().is_server_error(), "{path}");
        pages.push((path.to_owned(), response.text().await.unwrap()));
    }
    for n in 0..7 {
        let response = http
            .post(app.url("/sightline/api/login"))
            .form(&[("username", "ann"), ("password", &format!("guess {n}"))])
            .send()
            .await
            .unwrap();
        pages.push((format!("sign-in {n}"), response.text().await.unwrap()));
    }
    let pid = format!("\"pid\":{}", std::process::id());
    let pid_text = format!("pid {}", std::process::id());
    let version = format!("sightline {}", env!("CARGO_PKG_VERSION"));
    for (what, body) in &pages {
        for secret in [
            instance.as_str(),
            "/missing/{id}",
            "\"/ok\"",
            "timestamp_ms",
            "instance_id",
            "\"version\"",
            pid.as_str(),
            pid_text.as_str(),
            version.as_str(),
            "rss_bytes",
        ] {
            assert!(!body.contains(secret), "{what} shows {secret:?}:\n{body}");
        }
    }
    let login = &pages[0].1;
    assert!(login.contains("Sign in"), "{login}");
    assert!(
        login.contains(r#"id="sightline-snapshot">null</script>"#),
        "{login}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_but_cannot_change_things() {
    let dir = TempDir::new("access-viewers");
    let app = spawn(with_history(&dir)).await;
    let http = client();
    let save_settings = sightline_app::api::paths()
        .into_iter()
        .find(|p| p.ends_with("/save_settings"))
        .unwrap();
    let admin_only = [
        (
            "/sightline/api/settings".to_owned(),
            json!({ "slow_threshold_ms": 300 }),
        ),
        (
            "/sightline/api/events".to_owned(),
            json!({ "event": "deploy" }),
        ),
        (
            "/sightline/api/send".to_owned(),
            json!({ "event": "deploy" }),
        ),
        (
            format!("/sightline{save_settings}"),
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
            let text = response.text().await.unwrap();
            assert!(text.contains("admin role"), "{path}: {text}");
        }
    }
    let store = app.sightline.store().unwrap();
    assert_eq!(
        store.settings().slow_threshold_ms,
        Config::default().slow_threshold_ms
    );
    // An admin gets through, and the change happens.
    for (path, body) in &admin_only {
        let response = http
            .post(app.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "admin on {path}: {}",
            response.status()
        );
    }
    assert_eq!(store.settings().slow_threshold_ms, 300);
    // Reading works for the viewer.
    let response = http
        .get(app.url("/sightline/api/snapshot"))
        .header(header::COOKIE, &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = http
        .get(app.url("/sightline/settings"))
        .bearer_auth(VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}
