//! The query primitives ([`Reader`]) on a pooled PostgreSQL connection.

use deadpool_postgres::Object;
use futures_util::TryStreamExt;
use sightline_app::history::{RequestRecord, StoredInstance, TimeRange};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::Db;
use crate::store::StoreError;
use crate::store::reader::{
    Reader, RecordFilter, RecordRows, Rows, merge_instances, offset, sql_ms,
};
use crate::store::samples::{FIELDS, SampleAcc};
use crate::store::skipped::skip_row;
use crate::store::stored_window::{StoredWindow, WindowColumns};
use crate::store::tiers::{Horizons, Piece};

pub struct PgReader<'a> {
    pub db: &'a Db,
    pub client: Object,
}

/// `instance_id` of the instance named by the parameter `$n`.
fn instance_is(n: usize) -> String {
    format!("instance_id = (SELECT id FROM instances WHERE name = ${n})")
}

/// The `windows` row whose `requests` column is at `first` (the order of
/// [`WINDOW_COLUMNS`]).
pub fn window_at(r: &Row, first: usize) -> Result<StoredWindow, StoreError> {
    WindowColumns {
        requests: r.try_get(first)?,
        client_errors: r.try_get(first + 1)?,
        server_errors: r.try_get(first + 2)?,
        bytes: r.try_get(first + 3)?,
        latency_sum_us: r.try_get(first + 4)?,
        latency_max_us: r.try_get(first + 5)?,
        status: r.try_get(first + 6)?,
        histogram: r.try_get(first + 7)?,
    }
    .decode()
}

/// Instances with rows in one piece: windows with traffic, and samples (an instance with
/// no traffic still writes those).
pub const INSTANCES_IN_PIECE: &str = "
    SELECT instances.name, min(start_ms), max(start_ms), CAST(sum(requests) AS BIGINT)
    FROM (
        SELECT instance_id, start_ms, requests FROM windows
        WHERE tier = $1 AND start_ms >= $2 AND start_ms < $3 AND route_id = 0
        UNION ALL
        SELECT instance_id, start_ms, 0 FROM samples
        WHERE tier = $1 AND start_ms >= $2 AND start_ms < $3
    ) AS seen JOIN instances ON instances.id = instance_id
    GROUP BY instances.name";

pub const WINDOW_COLUMNS: &str = "requests, client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status, histogram";

/// The samples of a row whose `n` column is at `first`, the fields following in order.
pub fn samples_at(r: &Row, first: usize) -> Result<SampleAcc, StoreError> {
    let n: i64 = r.try_get(first)?;
    let stored = (0..FIELDS.len())
        .map(|i| r.try_get::<_, Option<f64>>(first + 1 + i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SampleAcc::from_stored(n as u64, stored))
}

/// Every row through `decode`, skipping those it cannot read.
fn each<T>(
    rows: Vec<Row>,
    table: &str,
    mut decode: impl FnMut(&Row) -> Result<T, StoreError>,
) -> Vec<T> {
    rows.iter()
        .filter_map(|r| decode(r).map_err(|e| skip_row(table, &e)).ok())
        .collect()
}

impl PgReader<'_> {
    fn query(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.db.call(async {
            let statement = self.client.prepare_cached(sql).await?;
            Ok(self.client.query(&statement, args).await?)
        })
    }
}

