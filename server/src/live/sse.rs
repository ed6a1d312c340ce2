//! `GET {path}/api/sse`: the live stream, and `GET {path}/api/snapshot`: its latest value.
//!
//! A client first gets `retry:` and the latest snapshot (no waiting for the next tick), then
//! every frame the hub publishes: snapshots, and `:` heartbeats that keep idle proxies open.

use std::convert::Infallible;
use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;

use super::frame;
use super::hub::{Hub, Subscription};

/// What the SSE routes need.
#[derive(Clone, Debug)]
pub struct LiveState {
    pub hub: Arc<Hub>,
    pub retry_ms: u64,
}

/// Wait asked of clients turned away at the connection limit.
const OVER_LIMIT_RETRY_MS: u64 = 30_000;

pub async fn stream(State(live): State<LiveState>, headers: HeaderMap) -> Response {
    let Some(subscription) = live.hub.subscribe() else {
        return over_limit(&headers);
    };
    let latest = live.hub.latest();
    let last_id = latest.as_ref().and_then(|l| l.frame.id).unwrap_or(0);
    // Sent in this order before anything live; `pop` takes from the end.
    let mut first: Vec<Bytes> = latest.iter().map(|l| l.frame.bytes.clone()).collect();
    first.push(frame::retry(live.retry_ms));
    event_stream(
        StatusCode::OK,
        Body::from_stream(frames(first, subscription, last_id)),
    )
}

fn frames(
    first: Vec<Bytes>,
    subscription: Subscription,
    last_id: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send {
    futures_util::stream::unfold(
        (first, subscription, last_id),
        |(mut first, mut subscription, last_id)| async move {
            if let Some(bytes) = first.pop() {
                return Some((Ok(bytes), (first, subscription, last_id)));
            }
            let frame = subscription.next(last_id).await?;
            let last_id = frame.id.unwrap_or(last_id);
            Some((Ok(frame.bytes), (first, subscription, last_id)))
        },
    )
}

fn event_stream(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// At the connection limit. EventSource treats any non-200 answer as final and never
/// retries, so a browser gets a 200 stream that only says "retry later" and ends; other
/// clients get 503 with `Retry-After`.
fn over_limit(headers: &HeaderMap) -> Response {
    let wants_stream = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    let message = "too many live connections; try again later";
    if wants_stream {
        let mut body = frame::retry(OVER_LIMIT_RETRY_MS).to_vec();
        body.extend_from_slice(&frame::event(None, Some("overloaded"), message));
        return event_stream(StatusCode::OK, Body::from(body));
    }
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(OVER_LIMIT_RETRY_MS / 1_000),
    );
    response
}

pub async fn snapshot(State(live): State<LiveState>) -> Response {
    match live.hub.latest() {
        Some(latest) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            latest.json.to_string(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
            Json(
                serde_json::json!({ "error": "no snapshot yet; the first one is taken at start" }),
            ),
        )
            .into_response(),
    }
}
