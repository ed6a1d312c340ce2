//! The heading block every page starts with.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PageHeader(
    /// The page's name: the `<h1>` and the document title.
    title: &'static str,
    /// One sentence on what the page shows (it may follow live data).
    #[prop(into)]
    intro: Signal<String>,
) -> impl IntoView {
    view! {
        <Title text=title/>
        <header class="page-header">
            <h1>{title}</h1>
            <p class="intro">{move || intro.get()}</p>
        </header>
    }
}

/// A panel naming what a page section will show once its data source exists.
#[component]
pub fn Planned(children: Children) -> impl IntoView {
    view! { <section class="panel planned">{children()}</section> }
}
