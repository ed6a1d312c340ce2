//! Errors: Failed requests: which status codes, on which routes, and when.

use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn ErrorsPage() -> impl IntoView {
    view! {
        <PageHeader title="Errors" intro="Failed requests: which status codes, on which routes, and when."/>
        <Planned>
            <p>"The status-code distribution, errors over time and a filterable error log with each request's details will be shown here."</p>
        </Planned>
    }
}
