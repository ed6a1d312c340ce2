//! Sightline's benchmarks, each reported as a ratio against a baseline measured in the
//! same run (the machines this runs on are noisy).
//!
//! ```sh
//! ./scripts/bench.sh                 # all of them; or name some:
//! ./scripts/bench.sh record sampler  # record | sampler | overhead | fanout | history | events | flood | cluster | proxy
//! ```
//!
//! The binary also plays the servers it measures (`serve-*` subcommands), started as child
//! processes so the load generator and the server under test never share a runtime.

mod cluster;
#[path = "../../tests/it/common.rs"]
mod common;
mod events;
mod fanout;
mod flood;
mod history;
mod overhead;
#[path = "../../tests/it/postgres.rs"]
mod postgres;
mod proxy;
mod record;
mod sampler;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("serve-hello") => overhead::serve(&flag(&args, "--layer"), port(&args)),
        Some("serve-sightline") => fanout::serve_sightline(port(&args)),
        Some("serve-axum") => fanout::serve_axum(port(&args)),
        Some("serve-bare") => fanout::serve_bare(port(&args)),
        Some("serve-events") => events::serve(port(&args), None),
        Some("serve-cluster-events") => events::serve(
            port(&args),
            Some((flag(&args, "--redis"), flag(&args, "--id"))),
        ),
        Some("serve-bare-events") => events::serve_bare(port(&args)),
        Some("serve-proxy") => proxy::serve(
            flag(&args, "--upstream").parse().expect("--upstream PORT"),
            port(&args),
        ),
        _ => {
            let all = args.is_empty();
            let wants = |name: &str| all || args.iter().any(|a| a == name);
            println!("# Sightline benchmarks ({})\n", machine());
            if wants("record") {
                record::run();
            }
            if wants("sampler") {
                sampler::run();
            }
            if wants("overhead") {
                overhead::run();
            }
            if wants("fanout") {
                fanout::run();
            }
            if wants("history") {
                history::run();
            }
            if wants("events") {
                events::run();
            }
            if wants("flood") {
                flood::run();
            }
            if wants("cluster") {
                cluster::run();
            }
            if wants("proxy") {
                proxy::run();
            }
        }
    }
}

/// Sightline as the benchmark servers run it: no history file, no sign-in.
pub fn config() -> sightline::Config {
    sightline::Config {
        db_path: None,
        access: sightline::Access::Off,
        ..sightline::Config::default()
    }
}

fn flag(args: &[String], name: &str) -> String {
    args.iter()
        .skip_while(|a| *a != name)
        .nth(1)
        .cloned()
        .unwrap_or_else(|| panic!("{name} VALUE"))
}

fn port(args: &[String]) -> u16 {
    flag(args, "--port").parse().expect("--port N")
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{cores} cores, load average {}",
        load.split(' ').next().unwrap_or("?")
    )
}

/// A child process running one of the `serve-*` subcommands; killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(args: &[&str], port: u16) -> Self {
        let child = Command::new(std::env::current_exe().expect("own path"))
            .args(args)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start a server");
        wait_listening(port);
        Self { child, port }
    }

    /// Resident memory of the server process, in bytes.
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `app` on 127.0.0.1:`port`, finalised once as the binary does.
pub async fn serve(app: axum::Router, port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    axum::serve(listener, app.with_state(()).into_make_service())
        .await
        .unwrap();
}

/// Waits (up to 20 s) until something accepts connections on 127.0.0.1:`port`.
pub fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server on {port} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// 10,000 sockets need more than the usual 1,024 descriptors.
fn raise_fd_limit() {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// CPU time this thread has used.
pub fn thread_cpu_time() -> Duration {
    cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of every thread of this process.
pub fn process_cpu_time() -> Duration {
    cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn cpu_time(clock: libc::clockid_t) -> Duration {
    // SAFETY: clock_gettime writes into the local timespec.
    unsafe {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::clock_gettime(clock, &mut t);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }
}
