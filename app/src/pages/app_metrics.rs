//! App Metrics: this process and its tokio runtime over a time range; uptime, memory and
//! workers now (an island, live).

use leptos::prelude::*;

use crate::api::fetch_samples;
use crate::components::cards::StatCard;
use crate::components::chart::{Line, LineChart, Unit};
use crate::components::loaded::loaded;
use crate::components::page::PageHeader;
use crate::components::range::{RangeCaption, RangePicker, use_range};
use crate::format;
use crate::history::{SampleGroup, SamplesHistory};
use crate::live::use_live;

#[component]
pub fn AppMetricsPage() -> impl IntoView {
    let range = use_range();
    let process = Resource::new(
        move || range.get(),
        |p| fetch_samples(SampleGroup::Process, p),
    );
    let runtime = Resource::new(
        move || range.get(),
        |p| fetch_samples(SampleGroup::Runtime, p),
    );
    view! {
        <PageHeader title="App Metrics" intro="This process and its tokio runtime: memory, CPU, threads, tasks and scheduling lag."/>
        <NowCards/>
        <RangePicker page="/app-metrics"/>
        {loaded(process, process_charts)}
        {loaded(runtime, runtime_charts)}
    }
}

/// This process now, from the live snapshots.
#[island(lazy)]
fn NowCards() -> impl IntoView {
    let live = use_live();
    let live_text = move |f: fn(&crate::snapshot::DashboardSnapshot) -> String| {
        Signal::derive(move || {
            live.snapshot
                .with(|s| s.as_ref().map_or_else(|| "–".to_owned(), f))
        })
    };
    view! {
        <section class="grid cards" aria-label="Now">
            <StatCard label="Uptime" value=live_text(|s| format::duration(s.process.uptime_seconds))
                detail=live_text(|s| format!("pid {}", s.server.pid)) testid="uptime"/>
            <StatCard label="Memory (RSS)" value=live_text(|s| format::bytes(s.process.rss_bytes as f64))
                detail=live_text(|_| "now".into()) testid="rss-now"/>
            <StatCard label="Runtime workers" value=live_text(|s| s.runtime.workers.to_string())
                detail=live_text(|s| format!("{} tasks alive", format::count(s.runtime.alive_tasks))) testid="workers-now"/>
        </section>
    }
}

fn process_charts(h: SamplesHistory) -> impl IntoView {
    let (from, to, step) = (h.range.from_ms, h.range.to_ms, h.step_ms);
    let s = |name: &str| h.series(name);
    view! {
        <RangeCaption range=h.range.clone()/>
        <h2 class="section-title">"Process"</h2>
        <div class="grid charts">
            <LineChart title="Memory (RSS)" unit=Unit::Bytes from_ms=from to_ms=to step_ms=step testid="chart-rss"
                lines=vec![Line::new("RSS", s("rss_bytes"), "s1")]/>
            <LineChart title="CPU" unit=Unit::Percent from_ms=from to_ms=to step_ms=step testid="chart-process-cpu"
                lines=vec![Line::new("Share of the machine", s("cpu_percent"), "s2")]/>
            <LineChart title="Threads and open files" unit=Unit::Count from_ms=from to_ms=to step_ms=step testid="chart-threads"
                lines=vec![Line::new("Threads", s("threads"), "s1"), Line::new("Open files", s("open_fds"), "s4")]/>
        </div>
    }
}

fn runtime_charts(h: SamplesHistory) -> impl IntoView {
    let (from, to, step) = (h.range.from_ms, h.range.to_ms, h.step_ms);
    let s = |name: &str| h.series(name);
    view! {
        <h2 class="section-title">"Tokio runtime"</h2>
        <div class="grid charts">
            <LineChart title="Scheduling lag" unit=Unit::Millis from_ms=from to_ms=to step_ms=step testid="chart-lag"
                lines=vec![Line::new("Average", s("scheduling_lag_avg_ms"), "s1"), Line::new("Maximum", s("scheduling_lag_max_ms"), "s2")]/>
            <LineChart title="Tasks" unit=Unit::Count from_ms=from to_ms=to step_ms=step testid="chart-tasks"
                lines=vec![Line::new("Alive", s("alive_tasks"), "s1"), Line::new("Global queue", s("global_queue_depth"), "s4")]/>
            <LineChart title="Workers" unit=Unit::Count from_ms=from to_ms=to step_ms=step testid="chart-workers"
                lines=vec![Line::new("Workers", s("workers"), "s3")]/>
        </div>
    }
}
