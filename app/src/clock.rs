//! The browser's time zone. The server renders times in UTC; once hydrated, the browser
//! switches every time on the page to its local zone (an effect, so the first client
//! render still matches the server's HTML).

use leptos::prelude::*;

/// Minutes to add to UTC for local time.
#[derive(Clone, Copy, Debug)]
pub struct LocalOffset(pub RwSignal<i32>);

pub fn provide_local_offset() {
    let offset = RwSignal::new(0);
    provide_context(LocalOffset(offset));
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        offset.set(-(js_sys::Date::new_0().get_timezone_offset() as i32));
    });
}

pub fn use_local_offset() -> RwSignal<i32> {
    use_context::<LocalOffset>().map_or_else(|| RwSignal::new(0), |o| o.0)
}

/// Milliseconds since the epoch of a `datetime-local` value, read as local time.
#[cfg(feature = "hydrate")]
pub fn parse_local(value: &str) -> Option<u64> {
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value)).get_time();
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}

/// The browser's clock in milliseconds since the epoch.
#[cfg(feature = "hydrate")]
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
