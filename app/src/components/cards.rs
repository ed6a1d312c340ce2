//! Stat cards and ring gauges.

use leptos::prelude::*;

/// A labelled figure with an optional line of detail under it.
#[component]
pub fn StatCard(
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into, optional)] detail: Option<Signal<String>>,
    /// For tests and deep links: `data-testid`.
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="card stat" data-testid=testid>
            <div class="stat-label">{label}</div>
            <div class="stat-value">{value}</div>
            {detail.map(|d| view! { <div class="stat-detail">{d}</div> })}
        </div>
    }
}

/// A ring gauge for a 0-100 share, with a caption (e.g. "3.1 GiB of 7.8 GiB").
#[component]
pub fn Gauge(
    label: &'static str,
    #[prop(into)] percent: Signal<Option<f64>>,
    #[prop(into)] caption: Signal<String>,
    testid: &'static str,
) -> impl IntoView {
    const R: f64 = 42.0;
    let circumference = 2.0 * std::f64::consts::PI * R;
    let value = move || percent.get().unwrap_or(0.0).clamp(0.0, 100.0);
    let dash = move || {
        format!(
            "{:.2} {:.2}",
            value() / 100.0 * circumference,
            circumference
        )
    };
    let level = move || match value() {
        v if v >= 90.0 => "gauge bad",
        v if v >= 75.0 => "gauge warn",
        _ => "gauge",
    };
    let text = move || {
        percent
            .get()
            .map_or_else(|| "–".to_owned(), |p| format!("{p:.0}%"))
    };
    view! {
        <div
            class=level
            role="meter"
            aria-label=label
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.1}", value())
            data-testid=testid
        >
            <svg viewBox="0 0 100 100" aria-hidden="true">
                <circle class="track" cx="50" cy="50" r=R/>
                <circle
                    class="fill"
                    cx="50"
                    cy="50"
                    r=R
                    stroke-dasharray=dash
                    transform="rotate(-90 50 50)"
                />
                <text x="50" y="55" text-anchor="middle">{text}</text>
            </svg>
            <div class="gauge-label">{label}</div>
            <div class="gauge-caption">{caption}</div>
        </div>
    }
}
