//! Middleware overhead under a load generator: the same hello route served with and
//! without the layer, each in its own process with one worker thread, loaded by `wrk` on
//! loopback in alternating rounds.

use std::process::Command;

use axum::{Router, routing::get};

use super::{Server, free_port, median};

const ROUNDS: usize = 11;
const SECONDS: u32 = 3;

/// `layer`: "none", "noop" (any layer at all, doing nothing) or "sightline".
pub fn serve(layer: &str, port: u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = Router::new()
            .route("/hello", get(|| async { "Hello, World!" }))
            // A typical API answer's size, for the proxy benchmark.
            .route(
                "/16k",
                get(|| async { bytes::Bytes::from_static(&[b'x'; 16_384]) }),
            );
        let (app, _sightline) = match layer {
            "sightline" => {
                let sightline = sightline::Sightline::start(super::config()).unwrap();
                (app.layer(sightline.layer()), Some(sightline))
            }
            "noop" => (
                app.layer(tower::util::MapResponseLayer::new(
                    |r: axum::response::Response| r,
                )),
                None,
            ),
            _ => (app, None),
        };
        super::serve(app, port).await;
    });
}

pub struct Run {
    pub rps: f64,
    pub p99_ms: f64,
}

fn wrk(port: u16, seconds: u32) -> Run {
    wrk_url(&format!("http://127.0.0.1:{port}/hello"), seconds)
}

/// One wrk run, one thread and 32 connections, against `url`.
pub fn wrk_url(url: &str, seconds: u32) -> Run {
    let out = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{seconds}s"), "--latency"])
        .arg(url)
        .output()
        .expect("wrk runs (scripts/setup.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_duration_ms(v.trim()))
        .unwrap_or_else(|| panic!("no 99% line in wrk output:\n{text}"));
    Run { rps, p99_ms: p99 }
}

/// wrk's `850.00us`, `1.23ms`, `2.00s`.
fn parse_duration_ms(v: &str) -> f64 {
    let (number, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e3)
    } else {
        (v, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * scale
}

pub fn run() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!(
            "## Middleware overhead (`overhead`)\n\nskipped: `wrk` is not installed (scripts/setup.sh installs it)\n"
        );
        return;
    }
    let variants = ["none", "noop", "sightline"];
    let servers: Vec<Server> = variants
        .iter()
        .map(|v| Server::start(&["serve-hello", "--layer", v], free_port()))
        .collect();
    for server in &servers {
        wrk(server.port, 1);
    }
    let mut runs: Vec<Vec<Run>> = variants.iter().map(|_| Vec::new()).collect();
    for round in 0..ROUNDS {
        // Rotate who goes first, so drift in the machine's load hits all alike.
        for i in 0..variants.len() {
            let v = (i + round) % variants.len();
            runs[v].push(wrk(servers[v].port, SECONDS));
        }
    }
    let rps: Vec<f64> = runs
        .iter()
        .map(|r| median(&mut r.iter().map(|r| r.rps).collect::<Vec<_>>()))
        .collect();
    let p99: Vec<f64> = runs
        .iter()
        .map(|r| median(&mut r.iter().map(|r| r.p99_ms).collect::<Vec<_>>()))
        .collect();
    println!("## Middleware overhead under load (`overhead`)\n");
    println!(
        "The same hello route, wrk -t1 -c32 on loopback, {ROUNDS} rotating rounds of {SECONDS} s, medians; each server one worker thread. \"no-op layer\" is a layer that does nothing: the part of the cost that is axum's per-route layer plumbing, paid by any middleware.\n"
    );
    println!(
        "| | no layer | no-op layer | Sightline layer | Sightline / no layer | Sightline / no-op | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| throughput (req/s) | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | >= 0.97 |",
        rps[0],
        rps[1],
        rps[2],
        rps[2] / rps[0],
        rps[2] / rps[1]
    );
    println!(
        "| p99 latency (ms) | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | <= 1.10 |\n",
        p99[0],
        p99[1],
        p99[2],
        p99[2] / p99[0],
        p99[2] / p99[1]
    );
}
