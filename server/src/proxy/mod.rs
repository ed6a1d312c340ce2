//! `sightline proxy`: Sightline in front of a service in any language. Every request that
//! is not for the dashboard goes to the upstream through a pooled HTTP client and is
//! recorded by the same layer as an embedded app's; the dashboard keeps its base path
//! (reserved: never forwarded) and its sign-in.
//!
//! request -> {path}/... ? dashboard routes
//!          : [`MetricsLayer`](crate::MetricsLayer) (template from [`Templates`]) -> upstream

mod body;
mod forward;
mod headers;
pub mod routes_file;

use std::convert::Infallible;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::{Router, extract::Request, response::Response};
use futures_util::future::Either;
use tower::{Layer, Service};

use crate::Sightline;
use crate::metrics::layer::MetricsService;
use crate::metrics::templates::Templates;
use forward::Forward;

/// Time allowed to open a connection to the upstream.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Time allowed for the upstream's response headers (a body may stream for longer).
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Upstream requests in flight at once (and so HTTP/1.1 connections open).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// How `sightline proxy` forwards.
#[derive(Clone, Debug)]
pub struct ProxySettings {
    /// `http://host:port`, optionally with a path every forwarded path is put under.
    pub upstream: String,
    /// Speak HTTP/2 (prior knowledge) to the upstream instead of HTTP/1.1.
    pub http2: bool,
    /// Send the upstream its own authority as `Host` instead of the client's.
    pub rewrite_host: bool,
    pub connect_timeout: Duration,
    /// Until the upstream's response headers; past it the request is a 504.
    pub timeout: Duration,
    pub max_connections: usize,
    /// Route patterns or an OpenAPI document; without one, templates are guessed.
    pub routes: Option<PathBuf>,
    /// The listener serves HTTPS (`X-Forwarded-Proto: https`).
    pub tls: bool,
    /// A trusted proxy is in front (`--trust-proxy-header`): the `X-Forwarded-Proto` it
    /// sets is passed on rather than replaced.
    pub behind_proxy: bool,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            upstream: String::new(),
            http2: false,
            rewrite_host: false,
            connect_timeout: Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS),
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            routes: None,
            tls: false,
            behind_proxy: false,
        }
    }
}

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProxyError(pub String);

/// A configured reverse proxy; [`Proxy::service`] puts it behind Sightline.
#[derive(Clone, Debug)]
pub struct Proxy {
    forward: Arc<Forward>,
    templates: Templates,
}

impl Proxy {
    pub fn new(settings: &ProxySettings) -> Result<Self, ProxyError> {
        let templates = match &settings.routes {
            None => Templates::automatic(),
            Some(path) => Templates::new(routes_file::read(path).map_err(ProxyError)?),
        };
        Ok(Self {
            forward: Arc::new(Forward::new(settings)?),
            templates,
        })
    }

    /// The templates requests are counted under.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The dashboard under its base path, everything else recorded and forwarded. Serve it
    /// with `axum::ServiceExt::into_make_service_with_connect_info::<SocketAddr>` so the
    /// upstream gets `X-Forwarded-For` (and sign-in attempts are limited per client).
    pub fn service(&self, sightline: &Sightline) -> ProxyService {
        let layer = sightline.layer().with_templates(self.templates.clone());
        ProxyService {
            dashboard: sightline.router().with_state(()),
            forwarded: layer.layer(Forwarding(self.forward.clone())),
            base: sightline.config().path.as_str().into(),
        }
    }
}

/// Requests for the dashboard's base path, and below it, go to the dashboard (never
/// forwarded, behind its sign-in); every other request to the upstream, through the
/// metrics layer. One prefix test, rather than a router, picks the way.
#[derive(Clone, Debug)]
pub struct ProxyService {
    dashboard: Router,
    forwarded: MetricsService<Forwarding>,
    base: Arc<str>,
}

impl ProxyService {
    fn is_dashboard(&self, path: &str) -> bool {
        path.strip_prefix(&*self.base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl Service<Request> for ProxyService {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        <Router as Service<Request>>::Future,
        <MetricsService<Forwarding> as Service<Request>>::Future,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if self.is_dashboard(request.uri().path()) {
            Either::Left(self.dashboard.call(request))
        } else {
            Either::Right(self.forwarded.call(request))
        }
    }
}

/// [`Forward`] as a service.
#[derive(Clone, Debug)]
pub struct Forwarding(Arc<Forward>);

impl Service<Request> for Forwarding {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let forward = self.0.clone();
        Box::pin(async move { Ok(forward.send(request).await) })
    }
}
