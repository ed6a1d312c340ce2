//! The tower middleware: times every request from the moment it enters the layer to the
//! last byte of its response body, and counts it under its matched route template.
//!
//! Requests no axum route matched (the proxy's) take their template from [`Templates`]
//! instead: a pattern, `(unmatched)`, or a guess from the path, which becomes a route only
//! once a success or a redirect shows it exists (a scan of made-up paths creates none).
//!
//! A request whose response future is dropped (client gone, timeout) is still counted,
//! with status 499; a body dropped half-way counts with the bytes sent so far. A handler
//! that panics counts as a 500 with the panic's message, and the panic carries on as if
//! the layer were not there.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::body::Body;
use axum::extract::MatchedPath;
use http::{Request, Response, uri::PathAndQuery};
use http_body::{Body as _, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::details::{Detail, Details, ErrorMessage, clipped};
use super::recorder::{METHODS, Recorder, RouteCell, STATUS_CLIENT_CLOSED, method_index};
use super::templates::{Template, Templates};

/// Records request metrics into a [`Recorder`]. Get one from `Sightline::layer`.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    // One pointer: axum clones the layered service for every request.
    shared: Arc<Shared>,
}

#[derive(Clone, Debug)]
struct Shared {
    recorder: Arc<Recorder>,
    excluded: Box<[Box<str>]>,
    templates: Option<Templates>,
}

impl MetricsLayer {
    /// `excluded`: path prefixes not recorded (a prefix matches itself and what is below it).
    pub fn new(recorder: Arc<Recorder>, excluded: Vec<String>) -> Self {
        let excluded = excluded
            .into_iter()
            .map(|p| p.trim_end_matches('/').into())
            .collect();
        Self {
            shared: Arc::new(Shared {
                recorder,
                excluded,
                templates: None,
            }),
        }
    }

    /// Requests without a matched axum route get their template from `templates` rather
    /// than sharing `(unmatched)`.
    pub fn with_templates(self, templates: Templates) -> Self {
        let Shared {
            recorder, excluded, ..
        } = Arc::unwrap_or_clone(self.shared);
        Self {
            shared: Arc::new(Shared {
                recorder,
                excluded,
                templates: Some(templates),
            }),
        }
    }

    /// Where a request is counted: its matched route, a template, or a guess to settle
    /// once its status is known.
    fn slot(&self, method: u8, route: Option<&str>, path: &str) -> Slot {
        let shared = &*self.shared;
        let recorder = &shared.recorder;
        let template = match (route, &shared.templates) {
            (Some(route), _) => Template::Known(route),
            (None, None) => Template::Unmatched,
            (None, Some(templates)) => templates.resolve(method, path),
        };
        match template {
            Template::Known(route) => Slot::Cell(recorder.cell(method, Some(route))),
            Template::Unmatched => Slot::Cell(recorder.cell(method, None)),
            Template::Guessed(route) => match recorder.existing_cell(method, &route) {
                Some(cell) => Slot::Cell(cell),
                None => Slot::Guess(Box::new(Guess {
                    recorder: recorder.clone(),
                    method,
                    route: route.into_owned(),
                })),
            },
        }
    }

