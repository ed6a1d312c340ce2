//! Middleware overhead under a load generator: the same hello route served with and
//! without the layer, each in its own process with one worker thread, loaded by `wrk` on
//! loopback in alternating rounds.

use std::process::Command;

use axum::{Router, routing::get};

use super::{Server, free_port, median};

const ROUNDS: usize = 5;
const SECONDS: u32 = 5;

pub fn serve(layer: bool, port: u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = Router::new().route("/hello", get(|| async { "Hello, World!" }));
        let (app, _sightline) = if layer {
            let sightline = sightline::Sightline::start(sightline::Config::default()).unwrap();
            (app.layer(sightline.layer()), Some(sightline))
        } else {
            (app, None)
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

struct Run {
    rps: f64,
    p99_ms: f64,
}

fn wrk(port: u16, seconds: u32) -> Run {
    let out = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{seconds}s"), "--latency"])
        .arg(format!("http://127.0.0.1:{port}/hello"))
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
    let bare = Server::start(&["serve-hello"], free_port());
    let layered = Server::start(&["serve-hello", "--layer"], free_port());
    wrk(bare.port, 1);
    wrk(layered.port, 1);
    let (mut bare_runs, mut layered_runs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Alternate who goes first, so drift in the machine's load hits both alike.
        if round % 2 == 0 {
            bare_runs.push(wrk(bare.port, SECONDS));
            layered_runs.push(wrk(layered.port, SECONDS));
        } else {
            layered_runs.push(wrk(layered.port, SECONDS));
            bare_runs.push(wrk(bare.port, SECONDS));
        }
    }
    let rps = |runs: &[Run]| median(&mut runs.iter().map(|r| r.rps).collect::<Vec<_>>());
    let p99 = |runs: &[Run]| median(&mut runs.iter().map(|r| r.p99_ms).collect::<Vec<_>>());
    let (b_rps, l_rps, b_p99, l_p99) = (
        rps(&bare_runs),
        rps(&layered_runs),
        p99(&bare_runs),
        p99(&layered_runs),
    );
    println!("## Middleware overhead under load (`overhead`)\n");
    println!(
        "wrk -t1 -c32, {ROUNDS} alternating rounds of {SECONDS} s each, medians; server: one worker thread.\n"
    );
    println!("| | without layer | with layer | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| throughput (req/s) | {b_rps:.0} | {l_rps:.0} | {:.3} | >= 0.97 |",
        l_rps / b_rps
    );
    println!(
        "| p99 latency (ms) | {b_p99:.3} | {l_p99:.3} | {:.3} | <= 1.10 |\n",
        l_p99 / b_p99
    );
}
