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

const CLIENTS: usize = 1_000;
const EVENTS: usize = 200;
const EVERY: Duration = Duration::from_millis(20);

pub fn serve(port: u16) {
    runtime().block_on(async {
        let sightline = sightline::Sightline::start(sightline::Config {
            // Snapshots out of the way: this measures custom events.
            snapshot_interval: Duration::from_secs(3600),
            sse_max_connections: 2 * CLIENTS as u64,
            db_path: None,
            access: sightline::Access::Off,
            ..sightline::Config::default()
        })
        .unwrap();
        super::serve(sightline.router(), port).await;
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

fn quantile(sorted: &[u32], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0) as f64
        / 1_000.0
}

pub fn run() {
    let server = Server::start(&["serve-events"], super::free_port());
    std::thread::sleep(Duration::from_millis(500));
    let rt = runtime();
    let connected = Arc::new(AtomicU64::new(0));
    let delays = Arc::new(std::sync::Mutex::new(Vec::new()));
    let round_trips = rt.block_on(async {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(client(server.port, connected.clone(), delays.clone())))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while connected.load(Ordering::Relaxed) < CLIENTS as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let round_trips = send_events(server.port).await;
        for c in clients {
            let _ = tokio::time::timeout(Duration::from_secs(10), c).await;
        }
        round_trips
    });
    let mut delays = std::mem::take(&mut *delays.lock().unwrap());
    delays.sort_unstable();
    let mut round_trips = round_trips;
    round_trips.sort_unstable();
    let expected = CLIENTS * EVENTS;
    println!("## Custom events (`events`)\n");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| clients connected | {} |",
        connected.load(Ordering::Relaxed)
    );
    println!("| deliveries (expected {expected}) | {} |", delays.len());
    println!(
        "| POST to receipt, p50 / p99 / max (target p99 <= 5 ms) | {:.2} / {:.2} / {:.2} ms |",
        quantile(&delays, 0.5),
        quantile(&delays, 0.99),
        delays.last().copied().unwrap_or(0) as f64 / 1_000.0
    );
    println!(
        "| POST round trip alone, p50 / p99 | {:.2} / {:.2} ms |",
        quantile(&round_trips, 0.5),
        quantile(&round_trips, 0.99)
    );
    println!(
        "| p99 delivery to 1,000 clients / p99 round trip to one | {:.1}x |\n",
        quantile(&delays, 0.99) / quantile(&round_trips, 0.99).max(0.001)
    );
}
