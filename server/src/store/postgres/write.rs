//! Writing to PostgreSQL. Each instance writes only its own rows (the instance id is part
//! of every key), so instances never contend for a row; per window, one statement reads
//! the rows its three tiers merge into and one writes them all back.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::Transaction;
use sightline_app::history::Settings;
use tokio_postgres::types::ToSql;

use super::Db;
use super::read::{WINDOW_COLUMNS, samples_at, window_at};
use super::schema::{PRUNE_LOCK, WRITE_LOCK};
use crate::store::StoreError;
use crate::store::codec::{encode_histogram, encode_status};
use crate::store::samples::{FIELDS, SampleAcc};
use crate::store::sqlite::write::{KNOWN_INSTANCES, MARKS_KEPT_MS, merged, merged_samples};
use crate::store::stored_window::StoredWindow;
use crate::store::tiers::{SIZES, bucket, horizons_at};
use crate::store::writer::{Sink, Unit, WindowBatch, WindowCounts};

pub struct PgSink {
    db: Arc<Db>,
    instance: String,
    run: String,
    /// Known once the database answered.
    instance_id: Option<i64>,
    route_ids: HashMap<(&'static str, Arc<str>), i64>,
}

impl PgSink {
    pub fn new(db: Arc<Db>, instance: &str, run: &str) -> Self {
        Self {
            db,
            instance: instance.to_owned(),
            run: run.to_owned(),
            instance_id: None,
            route_ids: HashMap::new(),
        }
    }
}

/// The id of the row of `table` (`routes` or `instances`) keyed by `key`, added if new.
async fn row_id(tx: &Transaction<'_>, table: &str, key: &[&str]) -> Result<i64, StoreError> {
    let (columns, placeholders, filter) = match table {
        "routes" => ("method, route", "$1, $2", "method = $1 AND route = $2"),
        _ => ("name", "$1", "name = $1"),
    };
    let args: Vec<&(dyn ToSql + Sync)> = key.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
    tx.execute(
        &format!("INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"),
        &args,
    )
    .await?;
    let row = tx
        .query_one(&format!("SELECT id FROM {table} WHERE {filter}"), &args)
        .await?;
    Ok(row.try_get(0)?)
}

impl Sink for PgSink {
    fn write(&mut self, units: &[Unit]) -> Result<(), StoreError> {
        let db = self.db.clone();
        let result = db.call(self.write_units(units));
        if result.is_err() {
            // Ids cached during the rolled-back transaction may not exist.
            self.route_ids.clear();
            self.instance_id = None;
        }
        result
    }

    fn prune(&mut self, now_ms: u64, retention_ms: u64) -> Result<Option<u64>, StoreError> {
        self.db.call(prune(&self.db, now_ms, retention_ms))
    }

    fn settings(&mut self, defaults: &Settings) -> Result<Settings, StoreError> {
        self.db.call(async {
            let client = self.db.client().await?;
            let rows = client.query("SELECT key, value FROM settings", &[]).await?;
            let rows = rows
                .iter()
                .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)));
            Ok(crate::store::sqlite::apply_settings_rows(
                defaults.clone(),
                rows,
            ))
        })
    }

    fn instances(&mut self) -> Result<Vec<String>, StoreError> {
        self.db.call(self.instance_names())
    }
}

impl PgSink {
    async fn instance_names(&self) -> Result<Vec<String>, StoreError> {
        let client = self.db.client().await?;
        let rows = client.query(KNOWN_INSTANCES, &[]).await?;
        Ok(rows.iter().filter_map(|r| r.try_get(0).ok()).collect())
    }

