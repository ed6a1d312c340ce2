//! Range queries over the stored history. Everything here reads; each function takes a
//! connection from [`super::Store::read`] and answers with the types the REST API and the
//! server functions return. A row that does not decode is skipped ([`super::rows`]).

use std::collections::BTreeMap;

use sightline_app::history::{
    EndpointRow, EndpointSort, EndpointsPage, EndpointsQuery, ErrorDistribution, ErrorsQuery,
    InstancesHistory, NamedSeries, OverviewHistory, Points, RecordsPage, SamplesHistory, SlowQuery,
    StoredInstance, TimeRange, TopEndpoints, TopMetric, TopQuery,
};
use sightline_app::snapshot::StatusDistribution;

use super::StoreError;
use super::reader::{ALL_ROUTES, Reader, RecordFilter, Rows};
use super::samples::{FIELDS, Group, SampleAcc};
use super::stored_window::RowSum;
use super::tiers::{Horizons, plan, tier_for_step};
use super::writer::WindowCounts;
use crate::metrics::summary::summarize;

/// The all-routes rows of the range's instance (or of all of them).
fn all_routes(range: &TimeRange) -> Rows<'_> {
    Rows {
        instance: range.instance.as_deref(),
        route: Some(ALL_ROUTES),
    }
}

/// All of the range's all-routes rows, merged.
fn total(db: &dyn Reader, range: &TimeRange, h: &Horizons) -> Result<WindowCounts, StoreError> {
    let mut sum = RowSum::default();
    db.windows(
        all_routes(range),
        &plan(range.from_ms, range.to_ms, 2, h),
        &mut |_, _, row| sum.add(row),
    )?;
    Ok(sum.finish())
}

/// The all-routes rows merged per step, keyed by the step's start.
pub(super) fn per_step(
    db: &dyn Reader,
    range: &TimeRange,
    h: &Horizons,
) -> Result<BTreeMap<u64, WindowCounts>, StoreError> {
    let step = range.step_ms();
    let pieces = plan(range.from_ms, range.to_ms, tier_for_step(step), h);
    let mut steps: BTreeMap<u64, WindowCounts> = BTreeMap::new();
    db.windows(all_routes(range), &pieces, &mut |_, start, row| {
        row.merge_into(steps.entry(step_of(range, start)).or_default())
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

pub fn overview(db: &dyn Reader, range: &TimeRange) -> Result<OverviewHistory, StoreError> {
    let h = db.horizons()?;
    let all = total(db, range, &h)?;
    let steps = per_step(db, range, &h)?;
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
    db: &dyn Reader,
    range: &TimeRange,
) -> Result<ErrorDistribution, StoreError> {
    let h = db.horizons()?;
    let all = total(db, range, &h)?;
    let steps = per_step(db, range, &h)?;
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
    db: &dyn Reader,
    range: &TimeRange,
    group: Group,
) -> Result<SamplesHistory, StoreError> {
    let steps = sample_steps(db, range, &db.horizons()?)?;
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
        step_ms: range.step_ms(),
        series,
    })
}

/// The range's samples combined per step, keyed by the step's start.
pub(super) fn sample_steps(
    db: &dyn Reader,
    range: &TimeRange,
    h: &Horizons,
) -> Result<BTreeMap<u64, SampleAcc>, StoreError> {
    let pieces = plan(
        range.from_ms,
        range.to_ms,
        tier_for_step(range.step_ms()),
        h,
    );
    let mut steps: BTreeMap<u64, SampleAcc> = BTreeMap::new();
    db.samples(range.instance.as_deref(), &pieces, &mut |start, acc| {
        steps.entry(step_of(range, start)).or_default().merge(&acc)
    })?;
    Ok(steps)
}

/// Every route with requests in the range.
pub fn endpoint_rows(db: &dyn Reader, range: &TimeRange) -> Result<Vec<EndpointRow>, StoreError> {
    let h = db.horizons()?;
    let pieces = plan(range.from_ms, range.to_ms, 2, &h);
    // One running total per route (at most the route cap): see `RowSum`.
    let mut per_route: BTreeMap<i64, RowSum> = BTreeMap::new();
    let rows = Rows {
        instance: range.instance.as_deref(),
        route: None,
    };
    db.windows(rows, &pieces, &mut |id, _, row| {
        if id != ALL_ROUTES {
            per_route.entry(id).or_default().add(row)
        }
    })?;
    let mut out = Vec::new();
    for (id, method, route) in db.routes()? {
        let Some(c) = per_route
            .remove(&id)
            .map(RowSum::finish)
            .filter(|c| c.requests > 0)
        else {
            continue;
        };
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

pub fn endpoints(db: &dyn Reader, q: &EndpointsQuery) -> Result<EndpointsPage, StoreError> {
    let mut rows = endpoint_rows(db, &q.range)?;
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

pub fn top(db: &dyn Reader, q: &TopQuery) -> Result<TopEndpoints, StoreError> {
    let mut rows = endpoint_rows(db, &q.range)?;
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

/// One page of stored requests in `range` matching `filter`.
fn records(
    db: &dyn Reader,
    range: &TimeRange,
    filter: RecordFilter,
    (page, limit): (u32, u32),
) -> Result<RecordsPage, StoreError> {
    let rows = db.records(range, &filter, page, limit)?;
    Ok(RecordsPage {
        range: range.clone(),
        total: rows.total,
        page,
        limit,
        threshold_ms: None,
        items: rows.items,
    })
}

/// Requests at least `threshold_ms` slow (default: the configured threshold), slowest first.
pub fn slow(
    db: &dyn Reader,
    q: &SlowQuery,
    default_threshold_ms: u64,
) -> Result<RecordsPage, StoreError> {
    let threshold_ms = q.threshold_ms.unwrap_or(default_threshold_ms);
    let min_us = threshold_ms.saturating_mul(1_000).min(i64::MAX as u64) as i64;
    let page = records(
        db,
        &q.range,
        RecordFilter::Slow { min_us },
        (q.page, q.limit),
    )?;
    Ok(RecordsPage {
        threshold_ms: Some(threshold_ms),
        ..page
    })
}

/// Error responses, newest first.
pub fn errors(db: &dyn Reader, q: &ErrorsQuery) -> Result<RecordsPage, StoreError> {
    let (lo, hi) = q.status.bounds();
    let needle = q.route.as_deref().unwrap_or("").to_lowercase();
    records(
        db,
        &q.range,
        RecordFilter::Errors {
            lo: lo.into(),
            hi: hi.into(),
            needle,
        },
        (q.page, q.limit),
    )
}

/// Instances with history in the range (all of them, whatever the range's `instance`).
pub fn instances(db: &dyn Reader, range: &TimeRange) -> Result<InstancesHistory, StoreError> {
    let h = db.horizons()?;
    let items: Vec<StoredInstance> = db.instances(&plan(range.from_ms, range.to_ms, 0, &h))?;
    Ok(InstancesHistory {
        range: range.clone(),
        items,
    })
}
