//! System: Host resources over a time range: CPU, memory, disk and network.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn SystemPage() -> impl IntoView {
    view! {
        <PageHeader title="System" intro="Host resources over a time range: CPU, memory, disk and network."/>
        <Planned>
            <p>"Charts of host CPU, memory, disk use and network throughput for the chosen range will be drawn from stored samples."</p>
        </Planned>
    }
}
