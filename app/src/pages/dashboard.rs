//! Dashboard: Live traffic, latency and resource use of this service, updated every two seconds.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <PageHeader title="Dashboard" intro="Live traffic, latency and resource use of this service, updated every two seconds."/>
        <Planned>
            <p>"Request rates, error rate, latency percentiles, CPU, memory and disk gauges, and the busiest, slowest and most failing endpoints appear here as the live stream delivers them."</p>
        </Planned>
    }
}
