//! `sightline proxy` over real sockets, in front of real upstreams: a small axum service
//! (streaming echo, header mirror, WebSocket echo) and Python's `http.server`.

mod command_line;
mod passthrough;
mod recording;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Request, ws::WebSocketUpgrade},
    http::StatusCode,
    response::Response,
    routing::{any, get, post},
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sightline::proxy::{Proxy, ProxySettings};
use sightline::{Config, Sightline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TempDir, TestApp, client, fast_config, free_port, secured};

/// What the test upstream saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// Ends a request's time in flight at the upstream when dropped.
struct Done(Arc<Seen>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A deterministic byte pattern, so a transfer can be checked without keeping a copy.
fn pattern(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len)
        .map(|i| (i * 31 % 251) as u8)
        .collect()
}

async fn upstream() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let counted = seen.clone();
    let app = Router::new()
        .route(
            "/echo",
            any(|req: Request| async move {
                let mut response =
                    Response::new(Body::from_stream(req.into_body().into_data_stream()));
                let h = response.headers_mut();
                h.insert("x-upstream", "yes".parse().unwrap());
                h.append("set-cookie", "a=1; Path=/".parse().unwrap());
                h.append("set-cookie", "b=2; Path=/".parse().unwrap());
                // Not the service's to set: the dashboard's session, same origin.
                let session = "sightline_session=forged; Path=/sightline";
                h.append("set-cookie", session.parse().unwrap());
                h.insert("connection", "x-internal".parse().unwrap());
                h.insert("x-internal", "hop".parse().unwrap());
                response
            }),
        )
        .route(
            "/headers",
            any(|req: Request| async move {
                let headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                Json(json!({
                    "method": req.method().as_str(),
                    "uri": req.uri().to_string(),
                    "version": format!("{:?}", req.version()),
                    "headers": headers,
                }))
            }),
        )
        .route(
            "/bytes/{n}",
            get(|Path(n): Path<usize>| async move {
                let chunks = (0..n).step_by(65_536).map(move |at| {
                    Ok::<_, std::io::Error>(bytes::Bytes::from(pattern(at, 65_536.min(n - at))))
                });
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route(
            "/sink",
            any(|req: Request| async move {
                let mut body = req.into_body().into_data_stream();
                let (mut len, mut intact) = (0usize, true);
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.unwrap();
                    intact &= chunk[..] == pattern(len, chunk.len())[..];
                    len += chunk.len();
                }
                Json(json!({ "bytes": len, "intact": intact }))
            }),
        )
        .route(
            "/users/{id}",
            any(|Path(id): Path<String>| async move {
                if id == "404" {
                    (StatusCode::NOT_FOUND, "no such user")
                } else {
                    (StatusCode::OK, "user")
                }
            }),
        )
        .route(
            "/private/{name}",
            get(|| async { (StatusCode::FORBIDDEN, "no") }),
        )
        .route(
            "/slow-body/{ms}",
            get(|Path(ms): Path<u64>| async move {
                let first = futures_util::stream::once(async { Ok::<_, std::io::Error>("first ") });
                let last = futures_util::stream::once(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok("last")
                });
                Body::from_stream(first.chain(last))
            }),
        )
        .route(
            "/sleep-after-body/{ms}",
            post(|Path(ms): Path<u64>, body: bytes::Bytes| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                body.len().to_string()
            }),
        )
        .route("/orders/{id}/items/{item}", get(|| async { "item" }))
        .route("/static/app.js", get(|| async { "js" }))
        .route(
            "/sleep/{ms}",
            get(|Path(ms): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "slept"
            }),
        )
        .route(
            "/ws",
            get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    while let Some(Ok(message)) = socket.recv().await {
                        if socket.send(message).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        )
        .layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| {
                let seen = counted.clone();
                async move {
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
                    // In flight until its body has been sent (or dropped); a body of
                    // known size is in hand already.
                    let done = Done(seen);
                    next.run(req).await.map(|body| {
                        if http_body::Body::size_hint(&body).exact().is_some() {
                            return body;
                        }
                        let stream = body.into_data_stream().map(move |chunk| {
                            let _ = &done;
                            chunk
                        });
                        Body::from_stream(stream)
                    })
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = seen.clone();
    let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
        connections.connections.fetch_add(1, Ordering::SeqCst);
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

/// Sightline's proxy in front of `settings.upstream`, as an app the common helpers drive
/// (its client follows no redirects, so they can be checked).
async fn proxy(config: Config, settings: ProxySettings) -> TestApp {
    let sightline = Sightline::start(config).unwrap();
    let app = Proxy::new(&settings).unwrap().service(&sightline);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp {
        addr,
        sightline,
        http: client(),
    }
}

fn to(upstream: SocketAddr) -> ProxySettings {
    ProxySettings {
        upstream: format!("http://{upstream}"),
        ..ProxySettings::default()
    }
}

/// Sends `request` as it is over a new connection and reads the whole response.
async fn raw(addr: SocketAddr, request: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
    let mut body = bytes[split + 4..].to_vec();
    if header_values(&head, "transfer-encoding") == ["chunked"] {
        body = dechunk(&body);
    }
    (head, body)
}

fn dechunk(mut framed: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = framed.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&framed[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&framed[line_end + 2..line_end + 2 + size]);
        framed = &framed[line_end + 4 + size..];
    }
}

/// The values of `name` in a response head, in order.
fn header_values<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn upstream_saw<'a>(mirror: &'a Value, name: &str) -> Vec<&'a str> {
    mirror["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0] == name)
        .map(|h| h[1].as_str().unwrap())
        .collect()
}
