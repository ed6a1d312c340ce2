//! Stored requests (errors and slow ones) as an expandable list, and page links.

use leptos::prelude::*;

use crate::clock::use_local_offset;
use crate::components::range::Links;
use crate::format;
use crate::history::{RecordsPage, RequestRecord};

/// One row per request; each opens to its details.
#[component]
pub fn RecordList(page: RecordsPage, empty: &'static str) -> impl IntoView {
    let offset = use_local_offset();
    let is_empty = page.items.is_empty();
    // Which instance served each request, when the page holds more than one.
    let several = page
        .items
        .iter()
        .any(|r| page.items.first().is_some_and(|f| f.instance != r.instance));
    let rows = page
        .items
        .into_iter()
        .map(|r: RequestRecord| {
            let time = r.time_ms;
            let status_class = match r.status {
                500.. => "status server-error",
                400.. => "status client-error",
                _ => "status",
            };
            view! {
                <li>
                    <details class="record" data-testid="record">
                        <summary>
                            <time class="num">{move || format::date_time(time, offset.get())}</time>
                            <span class=status_class>{r.status}</span>
                            <span class="method">{r.method.clone()}</span>
                            <code class="path">{r.path.clone()}</code>
                            {several.then(|| view! { <code class="instance">{r.instance.clone()}</code> })}
                            <span class="num latency">{format::millis(r.latency_ms)}</span>
                        </summary>
                        <dl class="record-details">
                            <dt>"Instance"</dt><dd><code>{r.instance.clone()}</code></dd>
                            <dt>"Route"</dt><dd><code>{r.route.clone()}</code></dd>
                            <dt>"Path"</dt><dd><code>{r.path.clone()}</code></dd>
                            <dt>"Status"</dt><dd>{r.status}</dd>
                            <dt>"Latency"</dt><dd>{format::millis(r.latency_ms)}</dd>
                            <dt>"Response size"</dt><dd>{format::bytes(r.bytes as f64)}</dd>
                            <dt>"Time"</dt><dd>{move || format::date_time(time, offset.get())}" ("{time}" ms)"</dd>
                            <dt>"Message"</dt><dd class="message">{r.message.clone().unwrap_or_else(|| "none given".into())}</dd>
                        </dl>
                    </details>
                </li>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <ul class="records" data-total=page.total>{rows}</ul>
        {is_empty.then(|| view! { <p class="empty">{empty}</p> })}
    }
}

/// Previous / next links and where we are.
#[component]
pub fn Pager(page: &'static str, current: u32, limit: u32, total: u64) -> impl IntoView {
    let links = Links::new(page);
    let pages = total.div_ceil(u64::from(limit.max(1))).max(1) as u32;
    let link = |to: u32, label: &'static str, rel: &'static str| {
        (to >= 1 && to <= pages && to != current).then(|| {
            let links = links.clone();
            let href = move || links.href(&[("page", Some(to.to_string()))]);
            view! { <a class="button" rel=rel href=href>{label}</a> }
        })
    };
    view! {
        <nav class="pager" aria-label="Pages">
            {link(current.saturating_sub(1), "← Previous", "prev")}
            <span data-testid="page-of">{format!("Page {current} of {pages} · {} in all", format::count(total))}</span>
            {link(current + 1, "Next →", "next")}
        </nav>
    }
}
