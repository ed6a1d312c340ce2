//! Nothing is lost at shutdown: requests that finish while the server drains are
//! recorded and written to history, in an embedding app and in the standalone server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{TempDir, fast_config, start_binary};
use axum::{Router, routing::get};
use sightline::{Config, Sightline};
use sightline_app::history::TimeRange;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const IN_FLIGHT: usize = 5;

fn history_config(dir: &TempDir) -> Config {
    Config {
        db_path: Some(dir.db()),
        ..fast_config()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Requests to `route` stored in the database in `dir` over the last ten minutes, as a
/// new Sightline on that database reads them.
async fn stored_requests(dir: &TempDir, route: &str) -> u64 {
    let sightline = Sightline::start(history_config(dir)).unwrap();
    let store = sightline.store().unwrap().clone();
    let now = now_ms();
    let range = TimeRange {
        from_ms: now - 10 * 60_000,
        to_ms: now + 60_000,
        preset: None,
        max_points: 60,
        instance: None,
    };
    let rows = tokio::task::spawn_blocking(move || {
        store.read(|c| sightline::store::query::endpoint_rows(c, &range))
    })
    .await
    .unwrap()
    .unwrap();
    tokio::task::spawn_blocking(move || sightline.shutdown())
        .await
        .unwrap();
    rows.iter()
        .filter(|row| row.route == route)
        .map(|row| row.requests)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_finish_while_an_embedding_app_drains_reach_history() {
    let dir = TempDir::new("drain");
    let sightline = Sightline::start(history_config(&dir)).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let work = {
        let started = started.clone();
        move || {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        }
    };
    let app = Router::new()
        .route("/work", get(work))
        .layer(sightline.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app.with_state(()).into_make_service())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );

    let http = reqwest::Client::new();
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|_| tokio::spawn(http.get(format!("http://{addr}/work")).send()))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while started.load(Ordering::SeqCst) < IN_FLIGHT {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the requests never reached the handler"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // All of them inside the handler: shut down, let serve drain them and return, and only
    // then stop Sightline.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("serve returns once the requests are done")
        .unwrap()
        .unwrap();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    let stopping = sightline.clone();
    tokio::task::spawn_blocking(move || stopping.shutdown())
        .await
        .unwrap();
    drop(sightline);

    assert_eq!(stored_requests(&dir, "/work").await, IN_FLIGHT as u64);
}

/// Sends a slow request on a connection of its own; the task answers whether it was
/// answered 200.
async fn slow_request(addr: &str) -> tokio::task::JoinHandle<bool> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET /api/reports/slow HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::spawn(async move {
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        response.starts_with(b"HTTP/1.1 200")
    })
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_writes_requests_that_finish_while_it_drains() {
    let dir = TempDir::new("drain-server");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"));
    command
        .args(["--addr", "127.0.0.1:0", "--auth", "off", "--demo"])
        .args(["--sample-interval-ms", "100", "--log-events", "off"])
        .arg("--db-path")
        .arg(dir.db())
        .arg("--data-dir")
        .arg(&dir.0);
    let (mut child, addr) = start_binary(command);

    let mut slow = Vec::new();
    for _ in 0..IN_FLIGHT {
        slow.push(slow_request(&addr).await);
    }
    // A request on a later connection answered: the slow ones were accepted before it.
    let users = reqwest::get(format!("http://{addr}/api/users"))
        .await
        .unwrap();
    assert_eq!(users.status(), 200);
    drop(users);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // SAFETY: signals our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);

    let mut answered = 0;
    for request in slow {
        answered += u64::from(request.await.unwrap());
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered > 0, "no slow request was in flight at the signal");
    // Every request answered during the drain was written before the server exited.
    assert_eq!(stored_requests(&dir, "/api/reports/slow").await, answered);
}
