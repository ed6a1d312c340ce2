//! Samples the host (sysinfo), this process and the tokio runtime.
//!
//! Only what is cheap is refreshed: CPU and memory totals, the disks' space, the network
//! counters and this one process (never the whole process table).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sightline_app::snapshot::{ProcessStats, RuntimeStats, SystemStats};
use sysinfo::{
    CpuRefreshKind, Disks, MemoryRefreshKind, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate,
    RefreshKind, System,
};

/// Samples averaged for the CPU figures: the kernel counts CPU time in 10 ms ticks, so one
/// 1 s sample on two cores can only read multiples of 0.5 %.
const CPU_SAMPLES: usize = 5;

#[derive(Debug)]
pub struct Sampler {
    /// The last readings of (host, process) CPU, newest last.
    cpu: VecDeque<(f32, f32)>,
    system: System,
    disks: Disks,
    networks: Networks,
    pid: Pid,
    data_dir: PathBuf,
    started: Instant,
    last: Instant,
}

fn percent(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64) as f32
    }
}

impl Sampler {
    /// `data_dir`: the disk gauge shows the volume holding it.
    pub fn new(data_dir: &Path, started: Instant) -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let data_dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        Self {
            cpu: VecDeque::with_capacity(CPU_SAMPLES),
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            pid: Pid::from_u32(std::process::id()),
            data_dir,
            started,
            last: Instant::now(),
        }
    }

    pub fn sample(&mut self) -> (SystemStats, ProcessStats) {
        let now = Instant::now();
        let elapsed = now
            .duration_since(self.last)
            .max(Duration::from_millis(1))
            .as_secs_f64();
        self.last = now;

        self.system.refresh_cpu_usage();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        self.disks.refresh(false);
        self.networks.refresh(false);
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );

        let cores = self.system.cpus().len().max(1) as u32;
        let (mut rx, mut tx, mut lo_rx, mut lo_tx) = (0u64, 0u64, 0u64, 0u64);
        for (name, data) in self.networks.iter() {
            if is_loopback(name) {
                lo_rx += data.received();
                lo_tx += data.transmitted();
            } else {
                rx += data.received();
                tx += data.transmitted();
            }
        }
        let (disk_used, disk_total) = self.data_volume();
        let process = self.system.process(self.pid);
        if self.cpu.len() == CPU_SAMPLES {
            self.cpu.pop_front();
        }
        self.cpu.push_back((
            self.system.global_cpu_usage(),
            process.map_or(0.0, |p| p.cpu_usage() / cores as f32),
        ));
        let n = self.cpu.len() as f32;
        let (host_cpu, process_cpu) = self
            .cpu
            .iter()
            .fold((0.0, 0.0), |(h, p), (dh, dp)| (h + dh / n, p + dp / n));
        let load = System::load_average().one;
        let system = SystemStats {
            cpu_percent: host_cpu,
            cpu_cores: cores,
            mem_percent: percent(self.system.used_memory(), self.system.total_memory()),
            mem_used_bytes: self.system.used_memory(),
            mem_total_bytes: self.system.total_memory(),
            disk_percent: percent(disk_used, disk_total),
            disk_used_bytes: disk_used,
            disk_total_bytes: disk_total,
            net_rx_bytes_per_sec: rx as f64 / elapsed,
            net_tx_bytes_per_sec: tx as f64 / elapsed,
            loopback_rx_bytes_per_sec: lo_rx as f64 / elapsed,
            loopback_tx_bytes_per_sec: lo_tx as f64 / elapsed,
            load_average_1m: (cfg!(unix)).then_some(load),
        };

        let process = ProcessStats {
            rss_bytes: process.map_or(0, |p| p.memory()),
            virtual_bytes: process.map_or(0, |p| p.virtual_memory()),
            cpu_percent: process_cpu,
            threads: thread_count(),
            open_fds: open_fds(),
            uptime_seconds: self.started.elapsed().as_secs(),
        };
        (system, process)
    }

    /// Used and total bytes of the mounted volume holding the data directory.
    fn data_volume(&self) -> (u64, u64) {
        self.disks
            .iter()
            .filter(|d| self.data_dir.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len())
            .map(|d| (d.total_space() - d.available_space(), d.total_space()))
            .unwrap_or((0, 0))
    }
}

fn is_loopback(interface: &str) -> bool {
    interface == "lo" || interface.starts_with("lo0") || interface.eq_ignore_ascii_case("loopback")
}

#[cfg(target_os = "linux")]
fn thread_count() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(not(target_os = "linux"))]
fn thread_count() -> Option<u32> {
    None
}

