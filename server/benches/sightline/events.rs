//! Custom events: from `POST {path}/api/events` to receipt by 1,000 connected SSE clients
//! on loopback. Each event carries the sender's clock (µs) just before the request is
//! written; each client subtracts it from its own clock at receipt.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Server;
use super::fanout::{find, number_after, runtime};

pub const CLIENTS: usize = 1_000;
pub const EVENTS: usize = 200;
const EVERY: Duration = Duration::from_millis(20);

pub fn serve(port: u16, cluster: Option<(String, String)>) {
    runtime().block_on(async {
        let mut config = sightline::Config {
            // Snapshots out of the way: this measures custom events.
            snapshot_interval: Duration::from_secs(3600),
            sse_max_connections: 2 * CLIENTS as u64,
            ..super::config()
        };
        if let Some((redis_url, id)) = cluster {
            config.instance_id = id;
            config.cluster = Some(sightline::cluster::ClusterSettings {
                redis_url,
                prefix: "bench".into(),
            });
        }
        let sightline = sightline::Sightline::start(config).unwrap();
        super::serve(sightline.router(), port).await;
    });
}

/// The floor: one task per client writing pre-encoded frames straight to its socket, fed
/// by a broadcast channel; a `POST` is read just enough to take its body as the frame.
pub fn serve_bare(port: u16) {
    runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let (tx, _) = tokio::sync::broadcast::channel::<bytes::Bytes>(64);
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8 * 1024];
                let mut have = 0;
                loop {
                    let Ok(n) = stream.read(&mut buf[have..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    have += n;
                    let text = &buf[..have];
                    if text.starts_with(b"GET") {
                        if find(text, b"\r\n\r\n").is_none() {
                            continue;
                        }
                        let mut rx = tx.subscribe();
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        while let Ok(frame) = rx.recv().await {
                            if stream.write_all(&frame).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    // A POST: the body follows the blank line, `Content-Length` long.
                    let Some(end) = find(text, b"\r\n\r\n") else {
                        continue;
                    };
                    let len = number_after(text, b"Content-Length: ").unwrap_or(0) as usize;
                    if have < end + 4 + len {
                        continue;
                    }
                    let body = &text[end + 4..end + 4 + len];
                    let mut frame = b"event: bench\ndata: ".to_vec();
                    frame.extend_from_slice(body);
                    frame.extend_from_slice(b"\n\n");
                    let _ = tx.send(frame.into());
                    let reply = "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n";
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    buf.copy_within(end + 4 + len..have, 0);
                    have -= end + 4 + len;
                }
            });
        }
    });
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

async fn client(port: u16, connected: Arc<AtomicU64>, delays: Arc<std::sync::Mutex<Vec<u32>>>) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    let request =
        "GET /sightline/api/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let (mut buf, mut chunk, mut counted) = (Vec::new(), vec![0u8; 8 * 1024], false);
    let mut mine = Vec::with_capacity(EVENTS);
    while let Ok(n) = stream.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        let received = now_us();
        buf.extend_from_slice(&chunk[..n]);
        if !counted {
            counted = true;
            connected.fetch_add(1, Ordering::Relaxed);
        }
        while let Some(end) = find(&buf, b"\n\n") {
            if let Some(sent) = number_after(&buf[..end], b"\"sent_us\":") {
                mine.push(received.saturating_sub(sent) as u32);
            }
            buf.drain(..end + 2);
        }
        if mine.len() == EVENTS {
            break;
        }
    }
    delays.lock().unwrap().extend(mine);
}

/// Posts events over one keep-alive connection; returns the POST round trips (µs).
async fn send_events(port: u16) -> Vec<u32> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut round_trips = Vec::with_capacity(EVENTS);
    let mut buf = vec![0u8; 4096];
    for n in 0..EVENTS {
        let sent = now_us();
        let body = format!(r#"{{"event":"bench","data":{{"n":{n},"sent_us":{sent}}}}}"#);
        let request = format!(
            "POST /sightline/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let start = Instant::now();
        stream.write_all(request.as_bytes()).await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 202"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        round_trips.push(start.elapsed().as_micros() as u32);
        tokio::time::sleep(EVERY).await;
    }
    round_trips
}

pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0) as f64
        / 1_000.0
}

pub struct Outcome {
    pub connected: u64,
    pub delays: Vec<u32>,
    pub round_trips: Vec<u32>,
}

fn measure(server: &Server) -> Outcome {
    measure_spread(server.port, &[server.port])
}

/// Clients spread evenly over `client_ports`; events posted to `post_port`.
pub fn measure_spread(post_port: u16, client_ports: &[u16]) -> Outcome {
    let rt = runtime();
    let connected = Arc::new(AtomicU64::new(0));
    let delays = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut round_trips = rt.block_on(async {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let port = client_ports[i % client_ports.len()];
                tokio::spawn(client(port, connected.clone(), delays.clone()))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while connected.load(Ordering::Relaxed) < CLIENTS as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let round_trips = send_events(post_port).await;
        for c in clients {
            let _ = tokio::time::timeout(Duration::from_secs(10), c).await;
        }
        round_trips
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    let mut delays = std::mem::take(&mut *delays.lock().unwrap());
    delays.sort_unstable();
    round_trips.sort_unstable();
    Outcome {
        connected: connected.load(Ordering::Relaxed),
        delays,
        round_trips,
    }
}

pub fn run() {
    let sightline = Server::start(&["serve-events"], super::free_port());
    std::thread::sleep(Duration::from_millis(500));
    let s = measure(&sightline);
    drop(sightline);
    let bare = Server::start(&["serve-bare-events"], super::free_port());
    std::thread::sleep(Duration::from_millis(300));
    let b = measure(&bare);
    drop(bare);
    let expected = CLIENTS * EVENTS;
    let ms = |v: &[u32], q: f64| quantile(v, q);
    println!("## Custom events (`events`)\n");
    println!("| measure | Sightline | bare write loop | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| clients connected | {} | {} | | {CLIENTS} |",
        s.connected, b.connected
    );
    println!(
        "| deliveries | {} | {} | | {expected} |",
        s.delays.len(),
        b.delays.len()
    );
    for (label, q) in [("p50", 0.5), ("p99", 0.99)] {
        println!(
            "| POST to receipt {label} (ms) | {:.2} | {:.2} | {:.2} | {} |",
            ms(&s.delays, q),
            ms(&b.delays, q),
            ms(&s.delays, q) / ms(&b.delays, q).max(0.001),
            if q > 0.9 { "<= 5 ms" } else { "" }
        );
    }
    println!(
        "| POST to receipt max (ms) | {:.2} | {:.2} | | |",
        s.delays.last().copied().unwrap_or(0) as f64 / 1_000.0,
        b.delays.last().copied().unwrap_or(0) as f64 / 1_000.0
    );
    println!(
        "| POST round trip p50 / p99 (ms) | {:.2} / {:.2} | {:.2} / {:.2} | | |\n",
        ms(&s.round_trips, 0.5),
        ms(&s.round_trips, 0.99),
        ms(&b.round_trips, 0.5),
        ms(&b.round_trips, 0.99)
    );
}
