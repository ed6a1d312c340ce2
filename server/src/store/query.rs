//! Range queries over the stored history. Everything here reads; each function takes a
//! connection from [`super::Store::read`] and answers with the types the REST API and the
//! server functions return. A row that does not decode is skipped ([`super::rows`]).

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use sightline_app::history::{
    EndpointRow, EndpointSort, EndpointsPage, EndpointsQuery, ErrorDistribution, ErrorsQuery,
    NamedSeries, OverviewHistory, Points, RecordsPage, RequestRecord, SamplesHistory, SlowQuery,
    TimeRange, TopEndpoints, TopMetric, TopQuery,
};
use sightline_app::snapshot::StatusDistribution;

use super::StoreError;
use super::rows::{counts_at, each, samples_at, skip_row};
use super::samples::{FIELDS, Group, SampleAcc};
use super::schema::sample_columns;
use super::tiers::{Horizons, Piece, plan, tier_for_step};
use super::writer::WindowCounts;
use crate::metrics::summary::summarize;

/// Route id of the all-routes rows.
const ALL_ROUTES: i64 = 0;

pub fn horizons(conn: &Connection) -> Result<Horizons, StoreError> {
    let mut h = [0u64; 3];
    let mut stmt = conn.prepare_cached("SELECT tier, pruned_before_ms FROM horizons")?;
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

/// Calls `f(start_ms, counts)` for every row of `route_id` in `pieces`.
fn for_each_row(
    conn: &Connection,
    route_id: i64,
    pieces: &[Piece],
    mut f: impl FnMut(u64, WindowCounts),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT start_ms, requests, client_errors, server_errors, bytes, latency_sum_us, latency_max_us, status, histogram
         FROM windows WHERE tier = ?1 AND route_id = ?2 AND start_ms >= ?3 AND start_ms < ?4",
    )?;
    for piece in pieces {
        let mut rows = stmt.query(params![
            piece.tier as i64,
            route_id,
            piece.from as i64,
            piece.to as i64
        ])?;
        while let Some(r) = rows.next()? {
            match window_row(r) {
                Ok((start, counts)) => f(start, counts),
                Err(e) => skip_row("windows", &e),
            }
        }
    }
    Ok(())
}

/// `start_ms` and the counts of a row read by [`for_each_row`].
fn window_row(r: &rusqlite::Row<'_>) -> Result<(u64, WindowCounts), StoreError> {
    Ok((r.get::<_, i64>(0)? as u64, counts_at(r, 1)?))
}

/// All of `route_id` over the range, merged.
fn total(
    conn: &Connection,
    route_id: i64,
    range: &TimeRange,
    h: &Horizons,
) -> Result<WindowCounts, StoreError> {
    let mut sum = WindowCounts::default();
    for_each_row(
        conn,
        route_id,
        &plan(range.from_ms, range.to_ms, 2, h),
        |_, c| sum.merge(&c),
    )?;
    Ok(sum)
}

/// `route_id` merged per step, keyed by the step's start.
fn per_step(
    conn: &Connection,
    route_id: i64,
    range: &TimeRange,
    h: &Horizons,
) -> Result<BTreeMap<u64, WindowCounts>, StoreError> {
    let step = range.step_ms();
    let pieces = plan(range.from_ms, range.to_ms, tier_for_step(step), h);
    let mut steps: BTreeMap<u64, WindowCounts> = BTreeMap::new();
    for_each_row(conn, route_id, &pieces, |start, c| {
        steps.entry(step_of(range, start)).or_default().merge(&c)
    })?;
    Ok(steps)
}

/// Steps count from the range's start, so there are never more than `max_points`.
fn step_of(range: &TimeRange, t: u64) -> u64 {
    let step = range.step_ms();
    range
        .from_ms
        .saturating_add(t.saturating_sub(range.from_ms) / step * step)
}

