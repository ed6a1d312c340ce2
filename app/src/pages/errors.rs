//! Errors: status codes over a range, errors over time, and the error log with filters.

use leptos::prelude::*;

use crate::api::{fetch_error_distribution, fetch_errors};
use crate::components::chart::{Bar, BarChart, Line, LineChart, Unit};
use crate::components::loaded::loaded;
use crate::components::page::PageHeader;
use crate::components::range::{QueryForm, RangeCaption, RangePicker, use_param, use_range};
use crate::components::records::{Pager, RecordList};
use crate::format;
use crate::history::{ErrorDistribution, ErrorsParams, RecordsPage};

const PAGE: &str = "/errors";

#[component]
pub fn ErrorsPage() -> impl IntoView {
    let range = use_range();
    let (status, route, page) = (use_param("status"), use_param("route"), use_param("page"));
    let distribution = Resource::new(move || range.get(), fetch_error_distribution);
    let log = Resource::new(
        move || ErrorsParams {
            range: range.get(),
            status: status.get(),
            route: route.get(),
            page: page.get(),
            limit: None,
        },
        fetch_errors,
    );
    view! {
        <PageHeader title="Errors" intro="Responses by status code, errors over time, and every error response with its details."/>
        <RangePicker page=PAGE/>
        {loaded(distribution, distribution_view)}
        <section class="panel" data-testid="error-log">
            <div class="panel-head">
                <h2>"Error log"</h2>
                <Filters/>
            </div>
            {loaded(log, |page: RecordsPage| {
                let (current, limit, total) = (page.page, page.limit, page.total);
                view! {
                    <RecordList page=page empty="No error responses match in this range."/>
                    <Pager page=PAGE current=current limit=limit total=total/>
                }
            })}
        </section>
    }
}

fn distribution_view(d: ErrorDistribution) -> impl IntoView {
    let (from, to, step) = (d.range.from_ms, d.range.to_ms, d.step_ms);
    let s = &d.status;
    let errors = s.client_error + s.server_error;
    let bars = d
        .status
        .by_code
        .iter()
        .map(|(code, n)| Bar {
            label: code.to_string(),
            value: *n as f64,
            class: match code {
                500.. => "server-error",
                400.. => "client-error",
                300.. => "redirection",
                200.. => "success",
                _ => "informational",
            },
        })
        .collect();
    view! {
        <RangeCaption range=d.range.clone()/>
        <section class="grid cards" aria-label="Totals">
            <div class="card stat" data-testid="range-requests">
                <div class="stat-label">"Requests"</div>
                <div class="stat-value">{format::count(d.requests)}</div>
            </div>
            <div class="card stat" data-testid="range-4xx">
                <div class="stat-label">"Client errors (4xx)"</div>
                <div class="stat-value">{format::count(s.client_error)}</div>
            </div>
            <div class="card stat" data-testid="range-5xx">
                <div class="stat-label">"Server errors (5xx)"</div>
                <div class="stat-value">{format::count(s.server_error)}</div>
            </div>
            <div class="card stat">
                <div class="stat-label">"Error share"</div>
                <div class="stat-value">{format::percent(if d.requests == 0 { 0.0 } else { errors as f64 * 100.0 / d.requests as f64 })}</div>
            </div>
        </section>
        <div class="grid charts">
            <BarChart title="Responses by status code" unit=Unit::Count bars=bars testid="status-chart"/>
            <LineChart title="Errors over time" unit=Unit::Count from_ms=from to_ms=to step_ms=step testid="chart-errors"
                lines=vec![
                    Line::new("4xx", d.client_errors_series.clone(), "client-error"),
                    Line::new("5xx", d.server_errors_series.clone(), "server-error"),
                ]/>
        </div>
    }
}

/// Status class or code, and a route or path fragment.
#[component]
fn Filters() -> impl IntoView {
    let range = use_range();
    let (status, route) = (use_param("status"), use_param("route"));
    let option = move |value: &'static str, label: &'static str| {
        view! {
            <option value=value selected=move || status.get().as_deref().unwrap_or("") == value>{label}</option>
        }
    };
    view! {
        <QueryForm page=PAGE>
            <div class="search">
                {move || {
                    let r = range.get();
                    [("range", r.range), ("from", r.from), ("to", r.to)]
                        .into_iter()
                        .filter_map(|(name, v)| v.map(|v| view! { <input type="hidden" name=name value=v/> }))
                        .collect::<Vec<_>>()
                }}
                <select name="status" aria-label="Status">
                    {option("", "All errors")}
                    {option("4xx", "4xx")}
                    {option("5xx", "5xx")}
                    {option("404", "404")}
                    {option("500", "500")}
                    {option("502", "502")}
                    {option("503", "503")}
                </select>
                <input type="search" name="route" placeholder="Route or path" aria-label="Route or path"
                    value=move || route.get().unwrap_or_default()/>
                <button type="submit" class="button">"Filter"</button>
            </div>
        </QueryForm>
    }
}
