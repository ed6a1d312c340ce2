//! A 404 flood: 1,000,000 requests to random paths that match no route, over loopback, to
//! an app with history on. Reports how much the database grew (stored requests are capped
//! per route and 10 s window) and checks that the stored windows count every request sent,
//! exactly, and that stored, not stored and dropped records add up to them too.

use std::time::{Duration, Instant};

use axum::{Router, http::StatusCode, routing::get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::fanout::{find, number_after, runtime};
use super::history::temp_db;

const REQUESTS: u64 = 1_000_000;
const CONNECTIONS: u64 = 32;
const _: () = assert!(REQUESTS.is_multiple_of(CONNECTIONS));
/// The database may grow this much over the whole flood.
const TARGET_BYTES: u64 = 5 * 1024 * 1024;

/// Bytes of the database's pages in use, as its readers see it (the write-ahead log
/// included, free pages not): file sizes alone would count a checkpoint's truncation.
fn used_bytes(store: &sightline::store::Store) -> u64 {
    store
        .sqlite(|c| {
            Ok(c.query_row(
                "SELECT (page_count - freelist_count) * page_size
                 FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .expect("the flood runs on SQLite")
        .expect("read the database size") as u64
}

/// Sends `n` requests to random missing paths over one keep-alive connection, one at a
/// time; answers how many came back 404.
async fn flood(port: u16, seed: u64, n: u64) -> u64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the flooded server");
    let _ = stream.set_nodelay(true);
    let mut rng = seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 4096];
    let mut not_found = 0;
    for _ in 0..n {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let request = format!(
            "GET /scan/{rng:x}/{}.php HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            rng % 977
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send a request");
        // One whole response: its head, then `content-length` bytes of body.
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = &buf[..end];
                let len = number_after(head, b"content-length: ")
                    .or_else(|| number_after(head, b"Content-Length: "))
                    .unwrap_or(0) as usize;
                if buf.len() >= end + 4 + len {
                    if buf.starts_with(b"HTTP/1.1 404") {
                        not_found += 1;
                    }
                    buf.drain(..end + 4 + len);
                    break;
                }
            }
            let read = stream.read(&mut chunk).await.expect("read a response");
            assert!(read > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..read]);
        }
    }
    not_found
}

pub fn run() {
    let path = temp_db();
    let port = super::free_port();
    let server = runtime();
    let sightline = {
        let _inside = server.enter();
        sightline::Sightline::start(sightline::Config {
            db_path: Some(path.clone()),
            ..super::config()
        })
        .expect("Sightline starts with history")
    };
    let store = sightline.store().expect("history is on").clone();
    let app = Router::new()
        .route("/hello", get(|| async { "Hello, World!" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(sightline.layer());
    // Serves until the runtime shuts down at the end.
    drop(server.spawn(super::serve(app, port)));
    super::wait_listening(port);
    let before = used_bytes(&store);

    let client = runtime();
    let wall = Instant::now();
    let answered: u64 = client.block_on(async {
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|c| tokio::spawn(flood(port, c, REQUESTS / CONNECTIONS)))
            .collect();
        let mut answered = 0;
        for task in tasks {
            answered += task.await.expect("a flooding connection");
        }
        answered
    });
    let elapsed = wall.elapsed();
    // Each response was recorded before it was sent; this writes the window in progress.
    sightline.shutdown();
    let grown = used_bytes(&store).saturating_sub(before);

    let tiers: Vec<(i64, i64)> = store
        .sqlite(|c| {
            let mut stmt = c.prepare(
                "SELECT tier, sum(requests) FROM windows WHERE route_id = 0 GROUP BY tier ORDER BY tier",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .expect("the flood runs on SQLite")
        .expect("read the stored windows");
    let (kept, capped): (i64, i64) = store
        .sqlite(|c| {
            Ok(c.query_row(
                "SELECT coalesce(sum(kept), 0), coalesce(sum(capped), 0) FROM record_counts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .expect("the flood runs on SQLite")
        .expect("read the record counts");
    let health = store.health();
    let exact = tiers.len() == 3 && tiers.iter().all(|(_, n)| *n as u64 == REQUESTS);
    let records = kept as u64 + capped as u64 + health.records_dropped;

    println!("## 404 flood into history (`flood`)\n");
    println!(
        "{REQUESTS} GET requests to random paths that match no route, {CONNECTIONS} keep-alive connections on loopback, to an app with history on.\n"
    );
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!("| requests answered 404 | {answered} | {REQUESTS} |");
    println!(
        "| rate | {:.0} requests/s ({:.1} s) | |",
        REQUESTS as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "| database growth | {grown} bytes ({:.2} MiB) | < {TARGET_BYTES} bytes: {} |",
        grown as f64 / 1_048_576.0,
        if grown < TARGET_BYTES { "yes" } else { "NO" }
    );
    let sums: Vec<String> = tiers.iter().map(|(_, n)| n.to_string()).collect();
    println!(
        "| stored window requests, 10 s / 1 min / 1 h rows | {} | {REQUESTS} each, exact: {} |",
        sums.join(" / "),
        if exact { "yes" } else { "NO" }
    );
    println!(
        "| records stored / not stored (quota) / dropped (queue full) | {kept} / {capped} / {} | sum {REQUESTS}: {} |\n",
        health.records_dropped,
        if records == REQUESTS { "yes" } else { "NO" }
    );

    drop(store);
    drop(sightline);
    server.shutdown_timeout(Duration::from_secs(5));
    client.shutdown_timeout(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(path.parent().expect("a directory of its own"));
}
