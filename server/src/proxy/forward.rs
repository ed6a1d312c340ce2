//! One request to the upstream and its response back, bodies streamed both ways, through a
//! bounded pool of kept-alive connections. A WebSocket upgrade that the upstream accepts
//! becomes a byte tunnel between the two connections, outside the pool.
//!
//! Failures answer like a gateway: 502 when the upstream cannot be reached or answers
//! wrongly, 504 when it is too slow (the response timeout counts from the request's latest
//! piece: an upload may take as long as it keeps moving); the body says what went wrong,
//! the recorded message (the error log) says in detail.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{
    Json,
    body::Body,
    extract::{ConnectInfo, Request},
    response::{IntoResponse, Response},
};
use http::{HeaderValue, StatusCode, Uri, Version, header, uri::PathAndQuery};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::body::{Progress, Uploading, UpstreamBody};
use super::headers;
use super::{ProxyError, ProxySettings};
use crate::ErrorMessage;

/// Idle upstream connections are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug)]
pub struct Forward {
    client: Client<HttpConnector, Body>,
    /// `http://host:port`.
    origin: Uri,
    authority: HeaderValue,
    /// Put before every forwarded path (`""` or `/prefix`).
    prefix: String,
    rewrite_host: bool,
    http2: bool,
    tls: bool,
    trusted: bool,
    timeout: Duration,
    max_connections: usize,
    permits: Arc<Semaphore>,
}

impl Forward {
    pub fn new(settings: &ProxySettings) -> Result<Self, ProxyError> {
        let shown = without_credentials(&settings.upstream);
        let bad = |why: &str| {
            ProxyError(format!(
                "--upstream `{shown}`: {why} (e.g. http://127.0.0.1:9000)"
            ))
        };
        let uri: Uri = settings.upstream.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("HTTPS upstreams are not supported: use http://")),
            _ => return Err(bad("the URL must start with http://")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.clone();
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let after_host = authority.as_str().rfind(']').unwrap_or(0);
        if authority.as_str()[after_host..].contains(':') && authority.port_u16().is_none() {
            return Err(bad("the port is not a number"));
        }
        if uri.query().is_some() {
            return Err(bad("a query cannot be forwarded to"));
        }
        if settings.max_connections == 0 {
            return Err(ProxyError(
                "--upstream-max-connections must be at least 1".into(),
            ));
        }
        let origin = Uri::builder()
            .scheme("http")
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|_| bad("not a URL"))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(settings.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(settings.max_connections)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .http2_only(settings.http2)
            .build(connector);
        Ok(Self {
            client,
            origin,
            authority: HeaderValue::from_str(authority.as_str()).map_err(|_| bad("bad host"))?,
            prefix: uri.path().trim_end_matches('/').to_owned(),
            rewrite_host: settings.rewrite_host,
            http2: settings.http2,
            tls: settings.tls,
            trusted: settings.behind_proxy,
            timeout: settings.timeout,
            max_connections: settings.max_connections,
            permits: Arc::new(Semaphore::new(settings.max_connections)),
        })
    }

    /// Forwards `request` and gives back the upstream's response, or a 502/504 saying why.
    pub async fn send(&self, mut request: Request) -> Response {
        let deadline = Instant::now() + self.timeout;
        let upgrade = headers::upgrade(request.headers());
        let downstream = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));
        // While a body goes up, the wait for the answer counts from its latest piece.
        let progress = (!http_body::Body::is_end_stream(request.body())).then(Progress::new);
        if let Some(progress) = &progress {
            let progress = progress.clone();
            request = request.map(|inner| Body::new(Uploading::new(inner, progress)));
        }
        let Some(request) = self.upstream_request(request, upgrade.clone()) else {
            let why = "bad request target";
            return failure(StatusCode::BAD_REQUEST, why, why.into());
        };
        // A free connection and the response headers, both within the timeout.
        let free = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(Ok(permit)),
            Err(_) => tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await,
        };
        let permit = match free {
            Ok(Ok(permit)) => permit,
            _ => {
                return failure(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream busy",
                    format!(
                        "upstream: no connection free within {} ms ({} in use)",
                        self.timeout.as_millis(),
                        self.max_connections
                    ),
                );
            }
        };
        let exchange = self.client.request(request);
        tokio::pin!(exchange);
        let mut deadline = deadline;
        let mut response = loop {
            match tokio::time::timeout_at(deadline, exchange.as_mut()).await {
                Ok(Ok(response)) => break response,
                Ok(Err(error)) => return upstream_failure(&error, &self.origin),
                Err(_) => match progress.as_ref().map(|p| p.last() + self.timeout) {
                    Some(later) if later > Instant::now() => deadline = later,
                    _ => {
                        return failure(
                            StatusCode::GATEWAY_TIMEOUT,
                            "upstream timed out",
                            format!(
                                "upstream: no response within {} ms of the request's latest piece",
                                self.timeout.as_millis()
                            ),
                        );
                    }
                },
            }
        };
        let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        let kept_upgrade = switching
            .then(|| headers::upgrade(response.headers()))
            .flatten();
        headers::remove_hop_by_hop(response.headers_mut(), kept_upgrade);
        // The service shares the dashboard's origin: it does not get to set (or clear)
        // the dashboard's session.
        headers::drop_cookie(response.headers_mut(), crate::auth::COOKIE);
        // The client's connection has its own version (an HTTP/1.0 upstream's would end
        // a kept-alive client connection).
        *response.version_mut() = Version::HTTP_11;
        if let (true, Some(downstream)) = (switching, downstream) {
            // The upgraded connection leaves the pool, and its place with it.
            drop(permit);
            let upstream = hyper::upgrade::on(&mut response);
            tokio::spawn(tunnel(downstream, upstream));
            return response.map(|_| Body::empty());
        }
        response.map(|body| Body::new(UpstreamBody::new(body, permit)))
    }

    /// The request as the upstream gets it: its URI, `Host`, and headers a proxy changes;
    /// `None` if its target cannot be put under the upstream's.
    fn upstream_request(&self, request: Request, upgrade: Option<HeaderValue>) -> Option<Request> {
        let (mut parts, body) = request.into_parts();
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let path = match (parts.uri.path_and_query(), self.prefix.as_str()) {
            (Some(path), "") => Some(path.clone()),
            (path, prefix) => {
                let path = path.map_or("/", PathAndQuery::as_str);
                PathAndQuery::try_from(format!("{prefix}{path}")).ok()
            }
        };
        let mut uri = self.origin.clone().into_parts();
        uri.path_and_query = path;
        let uri = Uri::from_parts(uri).ok()?;
        // HTTP/2 clients name the host in the URI, HTTP/1.1 ones in `Host`.
        let host = match parts.headers.get(header::HOST) {
            Some(host) => Some(host.clone()),
            None => (parts.uri.authority()).and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
        };
        // `TE: trailers` is what gRPC over HTTP/2 asks for: passed on to an HTTP/2 upstream.
        let trailers = self.http2 && headers::asks_trailers(&parts.headers);
        headers::remove_hop_by_hop(&mut parts.headers, upgrade);
        if trailers {
            parts
                .headers
                .insert(header::TE, HeaderValue::from_static("trailers"));
        }
        let hop = headers::Hop {
            client,
            tls: self.tls,
            host: host.as_ref(),
            trusted: self.trusted,
        };
        headers::set_forwarded(&mut parts.headers, hop);
        match (self.rewrite_host, host) {
            (false, Some(host)) => parts.headers.insert(header::HOST, host),
            _ => parts.headers.insert(header::HOST, self.authority.clone()),
        };
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        parts.extensions = http::Extensions::new();
        Some(Request::from_parts(parts, body))
    }
}

