//! The sampled values kept in history: one column each in the `samples` table, averaged
//! (or maxed) over each window, then over each coarser tier.

use sightline_app::snapshot::{ProcessStats, RuntimeStats, SystemStats};

/// Which REST endpoint (and page) a value belongs to.
pub use sightline_app::history::SampleGroup as Group;

/// How values combine within a window and across windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    Mean,
    Max,
}

pub struct Field {
    pub group: Group,
    /// The series name in API answers.
    pub name: &'static str,
    pub column: &'static str,
    pub combine: Combine,
}

const fn field(group: Group, name: &'static str, column: &'static str, combine: Combine) -> Field {
    Field {
        group,
        name,
        column,
        combine,
    }
}

use Combine::{Max, Mean};
use Group::{Process, Runtime, System};

/// Order matters: it is the order of [`values`]; a change here needs a migration.
pub const FIELDS: [Field; 17] = [
    field(System, "cpu_percent", "sys_cpu_percent", Mean),
    field(System, "mem_used_bytes", "sys_mem_used_bytes", Mean),
    field(System, "mem_total_bytes", "sys_mem_total_bytes", Mean),
    field(System, "disk_used_bytes", "sys_disk_used_bytes", Mean),
    field(System, "disk_total_bytes", "sys_disk_total_bytes", Mean),
    field(
        System,
        "net_rx_bytes_per_sec",
        "sys_net_rx_bytes_per_sec",
        Mean,
    ),
    field(
        System,
        "net_tx_bytes_per_sec",
        "sys_net_tx_bytes_per_sec",
        Mean,
    ),
    field(System, "load_average_1m", "sys_load_average_1m", Mean),
    field(Process, "rss_bytes", "proc_rss_bytes", Mean),
    field(Process, "cpu_percent", "proc_cpu_percent", Mean),
    field(Process, "threads", "proc_threads", Mean),
    field(Process, "open_fds", "proc_open_fds", Mean),
    field(Runtime, "workers", "rt_workers", Mean),
    field(Runtime, "alive_tasks", "rt_alive_tasks", Mean),
    field(Runtime, "global_queue_depth", "rt_global_queue_depth", Mean),
    field(
        Runtime,
        "scheduling_lag_avg_ms",
        "rt_scheduling_lag_avg_ms",
        Mean,
    ),
    field(
        Runtime,
        "scheduling_lag_max_ms",
        "rt_scheduling_lag_max_ms",
        Max,
    ),
];

pub type Values = [f64; FIELDS.len()];

/// One sample's values, in [`FIELDS`] order.
pub fn values(system: &SystemStats, process: &ProcessStats, runtime: &RuntimeStats) -> Values {
    [
        f64::from(system.cpu_percent),
        system.mem_used_bytes as f64,
        system.mem_total_bytes as f64,
        system.disk_used_bytes as f64,
        system.disk_total_bytes as f64,
        system.net_rx_bytes_per_sec,
        system.net_tx_bytes_per_sec,
        system.load_average_1m.unwrap_or(0.0),
        process.rss_bytes as f64,
        f64::from(process.cpu_percent),
        f64::from(process.threads.unwrap_or(0)),
        f64::from(process.open_fds.unwrap_or(0)),
        f64::from(runtime.workers),
        runtime.alive_tasks as f64,
        runtime.global_queue_depth as f64,
        runtime.scheduling_lag_avg_ms,
        runtime.scheduling_lag_max_ms,
    ]
}

/// Samples combined: sums for means, maxima for maxima, and how many went in.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleAcc {
    pub n: u64,
    pub acc: Values,
}

impl Default for SampleAcc {
    fn default() -> Self {
        Self {
            n: 0,
            acc: [0.0; FIELDS.len()],
        }
    }
}

impl SampleAcc {
    pub fn add(&mut self, values: &Values) {
        self.merge(&SampleAcc { n: 1, acc: *values });
    }

    pub fn merge(&mut self, other: &SampleAcc) {
        for (i, f) in FIELDS.iter().enumerate() {
            self.acc[i] = match f.combine {
                Mean => self.acc[i] + other.acc[i],
                Max => self.acc[i].max(other.acc[i]),
            };
        }
        self.n += other.n;
    }

    /// The combined value of field `i`.
    pub fn value(&self, i: usize) -> f64 {
        match FIELDS[i].combine {
            Mean if self.n > 0 => self.acc[i] / self.n as f64,
            Mean => 0.0,
            Max => self.acc[i],
        }
    }
}
