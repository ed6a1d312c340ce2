//! `GET {path}/api/sse`: the live stream; `GET {path}/api/snapshot`: its latest value;
//! `POST {path}/api/events`: a custom event to every client.
//!
//! A client first gets `retry:` and the latest snapshot (no waiting for the next tick), or,
//! reconnecting with `Last-Event-ID`, the custom events it missed; then every frame the
//! hub publishes: snapshots, custom events, and `:` heartbeats that keep idle proxies open.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::{
    Extension, Json,
    body::Body,
    extract::{Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::Deserialize;

use sightline_app::auth::Principal;

use super::events::{self, EventError};
use super::frame;
use super::hub::{Frame, Hub, Subscription, custom_frame, reset_frame};
use super::uplink::Uplink;
use crate::auth::SessionEnd;

/// What the SSE routes need.
#[derive(Clone, Debug)]
pub struct LiveState {
    pub hub: Arc<Hub>,
    pub retry_ms: u64,
}

/// Wait asked of clients turned away at the connection limit.
const OVER_LIMIT_RETRY_MS: u64 = 30_000;

/// `GET {path}/api/sse` query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct StreamParams {
    /// For a first connection that resumes (EventSource sends `Last-Event-ID` only when
    /// it reconnects by itself).
    #[serde(rename = "lastEventId")]
    pub last_event_id: Option<String>,
    /// Comma-separated channels: custom events of other channels are not sent (events
    /// without a channel always are).
    pub channels: Option<String>,
    /// `1`: custom events arrive as `event: event` with a JSON envelope.
    pub envelope: Option<String>,
    /// In a cluster: one instance's snapshots instead of the whole cluster's.
    pub instance: Option<String>,
}

/// `GET {path}/api/snapshot` query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct SnapshotParams {
    pub instance: Option<String>,
}

/// What one client wants of the custom events.
#[derive(Debug)]
struct Filter {
    channels: Option<HashSet<String>>,
    envelope: bool,
    instance: Option<String>,
}

impl Filter {
    /// The bytes this client gets for a frame, if any.
    fn bytes(&self, frame: Frame) -> Option<Bytes> {
        if !frame.scope.admits(self.instance.as_deref()) {
            return None;
        }
        let Some(custom) = &frame.custom else {
            if self.envelope && frame.bytes == frame::HEARTBEAT {
                return Some(Bytes::from_static(frame::HEARTBEAT_EVENT));
            }
            return Some(frame.bytes);
        };
        if let (Some(wanted), Some(channel)) = (&self.channels, &custom.channel)
            && !wanted.contains(&**channel)
        {
            return None;
        }
        Some(if self.envelope {
            custom.enveloped.clone()
        } else {
            frame.bytes
        })
    }
}

/// Channels one client may name at most, and the longest name.
pub const MAX_CHANNELS: usize = 32;

pub async fn stream(
    State(live): State<LiveState>,
    session: Option<Extension<SessionEnd>>,
    headers: HeaderMap,
    params: Result<Query<StreamParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let channels = match params.channels.as_deref().map(parse_channels).transpose() {
        Ok(channels) => channels,
        Err(message) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": message, "param": "channels" })),
            )
                .into_response();
        }
    };
    let Some(subscription) = live.hub.subscribe() else {
        return over_limit(&headers);
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(params.last_event_id)
        .filter(|v| !v.trim().is_empty())
        // An id that is not a number is no id of ours: older than anything kept.
        .map(|v| v.trim().parse::<u64>().unwrap_or(0));
    let filter = Filter {
        channels,
        envelope: params.envelope.as_deref() == Some("1"),
        instance: params.instance.filter(|i| !i.is_empty()),
    };
    let subscription = subscription.narrow(filter.instance.as_deref());
    let seen = live.hub.last_id();
    let instance = filter.instance.as_deref();
    let (catch_up, resume, replayed_through) = match (resume, live.hub.uplink()) {
        (Some(shown), Some(uplink)) => {
            let (frames, through) = resume_in_cluster(&live.hub, uplink, shown, instance).await;
            (frames, None, through)
        }
        // An id this server never issued (forged, or from another server) is not a place
        // in the stream: the client gets `reset` and continues from here.
        _ => (
            live.hub.catch_up(resume, instance),
            resume.filter(|id| *id <= live.hub.last_id()),
            None,
        ),
    };
    let last_id = catch_up
        .iter()
        .filter_map(|f| f.id)
        .chain([seen, resume.unwrap_or(0)])
        .max()
        .unwrap_or(0);
    // Sent in this order before anything live; `pop` takes from the end.
    let mut first: Vec<Bytes> = catch_up
        .into_iter()
        .filter_map(|f| filter.bytes(f))
        .rev()
        .collect();
    first.push(frame::retry(live.retry_ms));
    let ended: Ended = match session {
        Some(Extension(session)) => Box::pin(session.ended()),
        None => Box::pin(std::future::pending()),
    };
    let state = Client {
        first,
        subscription,
        last_id,
        filter,
        ended: Some(ended),
        replayed_through,
    };
    event_stream(StatusCode::OK, Body::from_stream(frames(state)))
}

