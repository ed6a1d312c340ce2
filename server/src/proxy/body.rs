//! The bodies on their way through: the client's upload, marking when it last moved (the
//! response timeout counts from there), and the upstream's answer, holding its pool place
//! until it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// When a request body last moved on its way to the upstream.
#[derive(Debug)]
pub struct Progress {
    since: Instant,
    /// Milliseconds after `since`.
    last: AtomicU64,
}

impl Progress {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            since: Instant::now(),
            last: AtomicU64::new(0),
        })
    }

    fn moved(&self) {
        let elapsed = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(elapsed, Ordering::Relaxed);
    }

    pub fn last(&self) -> Instant {
        self.since + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }
}

pin_project_lite::pin_project! {
    /// The client's request body on its way up, marking its progress.
    pub struct Uploading {
        #[pin]
        inner: Body,
        progress: Arc<Progress>,
    }
}

impl Uploading {
    pub fn new(inner: Body, progress: Arc<Progress>) -> Self {
        Self { inner, progress }
    }
}

impl http_body::Body for Uploading {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        this.progress.moved();
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// The upstream's response body, holding its pool place until it ends or is dropped.
    pub struct UpstreamBody {
        #[pin]
        inner: Incoming,
        _permit: OwnedSemaphorePermit,
    }
}

impl UpstreamBody {
    pub fn new(inner: Incoming, permit: OwnedSemaphorePermit) -> Self {
        Self {
            inner,
            _permit: permit,
        }
    }
}

impl http_body::Body for UpstreamBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    /// Never exact: the body is still on its way (the layer times it to its last byte);
    /// `Content-Length`, when the upstream sent one, is passed on as a header.
    fn size_hint(&self) -> SizeHint {
        let mut hint = SizeHint::new();
        if let Some(upper) = self.inner.size_hint().upper() {
            hint.set_upper(upper);
        }
        hint
    }
}