    fn is_excluded(&self, path: &str) -> bool {
        self.shared.excluded.iter().any(|prefix| {
            path.strip_prefix(&**prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    layer: MetricsLayer,
}

impl<S, ReqBody> Service<Request<ReqBody>> for MetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let in_flight = (!self.layer.is_excluded(req.uri().path())).then(|| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            InFlight {
                slot: self
                    .layer
                    .slot(method_index(req.method()), route, req.uri().path()),
                details: self.layer.shared.recorder.details,
                // A reference count on the request's buffer, kept for the error log.
                path: req.uri().path_and_query().cloned(),
                start: Instant::now(),
                status: STATUS_CLIENT_CLOSED,
                bytes: 0,
                message: None,
            }
        });
        ResponseFuture {
            inner: self.inner.call(req),
            in_flight,
        }
    }
}

/// One request being served; records itself when dropped. Until a response exists its
/// status is 499 (the client went away first).
struct InFlight {
    slot: Slot,
    details: &'static Details,
    path: Option<PathAndQuery>,
    start: Instant,
    status: u16,
    bytes: u64,
    message: Option<String>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let latency = self.start.elapsed().as_micros() as u64;
        let cell = match &self.slot {
            Slot::Cell(cell) => *cell,
            Slot::Guess(guess) => guess.settle(self.status),
        };
        cell.record(self.status, latency, self.bytes);
        if self.details.wants(self.status, latency) {
            self.keep_details(cell, latency);
        }
    }
}

/// Where a request is counted.
enum Slot {
    Cell(&'static RouteCell),
    /// A template guessed from the path, not yet a route.
    Guess(Box<Guess>),
}

struct Guess {
    recorder: Arc<Recorder>,
    method: u8,
    route: String,
}

impl Guess {
    /// Only a success or a redirect shows the path exists and makes it a route. Any other
    /// answer (a 404 or 403 to a scan, a client gone before the answer, a failure) joins
    /// the route if one already exists, `(unmatched)` otherwise.
    fn settle(&self, status: u16) -> &'static RouteCell {
        if status < 400 {
            self.recorder.cell(self.method, Some(&self.route))
        } else {
            (self.recorder.existing_cell(self.method, &self.route))
                .unwrap_or_else(|| self.recorder.cell(self.method, None))
        }
    }
}

impl InFlight {
    #[cold]
    fn keep_details(&mut self, cell: &RouteCell, latency_us: u64) {
        self.details.push(Detail {
            time_ms: crate::clock::now_ms(),
            method: METHODS[cell.method as usize],
            route: cell.route.clone(),
            // Cut before copying: a huge URI costs no more than any other.
            path: clipped(self.path.as_ref().map_or("", PathAndQuery::path)),
            status: self.status,
            latency_us,
            bytes: self.bytes,
            message: self.message.take(),
        });
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("panic: {text}")
}

pin_project! {
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let result = match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => ready!(poll),
            Err(payload) => {
                if let Some(mut in_flight) = this.in_flight.take() {
                    in_flight.status = 500;
                    in_flight.message = Some(panic_message(&*payload));
                }
                resume_unwind(payload)
            }
        };
        let mut in_flight = this.in_flight.take();
        if let Some(in_flight) = in_flight.as_mut() {
            in_flight.status = match &result {
                Ok(response) => {
                    if let Some(ErrorMessage(message)) = response.extensions().get() {
                        in_flight.message = Some(message.clone());
                    }
                    response.status().as_u16()
                }
                Err(_) => 500,
            };
        }
        Poll::Ready(result.map(|response| {
            response.map(|body| match (in_flight, body.size_hint().exact()) {
                // Nothing is timed, or the whole body is already in hand: its end is now,
                // and the body needs no wrapper (nor the allocation one costs).
                (None, _) => body,
                (Some(mut in_flight), Some(len)) => {
                    in_flight.bytes = len;
                    drop(in_flight);
                    body
                }
                (Some(in_flight), None) => Body::new(RecordingBody {
                    inner: body,
                    in_flight: Some(in_flight),
                }),
            })
        }))
    }
}

pin_project! {
    /// The response body, counting bytes until its end.
    struct RecordingBody<B> {
        #[pin]
        inner: B,
        in_flight: Option<InFlight>,
    }
}

impl<B: http_body::Body> http_body::Body for RecordingBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(data), Some(in_flight)) = (frame.data_ref(), this.in_flight.as_mut()) {
                    in_flight.bytes += bytes::Buf::remaining(data) as u64;
                }
            }
            // The end, or an error that ends it: record now rather than at drop.
            _ => drop(this.in_flight.take()),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
