//! A small demo API and a traffic generator, so a new user sees a live dashboard at once.
//!
//! Routes with path parameters, a slow one, and some answering 404 or 500; the generator
//! calls them in-process through the same router (and so through the metrics layer).

use std::time::Duration;

use axum::{
    Extension, Json, Router,
    body::Body,
    extract::Path,
    http::{Request, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub fn routes() -> Router {
    Router::new()
        .route("/api/users", get(list_users))
        .route("/api/users/{id}", get(get_user))
        .route("/api/orders", post(create_order))
        .route("/api/orders/{id}/items/{item}", get(get_item))
        .route("/api/reports/slow", get(slow_report))
        .route("/api/checkout", post(checkout))
}

async fn list_users() -> Json<Value> {
    Json(json!(
        (1..=20)
            .map(|id| json!({ "id": id, "name": format!("user {id}") }))
            .collect::<Vec<_>>()
    ))
}

async fn get_user(Path(id): Path<u32>) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    if id > 100 {
        return Err((
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no user {id}") })),
        ));
    }
    Ok(Json(json!({ "id": id, "name": format!("user {id}") })))
}

async fn create_order() -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({ "status": "created" })))
}

async fn get_item(Path((order, item)): Path<(u32, u32)>) -> Json<Value> {
    Json(json!({ "order": order, "item": item }))
}

async fn slow_report() -> Json<Value> {
    tokio::time::sleep(Duration::from_millis(250 + fastrand(500))).await;
    Json(json!({ "report": "done" }))
}

async fn checkout() -> Response {
    if fastrand(10) == 0 {
        let message = "payment provider timed out";
        // The extension puts the message in Sightline's error log.
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Extension(sightline::ErrorMessage::new(message)),
            Json(json!({ "error": message })),
        )
            .into_response();
    }
    Json(json!({ "status": "paid" })).into_response()
}

/// A cheap, non-cryptographic random number below `n`.
fn fastrand(n: u64) -> u64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new(std::hash::RandomState::new().build_hasher().finish() | 1);
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x % n.max(1)
    })
}

/// Sends `rps` requests per second through `app`, a realistic mix, until the task is dropped.
pub async fn generate(app: Router, rps: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rps.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let (method, uri) = match fastrand(100) {
            0..=29 => ("GET", "/api/users".to_owned()),
            30..=59 => ("GET", format!("/api/users/{}", fastrand(110))),
            60..=69 => ("POST", "/api/orders".to_owned()),
            70..=79 => (
                "GET",
                format!("/api/orders/{}/items/{}", fastrand(1000), fastrand(9)),
            ),
            80..=84 => ("GET", "/api/reports/slow".to_owned()),
            85..=94 => ("POST", "/api/checkout".to_owned()),
            _ => ("GET", format!("/no/such/page/{}", fastrand(10_000))),
        };
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("a valid demo request");
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(response) = app.oneshot(request).await;
            let _ = response.into_body().collect().await;
        });
    }
}
