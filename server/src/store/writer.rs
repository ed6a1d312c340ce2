//! The one thread that writes history. It owns the write connection; the ticker and the
//! layer only hand it data through channels, so a slow disk, a locked database or a full
//! disk never stalls a request or the live view. Failed writes stay queued (bounded) and
//! are retried every second. A stored row that does not decode is replaced, not merged
//! into, so it cannot hold up later writes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::codec::{encode_histogram, encode_status};
use super::records::{Quota, Tally};
use super::rows::{counts_at, samples_at, skip_row, take_skipped};
use super::samples::{FIELDS, SampleAcc};
use super::schema::sample_columns;
use super::tiers::{SIZES, bucket, horizons_at};
use super::{Shared, StoreError};
use crate::metrics::details::{Detail, QUEUE};
pub use crate::metrics::window::WindowCounts;

/// Windows kept for retry while the database refuses writes: one hour of them.
const MAX_PENDING_WINDOWS: usize = 360;
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

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
}

pub struct Writer {
    pub conn: Connection,
    pub shared: Arc<Shared>,
    pub messages: Receiver<Message>,
    pub details: Option<Receiver<Detail>>,
    pub route_ids: HashMap<(&'static str, Arc<str>), i64>,
    pub quota: Quota,
}

impl Writer {
    pub fn run(mut self) {
        let mut windows: VecDeque<WindowBatch> = VecDeque::new();
        let mut details: Vec<Detail> = Vec::new();
        // Records per window, stored and not, written with the records.
        let mut tallies: BTreeMap<u64, Tally> = BTreeMap::new();
        let mut failures = 0u64;
        let mut last_maintenance: Option<Instant> = None;
        loop {
            let mut stop = false;
            let mut flushed = Vec::new();
            let mut received = Vec::new();
            match self.messages.recv_timeout(Duration::from_secs(1)) {
                Ok(message) => received.push(message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            received.extend(self.messages.try_iter());
            for message in received {
                match message {
                    Message::Window(batch) => windows.push_back(*batch),
                    Message::Flush(done) => flushed.push(done),
                    Message::Stop => stop = true,
                }
            }
            if let Some(rx) = &self.details {
                let room = (QUEUE * 4).saturating_sub(details.len());
                for detail in rx.try_iter().take(room) {
                    if self.quota.admit(&detail, &mut tallies) {
                        details.push(detail);
                    } else {
                        self.shared.note_capped();
                    }
                }
            }
            if !windows.is_empty() || !details.is_empty() || !tallies.is_empty() {
                let written = self.write(&windows, &details, &tallies);
                self.shared.note_skipped(take_skipped());
                match written {
                    Ok(()) => {
                        if failures > 0 {
                            tracing::info!(failures, "history writes resumed");
                        }
                        failures = 0;
                        windows.clear();
                        details.clear();
                        tallies.clear();
                        self.shared.set_write_error(None);
                    }
                    Err(e) => {
                        // Ids cached during the rolled-back transaction may not exist.
                        self.route_ids.clear();
                        while windows.len() > MAX_PENDING_WINDOWS {
                            windows.pop_front();
                            self.shared.note_lost_window();
                        }
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(60) {
                            tracing::warn!(error = %e, failures, queued = windows.len(), "history write failed; retrying");
                        }
                        self.shared.set_write_error(Some(e.to_string()));
                    }
                }
            }
            if last_maintenance.is_none_or(|t| t.elapsed() >= MAINTENANCE_EVERY) {
                match self.maintain(crate::clock::now_ms()) {
                    Ok(()) => last_maintenance = Some(Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "history pruning failed; retrying"),
                }
            }
            for done in flushed {
                let _ = done.send(());
            }
            if stop {
                return;
            }
        }
    }

    fn write(
        &mut self,
        windows: &VecDeque<WindowBatch>,
        details: &[Detail],
        tallies: &BTreeMap<u64, Tally>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for batch in windows {
            write_window(&tx, &mut self.route_ids, batch)?;
        }
        super::records::write(&tx, details, tallies)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes what aged out of each tier and records the new horizons.
    fn maintain(&mut self, now_ms: u64) -> Result<(), StoreError> {
        let retention_ms =
            u64::from(self.shared.settings().retention_days) * sightline_app::history::DAY_MS;
        prune(&mut self.conn, now_ms, retention_ms)
    }
}

pub fn prune(conn: &mut Connection, now_ms: u64, retention_ms: u64) -> Result<(), StoreError> {
    let horizons = horizons_at(now_ms, retention_ms);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (tier, horizon) in horizons.iter().enumerate() {
        tx.execute(
            "DELETE FROM windows WHERE tier = ?1 AND start_ms < ?2",
            params![tier as i64, *horizon as i64],
        )?;
        tx.execute(
            "DELETE FROM samples WHERE tier = ?1 AND start_ms < ?2",
            params![tier as i64, *horizon as i64],
        )?;
        tx.execute(
            "INSERT INTO horizons (tier, pruned_before_ms) VALUES (?1, ?2)
             ON CONFLICT (tier) DO UPDATE SET pruned_before_ms = max(pruned_before_ms, excluded.pruned_before_ms)",
            params![tier as i64, *horizon as i64],
        )?;
    }
    let oldest = now_ms.saturating_sub(retention_ms) as i64;
    tx.execute("DELETE FROM requests WHERE time_ms < ?1", params![oldest])?;
    tx.execute(
        "DELETE FROM record_counts WHERE start_ms < ?1",
        params![oldest],
    )?;
    tx.commit()?;
    Ok(())
}

fn route_id(
    tx: &Transaction<'_>,
    cache: &mut HashMap<(&'static str, Arc<str>), i64>,
    method: &'static str,
    route: &Arc<str>,
) -> Result<i64, StoreError> {
    if let Some(id) = cache.get(&(method, route.clone())) {
        return Ok(*id);
    }
    tx.execute(
        "INSERT INTO routes (method, route) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![method, &**route],
    )?;
    let id: i64 = tx.query_row(
        "SELECT id FROM routes WHERE method = ?1 AND route = ?2",
        params![method, &**route],
        |r| r.get(0),
    )?;
    cache.insert((method, route.clone()), id);
    Ok(id)
}

/// Writes one window into all tiers, merging into rows already there (the minute and
/// hour in progress, or the same window written before a restart).
pub fn write_window(
    tx: &Transaction<'_>,
    route_ids: &mut HashMap<(&'static str, Arc<str>), i64>,
    batch: &WindowBatch,
) -> Result<(), StoreError> {
    let mut rows: Vec<(i64, &WindowCounts)> = Vec::with_capacity(batch.routes.len() + 1);
    if let Some(overall) = &batch.overall {
        rows.push((0, overall));
    }
    for (method, route, counts) in &batch.routes {
        // Cached ids may predate a rollback; a failed lookup is retried with the batch.
        rows.push((route_id(tx, route_ids, method, route)?, counts));
    }
    let mut select = tx.prepare_cached(
        "SELECT requests, client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status, histogram
         FROM windows WHERE tier = ?1 AND route_id = ?2 AND start_ms = ?3",
    )?;
    let mut upsert = tx.prepare_cached(
        "INSERT OR REPLACE INTO windows
         (tier, start_ms, route_id, requests, client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status, histogram)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for tier in 0..SIZES.len() {
        let start = bucket(tier, batch.start_ms) as i64;
        for (id, counts) in &rows {
            // A row that does not decode is logged and replaced by this window's counts.
            let existing = select
                .query_row(params![tier as i64, id, start], |r| Ok(counts_at(r, 0)))
                .optional()?;
            let merged;
            let row = match existing {
                None => *counts,
                Some(Err(e)) => {
                    skip_row("windows", &e);
                    *counts
                }
                Some(Ok(mut m)) => {
                    m.merge(counts);
                    merged = m;
                    &merged
                }
            };
            upsert.execute(params![
                tier as i64,
                start,
                id,
                row.requests as i64,
                row.client_errors as i64,
                row.server_errors as i64,
                row.bytes as i64,
                row.latency_sum_us as i64,
                row.latency_max_us as i64,
                encode_status(&row.status),
                encode_histogram(&row.histogram),
            ])?;
        }
    }
    if let Some(samples) = &batch.samples {
        write_samples(tx, batch.start_ms, samples)?;
    }
    Ok(())
}

fn write_samples(
    tx: &Transaction<'_>,
    start_ms: u64,
    samples: &SampleAcc,
) -> Result<(), StoreError> {
    let columns = sample_columns();
    let placeholders = (0..FIELDS.len() + 3)
        .map(|i| format!("?{}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let mut select = tx.prepare_cached(&format!(
        "SELECT n, {columns} FROM samples WHERE tier = ?1 AND start_ms = ?2"
    ))?;
    let mut upsert = tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO samples (tier, start_ms, n, {columns}) VALUES ({placeholders})"
    ))?;
    for tier in 0..SIZES.len() {
        let start = bucket(tier, start_ms) as i64;
        let existing = select
            .query_row(params![tier as i64, start], |r| Ok(samples_at(r, 0)))
            .optional()?;
        let mut row = match existing {
            Some(Ok(acc)) => acc,
            Some(Err(e)) => {
                skip_row("samples", &e);
                SampleAcc::default()
            }
            None => SampleAcc::default(),
        };
        row.merge(samples);
        let mut values: Vec<rusqlite::types::Value> =
            vec![(tier as i64).into(), start.into(), (row.n as i64).into()];
        // A figure no sample measured is stored as NULL, not as a zero.
        values.extend((0..FIELDS.len()).map(|i| match row.stored(i) {
            Some(v) => rusqlite::types::Value::Real(v),
            None => rusqlite::types::Value::Null,
        }));
        upsert.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}
