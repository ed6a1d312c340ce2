//! SSE fan-out: 10,000 clients on loopback receiving the snapshot every 2 s from Sightline,
//! then from a bare write loop (the least any server could do: one loop writing the same
//! bytes to every socket) in the same run. Reports missed snapshots, delivery delay
//! (client receipt minus the snapshot's own timestamp) and server memory per connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::{Server, free_port};

const CLIENTS: usize = 10_000;
const TICK: Duration = Duration::from_secs(2);
const MEASURED_TICKS: u32 = 5;
const SSE_PATH: &str = "/sightline/api/sse";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn serve_sightline(port: u16) {
    runtime().block_on(async {
        let sightline = sightline::Sightline::start(sightline::Config {
            snapshot_interval: TICK,
            sse_max_connections: 2 * CLIENTS as u64,
            ..super::config()
        })
        .unwrap();
        super::serve(sightline.router(), port).await;
    });
}

/// Plain axum: `retry:` and the latest frame on connect, then a broadcast of pre-encoded
/// frames, streamed as the response body. What an axum SSE endpoint that behaves like
/// Sightline's costs before Sightline adds anything.
pub fn serve_axum(port: u16) {
    let size: usize = std::env::var("BARE_PAYLOAD_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    runtime().block_on(async move {
        let (tx, _) = tokio::sync::broadcast::channel::<bytes::Bytes>(16);
        let latest = Arc::new(std::sync::Mutex::new(bytes::Bytes::new()));
        tokio::spawn({
            let (tx, latest) = (tx.clone(), latest.clone());
            async move {
                let mut tick = tokio::time::interval(TICK);
                for id in 1u64.. {
                    tick.tick().await;
                    let frame = bytes::Bytes::from(frame(id, size));
                    *latest.lock().unwrap() = frame.clone();
                    let _ = tx.send(frame);
                }
            }
        });
        let app = axum::Router::new().route(
            SSE_PATH,
            axum::routing::get(move || {
                let rx = tx.subscribe();
                // Like Sightline: retry and the latest frame at once, then live frames.
                let first = vec![
                    latest.lock().unwrap().clone(),
                    bytes::Bytes::from_static(b"retry: 5000\n\n"),
                ];
                async move {
                    let stream = futures_util::stream::unfold(
                        (first, rx),
                        |(mut first, mut rx)| async move {
                            if let Some(bytes) = first.pop() {
                                return Some((
                                    Ok::<_, std::convert::Infallible>(bytes),
                                    (first, rx),
                                ));
                            }
                            let bytes = rx.recv().await.ok()?;
                            Some((Ok(bytes), (first, rx)))
                        },
                    );
                    (
                        [("content-type", "text/event-stream")],
                        axum::body::Body::from_stream(stream),
                    )
                }
            }),
        );
        super::serve(app, port).await;
    });
}

/// An SSE snapshot frame of about `size` bytes of JSON, stamped now.
fn frame(id: u64, size: usize) -> String {
    let data = format!(
        "{{\"timestamp_ms\":{},\"pad\":\"{}\"}}",
        now_ms(),
        "x".repeat(size.saturating_sub(40))
    );
    format!("id: {id}\nevent: snapshot\ndata: {data}\n\n")
}

pub fn serve_bare(port: u16) {
    let size: usize = std::env::var("BARE_PAYLOAD_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let sockets: Arc<Mutex<Vec<tokio::net::tcp::OwnedWriteHalf>>> = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn({
            let sockets = sockets.clone();
            async move {
                let mut tick = tokio::time::interval(TICK);
                for id in 1u64.. {
                    tick.tick().await;
                    let frame = frame(id, size);
                    let mut sockets = sockets.lock().await;
                    let current = std::mem::take(&mut *sockets);
                    for mut socket in current {
                        if socket.write_all(frame.as_bytes()).await.is_ok() {
                            sockets.push(socket);
                        }
                    }
                }
            }
        });
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let sockets = sockets.clone();
            tokio::spawn(async move {
                let (mut read, mut write) = stream.into_split();
                let mut buf = [0u8; 1024];
                let _ = read.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\nretry: 5000\n\n";
                if write.write_all(head.as_bytes()).await.is_ok() {
                    sockets.lock().await.push(write);
                }
                // Keep the read half open until the client goes.
                let _ = read.read(&mut buf).await;
            });
        }
    });
}

#[derive(Default)]
struct Stats {
    connected: AtomicU64,
    recording: AtomicBool,
    deliveries: AtomicU64,
    missed: AtomicU64,
    delays_ms: std::sync::Mutex<Vec<u32>>,
}

