//! The frame around every page: header (product, live badge, theme) and sidebar.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use super::instances::{INSTANCE_PARAM, InstancePicker};
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

/// The pages that read history (Settings: for its exports), where every instance with
/// stored history can be picked.
const HISTORY_PAGES: [&str; 5] = [
    "/system",
    "/endpoints",
    "/app-metrics",
    "/errors",
    "/settings",
];

/// Ids of the instances with stored history, as the server last read them.
fn stored_instances() -> Vec<String> {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::api::Backend>()
            .map(|backend| backend.0.known_instances())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    Vec::new()
}

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
    // Pages are separate documents: the instance picked follows every link.
    let selected = use_query_map()
        .with_untracked(|q| q.get(INSTANCE_PARAM))
        .filter(|id| !id.is_empty());
    let keep = selected
        .as_ref()
        .map(|id| format!("?{INSTANCE_PARAM}={}", crate::history::encode_component(id)))
        .unwrap_or_default();
    let here = use_location().pathname.get_untracked();
    let here = here.trim_end_matches('/');
    // History pages may show any instance with stored history; live pages, live ones.
    let on_history = HISTORY_PAGES
        .iter()
        .any(|page| base.join(page).trim_end_matches('/') == here);
    let stored = if on_history {
        stored_instances()
    } else {
        Vec::new()
    };
    view! {
        <header class="topbar">
            <a href=format!("{}{keep}", base.as_str()) class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                "Sightline"
            </a>
            <div class="topbar-right">
                {signed_in.then(|| view! { <InstancePicker stored=stored selected=selected/> <LiveBadge/> })}
                {account}
                <ThemeToggle/>
            </div>
        </header>
        <nav class="sidebar" aria-label="Sections" hidden=!signed_in>
            <ul>
                {NAV
                    .into_iter()
                    .map(|(label, path)| {
                        let page = if path == "/" { base.as_str().to_owned() } else { base.join(path) };
                        let current = (page.trim_end_matches('/') == here).then_some("page");
                        view! {
                            <li>
                                <a href=format!("{page}{keep}") aria-current=current>
                                    {label}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
        <main class="content">{children()}</main>
    }
}
