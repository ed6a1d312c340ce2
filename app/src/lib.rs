//! The Sightline dashboard: the HTML shell, the app and its routes.
//!
//! Everything here renders on the server (feature `ssr`) and hydrates in the browser
//! (feature `hydrate`). The dashboard lives under a configurable base path; see [`BasePath`].

#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod base;
pub mod clock;
pub mod components;
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
use leptos_router::Lazy;
use pages::{
    dashboard::DashboardPage,
    lazy::{AppMetricsRoute, EndpointsRoute, ErrorsRoute, EventsRoute, SettingsRoute, SystemRoute},
    login::LoginPage,
    not_found::NotFoundPage,
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
                <meta name=auth::META_NAME content=auth::CurrentUser::from_request().meta_content()/>
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
    // Server functions live below the base path too.
    #[cfg(feature = "hydrate")]
    if leptos::server_fn::client::get_server_url().is_empty() {
        let _ = leptos::server_fn::client::try_set_server_url(base.as_str().to_owned().leak());
    }

    // Effects run only in the browser, so this marks the moment hydration finished.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Stylesheet id="leptos" href=hydration::asset(&base, "css")/>
        <Link rel="icon" type_="image/svg+xml" href=base.join("/favicon.svg")/>
        <Meta name="description" content="Sightline: live metrics for this service"/>
        <Title formatter=|page: String| format!("{page} · Sightline")/>
        <Router base=base.as_str().to_owned()>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                <Layout>
                    <Routes fallback=NotFoundPage>
                        <Route path=StaticSegment("") view=DashboardPage/>
                        <Route path=StaticSegment("system") view={Lazy::<SystemRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=StaticSegment("endpoints") view={Lazy::<EndpointsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=StaticSegment("app-metrics") view={Lazy::<AppMetricsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=StaticSegment("errors") view={Lazy::<ErrorsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=StaticSegment("events") view={Lazy::<EventsRoute>::new()}/>
                        <Route path=StaticSegment("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=StaticSegment("login") view=LoginPage/>
                    </Routes>
                </Layout>
            </div>
        </Router>
    }
}
