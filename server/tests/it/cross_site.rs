//! Cross-site requests over real sockets: a change authenticated by the session cookie
//! must come from the dashboard's own origin and, where it takes JSON, be JSON; with
//! access control off the same holds. Bearer tokens are not sent by browsers on their own,
//! so they are exempt.

use crate::common::{
    ADMIN_TOKEN, SseClient, TempDir, TestApp, client, fast_config, secured, session_cookie,
    sign_in, spawn,
};
use reqwest::{RequestBuilder, StatusCode, header};
use serde_json::{Value, json};
use sightline::Config;

fn save_settings() -> String {
    let path = sightline_app::api::paths()
        .into_iter()
        .find(|p| p.ends_with("/save_settings"))
        .unwrap();
    format!("/sightline{path}")
}

/// The changes a dashboard makes: (path, JSON body).
fn changes() -> [(String, Value); 4] {
    [
        (
            "/sightline/api/settings".into(),
            json!({ "retention_days": 3 }),
        ),
        (
            save_settings(),
            json!({ "update": { "retention_days": 3 } }),
        ),
        ("/sightline/api/events".into(), json!({ "event": "deploy" })),
        ("/sightline/api/send".into(), json!({ "event": "deploy" })),
    ]
}

/// Sends every change from another site and as text/plain: all refused, none happened.
async fn refused_without_change(app: &TestApp, send: impl Fn(&str) -> RequestBuilder) {
    let store = app.sightline.store().unwrap();
    let mut events = SseClient::connect(
        app.addr,
        "/sightline/api/sse",
        &format!("Authorization: Bearer {ADMIN_TOKEN}\r\n"),
    )
    .await;
    for (path, body) in changes() {
        let foreign = [
            ("origin", "http://evil.example"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ];
        for (name, value) in foreign {
            let response = send(&path)
                .json(&body)
                .header(name, value)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} with {name}: {value}"
            );
            let text = response.text().await.unwrap();
            assert!(text.contains("cross-site"), "{text}");
        }
        let plain = send(&path)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(
            plain.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{path} as text/plain"
        );
        assert_eq!(
            store.settings().retention_days,
            Config::default().retention_days
        );
    }
    // No event was published before this marker.
    app.sightline.broadcast("marker", &1).unwrap();
    loop {
        let (_, name, _) = events.next_named().await;
        assert_ne!(name, "deploy", "a refused request published an event");
        if name == "marker" {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_changes_from_another_site_or_not_as_json_are_refused() {
    let dir = TempDir::new("cross-site");
    let app = spawn(Config {
        db_path: Some(dir.db()),
        ..secured()
    })
    .await;
    let cookie = session_cookie(&sign_in(&app, "ann", "ann's long password").await);
    let http = client();
    refused_without_change(&app, |path| {
        http.post(app.url(path)).header(header::COOKIE, &cookie)
    })
    .await;
    // From the dashboard's own pages, the same requests go through.
    let host = app.addr.to_string();
    for (path, body) in changes() {
        let response = http
            .post(app.url(&path))
            .header(header::COOKIE, &cookie)
            .header("origin", format!("http://{host}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    assert_eq!(app.sightline.store().unwrap().settings().retention_days, 3);
    // Signing out from another site is refused too (it would end the session).
    let out = http
        .post(app.url("/sightline/api/logout"))
        .header(header::COOKIE, &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    let still = http
        .get(app.url("/sightline/api/snapshot"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_access_control_off_the_same_rule_holds() {
    let dir = TempDir::new("cross-site-open");
    let app = spawn(Config {
        db_path: Some(dir.db()),
        ..fast_config()
    })
    .await;
    let http = client();
    refused_without_change(&app, |path| http.post(app.url(path))).await;
    // A bearer header proves nothing when there are no tokens: no exemption.
    let response = http
        .post(app.url("/sightline/api/events"))
        .bearer_auth("anything-at-all")
        .header("origin", "http://evil.example")
        .json(&json!({ "event": "deploy" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_are_exempt_from_the_origin_check() {
    let app = spawn(secured()).await;
    let response = client()
        .post(app.url("/sightline/api/events"))
        .bearer_auth(ADMIN_TOKEN)
        .header("origin", "http://automation.example")
        .json(&json!({ "event": "deploy" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    // Only a valid token is exempt: a made-up one from another site is refused as such.
    let forged = client()
        .post(app.url("/sightline/api/events"))
        .bearer_auth("not-a-token-at-all-0123456789")
        .header("origin", "http://evil.example")
        .json(&json!({ "event": "deploy" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
