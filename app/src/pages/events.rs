//! Events: A live feed of custom events and logs sent by the service.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn EventsPage() -> impl IntoView {
    view! {
        <PageHeader title="Events" intro="A live feed of custom events and logs sent by the service."/>
        <Planned>
            <p>"Events broadcast by the application and its log records will stream in here, newest first, with level and channel filters."</p>
        </Planned>
    }
}
