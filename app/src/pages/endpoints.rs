//! Endpoints: Every route of the monitored app, with exact latency percentiles over any range.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn EndpointsPage() -> impl IntoView {
    view! {
        <PageHeader title="Endpoints" intro="Every route of the monitored app, with exact latency percentiles over any range."/>
        <Planned>
            <p>"A top-endpoints chart, the slow-request log and a sortable, searchable table of every route with count, errors, average, p50, p95, p99 and maximum latency will be shown here."</p>
        </Planned>
    }
}
