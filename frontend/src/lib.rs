//! The WASM entry point: hydrates the server-rendered dashboard.
//!
//! `hydrate_lazy`, not `hydrate_body`: a history page opened directly must first fetch its
//! lazily loaded chunk, then hydrate.

#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(sightline_app::App);
}
