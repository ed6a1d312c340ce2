//! The tags that load the WASM bundle and hydrate the page.
//!
//! Written here rather than taken from `leptos::HydrationScripts`, whose file names depend
//! on how the embedding binary was compiled; these always match what cargo-leptos writes.

use leptos::prelude::*;

use crate::BasePath;

/// The cargo-leptos `name` in Cargo.toml: the site is `pkg/sightline.{js,wasm,css}`.
pub const SITE_NAME: &str = "sightline";

pub fn asset(base: &BasePath, extension: &str) -> String {
    base.join(&format!("/pkg/{SITE_NAME}.{extension}"))
}

#[component]
pub fn HydrationScripts(base: BasePath) -> impl IntoView {
    let js = asset(&base, "js");
    let wasm = asset(&base, "wasm");
    let boot = format!(
        "import({js:?}).then(m => m.default({{ module_or_path: {wasm:?} }}).then(() => m.hydrate()));"
    );
    view! {
        <link rel="modulepreload" href=js.clone()/>
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module" inner_html=boot></script>
    }
}
