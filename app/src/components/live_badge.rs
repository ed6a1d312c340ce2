//! The header badge: whether the live stream is connected (or reconnecting, when; polling
//! the snapshot; paused while every tab is hidden), and how old the shown data is.

use leptos::prelude::*;

use crate::live::{LiveStatus, use_live};

#[island]
pub fn LiveBadge() -> impl IntoView {
    let live = use_live();
    let label = move || match live.status.get() {
        LiveStatus::Connecting => "Connecting".to_owned(),
        LiveStatus::Connected => "Connected".to_owned(),
        // Counts down with the page clock (a second at a time).
        LiveStatus::Reconnecting { at_ms } => match (at_ms, live.now.get()) {
            (Some(at), Some(now)) => {
                format!(
                    "Reconnecting in {}s",
                    ((at - now) / 1_000.0).ceil().max(0.0)
                )
            }
            _ => "Reconnecting".to_owned(),
        },
        LiveStatus::Polling => "Polling".to_owned(),
        LiveStatus::Paused => "Paused".to_owned(),
    };
    let class = move || match live.status.get() {
        LiveStatus::Connecting => "live-badge connecting",
        LiveStatus::Connected => "live-badge connected",
        LiveStatus::Reconnecting { .. } => "live-badge reconnecting",
        LiveStatus::Polling => "live-badge polling",
        LiveStatus::Paused => "live-badge paused",
    };
    let age = move || {
        let (now, at) = (live.now.get()?, live.updated_at.get()?);
        let seconds = ((now - at) / 1_000.0).max(0.0).round() as u64;
        Some(format!("updated {seconds}s ago"))
    };
    // One of several instances that lost the others: this one's view only.
    let degraded = move || {
        live.snapshot.with(|s| {
            s.as_ref()
                .and_then(|s| s.cluster.as_ref())
                .is_some_and(|c| !c.connected)
        })
    };
    view! {
        <span class=class role="status" data-testid="live-badge">
            <span class="dot" aria-hidden="true"></span>
            <span class="state">{label}</span>
            <span class="age">{age}</span>
            {move || degraded().then(|| view! {
                <span class="degraded" data-testid="cluster-degraded">"· cluster degraded: this instance only"</span>
            })}
        </span>
    }
    .into_any()
}
