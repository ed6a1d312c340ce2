//! Settings: Retention, the slow-request threshold, data export and version information.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <PageHeader title="Settings" intro="Retention, the slow-request threshold, data export and version information."/>
        <Planned>
            <p>"Retention and slow-request threshold settings, exports for a time range and the running version will be shown here."</p>
        </Planned>
    }
}