/// Every step start in the range (series with no data there read 0).
fn step_starts(range: &TimeRange) -> impl Iterator<Item = u64> {
    (range.from_ms..range.to_ms).step_by(range.step_ms() as usize)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

pub fn overview(conn: &Connection, range: &TimeRange) -> Result<OverviewHistory, StoreError> {
    let h = horizons(conn)?;
    let all = total(conn, ALL_ROUTES, range, &h)?;
    let steps = per_step(conn, ALL_ROUTES, range, &h)?;
    let step_ms = range.step_ms();
    let span_s = range.span_ms() as f64 / 1_000.0;
    Ok(OverviewHistory {
        range: range.clone(),
        step_ms,
        requests: all.requests,
        client_errors: all.client_errors,
        server_errors: all.server_errors,
        error_rate_percent: share(all.client_errors + all.server_errors, all.requests),
        rps: all.requests as f64 / span_s,
        rpm: all.requests as f64 * 60.0 / span_s,
        bytes: all.bytes,
        latency: summarize(Some(&all.histogram), all.latency_sum_us, all.latency_max_us),
        status: StatusDistribution::from_codes(all.status.clone()),
        rps_series: step_starts(range)
            .map(|t| {
                let n = steps.get(&t).map_or(0, |c| c.requests);
                (t, n as f64 * 1_000.0 / step_ms as f64)
            })
            .collect(),
        p95_ms_series: steps
            .iter()
            .filter(|(_, c)| c.requests > 0)
            .map(|(t, c)| {
                let l = summarize(Some(&c.histogram), c.latency_sum_us, c.latency_max_us);
                (*t, l.p95_ms)
            })
            .collect(),
    })
}

pub fn error_distribution(
    conn: &Connection,
    range: &TimeRange,
) -> Result<ErrorDistribution, StoreError> {
    let h = horizons(conn)?;
    let all = total(conn, ALL_ROUTES, range, &h)?;
    let steps = per_step(conn, ALL_ROUTES, range, &h)?;
    let series = |f: fn(&WindowCounts) -> u64| -> Points {
        step_starts(range)
            .map(|t| (t, steps.get(&t).map_or(0, f) as f64))
            .collect()
    };
    Ok(ErrorDistribution {
        range: range.clone(),
        step_ms: range.step_ms(),
        requests: all.requests,
        status: StatusDistribution::from_codes(all.status.clone()),
        client_errors_series: series(|c| c.client_errors),
        server_errors_series: series(|c| c.server_errors),
    })
}

/// Sampled values of one group, combined per step; steps with no measured value are left
/// out of that series.
pub fn samples(
    conn: &Connection,
    range: &TimeRange,
    group: Group,
) -> Result<SamplesHistory, StoreError> {
    let h = horizons(conn)?;
    let step = range.step_ms();
    let pieces = plan(range.from_ms, range.to_ms, tier_for_step(step), &h);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT start_ms, n, {} FROM samples WHERE tier = ?1 AND start_ms >= ?2 AND start_ms < ?3",
        sample_columns()
    ))?;
    let mut steps: BTreeMap<u64, SampleAcc> = BTreeMap::new();
    for piece in &pieces {
        let rows = stmt.query(params![
            piece.tier as i64,
            piece.from as i64,
            piece.to as i64
        ])?;
        let rows = each(rows, "samples", |r| {
            Ok((r.get::<_, i64>(0)? as u64, samples_at(r, 1)?))
        })?;
        for (start, acc) in rows {
            steps.entry(step_of(range, start)).or_default().merge(&acc);
        }
    }
    let series = FIELDS
        .iter()
        .enumerate()
        .filter(|(_, f)| f.group == group)
        .map(|(i, f)| NamedSeries {
            name: f.name.to_owned(),
            // A step where the value was not measured has no point (not a zero).
            points: steps
                .iter()
                .filter_map(|(t, acc)| acc.value(i).map(|v| (*t, v)))
                .collect(),
        })
        .collect();
    Ok(SamplesHistory {
        range: range.clone(),
        step_ms: step,
        series,
    })
}