    async fn write_units(&mut self, units: &[Unit]) -> Result<(), StoreError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        let instance = match self.instance_id {
            Some(id) => id,
            None => {
                let id = row_id(&tx, "instances", &[&self.instance]).await?;
                self.instance_id = Some(id);
                id
            }
        };
        // Rows are read, merged and written back: two processes that share an instance id
        // (a misconfiguration, but the default id is the host name) take turns rather than
        // overwrite each other's counts.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&WRITE_LOCK, &(instance as i32)],
        )
        .await?;
        let now = crate::clock::now_ms() as i64;
        for unit in units {
            // Marked when written, so that pruning old marks never forgets a recent write.
            let marked = tx
                .execute(
                    "INSERT INTO marks (instance_id, run, seq, time_ms) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING",
                    &[&instance, &self.run, &(unit.seq as i64), &now],
                )
                .await?;
            if marked == 0 {
                continue;
            }
            for batch in &unit.windows {
                self.write_window(&tx, instance, batch).await?;
            }
            write_records(&tx, instance, unit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn write_window(
        &mut self,
        tx: &Transaction<'_>,
        instance: i64,
        batch: &WindowBatch,
    ) -> Result<(), StoreError> {
        let mut rows: Vec<(i64, &WindowCounts)> = Vec::with_capacity(batch.routes.len() + 1);
        if let Some(overall) = &batch.overall {
            rows.push((0, overall));
        }
        for (method, route, counts) in &batch.routes {
            let key = (*method, route.clone());
            let id = match self.route_ids.get(&key) {
                Some(id) => *id,
                None => {
                    let id = row_id(tx, "routes", &[method, &text(route)]).await?;
                    self.route_ids.insert(key, id);
                    id
                }
            };
            rows.push((id, counts));
        }
        let starts: Vec<i64> = (0..SIZES.len())
            .map(|tier| bucket(tier, batch.start_ms) as i64)
            .collect();
        let route_ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        let existing = tx
            .query(
                &format!(
                    "SELECT tier, route_id, {WINDOW_COLUMNS} FROM windows
                     WHERE instance_id = $1 AND route_id = ANY($2)
                     AND ((tier = 0 AND start_ms = $3) OR (tier = 1 AND start_ms = $4) OR (tier = 2 AND start_ms = $5))
                     FOR UPDATE"
                ),
                &[&instance, &route_ids, &starts[0], &starts[1], &starts[2]],
            )
            .await?;
        let mut stored: HashMap<(i64, i64), Result<StoredWindow, StoreError>> = existing
            .iter()
            .filter_map(|r| {
                let key = (r.try_get::<_, i64>(0).ok()?, r.try_get::<_, i64>(1).ok()?);
                Some((key, window_at(r, 2)))
            })
            .collect();
        let mut columns = WindowArrays::default();
        for (tier, start) in starts.iter().enumerate() {
            for (id, counts) in &rows {
                let row = merged(stored.remove(&(tier as i64, *id)), counts);
                columns.push(tier as i64, *start, *id, instance, &row);
            }
        }
        columns.upsert(tx).await?;
        if let Some(samples) = &batch.samples {
            write_samples(tx, instance, batch.start_ms, samples).await?;
        }
        Ok(())
    }
}

/// Window rows as column arrays, written by one `INSERT ... SELECT FROM unnest(...)`.
#[derive(Default)]
struct WindowArrays {
    ints: [Vec<i64>; 10],
    status: Vec<String>,
    histogram: Vec<Vec<u8>>,
}

impl WindowArrays {
    fn push(&mut self, tier: i64, start: i64, route: i64, instance: i64, c: &WindowCounts) {
        let values = [
            tier,
            start,
            route,
            instance,
            c.requests as i64,
            c.client_errors as i64,
            c.server_errors as i64,
            c.bytes as i64,
            c.latency_sum_us as i64,
            c.latency_max_us as i64,
        ];
        for (column, value) in self.ints.iter_mut().zip(values) {
            column.push(value);
        }
        self.status.push(encode_status(&c.status));
        self.histogram.push(encode_histogram(&c.histogram));
    }

    async fn upsert(&self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let mut args: Vec<&(dyn ToSql + Sync)> =
            self.ints.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        args.push(&self.status);
        args.push(&self.histogram);
        tx.execute(
            "INSERT INTO windows (tier, start_ms, route_id, instance_id, requests, client_errors,
                 server_errors, bytes, latency_sum_us, latency_max_us, status, histogram)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                 $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                 $10::bigint[], $11::text[], $12::bytea[])
             ON CONFLICT (tier, route_id, start_ms, instance_id) DO UPDATE SET
                 requests = excluded.requests, client_errors = excluded.client_errors,
                 server_errors = excluded.server_errors, bytes = excluded.bytes,
                 latency_sum_us = excluded.latency_sum_us, latency_max_us = excluded.latency_max_us,
                 status = excluded.status, histogram = excluded.histogram",
            &args,
        )
        .await?;
        Ok(())
    }
}

