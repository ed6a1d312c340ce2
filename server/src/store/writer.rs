//! The one thread that writes history. The ticker and the layer only hand it data through
//! channels, so a slow disk, a locked or unreachable database never stalls a request or
//! the live view. Failed writes stay queued (bounded) and are retried every second.
//!
//! What arrives between two attempts becomes a [`Unit`] with a sequence number of its own.
//! A backend writes a unit together with its mark (instance, run, sequence number) in one
//! transaction and skips units already marked: a write retried after a timeout whose
//! commit did in fact land (the answer was lost, not the write) counts nothing twice.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use sightline_app::history::Settings;

use super::records::{Quota, Tally};
use super::samples::SampleAcc;
use super::{Shared, StoreError};
use crate::metrics::details::{Detail, QUEUE};
pub use crate::metrics::window::WindowCounts;

/// Windows kept for retry while the database refuses writes: one hour of them.
const MAX_PENDING_WINDOWS: usize = 360;
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);
/// Units written per transaction when a backlog is written.
const UNITS_PER_WRITE: usize = 30;
/// How often the list of instances with history is read again.
const INSTANCES_EVERY: Duration = Duration::from_secs(5);

/// Everything one 10 s window produced.
#[derive(Clone, Debug, Default)]
pub struct WindowBatch {
    pub start_ms: u64,
    /// All routes together.
    pub overall: Option<WindowCounts>,
    pub routes: Vec<(&'static str, Arc<str>, WindowCounts)>,
    pub samples: Option<SampleAcc>,
}

pub enum Message {
    Window(Box<WindowBatch>),
    /// Write what is queued, then answer.
    Flush(std::sync::mpsc::Sender<()>),
    /// Write what is queued and end the thread.
    Stop,
    /// Prune as if the clock read `now_ms` and answer the rows deleted (`None`: another
    /// instance was pruning).
    Prune {
        now_ms: u64,
        retention_ms: u64,
        done: std::sync::mpsc::Sender<Result<Option<u64>, String>>,
    },
}

/// What one pass of the writer received, written at most once.
#[derive(Debug, Default)]
pub struct Unit {
    /// Counts from 1 within a run of the process.
    pub seq: u64,
    pub time_ms: u64,
    pub windows: Vec<WindowBatch>,
    pub details: Vec<Detail>,
    /// Records per window, stored and not.
    pub tallies: BTreeMap<u64, Tally>,
}

impl Unit {
    fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.details.is_empty() && self.tallies.is_empty()
    }
}

/// A backend's write side, owned by the writer thread.
pub trait Sink: Send {
    /// Writes every unit not written before, all or nothing.
    fn write(&mut self, units: &[Unit]) -> Result<(), StoreError>;

    /// Deletes what aged out of each tier at `now_ms`. `None` when another instance is
    /// pruning the same database right now (it does the work); else the rows deleted.
    fn prune(&mut self, now_ms: u64, retention_ms: u64) -> Result<Option<u64>, StoreError>;

    /// The persisted settings over `defaults` (another instance may have changed them).
    fn settings(&mut self, defaults: &Settings) -> Result<Settings, StoreError>;

    /// Ids of every instance with stored history.
    fn instances(&mut self) -> Result<Vec<String>, StoreError>;
}

pub struct Writer {
    pub sink: Box<dyn Sink>,
    pub shared: Arc<Shared>,
    pub messages: Receiver<Message>,
    pub details: Option<Receiver<Detail>>,
    pub quota: Quota,
}

