//! Dashboard: the live view. Every widget reads the snapshot signal from `live.rs`.

use leptos::prelude::*;

use crate::api::fetch_recent;
use crate::components::cards::{Gauge, StatCard};
use crate::components::endpoint_table::EndpointTable;
use crate::components::instances::{INSTANCE_PARAM, InstancesTable};
use crate::components::live_charts::{LiveCharts, recent_scope};
use crate::components::loaded::error_message;
use crate::components::page::PageHeader;
use crate::format;
use crate::history::{RecentHistory, RecentParams};
use crate::live::use_live;
use crate::snapshot::{DashboardSnapshot, StatusDistribution};

#[component]
pub fn DashboardPage() -> impl IntoView {
    // The configured snapshot interval, as the server reports it.
    let interval = use_live().snapshot.with_untracked(|s| {
        s.as_ref()
            .map(|s| s.server.snapshot_interval_ms)
            .filter(|ms| *ms > 0)
    });
    let intro = match interval {
        Some(ms) => format!(
            "Live traffic, latency and resource use of this service, updated {}.",
            format::every(ms)
        ),
        None => "Live traffic, latency and resource use of this service, updated live.".into(),
    };
    // The live charts start from history, for what the live view shows.
    let page_instance = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get(INSTANCE_PARAM))
        .filter(|i| !i.is_empty());
    let instance = use_live()
        .snapshot
        .with_untracked(|s| s.as_ref().and_then(|s| recent_scope(s, page_instance)));
    let recent = Resource::new(
        move || instance.clone(),
        |instance| fetch_recent(RecentParams { instance }),
    );
    view! {
        <PageHeader title="Dashboard" intro=intro/>
        <Suspense>
            {move || {
                recent
                    .get()
                    .map(|answer| {
                        let (recent, history_error) = match answer {
                            Ok(recent) => (recent, None),
                            Err(e) => (RecentHistory::default(), Some(error_message(e))),
                        };
                        // The live charts' first windows.
                        provide_context(recent);
                        view! {
                            {history_error.map(|e| view! {
                                <p class="muted" role="status">{format!("No history to start the live charts from ({e}); they start now.")}</p>
                            })}
                            <DashboardLive>
                                <LiveCharts/>
                            </DashboardLive>
                        }
                    })
            }}
        </Suspense>
    }
}

