//! The cluster's parts of the page: the instance picker in the header and the table of
//! instances on the Dashboard. Both show only when the server is one of several.

use leptos::prelude::*;

use crate::format;
use crate::live::use_live;
use crate::snapshot::{ClusterView, InstanceRow};

/// The query parameter that narrows the page (and its live stream) to one instance.
pub const INSTANCE_PARAM: &str = "instance";

fn cluster() -> Signal<Option<ClusterView>> {
    let live = use_live();
    Signal::derive(move || {
        live.snapshot
            .with(|s| s.as_ref().and_then(|s| s.cluster.clone()))
    })
}

/// Text safe inside HTML elements and attribute values.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "All instances (N)" or one of them; the choice is kept in the URL (`?instance=`), with
/// the page's other parameters.
///
/// The options are the live cluster's instances and, on the history pages, every
/// instance with stored history (`stored`): several instances sharing a PostgreSQL
/// database have shared history even without a live cluster. They (and the table below)
/// are written as HTML strings: they only ever show text, and this keeps the Dashboard's
/// WASM small.
#[island]
pub fn InstancePicker(
    /// Ids of the instances with stored history (empty on the live pages).
    stored: Vec<String>,
    /// The instance in the URL, if any.
    selected: Option<String>,
) -> impl IntoView {
    let cluster = cluster();
    let history = !stored.is_empty();
    let ids = move || {
        let mut ids: Vec<String> = cluster.with(|c| {
            c.iter()
                .flat_map(|c| c.instances.iter().map(|i| i.id.clone()))
                .collect()
        });
        ids.extend(stored.iter().cloned());
        ids.sort();
        ids.dedup();
        ids
    };
    let chosen = selected.clone();
    let all = ids.clone();
    let options = move || {
        let ids = all();
        // Live pages count the instances the live view adds up (gone ones are not);
        // history pages, every instance with history.
        let counted = cluster
            .with(|c| c.as_ref().map(ClusterView::counted))
            .filter(|_| !history)
            .unwrap_or(ids.len());
        let selected = |on: bool| if on { " selected" } else { "" };
        let mut html = format!(
            "<option value=\"\"{}>All instances ({counted})</option>",
            selected(chosen.is_none()),
        );
        for id in &ids {
            let id_html = escape(id);
            html += &format!(
                "<option value=\"{id_html}\"{}>{id_html}</option>",
                selected(chosen.as_deref() == Some(id))
            );
        }
        html
    };
    let hidden = move || ids().len() < 2 && selected.is_none();
    let choose = move |event: leptos::ev::Event| {
        let id = event_target_value(&event);
        // Another instance: the page number no longer applies.
        #[cfg(feature = "hydrate")]
        crate::components::range::load_with(&[
            ("page", None),
            (
                INSTANCE_PARAM,
                Some(&id).filter(|id| !id.is_empty()).map(|id| id.as_str()),
            ),
        ]);
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    };
    view! {
        <select
            class="instance-picker"
            data-testid="instance-picker"
            aria-label="Instance"
            hidden=hidden
            on:change=choose
            inner_html=options
        ></select>
    }
    .into_any()
}

/// One row of the instances table, as HTML.
fn row_html(i: &InstanceRow, now_ms: u64) -> String {
    let state = i.state.as_str();
    let label = if i.duplicate {
        format!("{state}, id shared")
    } else {
        state.to_owned()
    };
    let this = if i.local {
        " <span class=\"badge\">this one</span>"
    } else {
        ""
    };
    let id = escape(&i.id);
    let ago = format::duration(now_ms.saturating_sub(i.last_seen_ms) / 1_000);
    let cells = [
        format::duration(i.uptime_seconds),
        format::rate(i.rps),
        format::millis(i.p95_ms),
        format::percent(i.error_rate_percent),
        format!("{:.1}%", i.cpu_percent),
        format::bytes(i.rss_bytes as f64),
        i.sse_connections.to_string(),
        format!("{ago} ago"),
    ];
    let numbers: String = cells
        .iter()
        .map(|c| format!("<td class=\"num\">{}</td>", escape(c)))
        .collect();
    format!(
        "<tr data-instance=\"{id}\" data-state=\"{state}\"><td><code>{id}</code>{this}</td><td>{}</td><td>{}</td>{numbers}<td class=\"state {state}\">{label}</td></tr>",
        escape(&i.host),
        escape(&i.version),
    )
}

/// Every instance seen: who it is, its own traffic and resources, and whether it is live.
#[component]
pub fn InstancesTable() -> impl IntoView {
    let live = use_live();
    let cluster = cluster();
    let body = move || {
        let now = live
            .snapshot
            .with(|s| s.as_ref().map_or(0, |s| s.timestamp_ms));
        cluster.with(|c| {
            c.iter()
                .flat_map(|c| c.instances.iter())
                .map(|i| row_html(i, now))
                .collect::<String>()
        })
    };
    view! {
        <section class="panel" data-testid="instances" hidden=move || cluster.with(Option::is_none)>
            <h2>"Instances"</h2>
            <div class="table-scroll">
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"Instance"</th>
                            <th scope="col">"Host"</th>
                            <th scope="col">"Version"</th>
                            <th scope="col" class="num">"Uptime"</th>
                            <th scope="col" class="num">"Req/s"</th>
                            <th scope="col" class="num">"p95"</th>
                            <th scope="col" class="num">"Errors"</th>
                            <th scope="col" class="num">"CPU"</th>
                            <th scope="col" class="num">"Memory"</th>
                            <th scope="col" class="num">"Live clients"</th>
                            <th scope="col" class="num">"Last seen"</th>
                            <th scope="col">"State"</th>
                        </tr>
                    </thead>
                    <tbody inner_html=body></tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