#[cfg(target_os = "linux")]
fn open_fds() -> Option<u32> {
    Some(
        std::fs::read_dir("/proc/self/fd")
            .ok()?
            .count()
            .saturating_sub(1) as u32,
    )
}

#[cfg(not(target_os = "linux"))]
fn open_fds() -> Option<u32> {
    None
}

/// Scheduling lag of the tokio runtime: how long a freshly spawned task waits before it
/// first runs. An idle runtime reads microseconds; a starved one, the time tasks queue.
#[derive(Debug, Default)]
pub struct LagProbe {
    count: u32,
    sum: Duration,
    max: Duration,
    /// The probe task sent to the app's runtime that has not run yet.
    pending: Option<(Instant, tokio::sync::oneshot::Receiver<Duration>)>,
}

/// A probe that has waited this long counts as "at least this": the runtime is starved.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl LagProbe {
    /// Sends one probe task to the app's runtime, or collects the one sent before. Never
    /// waits: a starved runtime must not stop the ticker that reports it.
    pub fn probe(&mut self, runtime: &tokio::runtime::Handle) {
        if let Some((sent, rx)) = &mut self.pending {
            match rx.try_recv() {
                Ok(lag) => {
                    self.note(lag);
                    self.pending = None;
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => return,
                // The runtime dropped the task (shutting down): no measurement.
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                    let _ = sent;
                    self.pending = None;
                }
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = Instant::now();
        drop(runtime.spawn(async move {
            let _ = tx.send(sent.elapsed());
        }));
        self.pending = Some((sent, rx));
    }

    fn note(&mut self, lag: Duration) {
        self.count += 1;
        self.sum += lag;
        self.max = self.max.max(lag);
    }

    /// The runtime's figures, with the lag since the last call. A probe still waiting
    /// after [`PROBE_TIMEOUT`] counts with the time it has waited so far, and marks the
    /// runtime as starved.
    pub fn take(&mut self, runtime: &tokio::runtime::Handle) -> RuntimeStats {
        let waiting = self
            .pending
            .as_ref()
            .map(|(sent, _)| sent.elapsed())
            .filter(|waited| *waited >= PROBE_TIMEOUT);
        if let Some(waited) = waiting {
            self.note(waited);
        }
        let metrics = runtime.metrics();
        let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
        let stats = RuntimeStats {
            workers: metrics.num_workers() as u32,
            alive_tasks: metrics.num_alive_tasks() as u64,
            global_queue_depth: metrics.global_queue_depth() as u64,
            scheduling_lag_avg_ms: if self.count == 0 {
                0.0
            } else {
                ms(self.sum) / self.count as f64
            },
            scheduling_lag_max_ms: ms(self.max),
            starved: waiting.is_some(),
        };
        self.count = 0;
        self.sum = Duration::ZERO;
        self.max = Duration::ZERO;
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_host_and_process() {
        let mut sampler = Sampler::new(Path::new("."), Instant::now());
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let (system, process) = sampler.sample();
        assert!(system.mem_total_bytes > 0 && system.mem_used_bytes <= system.mem_total_bytes);
        assert!(system.disk_total_bytes > 0, "the volume of . is found");
        assert!((0.0..=100.0).contains(&system.disk_percent));
        assert!(process.rss_bytes > 0);
        if cfg!(target_os = "linux") {
            assert!(process.threads.unwrap() >= 1);
            assert!(process.open_fds.unwrap() >= 3);
        }
    }

    #[test]
    fn lag_is_the_time_a_task_waits_to_run_and_a_starved_runtime_is_said_so() {
        let app = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let runtime = app.handle().clone();
        let mut probe = LagProbe::default();
        probe.probe(&runtime);
        // The app's only thread is busy for 30 ms before it runs the probe's task.
        app.block_on(async {
            std::thread::sleep(Duration::from_millis(30));
            tokio::task::yield_now().await;
        });
        probe.probe(&runtime);
        let stats = probe.take(&runtime);
        assert_eq!(stats.workers, 1);
        assert!(stats.scheduling_lag_max_ms >= 30.0, "{stats:?}");
        assert!(!stats.starved);
        // Nothing runs the app's runtime now: probing never waits, and after the timeout
        // the figure is "at least the timeout".
        let asked = Instant::now();
        for _ in 0..3 {
            probe.probe(&runtime);
        }
        assert!(asked.elapsed() < PROBE_TIMEOUT);
        std::thread::sleep(PROBE_TIMEOUT);
        let stats = probe.take(&runtime);
        assert!(stats.starved, "{stats:?}");
        assert!(stats.scheduling_lag_max_ms >= PROBE_TIMEOUT.as_millis() as f64);
    }
}
