//! The one loop behind the live view: sample the host, drain the recorder into the
//! windows, build a `DashboardSnapshot` and hand it to the hub; heartbeats too.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sightline_app::snapshot::{
    DashboardSnapshot, ProcessStats, RuntimeStats, ServerInfo, SystemStats,
};
use tokio::time::{MissedTickBehavior, interval, interval_at};

use crate::config::Config;
use crate::live::hub::Hub;
use crate::metrics::{recorder::Recorder, window::Windows};
use crate::sampler::{LagProbe, Sampler};

/// How often the runtime probe measures scheduling lag.
const PROBE_EVERY: Duration = Duration::from_millis(250);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct Ticker {
    pub config: Config,
    pub recorder: Arc<Recorder>,
    pub hub: Arc<Hub>,
    pub info: ServerInfo,
    pub started: Instant,
}

impl Ticker {
    pub async fn run(self) {
        let mut windows = Windows::new();
        let mut sampler = Sampler::new(&self.config.data_dir, self.started);
        let mut lag = LagProbe::default();
        let (mut system, mut process, mut runtime) = (
            SystemStats::default(),
            ProcessStats::default(),
            RuntimeStats::default(),
        );

        let mut sample = interval(self.config.sample_interval);
        let mut snapshot = interval(self.config.snapshot_interval);
        let mut probe = interval(PROBE_EVERY);
        let heartbeat_every = self.config.sse_heartbeat;
        let mut heartbeat = interval_at(
            tokio::time::Instant::now() + heartbeat_every,
            heartbeat_every,
        );
        for timer in [&mut sample, &mut snapshot, &mut probe, &mut heartbeat] {
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        }

        loop {
            tokio::select! {
                _ = sample.tick() => {
                    windows.rotate(now_ms(), &self.recorder.cells());
                    (system, process) = sampler.sample();
                    runtime = lag.take();
                }
                _ = snapshot.tick() => {
                    let now = now_ms();
                    windows.rotate(now, &self.recorder.cells());
                    let mut info = self.info.clone();
                    info.sse_connections = self.hub.connections();
                    self.hub.publish_snapshot(DashboardSnapshot {
                        timestamp_ms: now,
                        system: system.clone(),
                        process: ProcessStats {
                            uptime_seconds: self.started.elapsed().as_secs(),
                            ..process.clone()
                        },
                        runtime: runtime.clone(),
                        overview: windows.overview(now),
                        endpoints: windows.endpoints(now),
                        server: info,
                    });
                }
                _ = probe.tick() => lag.probe().await,
                _ = heartbeat.tick() => self.hub.heartbeat(),
            }
        }
    }
}
