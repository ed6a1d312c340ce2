//! Writing to SQLite: the writer thread's own connection. Each window goes into all three
//! tiers at once, merged into the rows already there (the minute and hour in progress, or
//! the same window written before a restart). A stored row that does not decode is
//! replaced, not merged into, so it cannot hold up later writes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sightline_app::history::Settings;

use super::rows::{samples_at, window_at};
use super::schema::sample_columns;
use crate::store::StoreError;
use crate::store::samples::{FIELDS, SampleAcc};
use crate::store::skipped::skip_row;
use crate::store::stored_window::StoredWindow;
use crate::store::tiers::{SIZES, bucket, horizons_at};
use crate::store::writer::{Sink, Unit, WindowBatch, WindowCounts};

/// Instances with history still kept (hour rows outlive every finer row), by name. The
/// same statement on both backends.
pub const KNOWN_INSTANCES: &str = "
    SELECT name FROM instances i
    WHERE EXISTS (SELECT 1 FROM windows w WHERE w.tier = 2 AND w.route_id = 0 AND w.instance_id = i.id)
       OR EXISTS (SELECT 1 FROM samples s WHERE s.tier = 2 AND s.instance_id = i.id)
    ORDER BY name";

/// Marks are kept this long: far longer than a unit is retried.
pub const MARKS_KEPT_MS: u64 = 6 * sightline_app::history::HOUR_MS;

pub struct SqliteSink {
    pub conn: Connection,
    pub instance_id: i64,
    /// This run of the process (marks are per run).
    pub run: String,
    pub route_ids: HashMap<(&'static str, Arc<str>), i64>,
}

impl Sink for SqliteSink {
    fn write(&mut self, units: &[Unit]) -> Result<(), StoreError> {
        let result = self.write_units(units);
        if result.is_err() {
            // Ids cached during the rolled-back transaction may not exist.
            self.route_ids.clear();
        }
        result
    }

    fn prune(&mut self, now_ms: u64, retention_ms: u64) -> Result<Option<u64>, StoreError> {
        prune(&mut self.conn, now_ms, retention_ms).map(Some)
    }

    fn settings(&mut self, defaults: &Settings) -> Result<Settings, StoreError> {
        super::load_settings(&self.conn, defaults.clone())
    }