impl Reader for PgReader<'_> {
    fn horizons(&self) -> Result<Horizons, StoreError> {
        let mut h = [0u64; 3];
        let rows = self.query("SELECT tier, pruned_before_ms FROM horizons", &[])?;
        for (tier, before) in each(rows, "horizons", |r| {
            Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, i64>(1)?))
        }) {
            if let Some(slot) = h.get_mut(tier as usize) {
                *slot = before as u64;
            }
        }
        Ok(h)
    }

    fn routes(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = self.query("SELECT id, method, route FROM routes ORDER BY id", &[])?;
        Ok(each(rows, "routes", |r| {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        }))
    }

    fn windows(
        &self,
        rows: Rows<'_>,
        pieces: &[Piece],
        f: &mut dyn FnMut(i64, u64, &StoredWindow),
    ) -> Result<(), StoreError> {
        let mut sql = format!(
            "SELECT route_id, start_ms, {WINDOW_COLUMNS}
             FROM windows WHERE tier = $1 AND start_ms >= $2 AND start_ms < $3"
        );
        let mut n = 3;
        if rows.route.is_some() {
            n += 1;
            sql += &format!(" AND route_id = ${n}");
        }
        if rows.instance.is_some() {
            n += 1;
            sql += &format!(" AND {}", instance_is(n));
        }
        for piece in pieces {
            let (tier, from, to) = (piece.tier as i64, sql_ms(piece.from), sql_ms(piece.to));
            let mut args: Vec<&(dyn ToSql + Sync)> = vec![&tier, &from, &to];
            if let Some(route) = &rows.route {
                args.push(route);
            }
            if let Some(instance) = &rows.instance {
                args.push(instance);
            }
            // A statement of its own each time, so that it is planned for this piece's
            // bounds (a cached statement may fall back to a generic plan that scans a
            // whole tier); rows are decoded as they arrive, while the connection's thread
            // reads the next ones.
            self.db.call(async {
                let stream = self
                    .client
                    .query_raw(sql.as_str(), args.iter().copied())
                    .await?;
                let mut stream = std::pin::pin!(stream);
                while let Some(r) = stream.try_next().await? {
                    let row = (|| {
                        Ok::<_, StoreError>((
                            r.try_get::<_, i64>(0)?,
                            r.try_get::<_, i64>(1)? as u64,
                            window_at(&r, 2)?,
                        ))
                    })();
                    match row {
                        Ok((route, start, row)) => f(route, start, &row),
                        Err(e) => skip_row("windows", &e),
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn samples(
        &self,
        instance: Option<&str>,
        pieces: &[Piece],
        f: &mut dyn FnMut(u64, SampleAcc),
    ) -> Result<(), StoreError> {
        let columns: Vec<&str> = FIELDS.iter().map(|f| f.column).collect();
        let mut sql = format!(
            "SELECT start_ms, n, {} FROM samples WHERE tier = $1 AND start_ms >= $2 AND start_ms < $3",
            columns.join(", ")
        );
        if instance.is_some() {
            sql += &format!(" AND {}", instance_is(4));
        }
        for piece in pieces {
            let (tier, from, to) = (piece.tier as i64, sql_ms(piece.from), sql_ms(piece.to));
            let mut args: Vec<&(dyn ToSql + Sync)> = vec![&tier, &from, &to];
            if let Some(instance) = &instance {
                args.push(instance);
            }
            let rows = self.query(&sql, &args)?;
            for (start, acc) in each(rows, "samples", |r| {
                Ok((r.try_get::<_, i64>(0)? as u64, samples_at(r, 1)?))
            }) {
                f(start, acc);
            }
        }
        Ok(())
    }

    fn records(
        &self,
        range: &TimeRange,
        filter: &RecordFilter,
        page: u32,
        limit: u32,
    ) -> Result<RecordRows, StoreError> {
        let (from, to) = (sql_ms(range.from_ms), sql_ms(range.to_ms));
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&from, &to];
        let (condition, order) = match filter {
            RecordFilter::Slow { min_us } => {
                args.push(min_us);
                ("latency_us >= $3", "latency_us DESC, requests.id DESC")
            }
            RecordFilter::Errors { lo, hi, needle } => {
                args.extend([lo as &(dyn ToSql + Sync), hi, needle]);
                (
                    "status BETWEEN $3 AND $4
                     AND ($5 = '' OR strpos(lower(route), $5) > 0 OR strpos(lower(path), $5) > 0)",
                    "time_ms DESC, requests.id DESC",
                )
            }
        };
        let mut condition = format!("time_ms >= $1 AND time_ms < $2 AND ({condition})");
        if let Some(instance) = &range.instance {
            args.push(instance);
            condition += &format!(" AND {}", instance_is(args.len()));
        }
        let total: i64 = self
            .query(
                &format!("SELECT count(*) FROM requests WHERE {condition}"),
                &args,
            )?
            .first()
            .map_or(Ok(0), |r| r.try_get(0))?;
        // As parameters, so that every page shares one prepared statement.
        let (limit, offset) = (i64::from(limit), offset(page, limit));
        args.extend([&limit as &(dyn ToSql + Sync), &offset]);
        let (l, o) = (args.len() - 1, args.len());
        let rows = self.query(
            &format!(
                "SELECT requests.id, instances.name, time_ms, method, route, path, status, latency_us, bytes, message
                 FROM requests LEFT JOIN instances ON instances.id = instance_id
                 WHERE {condition} ORDER BY {order} LIMIT ${l} OFFSET ${o}"
            ),
            &args,
        )?;
        let items = each(rows, "requests", |r| {
            Ok(RequestRecord {
                id: r.try_get(0)?,
                instance: r.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
                time_ms: r.try_get::<_, i64>(2)? as u64,
                method: r.try_get(3)?,
                route: r.try_get(4)?,
                path: r.try_get(5)?,
                status: u16::try_from(r.try_get::<_, i64>(6)?).unwrap_or(0),
                latency_ms: r.try_get::<_, i64>(7)? as f64 / 1_000.0,
                bytes: r.try_get::<_, i64>(8)? as u64,
                message: r.try_get(9)?,
            })
        });
        Ok(RecordRows {
            total: total as u64,
            items,
        })
    }

    fn oldest(&self) -> Result<Option<u64>, StoreError> {
        let rows = self.query("SELECT min(start_ms) FROM windows", &[])?;
        let t: Option<i64> = rows.first().map_or(Ok(None), |r| r.try_get(0))?;
        Ok(t.map(|t| t as u64))
    }

    fn instances(&self, pieces: &[Piece]) -> Result<Vec<StoredInstance>, StoreError> {
        let mut all = Vec::new();
        for piece in pieces {
            let (tier, from, to) = (piece.tier as i64, sql_ms(piece.from), sql_ms(piece.to));
            let rows = self.query(INSTANCES_IN_PIECE, &[&tier, &from, &to])?;
            all.extend(each(rows, "windows", |r| {
                Ok(StoredInstance {
                    id: r.try_get(0)?,
                    first_ms: r.try_get::<_, i64>(1)? as u64,
                    last_ms: r.try_get::<_, i64>(2)? as u64,
                    requests: r.try_get::<_, i64>(3)? as u64,
                })
            }));
        }
        Ok(merge_instances(all))
    }
}
