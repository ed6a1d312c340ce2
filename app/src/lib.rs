//! The Sightline dashboard: the HTML shell, the app and its routes.
//!
//! Everything here renders on the server (feature `ssr`). Only the parts that change in
//! the browser are islands (`#[island]`), compiled to WASM (feature `hydrate`) and hydrated
//! where they sit in the page: the live badge, the instance picker and the theme toggle in
//! the header, the Dashboard's live view, and, fetched with their pages, the Events feed,
//! chart pointers, the custom range and the settings form. Pages are links between
//! server-rendered documents. The dashboard lives under a configurable base path; see
//! [`BasePath`].

#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod base;
pub mod clock;
pub mod components;
pub mod cookie;
pub mod format;
pub mod history;
pub mod hydration;
pub mod live;
pub mod pages;
pub mod snapshot;
pub mod theme;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

pub use base::BasePath;

use components::layout::Layout;
use pages::{
    app_metrics::AppMetricsPage, dashboard::DashboardPage, endpoints::EndpointsPage,
    errors::ErrorsPage, events::EventsPage, login::LoginPage, not_found::NotFoundPage,
    settings::SettingsPage, system::SystemPage,
};

/// The document around [`App`], rendered on the server for every page.
///
/// Expects a [`BasePath`] in context (the server provides it).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let base = BasePath::current();
    let theme = theme::requested_theme();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.map(theme::Theme::as_str)>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name=base::META_NAME content=base.as_str().to_owned()/>
                <meta name=clock::META_NAME content=clock::rendered_offset().to_string()/>
                <meta name=auth::META_NAME content=auth::CurrentUser::from_request().meta_content()/>
                <meta name=live::CONFIG_META_NAME content=live::LiveConfig::current().meta_content()/>
                {auth::password_generated()
                    .then(|| view! { <meta name=auth::GENERATED_META_NAME content="1"/> })}
                <AutoReload options/>
                <hydration::HydrationScripts base=base.clone()/>
                <MetaTags/>
                <live::InitialSnapshotScript/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The dashboard: header, sidebar and one page per route.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let base = BasePath::current();
    provide_context(base.clone());
    let user = auth::CurrentUser::from_request();
    let signed_in = user.0.is_some();
    provide_context(user);
    live::provide_live(&base, signed_in);
    clock::provide_local_offset();

    view! {
        <Stylesheet id="leptos" href=hydration::asset(&base, "css")/>
        <Link rel="icon" type_="image/svg+xml" href=base.join("/favicon.svg")/>
        <Meta name="description" content="Sightline: live metrics for this service"/>
        <Title formatter=|page: String| format!("{page} · Sightline")/>
        <Router base=base.as_str().to_owned()>
            // The boot script marks the islands hydrated (`hydration.rs`).
            <div class="app" data-hydrated="false">
                <Layout>
                    <Routes fallback=NotFoundPage>
                        <Route path=StaticSegment("") view=DashboardPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("system") view=SystemPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("endpoints") view=EndpointsPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("app-metrics") view=AppMetricsPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("errors") view=ErrorsPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("events") view=EventsPage/>
                        <Route path=StaticSegment("settings") view=SettingsPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("login") view=LoginPage/>
                    </Routes>
                </Layout>
            </div>
        </Router>
    }
}
