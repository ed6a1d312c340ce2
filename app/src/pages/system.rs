//! System: host CPU, memory, disk and network over a time range.

use leptos::prelude::*;

use crate::api::fetch_samples;
use crate::components::chart::{Line, LineChart, Unit};
use crate::components::loaded::loaded;
use crate::components::page::PageHeader;
use crate::components::range::{RangeCaption, RangePicker, use_range};
use crate::history::{SampleGroup, SamplesHistory};

#[component]
pub fn SystemPage() -> impl IntoView {
    let range = use_range();
    let data = Resource::new(
        move || range.get(),
        |p| fetch_samples(SampleGroup::System, p),
    );
    view! {
        <PageHeader title="System" intro="Host resources over a time range: CPU, memory, disk and network."/>
        <RangePicker page="/system"/>
        {loaded(data, system_charts)}
    }
}

fn system_charts(h: SamplesHistory) -> impl IntoView {
    let (from, to, step) = (h.range.from_ms, h.range.to_ms, h.step_ms);
    let s = |name: &str| h.series(name);
    view! {
        <RangeCaption range=h.range.clone()/>
        <div class="grid charts">
            <LineChart title="CPU" unit=Unit::Percent from_ms=from to_ms=to step_ms=step testid="chart-cpu"
                lines=vec![Line::new("CPU, all cores", s("cpu_percent"), "s1")]/>
            <LineChart title="Memory" unit=Unit::Bytes from_ms=from to_ms=to step_ms=step testid="chart-memory"
                lines=vec![Line::new("Used", s("mem_used_bytes"), "s1"), Line::new("Total", s("mem_total_bytes"), "s3")]/>
            <LineChart title="Disk" unit=Unit::Bytes from_ms=from to_ms=to step_ms=step testid="chart-disk"
                lines=vec![Line::new("Used", s("disk_used_bytes"), "s1"), Line::new("Total", s("disk_total_bytes"), "s3")]/>
            <LineChart title="Network" unit=Unit::BytesPerSec from_ms=from to_ms=to step_ms=step testid="chart-network"
                lines=vec![Line::new("Received", s("net_rx_bytes_per_sec"), "s1"), Line::new("Sent", s("net_tx_bytes_per_sec"), "s2")]/>
            <LineChart title="Load average (1 min)" unit=Unit::Count from_ms=from to_ms=to step_ms=step testid="chart-load"
                lines=vec![Line::new("Load", s("load_average_1m"), "s4")]/>
        </div>
    }
}