async fn client(port: u16, stats: Arc<Stats>) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    let request =
        format!("GET {SSE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut chunk = vec![0u8; 8 * 1024];
    let mut counted = false;
    let mut last_id = 0u64;
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        let received = now_ms();
        buf.extend_from_slice(&chunk[..n]);
        if !counted {
            counted = true;
            stats.connected.fetch_add(1, Ordering::Relaxed);
        }
        while let Some(end) = find(&buf, b"\n\n") {
            let event = &buf[..end];
            if let (Some(id), Some(ts)) = (
                number_after(event, b"id: "),
                number_after(event, b"\"timestamp_ms\":"),
            ) {
                if stats.recording.load(Ordering::Relaxed) {
                    if last_id != 0 && id > last_id + 1 {
                        stats.missed.fetch_add(id - last_id - 1, Ordering::Relaxed);
                    }
                    stats.deliveries.fetch_add(1, Ordering::Relaxed);
                    stats
                        .delays_ms
                        .lock()
                        .unwrap()
                        .push(received.saturating_sub(ts) as u32);
                }
                last_id = id;
            }
            buf.drain(..end + 2);
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn number_after(haystack: &[u8], key: &[u8]) -> Option<u64> {
    let start = find(haystack, key)? + key.len();
    let digits: Vec<u8> = haystack[start..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

struct Outcome {
    connected: u64,
    deliveries: u64,
    missed: u64,
    p50_ms: u32,
    p99_ms: u32,
    max_ms: u32,
    rss_per_connection: f64,
}

fn measure(server: &Server) -> Outcome {
    let runtime = runtime();
    let stats = Arc::new(Stats::default());
    std::thread::sleep(TICK);
    let rss_before = server.rss();
    runtime.block_on(async {
        for batch in 0..CLIENTS / 250 {
            for _ in 0..250 {
                tokio::spawn(client(server.port, stats.clone()));
            }
            let want = ((batch + 1) * 250) as u64;
            let deadline = Instant::now() + Duration::from_secs(10);
            while stats.connected.load(Ordering::Relaxed) < want && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        // Every client has had its first event; settle one tick, then measure.
        tokio::time::sleep(TICK + TICK / 2).await;
        stats.recording.store(true, Ordering::Relaxed);
        tokio::time::sleep(TICK * MEASURED_TICKS).await;
        stats.recording.store(false, Ordering::Relaxed);
    });
    let rss_after = server.rss();
    let connected = stats.connected.load(Ordering::Relaxed);
    let mut delays = std::mem::take(&mut *stats.delays_ms.lock().unwrap());
    delays.sort_unstable();
    let at = |q: f64| {
        delays
            .get(((delays.len() as f64 * q) as usize).min(delays.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let outcome = Outcome {
        connected,
        deliveries: stats.deliveries.load(Ordering::Relaxed),
        missed: stats.missed.load(Ordering::Relaxed),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: delays.last().copied().unwrap_or(0),
        rss_per_connection: rss_after.saturating_sub(rss_before) as f64 / connected.max(1) as f64,
    };
    runtime.shutdown_timeout(Duration::from_secs(5));
    outcome
}

pub fn run() {
    let sightline = Server::start(&["serve-sightline"], free_port());
    std::thread::sleep(TICK);
    let size = std::process::Command::new("curl")
        .args([
            "-s",
            &format!("http://127.0.0.1:{}/sightline/api/snapshot", sightline.port),
        ])
        .output()
        .map_or(2_000, |o| o.stdout.len());
    let s = measure(&sightline);
    drop(sightline);
    // SAFETY: set before the children are spawned, read only by them.
    unsafe { std::env::set_var("BARE_PAYLOAD_BYTES", size.to_string()) };
    let axum = Server::start(&["serve-axum"], free_port());
    let a = measure(&axum);
    drop(axum);
    let bare = Server::start(&["serve-bare"], free_port());
    let b = measure(&bare);
    drop(bare);

    println!("## SSE fan-out (`fanout`)\n");
    println!(
        "{CLIENTS} clients on loopback, a snapshot every {} s ({size} bytes of JSON), {MEASURED_TICKS} ticks measured; delay = receipt minus the snapshot's own timestamp (ms resolution). \"plain axum\" streams the same bytes from a broadcast with no Sightline code; \"bare write loop\" is one task writing to every socket in turn.\n",
        TICK.as_secs()
    );
    println!(
        "| | Sightline | plain axum | bare write loop | Sightline / bare | Sightline / plain axum | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| clients connected | {} | {} | {} | | | {CLIENTS} |",
        s.connected, a.connected, b.connected
    );
    println!(
        "| snapshots delivered | {} | {} | {} | | | |",
        s.deliveries, a.deliveries, b.deliveries
    );
    println!(
        "| snapshots missed | {} | {} | {} | | | 0 |",
        s.missed, a.missed, b.missed
    );
    println!(
        "| delay p50 (ms) | {} | {} | {} | | | |",
        s.p50_ms, a.p50_ms, b.p50_ms
    );
    let ratio = |x: u32, y: u32| f64::from(x.max(1)) / f64::from(y.max(1));
    println!(
        "| delay p99 (ms) | {} | {} | {} | {:.2} | {:.2} | <= 1.2 (vs bare) |",
        s.p99_ms,
        a.p99_ms,
        b.p99_ms,
        ratio(s.p99_ms, b.p99_ms),
        ratio(s.p99_ms, a.p99_ms)
    );
    println!(
        "| delay max (ms) | {} | {} | {} | | | |",
        s.max_ms, a.max_ms, b.max_ms
    );
    let kb = |o: &Outcome| o.rss_per_connection / 1024.0;
    println!(
        "| server RSS per connection (KB) | {:.1} | {:.1} | {:.1} | | | <= 12 |\n",
        kb(&s),
        kb(&a),
        kb(&b)
    );
}
