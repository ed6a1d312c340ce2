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

/// One sample's values; `None` where the OS gave no figure (no load average, say).
pub type Values = [Option<f64>; FIELDS.len()];

/// One sample's values, in [`FIELDS`] order.
pub fn values(system: &SystemStats, process: &ProcessStats, runtime: &RuntimeStats) -> Values {
    [
        Some(f64::from(system.cpu_percent)),
        Some(system.mem_used_bytes as f64),
        Some(system.mem_total_bytes as f64),
        Some(system.disk_used_bytes as f64),
        Some(system.disk_total_bytes as f64),
        Some(system.net_rx_bytes_per_sec),
        Some(system.net_tx_bytes_per_sec),
        system.load_average_1m,
        Some(process.rss_bytes as f64),
        Some(f64::from(process.cpu_percent)),
        process.threads.map(f64::from),
        process.open_fds.map(f64::from),
        Some(f64::from(runtime.workers)),
        Some(runtime.alive_tasks as f64),
        Some(runtime.global_queue_depth as f64),
        Some(runtime.scheduling_lag_avg_ms),
        Some(runtime.scheduling_lag_max_ms),
    ]
}

/// Samples combined. Per field: the sum (means) or the maximum (maxima) of the values
/// measured, and how many samples measured it; a field no sample measured stays missing.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleAcc {
    /// Samples that went in.
    pub n: u64,
    pub acc: [f64; FIELDS.len()],
    pub measured: [u64; FIELDS.len()],
}

impl Default for SampleAcc {
    fn default() -> Self {
        Self {
            n: 0,
            acc: [0.0; FIELDS.len()],
            measured: [0; FIELDS.len()],
        }
    }
}

impl SampleAcc {
    pub fn add(&mut self, values: &Values) {
        let mut one = SampleAcc {
            n: 1,
            ..SampleAcc::default()
        };
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                one.acc[i] = v;
                one.measured[i] = 1;
            }
        }
        self.merge(&one);
    }

    pub fn merge(&mut self, other: &SampleAcc) {
        for (i, f) in FIELDS.iter().enumerate() {
            if other.measured[i] == 0 {
                continue;
            }
            self.acc[i] = match f.combine {
                _ if self.measured[i] == 0 => other.acc[i],
                Mean => self.acc[i] + other.acc[i],
                Max => self.acc[i].max(other.acc[i]),
            };
            self.measured[i] += other.measured[i];
        }
        self.n += other.n;
    }

    /// The combined value of field `i`: `None` when no sample measured it.
    pub fn value(&self, i: usize) -> Option<f64> {
        let measured = self.measured[i];
        if measured == 0 {
            return None;
        }
        Some(match FIELDS[i].combine {
            Mean => self.acc[i] / measured as f64,
            Max => self.acc[i],
        })
    }

    /// What a `samples` row holds for field `i`: NULL (`None`) when no sample measured
    /// it; for a mean, the mean of the measured values times `n` (so a row keeps one count
    /// for all its fields); for a maximum, the maximum.
    pub fn stored(&self, i: usize) -> Option<f64> {
        let v = self.value(i)?;
        let v = match FIELDS[i].combine {
            Mean => v * self.n as f64,
            Max => v,
        };
        v.is_finite().then_some(v)
    }

    /// A `samples` row read back: `n` samples and the stored values in [`FIELDS`] order.
    pub fn from_stored(n: u64, stored: impl IntoIterator<Item = Option<f64>>) -> Self {
        let mut acc = SampleAcc {
            n,
            ..SampleAcc::default()
        };
        for (i, v) in stored.into_iter().enumerate().take(FIELDS.len()) {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                acc.acc[i] = v;
                acc.measured[i] = n.max(1);
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str, group: Group) -> usize {
        FIELDS
            .iter()
            .position(|f| f.name == name && f.group == group)
            .unwrap()
    }

    #[test]
    fn a_figure_never_measured_stays_missing() {
        let load = index("load_average_1m", System);
        let fds = index("open_fds", Process);
        let cpu = index("cpu_percent", System);
        let mut acc = SampleAcc::default();
        let mut sample = [Some(2.0); FIELDS.len()];
        sample[load] = None;
        sample[fds] = None;
        acc.add(&sample);
        sample[fds] = Some(8.0);
        acc.add(&sample);
        assert_eq!(acc.value(load), None);
        assert_eq!(acc.stored(load), None);
        assert_eq!(
            acc.value(fds),
            Some(8.0),
            "the mean of the samples measured"
        );
        assert_eq!(acc.value(cpu), Some(2.0));

        let back = SampleAcc::from_stored(acc.n, (0..FIELDS.len()).map(|i| acc.stored(i)));
        assert_eq!(back.value(load), None);
        assert_eq!(back.value(fds), Some(8.0));
        assert_eq!(back.value(cpu), Some(2.0));
        let mut merged = back.clone();
        merged.merge(&SampleAcc::default());
        assert_eq!(merged.value(load), None);
        let mut measured = SampleAcc::default();
        measured.add(&[Some(1.0); FIELDS.len()]);
        merged.merge(&measured);
        assert_eq!(merged.value(load), Some(1.0));
        assert_eq!(merged.n, 3);
    }

    #[test]
    fn maxima_ignore_missing_samples() {
        let lag = index("scheduling_lag_max_ms", Runtime);
        let mut acc = SampleAcc::default();
        let mut sample = [None; FIELDS.len()];
        acc.add(&sample);
        assert_eq!(acc.value(lag), None);
        sample[lag] = Some(-1.0);
        acc.add(&sample);
        assert_eq!(
            acc.value(lag),
            Some(-1.0),
            "not raised to a zero never measured"
        );
    }
}
