//! Endpoints: the top routes by requests, latency or errors; slow requests; every route
//! with exact percentiles over the range, sortable, searchable and paginated.

use leptos::prelude::*;

use crate::api::{fetch_endpoints, fetch_slow, fetch_top};
use crate::components::chart::{Bar, BarChart, Unit};
use crate::components::loaded::loaded;
use crate::components::page::PageHeader;
use crate::components::range::{Links, QueryForm, RangeCaption, RangePicker, use_param, use_range};
use crate::components::records::{Pager, RecordList};
use crate::format;
use crate::history::{
    EndpointSort, EndpointsPage, EndpointsParams, RecordsPage, SlowParams, TopEndpoints, TopMetric,
    TopParams,
};

const PAGE: &str = "/endpoints";

#[component]
pub fn EndpointsPage() -> impl IntoView {
    let range = use_range();
    let (metric, search, sort, order, page) = (
        use_param("metric"),
        use_param("search"),
        use_param("sort"),
        use_param("order"),
        use_param("page"),
    );
    let top = Resource::new(
        move || TopParams {
            range: range.get(),
            metric: metric.get(),
            limit: None,
        },
        fetch_top,
    );
    let slow = Resource::new(
        move || SlowParams {
            range: range.get(),
            limit: Some("10".into()),
            ..SlowParams::default()
        },
        fetch_slow,
    );
    let all = Resource::new(
        move || EndpointsParams {
            range: range.get(),
            search: search.get(),
            sort: sort.get(),
            order: order.get(),
            page: page.get(),
            limit: None,
        },
        fetch_endpoints,
    );
    let links = Links::new(PAGE);
    let metric_links = TopMetric::ALL
        .iter()
        .map(|(name, _)| {
            let links = links.clone();
            let href = move || links.href(&[("metric", Some((*name).to_owned()))]);
            let current =
                move || (metric.get().as_deref().unwrap_or("requests") == *name).then_some("true");
            view! { <a href=href class="preset" aria-current=current data-metric=*name>{*name}</a> }
        })
        .collect::<Vec<_>>();

    view! {
        <PageHeader title="Endpoints" intro="Every route over a time range: traffic, errors and exact latency percentiles."/>
        <RangePicker page=PAGE/>
        <section class="panel">
            <div class="panel-head">
                <h2>"Top endpoints"</h2>
                <nav class="presets" aria-label="Rank by">{metric_links}</nav>
            </div>
            {loaded(top, top_chart)}
        </section>
        <section class="panel" data-testid="slow-requests">
            <h2>"Slow requests"</h2>
            {loaded(slow, |page: RecordsPage| {
                let threshold = page.threshold_ms.unwrap_or_default();
                view! {
                    <p class="hint">{format!("Slowest requests that took {threshold} ms or more (the threshold is set on the Settings page).")}</p>
                    <RecordList page=page empty="No slow requests in this range."/>
                }
            })}
        </section>
        <section class="panel" data-testid="all-endpoints">
            <div class="panel-head">
                <h2>"All endpoints"</h2>
                <SearchForm/>
            </div>
            {loaded(all, move |page| endpoint_table(page, sort.get_untracked(), order.get_untracked()))}
        </section>
    }
}

fn top_chart(top: TopEndpoints) -> impl IntoView {
    let metric = top.metric.clone();
    let (unit, title, value): (Unit, &'static str, fn(&crate::history::EndpointRow) -> f64) =
        match metric.as_str() {
            "latency" => (Unit::Millis, "By p95 latency", |r| r.latency.p95_ms),
            "errors" => (Unit::Count, "By errors (4xx and 5xx)", |r| {
                r.errors() as f64
            }),
            _ => (Unit::Count, "By requests", |r| r.requests as f64),
        };
    let bars = top
        .items
        .iter()
        .map(|r| Bar {
            label: format!("{} {}", r.method, r.route),
            value: value(r),
            class: if metric == "errors" { "s2" } else { "s1" },
        })
        .collect();
    view! { <BarChart title=title unit=unit bars=bars testid="top-chart"/> }
}

/// The search box; submitting keeps the range and the sort, and goes back to page 1.
#[component]
fn SearchForm() -> impl IntoView {
    let range = use_range();
    let (search, sort, order, metric) = (
        use_param("search"),
        use_param("sort"),
        use_param("order"),
        use_param("metric"),
    );
    let hidden = move |name: &'static str, value: Option<String>| {
        value.map(|v| view! { <input type="hidden" name=name value=v/> })
    };
    view! {
        <QueryForm page=PAGE>
            <div class="search">
                {move || {
                    let r = range.get();
                    view! {
                        {hidden("range", r.range)}
                        {hidden("from", r.from)}
                        {hidden("to", r.to)}
                        {hidden("sort", sort.get())}
                        {hidden("order", order.get())}
                        {hidden("metric", metric.get())}
                    }
                }}
                <input type="search" name="search" placeholder="Filter routes" aria-label="Filter routes"
                    value=move || search.get().unwrap_or_default()/>
                <button type="submit" class="button">"Search"</button>
            </div>
        </QueryForm>
    }
}

