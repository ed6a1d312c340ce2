//! App Metrics: The process and its tokio runtime: memory, CPU, threads, tasks and scheduling lag.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn AppMetricsPage() -> impl IntoView {
    view! {
        <PageHeader title="App Metrics" intro="The process and its tokio runtime: memory, CPU, threads, tasks and scheduling lag."/>
        <Planned>
            <p>"Charts of resident memory, process CPU, threads, open file descriptors, alive tasks and runtime scheduling lag will be shown here, with the uptime kept live."</p>
        </Planned>
    }
}
