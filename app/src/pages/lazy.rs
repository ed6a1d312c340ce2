//! The history pages as lazy routes: in the browser each is a WASM chunk of its own,
//! fetched the first time the page is shown, so the Dashboard's cold load carries only what
//! the Dashboard draws. The server renders them as it renders any page.
//!
//! One `impl` per page, written out: `#[lazy_route]` names each chunk after the place it
//! is written, so a macro generating them would give every page the same chunk.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{
    app_metrics::AppMetricsPage, endpoints::EndpointsPage, errors::ErrorsPage, events::EventsPage,
    settings::SettingsPage, system::SystemPage,
};

pub struct SystemRoute;

#[lazy_route]
impl LazyRoute for SystemRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <SystemPage/> }.into_any()
    }
}

pub struct EndpointsRoute;

#[lazy_route]
impl LazyRoute for EndpointsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <EndpointsPage/> }.into_any()
    }
}

pub struct AppMetricsRoute;

#[lazy_route]
impl LazyRoute for AppMetricsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <AppMetricsPage/> }.into_any()
    }
}

pub struct ErrorsRoute;

#[lazy_route]
impl LazyRoute for ErrorsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <ErrorsPage/> }.into_any()
    }
}

pub struct EventsRoute;

#[lazy_route]
impl LazyRoute for EventsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <EventsPage/> }.into_any()
    }
}

pub struct SettingsRoute;

#[lazy_route]
impl LazyRoute for SettingsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <SettingsPage/> }.into_any()
    }
}
