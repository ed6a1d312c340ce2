//! The frame around every page: header (product, live badge, theme) and sidebar.

use leptos::prelude::*;
use leptos_router::components::A;

use super::instances::InstancePicker;
use super::live_badge::LiveBadge;
use crate::BasePath;
use crate::auth::use_user;
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
    let user = use_user();
    // Signed out (the login page): no sections, no live badge.
    let signed_in = user.is_some();
    let account = user.filter(|u| !u.open).map(|u| {
        view! {
            <form method="post" action=base.join("/api/logout") class="account">
                <span class="who" data-testid="who">{u.name.clone()}" · "{u.role.as_str()}</span>
                <button type="submit" class="button">"Sign out"</button>
            </form>
        }
    });
    view! {
        <header class="topbar">
            <A href=base.as_str().to_owned() attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                "Sightline"
            </A>
            <div class="topbar-right">
                {signed_in.then(|| view! { <InstancePicker/> <LiveBadge/> })}
                {account}
                <ThemeToggle/>
            </div>
        </header>
        <nav class="sidebar" aria-label="Sections" hidden=!signed_in>
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