/// Every route with requests in the range.
pub fn endpoint_rows(conn: &Connection, range: &TimeRange) -> Result<Vec<EndpointRow>, StoreError> {
    let h = horizons(conn)?;
    let mut stmt = conn.prepare_cached("SELECT id, method, route FROM routes ORDER BY id")?;
    let routes: Vec<(i64, String, String)> = each(stmt.query([])?, "routes", |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let pieces = plan(range.from_ms, range.to_ms, 2, &h);
    let mut out = Vec::new();
    for (id, method, route) in routes {
        let mut c = WindowCounts::default();
        for_each_row(conn, id, &pieces, |_, row| c.merge(&row))?;
        if c.requests == 0 {
            continue;
        }
        out.push(EndpointRow {
            method,
            route,
            requests: c.requests,
            client_errors: c.client_errors,
            server_errors: c.server_errors,
            error_rate_percent: share(c.client_errors + c.server_errors, c.requests),
            bytes: c.bytes,
            latency: summarize(Some(&c.histogram), c.latency_sum_us, c.latency_max_us),
            status: c.status,
        });
    }
    Ok(out)
}

fn sort_key(row: &EndpointRow, sort: EndpointSort) -> f64 {
    match sort {
        EndpointSort::Route | EndpointSort::Method => 0.0,
        EndpointSort::Requests => row.requests as f64,
        EndpointSort::Errors => row.errors() as f64,
        EndpointSort::ErrorRate => row.error_rate_percent,
        EndpointSort::Avg => row.latency.avg_ms,
        EndpointSort::P50 => row.latency.p50_ms,
        EndpointSort::P95 => row.latency.p95_ms,
        EndpointSort::P99 => row.latency.p99_ms,
        EndpointSort::Max => row.latency.max_ms,
    }
}

pub fn endpoints(conn: &Connection, q: &EndpointsQuery) -> Result<EndpointsPage, StoreError> {
    let mut rows = endpoint_rows(conn, &q.range)?;
    if let Some(search) = &q.search {
        let needle = search.to_lowercase();
        rows.retain(|r| {
            r.route.to_lowercase().contains(&needle) || r.method.to_lowercase().contains(&needle)
        });
    }
    rows.sort_by(|a, b| {
        let ordering = match q.sort {
            EndpointSort::Route => a.route.cmp(&b.route).then_with(|| a.method.cmp(&b.method)),
            EndpointSort::Method => a.method.cmp(&b.method).then_with(|| a.route.cmp(&b.route)),
            sort => sort_key(a, sort)
                .total_cmp(&sort_key(b, sort))
                .then_with(|| b.route.cmp(&a.route)),
        };
        if q.descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    let total = rows.len() as u64;
    let skip = (q.page.saturating_sub(1) as usize).saturating_mul(q.limit as usize);
    Ok(EndpointsPage {
        range: q.range.clone(),
        total,
        page: q.page,
        limit: q.limit,
        items: rows.into_iter().skip(skip).take(q.limit as usize).collect(),
    })
}

pub fn top(conn: &Connection, q: &TopQuery) -> Result<TopEndpoints, StoreError> {
    let mut rows = endpoint_rows(conn, &q.range)?;
    let key = |r: &EndpointRow| match q.metric {
        TopMetric::Requests => r.requests as f64,
        TopMetric::Latency => r.latency.p95_ms,
        TopMetric::Errors => r.errors() as f64,
    };
    rows.retain(|r| key(r) > 0.0);
    rows.sort_by(|a, b| {
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.route.cmp(&b.route))
    });
    rows.truncate(q.limit as usize);
    Ok(TopEndpoints {
        range: q.range.clone(),
        metric: q.metric.name().to_owned(),
        items: rows,
    })
}

/// One page of stored requests in `range` matching `filter` (whose `?1` and `?2` are the
/// range's ends; `args` bind `?3` on).
fn records(
    conn: &Connection,
    range: &TimeRange,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    order: &str,
    (page, limit): (u32, u32),
) -> Result<RecordsPage, StoreError> {
    let (from, to) = (range.from_ms as i64, range.to_ms as i64);
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&from, &to];
    all.extend_from_slice(args);
    let filter = format!("time_ms >= ?1 AND time_ms < ?2 AND ({filter})");
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM requests WHERE {filter}"),
        all.as_slice(),
        |r| r.get(0),
    )?;
    let offset = i64::from(page.saturating_sub(1)).saturating_mul(i64::from(limit));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, time_ms, method, route, path, status, latency_us, bytes, message
         FROM requests WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    ))?;
    let items = each(stmt.query(all.as_slice())?, "requests", |r| {
        Ok(RequestRecord {
            id: r.get(0)?,
            time_ms: r.get::<_, i64>(1)? as u64,
            method: r.get(2)?,
            route: r.get(3)?,
            path: r.get(4)?,
            status: r.get(5)?,
            latency_ms: r.get::<_, i64>(6)? as f64 / 1_000.0,
            bytes: r.get::<_, i64>(7)? as u64,
            message: r.get(8)?,
        })
    })?;
    Ok(RecordsPage {
        range: range.clone(),
        total: total as u64,
        page,
        limit,
        threshold_ms: None,
        items,
    })
}

/// Requests at least `threshold_ms` slow (default: the configured threshold), slowest first.
pub fn slow(
    conn: &Connection,
    q: &SlowQuery,
    default_threshold_ms: u64,
) -> Result<RecordsPage, StoreError> {
    let threshold_ms = q.threshold_ms.unwrap_or(default_threshold_ms);
    let min_us = threshold_ms.saturating_mul(1_000) as i64;
    let page = records(
        conn,
        &q.range,
        "latency_us >= ?3",
        &[&min_us],
        "latency_us DESC, id DESC",
        (q.page, q.limit),
    )?;
    Ok(RecordsPage {
        threshold_ms: Some(threshold_ms),
        ..page
    })
}

/// Error responses, newest first.
pub fn errors(conn: &Connection, q: &ErrorsQuery) -> Result<RecordsPage, StoreError> {
    let (lo, hi) = q.status.bounds();
    let needle = q.route.as_deref().unwrap_or("").to_lowercase();
    records(
        conn,
        &q.range,
        "status BETWEEN ?3 AND ?4
         AND (?5 = '' OR instr(lower(route), ?5) > 0 OR instr(lower(path), ?5) > 0)",
        &[&lo, &hi, &needle],
        "time_ms DESC, id DESC",
        (q.page, q.limit),
    )
}

/// Start of the oldest stored window.
pub fn oldest(conn: &Connection) -> Result<Option<u64>, StoreError> {
    let t: Option<i64> = conn.query_row("SELECT min(start_ms) FROM windows", [], |r| r.get(0))?;
    Ok(t.map(|t| t as u64))
}