impl Writer {
    pub fn run(mut self) {
        let mut pending: VecDeque<Unit> = VecDeque::new();
        let mut seq = 0;
        let mut failures = 0u64;
        let mut last_maintenance: Option<Instant> = None;
        let mut last_instances: Option<Instant> = None;
        loop {
            let mut stop = false;
            let mut flushed = Vec::new();
            let mut prunes = Vec::new();
            let mut unit = Unit::default();
            let mut received = Vec::new();
            match self.messages.recv_timeout(Duration::from_secs(1)) {
                Ok(message) => received.push(message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            received.extend(self.messages.try_iter());
            for message in received {
                match message {
                    Message::Window(batch) => unit.windows.push(*batch),
                    Message::Flush(done) => flushed.push(done),
                    Message::Stop => stop = true,
                    Message::Prune {
                        now_ms,
                        retention_ms,
                        done,
                    } => prunes.push((now_ms, retention_ms, done)),
                }
            }
            if let Some(rx) = &self.details {
                let queued: usize = pending.iter().map(|u| u.details.len()).sum();
                let room = (QUEUE * 4).saturating_sub(queued);
                for detail in rx.try_iter().take(room) {
                    if self.quota.admit(&detail, &mut unit.tallies) {
                        unit.details.push(detail);
                    } else {
                        self.shared.note_capped();
                    }
                }
            }
            if !unit.is_empty() {
                seq += 1;
                unit.seq = seq;
                unit.time_ms = crate::clock::now_ms();
                pending.push_back(unit);
            }
            if !pending.is_empty() {
                match self.write_pending(&mut pending) {
                    Ok(()) => {
                        if failures > 0 {
                            tracing::info!(failures, "history writes resumed");
                        }
                        failures = 0;
                        self.shared.set_write_error(None);
                    }
                    Err(e) => {
                        self.give_up_beyond_bound(&mut pending);
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(60) {
                            let queued: usize = pending.iter().map(|u| u.windows.len()).sum();
                            tracing::warn!(error = %e, failures, queued, "history write failed; retrying");
                        }
                        self.shared.set_write_error(Some(e.to_string()));
                    }
                }
                self.shared
                    .set_queued_windows(pending.iter().map(|u| u.windows.len() as u64).sum());
            }
            if last_maintenance.is_none_or(|t| t.elapsed() >= MAINTENANCE_EVERY) {
                match self.maintain(crate::clock::now_ms()) {
                    Ok(()) => {
                        last_maintenance = Some(Instant::now());
                        if pending.is_empty() {
                            self.shared.set_write_error(None);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "history maintenance failed; retrying");
                        // An unreachable database shows before there is anything to write.
                        self.shared.set_write_error(Some(e.to_string()));
                    }
                }
            }
            if last_instances.is_none_or(|t| t.elapsed() >= INSTANCES_EVERY)
                && let Ok(ids) = self.sink.instances()
            {
                self.shared.set_known_instances(ids);
                last_instances = Some(Instant::now());
            }
            for (now_ms, retention_ms, done) in prunes {
                let _ = done.send(
                    self.sink
                        .prune(now_ms, retention_ms)
                        .map_err(|e| e.to_string()),
                );
            }
            for done in flushed {
                let _ = done.send(());
            }
            if stop {
                let lost: usize = pending.iter().map(|u| u.windows.len()).sum();
                if lost > 0 {
                    tracing::warn!(
                        windows = lost,
                        "stopping with history the database did not take"
                    );
                    for _ in 0..lost {
                        self.shared.note_lost_window();
                    }
                }
                return;
            }
        }
    }

    /// Writes the pending units oldest first, [`UNITS_PER_WRITE`] per transaction, so that
    /// a long backlog goes in steps that each fit the database's time limit; what was
    /// written leaves the queue even if a later step fails.
    fn write_pending(&mut self, pending: &mut VecDeque<Unit>) -> Result<(), StoreError> {
        while !pending.is_empty() {
            let n = pending.len().min(UNITS_PER_WRITE);
            let written = self.sink.write(&pending.make_contiguous()[..n]);
            self.shared.note_skipped(super::skipped::take_skipped());
            written?;
            pending.drain(..n);
        }
        Ok(())
    }

    /// Drops the oldest windows beyond [`MAX_PENDING_WINDOWS`], counting them as lost.
    fn give_up_beyond_bound(&self, pending: &mut VecDeque<Unit>) {
        let mut queued: usize = pending.iter().map(|u| u.windows.len()).sum();
        for unit in pending.iter_mut() {
            if queued <= MAX_PENDING_WINDOWS {
                break;
            }
            let drop = (queued - MAX_PENDING_WINDOWS).min(unit.windows.len());
            unit.windows.drain(..drop);
            queued -= drop;
            for _ in 0..drop {
                self.shared.note_lost_window();
            }
        }
        pending.retain(|u| !u.is_empty());
    }

    /// Picks up settings changed elsewhere, then prunes what aged out.
    fn maintain(&mut self, now_ms: u64) -> Result<(), StoreError> {
        let current = self.shared.settings();
        let settings = self.sink.settings(&current)?;
        if settings != current {
            self.shared.apply_settings(settings.clone());
        }
        let retention_ms = u64::from(settings.retention_days) * sightline_app::history::DAY_MS;
        self.sink.prune(now_ms, retention_ms)?;
        Ok(())
    }
}
