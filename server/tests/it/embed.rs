//! Runs the embedding example's app: the host app's routes are counted, the dashboard is
//! served at the example's path, excluded paths are not counted.

#[path = "../../examples/embed.rs"]
#[allow(dead_code)]
mod example;

use std::time::Duration;

use serde_json::{Value, json};
use sightline::Sightline;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_app_is_monitored_at_its_own_path() {
    const TOKEN: &str = "embed-test-token-0123456789";
    let config = sightline::Config {
        snapshot_interval: Duration::from_millis(100),
        access: sightline::Access::Protected(sightline::Credentials {
            users: Vec::new(),
            tokens: vec![sightline::ApiToken {
                token: TOKEN.into(),
                role: sightline::Role::Viewer,
            }],
        }),
        db_path: None,
        ..example::config()
    };
    let sightline = Sightline::start(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, example::app(&sightline)).into_future());
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("http://{addr}{path}"))
            .bearer_auth(TOKEN)
            .send()
    };

    assert_eq!(
        get("/orders/7")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        json!({ "order": 7 })
    );
    assert_eq!(get("/orders/8").await.unwrap().status(), 200);
    assert_eq!(get("/health").await.unwrap().status(), 200);
    assert_eq!(get("/").await.unwrap().status(), 200);

    let mut snapshot = Value::Null;
    for _ in 0..200 {
        snapshot = get("/ops/metrics/api/snapshot")
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        if snapshot["overview"]["total_requests"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(snapshot["overview"]["total_requests"], 3, "{snapshot}");
    let routes: Vec<&str> = snapshot["endpoints"]["top_by_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["/orders/{id}", "/"]);

    // The dashboard page itself is served at the chosen path, server-rendered.
    let page = get("/ops/metrics").await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/ops/metrics/pkg/sightline.js"), "{html}");
    assert!(html.contains("<h1>Dashboard</h1>"), "{html}");
    assert!(get("/sightline").await.unwrap().status() == 404);
    // Without the token the dashboard is closed.
    let anonymous = reqwest::get(format!("http://{addr}/ops/metrics/api/snapshot"))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
