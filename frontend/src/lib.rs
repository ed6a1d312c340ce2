//! The WASM entry point. The page is server-rendered; the boot script (see
//! `sightline_app::hydration`) calls [`hydrate`] once, then hydrates each island it finds.

#![recursion_limit = "256"]

// Linked for its islands: each one is an export the boot script calls.
extern crate sightline_app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Server functions live below the base path, like every other route.
    let base = sightline_app::BasePath::current();
    let _ = leptos::server_fn::client::try_set_server_url(base.as_str().to_owned().leak());
    leptos::mount::hydrate_islands();
}

/// Called once every island has hydrated: opens the live connection.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn start() {
    sightline_app::live::start();
}
