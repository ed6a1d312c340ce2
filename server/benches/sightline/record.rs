//! The middleware's own cost: the recording itself (route lookup + atomics) against an
//! empty loop, and a request through a router with and without the layer.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::{Router, body::Body, http::Request, routing::get};
use sightline::metrics::recorder::Recorder;
use tower::{Service, ServiceExt};

const N: u64 = 5_000_000;

pub fn run() {
    let recorder = Arc::new(Recorder::new(200));
    let routes = [
        "/api/users",
        "/api/users/{id}",
        "/api/orders/{id}/items/{item}",
        "/health",
    ];
    for r in routes {
        recorder.cell(0, Some(r));
    }

    let started = Instant::now();
    for i in 0..N {
        black_box(routes[(i & 3) as usize]);
        black_box(i % 500);
    }
    let empty = started.elapsed().as_nanos() as f64 / N as f64;

    let started = Instant::now();
    for i in 0..N {
        let cell = recorder.cell(0, Some(black_box(routes[(i & 3) as usize])));
        cell.record(200, black_box(i % 50_000), 128);
    }
    let record = started.elapsed().as_nanos() as f64 / N as f64 - empty;

    // The same across threads, all hitting the same route: contention on shared counters.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for i in 0..N / threads as u64 {
                    recorder
                        .cell(0, Some(black_box("/api/users")))
                        .record(200, i % 50_000, 128);
                }
            });
        }
    });
    let contended = started.elapsed().as_nanos() as f64 * threads as f64 / N as f64;

    let (bare, layered, noop) = through_router();
    println!("## Recording cost (`record`)\n");
    println!("| measure | ns per request |");
    println!("|---|---|");
    println!("| lookup + record, one thread (empty loop subtracted) | {record:.1} |");
    println!(
        "| lookup + record, {threads} threads on one route (CPU ns per request) | {contended:.1} |"
    );
    println!("| request through a router, no layer | {bare:.0} |");
    println!("| request through a router, with a no-op layer | {noop:.0} |");
    println!("| request through a router, with the Sightline layer | {layered:.0} |");
    println!(
        "| Sightline layer minus no-op layer | {:.0} |\n",
        layered - noop
    );
}

/// ns per request through `Router::call`, without and with the layer (rounds interleaved).
fn through_router() -> (f64, f64, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sightline = sightline::Sightline::start(super::config()).unwrap();
        let plain = Router::new().route("/hello/{name}", get(|| async { "hello" }));
        let layered = plain.clone().layer(sightline.layer());
        // Any layer at all costs axum a boxed service; this one does nothing else.
        let noop = plain.clone().layer(tower::util::MapResponseLayer::new(
            |r: axum::response::Response| r,
        ));
        let mut times = ([0.0; 5], [0.0; 5], [0.0; 5]);
        for round in 0..5 {
            times.0[round] = per_request(plain.clone()).await;
            times.1[round] = per_request(layered.clone()).await;
            times.2[round] = per_request(noop.clone()).await;
        }
        (
            super::median(&mut times.0),
            super::median(&mut times.1),
            super::median(&mut times.2),
        )
    })
}

async fn per_request(mut router: Router) -> f64 {
    const REQUESTS: u32 = 200_000;
    let started = Instant::now();
    for _ in 0..REQUESTS {
        let request = Request::get("/hello/world").body(Body::empty()).unwrap();
        let response = ServiceExt::<Request<Body>>::ready(&mut router)
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap();
        drop(black_box(response));
    }
    started.elapsed().as_nanos() as f64 / f64::from(REQUESTS)
}