fn endpoint_table(
    page: EndpointsPage,
    sort: Option<String>,
    order: Option<String>,
) -> impl IntoView {
    let links = Links::new(PAGE);
    let current = EndpointSort::ALL
        .iter()
        .find(|(n, _)| Some(*n) == sort.as_deref())
        .map_or(EndpointSort::Requests, |(_, s)| *s);
    let descending = match order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => current.default_descending(),
    };
    let header = |label: &'static str, column: EndpointSort, numeric: bool| {
        let active = column == current;
        let next_descending = if active {
            !descending
        } else {
            column.default_descending()
        };
        let links = links.clone();
        let href = move || {
            links.href(&[
                ("sort", Some(column.name().to_owned())),
                (
                    "order",
                    Some(if next_descending { "desc" } else { "asc" }.to_owned()),
                ),
                ("page", None),
            ])
        };
        let sorted = active.then_some(if descending {
            "descending"
        } else {
            "ascending"
        });
        let arrow = if active {
            if descending { " ↓" } else { " ↑" }
        } else {
            ""
        };
        view! {
            <th scope="col" class=if numeric { "num" } else { "" } aria-sort=sorted>
                <a href=href data-sort=column.name()>{label}{arrow}</a>
            </th>
        }
    };
    let rows = page
        .items
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td><span class="method">{r.method.clone()}</span>" "<code>{r.route.clone()}</code></td>
                    <td class="num">{format::count(r.requests)}</td>
                    <td class="num">{format::count(r.errors())}" "<span class="muted">{format!("({})", format::percent(r.error_rate_percent))}</span></td>
                    <td class="num">{format::millis(r.latency.avg_ms)}</td>
                    <td class="num">{format::millis(r.latency.p50_ms)}</td>
                    <td class="num">{format::millis(r.latency.p95_ms)}</td>
                    <td class="num">{format::millis(r.latency.p99_ms)}</td>
                    <td class="num">{format::millis(r.latency.max_ms)}</td>
                    <td><StatusMix status=r.status.clone()/></td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    let empty = page.items.is_empty();
    view! {
        <RangeCaption range=page.range.clone()/>
        <div class="table-scroll">
            <table class="table" data-testid="endpoints-table" data-total=page.total>
                <thead>
                    <tr>
                        {header("Endpoint", EndpointSort::Route, false)}
                        {header("Requests", EndpointSort::Requests, true)}
                        {header("Errors", EndpointSort::Errors, true)}
                        {header("Avg", EndpointSort::Avg, true)}
                        {header("p50", EndpointSort::P50, true)}
                        {header("p95", EndpointSort::P95, true)}
                        {header("p99", EndpointSort::P99, true)}
                        {header("Max", EndpointSort::Max, true)}
                        <th scope="col">"Status mix"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {empty.then(|| view! { <p class="empty">"No requests match in this range."</p> })}
        <Pager page=PAGE current=page.page limit=page.limit total=page.total/>
    }
}

/// A route's responses by status class, as a stacked bar with the codes listed.
#[component]
fn StatusMix(status: std::collections::BTreeMap<u16, u64>) -> impl IntoView {
    let d = crate::snapshot::StatusDistribution::from_codes(status.clone());
    let total =
        (d.informational + d.success + d.redirection + d.client_error + d.server_error).max(1);
    let segments = [
        ("success", d.success),
        ("redirection", d.redirection),
        ("client-error", d.client_error),
        ("server-error", d.server_error),
        ("informational", d.informational),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(class, n)| {
        let width = format!("width: {:.2}%", n as f64 * 100.0 / total as f64);
        view! { <span class=format!("seg {class}") style=width></span> }
    })
    .collect::<Vec<_>>();
    let codes = status
        .iter()
        .map(|(code, n)| format!("{code}×{}", format::count(*n)))
        .collect::<Vec<_>>()
        .join(" ");
    let title = codes.clone();
    view! {
        <div class="status-mix" title=title>
            <div class="stacked-bar">{segments}</div>
            <span class="codes-inline">{codes}</span>
        </div>
    }
}
