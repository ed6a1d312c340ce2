//! The header badge that says whether the live stream is connected.

use leptos::prelude::*;

use crate::live::{LiveStatus, use_live};

#[component]
pub fn LiveBadge() -> impl IntoView {
    let live = use_live();
    let label = move || match live.status.get() {
        LiveStatus::Connecting => "Connecting",
        LiveStatus::Connected => "Connected",
        LiveStatus::Reconnecting => "Reconnecting",
    };
    let class = move || match live.status.get() {
        LiveStatus::Connecting => "live-badge connecting",
        LiveStatus::Connected => "live-badge connected",
        LiveStatus::Reconnecting => "live-badge reconnecting",
    };
    view! {
        <span class=class role="status" aria-live="polite" data-testid="live-badge">
            <span class="dot" aria-hidden="true"></span>
            {label}
        </span>
    }
}
