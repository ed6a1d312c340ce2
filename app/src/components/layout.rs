//! The frame around every page: header (product, live badge, theme) and sidebar.

use leptos::prelude::*;
use leptos_router::components::A;

use super::live_badge::LiveBadge;
use crate::BasePath;
use crate::theme::ThemeToggle;

/// Sidebar entries: label and path below the base.
const NAV: [(&str, &str); 7] = [
    ("Dashboard", "/"),
    ("System", "/system"),
    ("Endpoints", "/endpoints"),
    ("App Metrics", "/app-metrics"),
    ("Errors", "/errors"),
    ("Events", "/events"),
    ("Settings", "/settings"),
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let base = BasePath::current();
    view! {
        <header class="topbar">
            <A href=base.as_str().to_owned() attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                "Sightline"
            </A>
            <div class="topbar-right">
                <LiveBadge/>
                <ThemeToggle/>
            </div>
        </header>
        <nav class="sidebar" aria-label="Sections">
            <ul>
                {NAV
                    .into_iter()
                    .map(|(label, path)| {
                        let href = if path == "/" { base.as_str().to_owned() } else { base.join(path) };
                        view! {
                            <li>
                                <A href=href exact=true>
                                    {label}
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
        <main class="content">{children()}</main>
    }
}
