//! Several instances over one Redis (`cluster`):
//! - what one instance publishes per snapshot period at 50 active routes (bytes, and so
//!   bytes/s), and the CPU its share of the work takes: building and encoding its state,
//!   decoding two others' and adding the three up, as a share of one core;
//! - a custom event posted on one of three instances to receipt by 1,000 SSE clients
//!   spread over all three, next to the same on a single instance, in the same run.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sightline::DashboardSnapshot;
use sightline::cluster::view::View;
use sightline::cluster::wire::{Identity, InstanceState, Local};
use sightline::metrics::recent::RecentCpu;
use sightline::metrics::recorder::Recorder;
use sightline::metrics::window::Windows;

use super::Server;
use super::events::{CLIENTS, EVENTS, measure_spread, quantile};

const ROUTES: usize = 50;
const PERIOD_MS: u64 = 2_000;
const T0: u64 = 1_700_000_000_000;

fn identity(id: &str) -> Identity {
    Identity {
        id: id.into(),
        run: format!("{id}-run"),
        host: "bench-host".into(),
        version: "0.1.0".into(),
        pid: 1,
        started_at_ms: T0,
    }
}

/// One instance's windows after a minute of traffic on `ROUTES` routes (latencies spread
/// over three orders of magnitude, some errors).
fn busy_windows(seed: u64) -> Windows {
    let recorder = Recorder::new(200);
    let mut windows = Windows::new();
    let mut x = seed | 1;
    for second in 0..60 {
        for r in 0..ROUTES {
            let cell = recorder.cell(0, Some(&format!("/api/v1/resource{r}/{{id}}")));
            for _ in 0..20 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let status = if x.is_multiple_of(50) { 500 } else { 200 };
                cell.record(status, 200 + x % 200_000, 512);
            }
        }
        windows.rotate(T0 + second * 1_000, &recorder.cells());
    }
    windows
}

fn state(id: &Identity, windows: &Windows, now: u64) -> InstanceState {
    InstanceState::build(
        Local {
            identity: id,
            period_ms: PERIOD_MS,
            sse_connections: 3,
            system: &Default::default(),
            process: &Default::default(),
            runtime: &Default::default(),
            // The live charts' last finished windows, as the ticker sends them.
            recent: &RecentCpu::default().windows(windows, now),
        },
        windows,
        now,
    )
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis(port: u16) -> Redis {
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/setup.sh installs it)");
    super::wait_listening(port);
    Redis(child)
}

pub fn run() {
    // --- What one instance publishes, and what the work costs. ---
    let now = T0 + 59_000;
    let (a, b, c) = (identity("a"), identity("b"), identity("c"));
    let windows = [busy_windows(1), busy_windows(2), busy_windows(3)];
    let message = state(&a, &windows[0], now).encode();
    let others: Vec<Vec<u8>> = [(&b, &windows[1]), (&c, &windows[2])]
        .iter()
        .map(|(id, w)| state(id, w, now).encode())
        .collect();
    let local = DashboardSnapshot::default();
    let rounds = 200;
    let mut view = View::new(a.clone());
    let started = super::thread_cpu_time();
    for _ in 0..rounds {
        let mine = state(&a, &windows[0], now);
        let bytes = mine.encode();
        std::hint::black_box(&bytes);
        view.insert(mine, now).unwrap();
        for other in &others {
            view.insert(InstanceState::decode(other).unwrap(), now)
                .unwrap();
        }
        let all = view.snapshot(&local, None, (true, None), now);
        std::hint::black_box(all);
        for id in ["a", "b", "c"] {
            std::hint::black_box(view.snapshot(&local, Some(id), (true, None), now));
        }
    }
    let per_period = (super::thread_cpu_time() - started) / rounds;
    let share = per_period.as_secs_f64() * 1_000.0 / PERIOD_MS as f64 * 100.0;

    println!("## Several instances over Redis (`cluster`)\n");
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| state message at {ROUTES} active routes | {} B | bounded |",
        message.len()
    );
    println!(
        "| published per instance (one message per {} s period) | {:.0} B/s | |",
        PERIOD_MS / 1_000,
        message.len() as f64 * 1_000.0 / PERIOD_MS as f64
    );
    println!(
        "| received per instance in a cluster of N | (N - 1) x {:.0} B/s | |",
        message.len() as f64 * 1_000.0 / PERIOD_MS as f64
    );
    println!(
        "| CPU per period: build + encode own state, decode 2 others, add up all + 3 scopes | {:.2} ms | |",
        per_period.as_secs_f64() * 1_000.0
    );
    println!("| the same as a share of one core | {share:.3} % | < 1 % |\n");

    // --- Events: one of three instances to 1,000 clients on all three. ---
    let redis_port = super::free_port();
    let _redis = redis(redis_port);
    let url = format!("redis://127.0.0.1:{redis_port}");
    let single = Server::start(&["serve-events"], super::free_port());
    std::thread::sleep(Duration::from_millis(500));
    let alone = measure_spread(single.port, &[single.port]);
    drop(single);
    let servers: Vec<Server> = ["a", "b", "c"]
        .into_iter()
        .map(|id| {
            Server::start(
                &["serve-cluster-events", "--redis", &url, "--id", id],
                super::free_port(),
            )
        })
        .collect();
    // Linked before the first event: it would otherwise race the subscription.
    std::thread::sleep(Duration::from_millis(1_500));
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let spread = measure_spread(ports[0], &ports);
    drop(servers);
    let expected = CLIENTS * EVENTS;
    println!(
        "| events: POST on A to receipt | three instances over Redis | one instance | ratio |"
    );
    println!("|---|---|---|---|");
    println!(
        "| clients connected | {} | {} | |",
        spread.connected, alone.connected
    );
    println!(
        "| deliveries (of {expected}) | {} | {} | |",
        spread.delays.len(),
        alone.delays.len()
    );
    for (label, q) in [("p50", 0.5), ("p99", 0.99)] {
        let (s, a) = (quantile(&spread.delays, q), quantile(&alone.delays, q));
        println!(
            "| {label} (ms) | {s:.2} | {a:.2} | {:.2} |",
            s / a.max(0.001)
        );
    }
    println!(
        "| POST round trip p50 (ms) | {:.2} | {:.2} | |\n",
        quantile(&spread.round_trips, 0.5),
        quantile(&alone.round_trips, 0.5)
    );
}
