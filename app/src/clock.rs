//! The browser's time zone. The server renders times in the zone the browser reported in
//! a cookie on an earlier visit (UTC before the first); in the browser, islands start from
//! that same zone, so their first render matches the server's HTML, then switch to the
//! browser's own (an effect).

use leptos::prelude::*;

/// Cookie holding the browser's offset from UTC in minutes (set by the boot script).
pub const COOKIE: &str = "sightline_tz";

/// `<meta>` naming the offset the server rendered with.
pub const META_NAME: &str = "sightline-tz";

/// Minutes to add to UTC for local time.
#[derive(Clone, Copy, Debug)]
pub struct LocalOffset(pub RwSignal<i32>);

/// An offset in minutes, if it is one a time zone can have.
pub fn parse_offset(value: &str) -> Option<i32> {
    value
        .parse::<i32>()
        .ok()
        .filter(|minutes| minutes.abs() <= 16 * 60)
}

/// The offset the server renders with (server side, from the request's cookie).
pub fn rendered_offset() -> i32 {
    crate::cookie::from_request(COOKIE)
        .and_then(|v| parse_offset(&v))
        .unwrap_or(0)
}

/// Provides the offset for the page being rendered (server side).
pub fn provide_local_offset() {
    provide_context(LocalOffset(RwSignal::new(rendered_offset())));
}

/// The offset to show times in: the rendered one on the server; in an island, the
/// rendered one at first and the browser's own after hydration.
pub fn use_local_offset() -> RwSignal<i32> {
    if let Some(offset) = use_context::<LocalOffset>() {
        return offset.0;
    }
    let offset = RwSignal::new(0);
    #[cfg(feature = "hydrate")]
    {
        let rendered = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector(&format!("meta[name=\"{META_NAME}\"]"))
                    .ok()?
            })
            .and_then(|meta| meta.get_attribute("content"))
            .and_then(|v| parse_offset(&v))
            .unwrap_or(0);
        offset.set(rendered);
        Effect::new(move |_| offset.set(-(js_sys::Date::new_0().get_timezone_offset() as i32)));
    }
    provide_context(LocalOffset(offset));
    offset
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

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_are_minutes_a_zone_can_have() {
        assert_eq!(super::parse_offset("-300"), Some(-300));
        assert_eq!(super::parse_offset("840"), Some(840));
        assert_eq!(super::parse_offset("961"), None);
        assert_eq!(super::parse_offset("1.5"), None);
        assert_eq!(super::parse_offset(""), None);
    }
}