async fn write_samples(
    tx: &Transaction<'_>,
    instance: i64,
    start_ms: u64,
    samples: &SampleAcc,
) -> Result<(), StoreError> {
    let columns: Vec<&str> = FIELDS.iter().map(|f| f.column).collect();
    let select = format!(
        "SELECT n, {} FROM samples WHERE tier = $1 AND start_ms = $2 AND instance_id = $3 FOR UPDATE",
        columns.join(", ")
    );
    let placeholders: Vec<String> = (1..=FIELDS.len() + 4).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = std::iter::once("n".to_owned())
        .chain(columns.iter().map(|c| (*c).to_owned()))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let upsert = format!(
        "INSERT INTO samples (tier, start_ms, instance_id, n, {}) VALUES ({})
         ON CONFLICT (tier, start_ms, instance_id) DO UPDATE SET {}",
        columns.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    for tier in 0..SIZES.len() {
        let (tier_key, start) = (tier as i64, bucket(tier, start_ms) as i64);
        let existing = tx
            .query_opt(&select, &[&tier_key, &start, &instance])
            .await?
            .map(|r| samples_at(&r, 0));
        let row = merged_samples(existing, samples);
        let n = row.n as i64;
        // A figure no sample measured is stored as NULL, not as a zero.
        let values: Vec<Option<f64>> = (0..FIELDS.len()).map(|i| row.stored(i)).collect();
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&tier_key, &start, &instance, &n];
        args.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        tx.execute(&upsert, &args).await?;
    }
    Ok(())
}

/// Text as PostgreSQL stores it: it refuses NUL characters, which a path or an app's
/// error message may hold.
fn text(raw: &str) -> Cow<'_, str> {
    if raw.contains('\0') {
        Cow::Owned(raw.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// Stores a unit's records and adds its tallies to the per-window counts.
async fn write_records(tx: &Transaction<'_>, instance: i64, unit: &Unit) -> Result<(), StoreError> {
    if !unit.details.is_empty() {
        let d = &unit.details;
        let times: Vec<i64> = d.iter().map(|d| d.time_ms as i64).collect();
        let methods: Vec<&str> = d.iter().map(|d| d.method).collect();
        let routes: Vec<Cow<'_, str>> = d.iter().map(|d| text(&d.route)).collect();
        let paths: Vec<Cow<'_, str>> = d.iter().map(|d| text(&d.path)).collect();
        let statuses: Vec<i64> = d.iter().map(|d| i64::from(d.status)).collect();
        let latencies: Vec<i64> = d.iter().map(|d| d.latency_us as i64).collect();
        let bytes: Vec<i64> = d.iter().map(|d| d.bytes as i64).collect();
        let messages: Vec<Option<Cow<'_, str>>> =
            d.iter().map(|d| d.message.as_deref().map(text)).collect();
        tx.execute(
            "INSERT INTO requests (instance_id, time_ms, method, route, path, status, latency_us, bytes, message)
             SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[],
                 $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])",
            &[
                &instance, &times, &methods, &routes, &paths, &statuses, &latencies, &bytes,
                &messages,
            ],
        )
        .await?;
    }
    for (start, t) in &unit.tallies {
        tx.execute(
            "INSERT INTO record_counts (start_ms, instance_id, kept, capped) VALUES ($1, $2, $3, $4)
             ON CONFLICT (start_ms, instance_id) DO UPDATE
             SET kept = record_counts.kept + excluded.kept, capped = record_counts.capped + excluded.capped",
            &[&(*start as i64), &instance, &(t.kept as i64), &(t.capped as i64)],
        )
        .await?;
    }
    Ok(())
}

/// Prunes under [`PRUNE_LOCK`]: when another instance holds it, it is doing this very
/// work, and this one does nothing (`None`).
async fn prune(db: &Db, now_ms: u64, retention_ms: u64) -> Result<Option<u64>, StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let locked: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&PRUNE_LOCK])
        .await?
        .try_get(0)?;
    if !locked {
        return Ok(None);
    }
    let mut deleted = 0;
    for (tier, horizon) in horizons_at(now_ms, retention_ms).iter().enumerate() {
        let (tier, horizon) = (tier as i64, *horizon as i64);
        for table in ["windows", "samples"] {
            deleted += tx
                .execute(
                    &format!("DELETE FROM {table} WHERE tier = $1 AND start_ms < $2"),
                    &[&tier, &horizon],
                )
                .await?;
        }
        tx.execute(
            "INSERT INTO horizons (tier, pruned_before_ms) VALUES ($1, $2)
             ON CONFLICT (tier) DO UPDATE
             SET pruned_before_ms = greatest(horizons.pruned_before_ms, excluded.pruned_before_ms)",
            &[&tier, &horizon],
        )
        .await?;
    }
    let oldest = now_ms.saturating_sub(retention_ms) as i64;
    deleted += tx
        .execute("DELETE FROM requests WHERE time_ms < $1", &[&oldest])
        .await?;
    deleted += tx
        .execute("DELETE FROM record_counts WHERE start_ms < $1", &[&oldest])
        .await?;
    tx.execute(
        "DELETE FROM marks WHERE time_ms < $1",
        &[&(now_ms.saturating_sub(MARKS_KEPT_MS) as i64)],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(deleted))
}
