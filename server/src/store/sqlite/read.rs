//! The query primitives ([`Reader`]) on a SQLite read connection.

use rusqlite::{Connection, ToSql, params};
use sightline_app::history::{RequestRecord, StoredInstance, TimeRange};

use super::rows::{each, samples_at, window_at};
use super::schema::sample_columns;
use crate::store::StoreError;
use crate::store::reader::{
    Reader, RecordFilter, RecordRows, Rows, merge_instances, offset, sql_ms,
};
use crate::store::samples::SampleAcc;
use crate::store::skipped::skip_row;
use crate::store::stored_window::StoredWindow;
use crate::store::tiers::{Horizons, Piece};

/// `instance_id` of the instance named by the parameter at `?n`.
fn instance_is(n: usize) -> String {
    format!("instance_id = (SELECT id FROM instances WHERE name = ?{n})")
}

impl Reader for Connection {
    fn horizons(&self) -> Result<Horizons, StoreError> {
        let mut h = [0u64; 3];
        let mut stmt = self.prepare_cached("SELECT tier, pruned_before_ms FROM horizons")?;
        let rows = each(stmt.query([])?, "horizons", |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for (tier, before) in rows {
            if let Some(slot) = h.get_mut(tier as usize) {
                *slot = before as u64;
            }
        }
        Ok(h)
    }

    fn routes(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut stmt = self.prepare_cached("SELECT id, method, route FROM routes ORDER BY id")?;
        each(stmt.query([])?, "routes", |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
    }

    fn windows(
        &self,
        rows: Rows<'_>,
        pieces: &[Piece],
        f: &mut dyn FnMut(i64, u64, &StoredWindow),
    ) -> Result<(), StoreError> {
        let mut sql = "SELECT route_id, start_ms, requests, client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status, histogram
             FROM windows WHERE tier = ?1 AND start_ms >= ?2 AND start_ms < ?3"
            .to_owned();
        if rows.route.is_some() {
            sql += " AND route_id = ?4";
        }
        if rows.instance.is_some() {
            sql += &format!(" AND {}", instance_is(5));
        }
        let mut stmt = self.prepare_cached(&sql)?;
        for piece in pieces {
            let args: [&dyn ToSql; 5] = [
                &(piece.tier as i64),
                &(sql_ms(piece.from)),
                &(sql_ms(piece.to)),
                &rows.route,
                &rows.instance,
            ];
            let used = if rows.instance.is_some() {
                5
            } else if rows.route.is_some() {
                4
            } else {
                3
            };
            let mut found = stmt.query(&args[..used])?;
            while let Some(r) = found.next()? {
                let row = (|| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, window_at(r, 2)?)))();
                match row {
                    Ok((route, start, row)) => f(route, start, &row),
                    Err(e) => skip_row("windows", &e),
                }
            }
        }
        Ok(())
    }

    fn samples(
        &self,
        instance: Option<&str>,
        pieces: &[Piece],
        f: &mut dyn FnMut(u64, SampleAcc),
    ) -> Result<(), StoreError> {
        let mut sql = format!(
            "SELECT start_ms, n, {} FROM samples WHERE tier = ?1 AND start_ms >= ?2 AND start_ms < ?3",
            sample_columns()
        );
        if instance.is_some() {
            sql += &format!(" AND {}", instance_is(4));
        }
        let mut stmt = self.prepare_cached(&sql)?;
        for piece in pieces {
            let args: [&dyn ToSql; 4] = [
                &(piece.tier as i64),
                &(sql_ms(piece.from)),
                &(sql_ms(piece.to)),
                &instance,
            ];
            let used = if instance.is_some() { 4 } else { 3 };
            let rows = each(stmt.query(&args[..used])?, "samples", |r| {
                Ok((r.get::<_, i64>(0)? as u64, samples_at(r, 1)?))
            })?;
            for (start, acc) in rows {
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
        let mut args: Vec<&dyn ToSql> = vec![&from, &to];
        let (condition, order) = match filter {
            RecordFilter::Slow { min_us } => {
                args.push(min_us);
                (
                    "latency_us >= ?3".to_owned(),
                    "latency_us DESC, requests.id DESC",
                )
            }
            RecordFilter::Errors { lo, hi, needle } => {
                args.extend([lo as &dyn ToSql, hi, needle]);
                (
                    "status BETWEEN ?3 AND ?4
                     AND (?5 = '' OR instr(lower(route), ?5) > 0 OR instr(lower(path), ?5) > 0)"
                        .to_owned(),
                    "time_ms DESC, requests.id DESC",
                )
            }
        };
        let mut condition = format!("time_ms >= ?1 AND time_ms < ?2 AND ({condition})");
        if let Some(instance) = &range.instance {
            args.push(instance);
            condition += &format!(" AND {}", instance_is(args.len()));
        }
        let total: i64 = self.query_row(
            &format!("SELECT count(*) FROM requests WHERE {condition}"),
            args.as_slice(),
            |r| r.get(0),
        )?;
        let offset = offset(page, limit);
        let mut stmt = self.prepare_cached(&format!(
            "SELECT requests.id, instances.name, time_ms, method, route, path, status, latency_us, bytes, message
             FROM requests LEFT JOIN instances ON instances.id = instance_id
             WHERE {condition} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        ))?;
        let items = each(stmt.query(args.as_slice())?, "requests", |r| {
            Ok(RequestRecord {
                id: r.get(0)?,
                instance: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                time_ms: r.get::<_, i64>(2)? as u64,
                method: r.get(3)?,
                route: r.get(4)?,
                path: r.get(5)?,
                status: r.get(6)?,
                latency_ms: r.get::<_, i64>(7)? as f64 / 1_000.0,
                bytes: r.get::<_, i64>(8)? as u64,
                message: r.get(9)?,
            })
        })?;
        Ok(RecordRows {
            total: total as u64,
            items,
        })
    }

    fn oldest(&self) -> Result<Option<u64>, StoreError> {
        let t: Option<i64> =
            self.query_row("SELECT min(start_ms) FROM windows", [], |r| r.get(0))?;
        Ok(t.map(|t| t as u64))
    }

    fn instances(&self, pieces: &[Piece]) -> Result<Vec<StoredInstance>, StoreError> {
        // The same statement as PostgreSQL's, with SQLite's placeholders.
        let mut stmt = self
            .prepare_cached(&crate::store::postgres::read::INSTANCES_IN_PIECE.replace('$', "?"))?;
        let mut all = Vec::new();
        for piece in pieces {
            let rows = stmt.query(params![
                piece.tier as i64,
                sql_ms(piece.from),
                sql_ms(piece.to)
            ])?;
            all.extend(each(rows, "windows", |r| {
                Ok(StoredInstance {
                    id: r.get(0)?,
                    first_ms: r.get::<_, i64>(1)? as u64,
                    last_ms: r.get::<_, i64>(2)? as u64,
                    requests: r.get::<_, i64>(3)? as u64,
                })
            })?);
        }
        Ok(merge_instances(all))
    }
}