/// Everything below the heading follows the live snapshots; `children` are the live
/// charts, drawn on the server and redrawn in the browser once the page is live.
#[island]
fn DashboardLive(children: Children) -> impl IntoView {
    let live = use_live();
    #[cfg(feature = "hydrate")]
    {
        // The first snapshot after the page's own: the stream delivers, so the charts'
        // code is fetched now, after everything the page needs to go live.
        let mut owner = Owner::current();
        Effect::new(move |first: Option<()>| {
            live.snapshot.track();
            if first.is_some()
                && let Some(owner) = owner.take()
            {
                leptos::task::spawn_local(crate::components::live_charts::follow(owner));
            }
        });
    }
    // A text derived from the snapshot; a dash until the first one exists.
    let text = move |f: fn(&DashboardSnapshot) -> String| {
        Signal::derive(move || {
            live.snapshot
                .with(|s| s.as_ref().map_or_else(|| "–".to_owned(), f))
        })
    };
    let share = move |f: fn(&DashboardSnapshot) -> f64| {
        Signal::derive(move || live.snapshot.with(|s| s.as_ref().map(f)))
    };
    let rows = move |f: fn(&DashboardSnapshot) -> &Vec<crate::snapshot::EndpointStat>| {
        Signal::derive(move || {
            live.snapshot
                .with(|s| s.as_ref().map(|s| f(s).clone()).unwrap_or_default())
        })
    };

    view! {
        <section class="grid cards" aria-label="Traffic">
            <StatCard
                label="Requests / s"
                value=text(|s| format::rate(s.overview.rps))
                detail=text(|_| "last 10 s".into())
                testid="rps"
            />
            <StatCard
                label="Requests / min"
                value=text(|s| format::count(s.overview.rpm as u64))
                detail=text(|_| "last 60 s".into())
                testid="rpm"
            />
            <StatCard
                label="Total requests"
                value=text(|s| format::count(s.overview.total_requests))
                detail=text(|s| format!("since start, {} ago", format::duration(s.process.uptime_seconds)))
                testid="total-requests"
            />
            <StatCard
                label="Error rate"
                value=text(|s| format!("{} 5xx", format::percent(s.overview.server_error_rate_percent)))
                detail=text(|s| format!("{} 4xx · last 60 s", format::percent(s.overview.client_error_rate_percent)))
                testid="error-rate"
            />
        </section>

        {children()}

        <section class="grid gauges" aria-label="Resources">
            <Gauge
                label="CPU"
                percent=share(|s| f64::from(s.system.cpu_percent))
                caption=text(|s| format!("{} cores · process {:.1}%", s.system.cpu_cores, s.process.cpu_percent))
                testid="gauge-cpu"
            />
            <Gauge
                label="Memory"
                percent=share(|s| f64::from(s.system.mem_percent))
                caption=text(|s| format!(
                    "{} of {} · process {}",
                    format::bytes(s.system.mem_used_bytes as f64),
                    format::bytes(s.system.mem_total_bytes as f64),
                    format::bytes(s.process.rss_bytes as f64),
                ))
                testid="gauge-memory"
            />
            <Gauge
                label="Disk"
                percent=share(|s| f64::from(s.system.disk_percent))
                caption=text(|s| format!(
                    "{} of {}",
                    format::bytes(s.system.disk_used_bytes as f64),
                    format::bytes(s.system.disk_total_bytes as f64),
                ))
                testid="gauge-disk"
            />
        </section>

        <section class="grid cards" aria-label="Latency, last 60 s">
            <StatCard
                label="Average latency"
                value=text(|s| format::millis(s.overview.latency.avg_ms))
                detail=text(|s| format!("p50 {}", format::millis(s.overview.latency.p50_ms)))
                testid="latency-avg"
            />
            <StatCard
                label="p95 latency"
                value=text(|s| format::millis(s.overview.latency.p95_ms))
                detail=text(|s| format!("{} requests, last 60 s", format::count(s.overview.latency.count)))
                testid="latency-p95"
            />
            <StatCard
                label="p99 latency"
                value=text(|s| format::millis(s.overview.latency.p99_ms))
                detail=text(|s| format!("max {}", format::millis(s.overview.latency.max_ms)))
                testid="latency-p99"
            />
        </section>

        <StatusPanel status=Signal::derive(move || {
            live.snapshot.with(|s| s.as_ref().map(|s| s.endpoints.status.clone()).unwrap_or_default())
        })/>

        <div class="grid tables">
            <EndpointTable title="Busiest endpoints" rows=rows(|s| &s.endpoints.top_by_requests) testid="top-requests"/>
            <EndpointTable title="Slowest endpoints (p95)" rows=rows(|s| &s.endpoints.top_by_latency) testid="top-latency"/>
            <EndpointTable title="Most failing endpoints" rows=rows(|s| &s.endpoints.top_by_error_rate) testid="top-errors"/>
        </div>

        <InstancesTable/>

        <footer
            class="server-bar"
            data-testid="server-bar"
            data-instance=text(|s| s.server.instance_id.clone())
            data-run=text(|s| s.server.run_id.clone())
        >
            <span>{text(|s| s.server.instance_id.clone())}</span>
            <span>{text(|s| format!("{} {}", s.server.name, s.server.version))}</span>
            <span>{text(|s| format!("pid {}", s.server.pid))}</span>
            <span>{text(|s| format!("up {}", format::duration(s.process.uptime_seconds)))}</span>
            <span data-testid="sse-connections">{text(|s| format!("{} live connections", s.server.sse_connections))}</span>
            <span>{text(|s| format!("tokio: {} workers, {} tasks, lag {}", s.runtime.workers, s.runtime.alive_tasks, if s.runtime.starved { format!("≥ {} (starved)", format::millis(s.runtime.scheduling_lag_max_ms)) } else { format::millis(s.runtime.scheduling_lag_avg_ms) }))}</span>
            <span class="muted">{text(|s| s.server.rustc.clone())}</span>
        </footer>
    }
    .into_any()
}

/// Responses by status class since start, as a stacked bar, and by code.
#[component]
fn StatusPanel(#[prop(into)] status: Signal<StatusDistribution>) -> impl IntoView {
    let classes = move || {
        let s = status.get();
        let total =
            (s.informational + s.success + s.redirection + s.client_error + s.server_error).max(1);
        [
            ("1xx", "informational", s.informational),
            ("2xx", "success", s.success),
            ("3xx", "redirection", s.redirection),
            ("4xx", "client-error", s.client_error),
            ("5xx", "server-error", s.server_error),
        ]
        .into_iter()
        .map(move |(label, class, n)| (label, class, n, n as f64 * 100.0 / total as f64))
        .collect::<Vec<_>>()
    };
    view! {
        <section class="panel" data-testid="status-distribution">
            <h2>"Responses by status (since start)"</h2>
            <div class="stacked-bar" aria-hidden="true">
                {move || {
                    classes()
                        .into_iter()
                        .filter(|c| c.2 > 0)
                        .map(|(_, class, _, pct)| {
                            view! { <span class=format!("seg {class}") style=format!("width:{pct:.2}%")></span> }
                        })
                        .collect_view()
                }}
            </div>
            <ul class="legend">
                {move || {
                    classes()
                        .into_iter()
                        .map(|(label, class, n, pct)| {
                            view! {
                                <li class=class data-status-class=label>
                                    <span class="swatch"></span>
                                    {format!("{label}: {} ({})", format::count(n), format::percent(pct))}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <ul class="codes">
                {move || {
                    status
                        .get()
                        .by_code
                        .into_iter()
                        .map(|(code, n)| view! { <li data-status-code=code>{format!("{code}: {}", format::count(n))}</li> })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}
