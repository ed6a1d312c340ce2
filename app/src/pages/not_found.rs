//! The page for any URL the dashboard does not know; answered with status 404.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::page::PageHeader;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageHeader title="Page not found" intro="There is no dashboard page at this address."/>
        <p>
            <A href=crate::BasePath::current().as_str().to_owned()>"Back to the dashboard"</A>
        </p>
    }
}