/// The URL as it may be shown: whatever comes before its last `@` (after the scheme, if
/// any) is hidden, so a password is never repeated, however the URL is malformed.
fn without_credentials(url: &str) -> std::borrow::Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url.rfind('@') {
        Some(at) if at >= start => format!("{}***{}", &url[..start], &url[at..]).into(),
        _ => url.into(),
    }
}

/// Copies bytes both ways between the client's and the upstream's upgraded connections
/// until either side closes.
async fn tunnel(downstream: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    let (downstream, upstream) = match tokio::join!(downstream, upstream) {
        (Ok(down), Ok(up)) => (down, up),
        (Err(e), _) | (_, Err(e)) => {
            tracing::debug!("upgrade through the proxy failed: {e}");
            return;
        }
    };
    let _ =
        tokio::io::copy_bidirectional(&mut TokioIo::new(downstream), &mut TokioIo::new(upstream))
            .await;
}

/// A client error from the pool as a gateway error: 504 for timeouts, 502 otherwise.
fn upstream_failure(error: &hyper_util::client::legacy::Error, origin: &Uri) -> Response {
    let mut chain = Vec::new();
    let mut timed_out = false;
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.iter().any(|seen: &String| seen.contains(&text)) {
            chain.push(text);
        }
        timed_out |= cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut);
        source = cause.source();
    }
    let what = if error.is_connect() {
        "cannot connect to"
    } else {
        "failed talking to"
    };
    let origin = origin.to_string();
    let mut message = format!("upstream: {what} {}", origin.trim_end_matches('/'));
    if !chain.is_empty() {
        message = format!("{message}: {}", chain.join(": "));
    }
    let status = if timed_out {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    let public = match status {
        StatusCode::GATEWAY_TIMEOUT => "upstream timed out",
        _ if error.is_connect() => "upstream unreachable",
        _ => "upstream failed",
    };
    failure(status, public, message)
}

/// A JSON error naming the problem for the client (what, not where: anyone can read it),
/// recorded with the detail for the error log.
fn failure(status: StatusCode, public: &str, detail: String) -> Response {
    let body = Json(serde_json::json!({ "error": public }));
    (status, axum::Extension(ErrorMessage(detail)), body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_that_cannot_be_forwarded_to_is_refused_with_the_reason() {
        let new = |upstream: &str| {
            Forward::new(&ProxySettings {
                upstream: upstream.into(),
                ..ProxySettings::default()
            })
        };
        assert!(new("http://127.0.0.1:9000").is_ok());
        assert!(new("http://127.0.0.1:9000/api/").is_ok());
        assert!(new("http://[::1]:9000").is_ok() && new("http://localhost").is_ok());
        for (upstream, why) in [
            ("127.0.0.1:9000", "must start with http://"),
            (
                "https://127.0.0.1:9000",
                "HTTPS upstreams are not supported",
            ),
            (
                "http://127.0.0.1:9000/?a=1",
                "a query cannot be forwarded to",
            ),
            ("http://", "not a URL"),
        ] {
            let err = new(upstream).unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains(upstream),
                "{upstream}: {err}"
            );
        }
        // Refused without repeating the password, however the URL is written.
        for url in [
            "user:s3cret@127.0.0.1:9000",
            "http://u:s3/cret@host:9000",
            "http:/u:s3cret@h",
        ] {
            let err = new(url).unwrap_err().to_string();
            assert!(err.contains("***@") && !err.contains("s3"), "{url}: {err}");
        }
        let err = new("http://user:s3cret@127.0.0.1:9000/app")
            .unwrap_err()
            .to_string();
        assert!(err.contains("credentials in the URL"), "{err}");
        assert!(
            err.contains("http://***@127.0.0.1:9000/app") && !err.contains("s3cret"),
            "{err}"
        );
    }
}