/// In a cluster, a resuming client's id is the cluster's: found among the events this
/// instance holds, or else replayed from the cluster's record, or else `reset` (with why).
/// Returns the frames to send first and the last event replayed from the record.
async fn resume_in_cluster(
    hub: &Hub,
    uplink: &Arc<dyn Uplink>,
    shown: u64,
    instance: Option<&str>,
) -> (Vec<Frame>, Option<u64>) {
    if let Some(position) = hub.position_of(shown) {
        return (hub.catch_up(Some(position), instance), None);
    }
    let (mut frames, through) = match uplink.replay_after(shown).await {
        Ok(events) => {
            let frames = events
                .iter()
                .map(|e| {
                    custom_frame(
                        None,
                        e.id,
                        &e.event,
                        e.channel.as_deref(),
                        &e.data,
                        e.time_ms,
                    )
                })
                .collect();
            // Nothing missed: still nothing at or before `shown` may come twice.
            (frames, Some(events.last().map_or(shown, |e| e.id)))
        }
        Err(reason) => (vec![reset_frame(&reason)], None),
    };
    frames.extend(hub.catch_up(None, instance));
    (frames, through)
}

/// `?channels=a,b`: at most [`MAX_CHANNELS`] names of at most 64 bytes.
fn parse_channels(raw: &str) -> Result<HashSet<String>, String> {
    let names: HashSet<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if names.len() > MAX_CHANNELS {
        return Err(format!(
            "at most {MAX_CHANNELS} channels, got {}",
            names.len()
        ));
    }
    if let Some(long) = names.iter().find(|c| c.len() > 64) {
        return Err(format!(
            "channel names are at most 64 bytes: {:.64}...",
            long
        ));
    }
    Ok(names)
}

/// Resolves when the session the stream was opened under ends.
type Ended = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One client's stream: what it gets first, then the hub's frames until its session ends.
struct Client {
    first: Vec<Bytes>,
    subscription: Subscription,
    last_id: u64,
    filter: Filter,
    /// `None` once the session ended and the last frame was sent.
    ended: Option<Ended>,
    /// In a cluster, the last event replayed from the cluster's record: the same events
    /// arriving live are not sent twice.
    replayed_through: Option<u64>,
}

fn frames(state: Client) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send {
    futures_util::stream::unfold(state, |mut s| async move {
        if let Some(bytes) = s.first.pop() {
            return Some((Ok(bytes), s));
        }
        let ended = s.ended.as_mut()?;
        loop {
            let frame = tokio::select! {
                frame = s.subscription.next(s.last_id) => frame?,
                () = ended.as_mut() => {
                    // Told why, so the page can go to the login page; then the end.
                    s.ended = None;
                    let bytes = frame::event(None, Some("signed-out"), "{\"reason\":\"the session ended\"}");
                    return Some((Ok(bytes), s));
                }
            };
            s.last_id = frame.id.unwrap_or(s.last_id);
            if let (Some(through), Some(custom)) = (s.replayed_through, &frame.custom)
                && super::uplink::same_epoch(custom.shown, through)
                && custom.shown <= through
            {
                continue;
            }
            if let Some(bytes) = s.filter.bytes(frame) {
                return Some((Ok(bytes), s));
            }
        }
    })
}

/// `POST {path}/api/events` and `/api/send` (admin only): `{"event", "data", "channel"}`.
pub async fn publish(State(live): State<LiveState>, req: Request) -> Response {
    if let Some(refused) = crate::auth::refuse_unless_admin(req.extensions().get::<Principal>()) {
        return refused;
    }
    let error = |status: StatusCode, e: EventError| {
        (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
    };
    let body = match axum::body::to_bytes(req.into_body(), events::MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, EventError::TooLarge),
    };
    match events::parse(&body) {
        Ok(e) => {
            // In a cluster the id is the cluster's; `null` if it was not assigned in time
            // (the event is still sent, once).
            let id = live.hub.send_and_wait(e).await;
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))).into_response()
        }
        Err(e @ EventError::TooLarge) => error(StatusCode::PAYLOAD_TOO_LARGE, e),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
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

pub async fn snapshot(
    State(live): State<LiveState>,
    params: Result<Query<SnapshotParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let instance = params
        .ok()
        .and_then(|Query(p)| p.instance)
        .filter(|i| !i.is_empty());
    if let Some(id) = &instance
        && live.hub.latest_for(Some(id)).is_none()
    {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": format!("no instance {id:?} in this cluster"),
                "param": "instance",
            })),
        )
            .into_response();
    }
    match live.hub.latest_for(instance.as_deref()) {
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