    fn instances(&mut self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(KNOWN_INSTANCES)?;
        let names = stmt.query_map([], |r| r.get(0))?;
        Ok(names.collect::<Result<_, _>>()?)
    }
}

impl SqliteSink {
    fn write_units(&mut self, units: &[Unit]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for unit in units {
            let marked = tx.execute(
                "INSERT INTO marks (instance_id, run, seq, time_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![
                    self.instance_id,
                    self.run,
                    unit.seq as i64,
                    unit.time_ms as i64
                ],
            )?;
            if marked == 0 {
                continue;
            }
            for batch in &unit.windows {
                write_window(&tx, &mut self.route_ids, self.instance_id, batch)?;
            }
            write_records(&tx, self.instance_id, unit)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Deletes what aged out of each tier at `now_ms` and records the new horizons; answers
/// the rows deleted.
pub fn prune(conn: &mut Connection, now_ms: u64, retention_ms: u64) -> Result<u64, StoreError> {
    let horizons = horizons_at(now_ms, retention_ms);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut deleted = 0;
    for (tier, horizon) in horizons.iter().enumerate() {
        for table in ["windows", "samples"] {
            deleted += tx.execute(
                &format!("DELETE FROM {table} WHERE tier = ?1 AND start_ms < ?2"),
                params![tier as i64, *horizon as i64],
            )?;
        }
        tx.execute(
            "INSERT INTO horizons (tier, pruned_before_ms) VALUES (?1, ?2)
             ON CONFLICT (tier) DO UPDATE SET pruned_before_ms = max(pruned_before_ms, excluded.pruned_before_ms)",
            params![tier as i64, *horizon as i64],
        )?;
    }
    let oldest = now_ms.saturating_sub(retention_ms) as i64;
    deleted += tx.execute("DELETE FROM requests WHERE time_ms < ?1", params![oldest])?;
    deleted += tx.execute(
        "DELETE FROM record_counts WHERE start_ms < ?1",
        params![oldest],
    )?;
    tx.execute(
        "DELETE FROM marks WHERE time_ms < ?1",
        params![now_ms.saturating_sub(MARKS_KEPT_MS) as i64],
    )?;
    tx.commit()?;
    Ok(deleted as u64)
}

/// The id of a row of `table` (`routes` or `instances`) keyed by `key`, added if new.
pub fn row_id(tx: &Transaction<'_>, table: &str, key: &[&str]) -> Result<i64, StoreError> {
    let (columns, placeholders, filter) = match table {
        "routes" => ("method, route", "?1, ?2", "method = ?1 AND route = ?2"),
        _ => ("name", "?1", "name = ?1"),
    };
    tx.execute(
        &format!("INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"),
        rusqlite::params_from_iter(key),
    )?;
    Ok(tx.query_row(
        &format!("SELECT id FROM {table} WHERE {filter}"),
        rusqlite::params_from_iter(key),
        |r| r.get(0),
    )?)
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
    let id = row_id(tx, "routes", &[method, route])?;
    cache.insert((method, route.clone()), id);
    Ok(id)
}

/// Writes one window of `instance` into all tiers, merging into rows already there.
pub fn write_window(
    tx: &Transaction<'_>,
    route_ids: &mut HashMap<(&'static str, Arc<str>), i64>,
    instance: i64,
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
         FROM windows WHERE tier = ?1 AND route_id = ?2 AND start_ms = ?3 AND instance_id = ?4",
    )?;
    let mut upsert = tx.prepare_cached(
        "INSERT OR REPLACE INTO windows
         (tier, start_ms, route_id, instance_id, requests, client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status, histogram)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for tier in 0..SIZES.len() {
        let start = bucket(tier, batch.start_ms) as i64;
        for (id, counts) in &rows {
            let existing = select
                .query_row(params![tier as i64, id, start, instance], |r| {
                    Ok(window_at(r, 0))
                })
                .optional()?;
            let row = merged(existing, counts);
            upsert.execute(params![
                tier as i64,
                start,
                id,
                instance,
                row.requests as i64,
                row.client_errors as i64,
                row.server_errors as i64,
                row.bytes as i64,
                row.latency_sum_us as i64,
                row.latency_max_us as i64,
                crate::store::codec::encode_status(&row.status),
                crate::store::codec::encode_histogram(&row.histogram),
            ])?;
        }
    }
    if let Some(samples) = &batch.samples {
        write_samples(tx, instance, batch.start_ms, samples)?;
    }
    Ok(())
}

/// `counts` merged into the stored row, if any. A row that does not decode is logged and
/// replaced by `counts`.
pub fn merged(
    existing: Option<Result<StoredWindow, StoreError>>,
    counts: &WindowCounts,
) -> Cow<'_, WindowCounts> {
    match existing {
        None => Cow::Borrowed(counts),
        Some(Err(e)) => {
            skip_row("windows", &e);
            Cow::Borrowed(counts)
        }
        Some(Ok(stored)) => {
            let mut m = counts.clone();
            stored.merge_into(&mut m);
            Cow::Owned(m)
        }
    }
}

/// `samples` merged into the stored samples row, if any (replaced if it does not decode).
pub fn merged_samples(
    existing: Option<Result<SampleAcc, StoreError>>,
    samples: &SampleAcc,
) -> SampleAcc {
    let mut row = match existing {
        Some(Ok(acc)) => acc,
        Some(Err(e)) => {
            skip_row("samples", &e);
            SampleAcc::default()
        }
        None => SampleAcc::default(),
    };
    row.merge(samples);
    row
}

fn write_samples(
    tx: &Transaction<'_>,
    instance: i64,
    start_ms: u64,
    samples: &SampleAcc,
) -> Result<(), StoreError> {
    let columns = sample_columns();
    let placeholders = (0..FIELDS.len() + 4)
        .map(|i| format!("?{}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let mut select = tx.prepare_cached(&format!(
        "SELECT n, {columns} FROM samples WHERE tier = ?1 AND start_ms = ?2 AND instance_id = ?3"
    ))?;
    let mut upsert = tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO samples (tier, start_ms, instance_id, n, {columns}) VALUES ({placeholders})"
    ))?;
    for tier in 0..SIZES.len() {
        let start = bucket(tier, start_ms) as i64;
        let existing = select
            .query_row(params![tier as i64, start, instance], |r| {
                Ok(samples_at(r, 0))
            })
            .optional()?;
        let row = merged_samples(existing, samples);
        let mut values: Vec<rusqlite::types::Value> = vec![
            (tier as i64).into(),
            start.into(),
            instance.into(),
            (row.n as i64).into(),
        ];
        // A figure no sample measured is stored as NULL, not as a zero.
        values.extend((0..FIELDS.len()).map(|i| match row.stored(i) {
            Some(v) => rusqlite::types::Value::Real(v),
            None => rusqlite::types::Value::Null,
        }));
        upsert.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// Stores a unit's records and adds its tallies to the per-window counts.
fn write_records(tx: &Transaction<'_>, instance: i64, unit: &Unit) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO requests (instance_id, time_ms, method, route, path, status, latency_us, bytes, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for d in &unit.details {
        insert.execute(params![
            instance,
            d.time_ms as i64,
            d.method,
            &*d.route,
            d.path,
            d.status,
            d.latency_us as i64,
            d.bytes as i64,
            d.message,
        ])?;
    }
    let mut count = tx.prepare_cached(
        "INSERT INTO record_counts (start_ms, instance_id, kept, capped) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (start_ms, instance_id) DO UPDATE
         SET kept = kept + excluded.kept, capped = capped + excluded.capped",
    )?;
    for (start, t) in &unit.tallies {
        count.execute(params![
            *start as i64,
            instance,
            t.kept as i64,
            t.capped as i64
        ])?;
    }
    Ok(())
}
