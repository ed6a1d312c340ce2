//! The newest finished 10 s windows, as the Dashboard's live charts draw them: every
//! snapshot carries the last few, so the charts grow with the live view and agree with
//! what history stores for the same windows (`store::recent` reads those back).

use std::collections::VecDeque;

use sightline_app::history::WINDOW_MS;
use sightline_app::snapshot::WindowPoint;

use super::summary::{Minute, summarize};
use super::window::Windows;

/// Finished windows per snapshot: a snapshot or two lost on the way costs no point, and a
/// window is sent until every instance of a cluster has reported it.
pub const RECENT_WINDOWS: u64 = 3;

/// One finished window: its traffic in parts that add up across instances, and the host
/// CPU samples taken in it.
#[derive(Clone, Debug, Default)]
pub struct RecentWindow {
    pub start_ms: u64,
    /// `None` without requests.
    pub traffic: Option<Minute>,
    pub cpu_sum: f64,
    pub cpu_samples: u32,
}

impl RecentWindow {
    pub fn point(&self) -> WindowPoint {
        let t = self.traffic.as_ref();
        WindowPoint {
            start_ms: self.start_ms,
            requests: t.map_or(0, |t| t.requests),
            client_errors: t.map_or(0, |t| t.client_errors),
            server_errors: t.map_or(0, |t| t.server_errors),
            p95_ms: t.filter(|t| t.requests > 0).map(|t| {
                summarize(t.histogram.as_ref(), t.latency_sum_us, t.latency_max_us).p95_ms
            }),
            cpu_percent: (self.cpu_samples > 0).then(|| self.cpu_sum / f64::from(self.cpu_samples)),
        }
    }
}

/// Host CPU samples of the current and the last few windows.
#[derive(Debug, Default)]
pub struct RecentCpu {
    /// (window start, sum, samples), oldest first.
    tens: VecDeque<(u64, f64, u32)>,
}

impl RecentCpu {
    pub fn sample(&mut self, now_ms: u64, cpu_percent: f64) {
        let start = now_ms / WINDOW_MS * WINDOW_MS;
        match self.tens.back_mut() {
            Some((t, sum, n)) if *t == start => {
                *sum += cpu_percent;
                *n += 1;
            }
            _ => self.tens.push_back((start, cpu_percent, 1)),
        }
        while self.tens.len() as u64 > RECENT_WINDOWS + 1 {
            self.tens.pop_front();
        }
    }

    /// The last [`RECENT_WINDOWS`] finished windows before `now_ms`'s, oldest first: those
    /// with samples or requests (a window before the process started has neither).
    pub fn windows(&self, windows: &Windows, now_ms: u64) -> Vec<RecentWindow> {
        let current = now_ms / WINDOW_MS;
        (current.saturating_sub(RECENT_WINDOWS)..current)
            .filter_map(|ten| {
                let start_ms = ten * WINDOW_MS;
                let (cpu_sum, cpu_samples) = self
                    .tens
                    .iter()
                    .find(|(t, ..)| *t == start_ms)
                    .map_or((0.0, 0), |&(_, sum, n)| (sum, n));
                let traffic = windows.ten(ten);
                (traffic.is_some() || cpu_samples > 0).then_some(RecentWindow {
                    start_ms,
                    traffic,
                    cpu_sum,
                    cpu_samples,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_their_own_samples_and_only_finished_ones_are_given() {
        let mut cpu = RecentCpu::default();
        for (t, v) in [
            (0, 10.0),
            (5_000, 20.0),
            (10_000, 40.0),
            (25_000, 5.0),
            (31_000, 99.0),
        ] {
            cpu.sample(t, v);
        }
        let points: Vec<WindowPoint> = cpu
            .windows(&Windows::new(), 31_000)
            .iter()
            .map(RecentWindow::point)
            .collect();
        // Windows 0, 10 and 20 s; 30 s is in progress.
        let got: Vec<(u64, Option<f64>, Option<f64>)> = points
            .iter()
            .map(|p| (p.start_ms, p.cpu_percent, p.p95_ms))
            .collect();
        assert_eq!(
            got,
            [
                (0, Some(15.0), None),
                (10_000, Some(40.0), None),
                (20_000, Some(5.0), None)
            ]
        );
        assert!(points.iter().all(|p| p.requests == 0));
        // Only the last few are kept.
        for i in 0..10 {
            cpu.sample(100_000 + i * WINDOW_MS, 1.0);
        }
        assert_eq!(cpu.tens.len() as u64, RECENT_WINDOWS + 1);
    }
}
