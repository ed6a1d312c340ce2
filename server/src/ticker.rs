//! The one loop behind the live view: sample the host, drain the recorder into the
//! windows, build a `DashboardSnapshot` and hand it to the hub; heartbeats too.
//!
//! It runs on a thread of its own, so sampling and snapshot building never take a worker
//! of the app's runtime; only the lag probe's tiny task runs there, since that is what it
//! measures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::now_ms;

use sightline_app::snapshot::{
    DashboardSnapshot, ProcessStats, RuntimeStats, ServerInfo, StoreHealth, SystemStats,
};
use tokio::time::{MissedTickBehavior, interval, interval_at};

use crate::cluster::Cluster;
use crate::cluster::wire::{InstanceState, Local};
use crate::config::Config;
use crate::live::hub::Hub;
use crate::metrics::recent::{RecentCpu, RecentWindow};
use crate::metrics::recorder::METHODS;
use crate::metrics::recorder::Recorder;
use crate::metrics::window::Windows;
use crate::sampler::{LagProbe, Sampler};
use crate::store::Store;
use crate::store::samples::{SampleAcc, Values, values};
use crate::store::writer::WindowBatch;

/// How often the runtime probe measures scheduling lag.
const PROBE_EVERY: Duration = Duration::from_millis(250);

pub struct Ticker {
    /// The app's runtime: probed for lag and read for its metrics.
    pub runtime: tokio::runtime::Handle,
    pub config: Config,
    pub recorder: Arc<Recorder>,
    pub hub: Arc<Hub>,
    pub info: ServerInfo,
    pub started: Instant,
    pub store: Option<Arc<Store>>,
    pub cluster: Option<Arc<Cluster>>,
}

impl Ticker {
    /// Runs on a new thread until `stop` resolves (its sender is dropped).
    pub fn spawn(
        self,
        stop: tokio::sync::oneshot::Receiver<()>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("sightline-ticker".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .expect("a current-thread runtime for the ticker");
                runtime.block_on(self.run(stop));
            })
    }

    async fn run(self, mut stop: tokio::sync::oneshot::Receiver<()>) {
        let mut windows = Windows::new();
        let mut history = HistoryFeed::default();
        let mut cpu = RecentCpu::default();
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
                    let now = now_ms();
                    windows.rotate(now, &self.recorder.cells());
                    (system, process) = sampler.sample();
                    cpu.sample(now, f64::from(system.cpu_percent));
                    runtime = lag.take(&self.runtime);
                    if let Some(store) = &self.store {
                        let sample = values(&system, &process, &runtime);
                        history.feed(store, &mut windows, now, Some(&sample));
                    }
                }
                _ = snapshot.tick() => {
                    let now = now_ms();
                    windows.rotate(now, &self.recorder.cells());
                    let mut info = self.info.clone();
                    info.sse_connections = self.hub.connections();
                    let recent = cpu.windows(&windows, now);
                    let local = DashboardSnapshot {
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
                        store: self
                            .store
                            .as_ref()
                            .map_or_else(StoreHealth::default, |s| s.health()),
                        cluster: None,
                        recent: recent.iter().map(RecentWindow::point).collect(),
                    };
                    self.publish(local, &windows, &recent, now);
                }
                // Never waits on the app's runtime: snapshots and heartbeats keep flowing
                // exactly when the app is overloaded, and a stop is never held up.
                _ = probe.tick() => lag.probe(&self.runtime),
                _ = heartbeat.tick() => self.hub.heartbeat(),
                _ = &mut stop => break,
            }
        }
        // Shutting down: the window in progress goes to history too.
        if let Some(store) = &self.store {
            let now = now_ms();
            windows.rotate(now, &self.recorder.cells());
            history.feed(store, &mut windows, now, None);
            store.close();
        }
    }
}

impl Ticker {
    /// Alone, the snapshot goes out as it is; in a cluster, this instance's state goes to
    /// the others and the snapshots of all of them and of each come back.
    fn publish(
        &self,
        local: DashboardSnapshot,
        windows: &Windows,
        recent: &[RecentWindow],
        now: u64,
    ) {
        let Some(cluster) = &self.cluster else {
            self.hub.publish_snapshot(local);
            return;
        };
        let state = InstanceState::build(
            Local {
                identity: &cluster.identity,
                period_ms: local.server.snapshot_interval_ms,
                sse_connections: local.server.sse_connections,
                system: &local.system,
                process: &local.process,
                runtime: &local.runtime,
                recent,
            },
            windows,
            now,
        );
        cluster.share(state, now);
        let (all, each) = cluster.snapshots(&local, now);
        self.hub.publish_cluster(all, each);
    }
}

/// Turns finished windows and the samples taken during them into history batches.
#[derive(Default)]
struct HistoryFeed {
    /// The window in progress (10 s units) and its samples so far.
    samples: Option<(u64, SampleAcc)>,
}

impl HistoryFeed {
    /// `sample: None` means shutdown: everything in progress is written.
    fn feed(&mut self, store: &Store, windows: &mut Windows, now: u64, sample: Option<&Values>) {
        let ten = now / 10_000;
        let closing = sample.is_none();
        let mut batches = std::collections::BTreeMap::new();
        for w in windows.take_finished(now, closing) {
            batches.insert(
                w.start_ms,
                WindowBatch {
                    start_ms: w.start_ms,
                    overall: w.overall.map(|slot| slot.counts),
                    routes: w
                        .routes
                        .into_iter()
                        .map(|(cell, slot)| {
                            (
                                METHODS[cell.method as usize],
                                cell.route.clone(),
                                slot.counts,
                            )
                        })
                        .collect(),
                    samples: None,
                },
            );
        }
        if let Some((t, acc)) = self.samples.take_if(|(t, _)| *t < ten || closing) {
            batches
                .entry(t * 10_000)
                .or_insert_with(|| WindowBatch {
                    start_ms: t * 10_000,
                    ..WindowBatch::default()
                })
                .samples = Some(acc);
        }
        if let Some(sample) = sample {
            self.samples
                .get_or_insert_with(|| (ten, SampleAcc::default()))
                .1
                .add(sample);
        }
        for batch in batches.into_values() {
            store.write(batch);
        }
    }
}
