//! The time-range picker and the URL state of the history pages: the range, and each
//! page's filters, live in the query string, so a link reproduces the view.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::BasePath;
use crate::clock::use_local_offset;
use crate::format;
use crate::history::{PRESETS, RangeParams, TimeRange};

/// Every query parameter a history page keeps in its URL, in the order written.
const KEYS: [&str; 12] = [
    "instance",
    "range",
    "from",
    "to",
    "max_points",
    "metric",
    "search",
    "sort",
    "order",
    "status",
    "route",
    "page",
];

/// The range in the URL.
pub fn use_range() -> Memo<RangeParams> {
    let query = use_query_map();
    Memo::new(move |_| query.with(range_params))
}

fn range_params(q: &ParamsMap) -> RangeParams {
    RangeParams {
        range: q.get("range"),
        from: q.get("from"),
        to: q.get("to"),
        max_points: q.get("max_points"),
        instance: q.get("instance"),
    }
}

/// One query parameter of the URL.
pub fn use_param(key: &'static str) -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get(key).filter(|v| !v.is_empty())))
}

/// Builds links to `page` (below the base path) with some parameters of the current URL
/// changed (`Some`) or removed (`None`), the others kept.
#[derive(Clone)]
pub struct Links {
    base: BasePath,
    page: &'static str,
    query: Memo<ParamsMap>,
}

impl Links {
    pub fn new(page: &'static str) -> Self {
        Self {
            base: BasePath::current(),
            page,
            query: use_query_map(),
        }
    }

    pub fn href(&self, changes: &[(&str, Option<String>)]) -> String {
        let pairs: Vec<String> = self.query.with(|q| {
            KEYS.iter()
                .filter_map(|key| {
                    let value = match changes.iter().find(|(k, _)| k == key) {
                        Some((_, v)) => v.clone(),
                        None => q.get(key),
                    };
                    value
                        .filter(|v| !v.is_empty())
                        .map(|v| format!("{key}={}", crate::history::encode_component(&v)))
                })
                .collect()
        });
        let path = self.base.join(self.page);
        if pairs.is_empty() {
            path
        } else {
            format!("{path}?{}", pairs.join("&"))
        }
    }
}

/// A GET form for page filters: the browser submits it to the same page, which the server
/// renders with the new query (no script needed). The instance shown stays chosen.
#[component]
pub fn QueryForm(
    /// The page's path below the base path.
    page: &'static str,
    children: Children,
) -> impl IntoView {
    let instance = use_param("instance")
        .get_untracked()
        .map(|v| view! { <input type="hidden" name="instance" value=v/> });
    view! {
        <form method="get" action=BasePath::current().join(page)>
            {instance}
            {children()}
        </form>
    }
}

/// What a resolved range reads as: `Last 1h` or `Custom range`.
pub fn describe(range: &TimeRange) -> String {
    match &range.preset {
        Some(preset) => format!("Last {preset}"),
        None => "Custom range".into(),
    }
}

/// Presets plus a custom from/to; changing either resets the page number.
#[component]
pub fn RangePicker(
    /// The page's path below the base path, e.g. `/system`.
    page: &'static str,
) -> impl IntoView {
    let links = Links::new(page);
    let range = use_range();
    let current = move || {
        range.with(|r| match (&r.range, &r.from) {
            (Some(p), _) => p.clone(),
            (None, Some(_)) => "custom".into(),
            (None, None) => crate::history::DEFAULT_RANGE.into(),
        })
    };
    let presets = PRESETS
        .iter()
        .map(|(name, _)| {
            let links = links.clone();
            let href = move || {
                links.href(&[
                    ("range", Some((*name).to_owned())),
                    ("from", None),
                    ("to", None),
                    ("page", None),
                ])
            };
            view! {
                <a
                    href=href
                    class="preset"
                    aria-current=move || (current() == *name).then_some("true")
                    data-range=*name
                >
                    {*name}
                </a>
            }
        })
        .collect::<Vec<_>>();

    let (from_ms, to_ms) = range.with_untracked(|q| {
        let ms = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<u64>().ok());
        (ms(&q.from), ms(&q.to))
    });

    view! {
        <section class="range-picker panel" aria-label="Time range">
            <nav class="presets" aria-label="Range presets">{presets}</nav>
            <CustomRange from_ms to_ms/>
        </section>
    }
}

/// The custom from/to: read in the browser's time zone, so an island (fetched with the
/// page). Applying it keeps the page's other parameters and starts again at page one.
#[island(lazy)]
fn CustomRange(
    /// The range's ends in the URL, if custom.
    from_ms: Option<u64>,
    to_ms: Option<u64>,
) -> impl IntoView {
    let offset = use_local_offset();
    let initial = move |ms: Option<u64>| {
        ms.map(|ms| format::datetime_local(ms, offset.get()))
            .unwrap_or_default()
    };
    let from_input = NodeRef::<leptos::html::Input>::new();
    let to_input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let read = |input: NodeRef<leptos::html::Input>| {
                input
                    .get()
                    .and_then(|i| crate::clock::parse_local(&i.value()))
            };
            let from = read(from_input);
            let to = read(to_input).or(Some(crate::clock::now_ms()));
            match (from, to) {
                (Some(from), Some(to)) if from < to => {
                    error.set(None);
                    go_to_range(from, to);
                }
                (None, _) => error.set(Some("Choose a start time.".into())),
                _ => error.set(Some("The start must be before the end.".into())),
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (from_input, to_input);
    };

    view! {
        <form class="custom-range" on:submit=apply>
            <label>
                "From "
                <input type="datetime-local" name="from" node_ref=from_input value=move || initial(from_ms)/>
            </label>
            <label>
                "To "
                <input type="datetime-local" name="to" node_ref=to_input value=move || initial(to_ms)/>
            </label>
            <button type="submit" class="button">"Apply"</button>
            <span class="form-error" role="alert">{move || error.get()}</span>
        </form>
    }
}

/// Loads this page with the custom range `[from, to)` in place of the current one.
#[cfg(feature = "hydrate")]
fn go_to_range(from: u64, to: u64) {
    load_with(&[
        ("range", None),
        ("page", None),
        ("from", Some(&from.to_string())),
        ("to", Some(&to.to_string())),
    ]);
}

/// Loads this page with some query parameters of the current URL set (`Some`) or removed
/// (`None`), the others kept.
#[cfg(feature = "hydrate")]
pub fn load_with(changes: &[(&str, Option<&str>)]) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let search = location.search().unwrap_or_default();
    let Ok(query) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return;
    };
    for (key, value) in changes {
        match value {
            Some(value) => query.set(key, value),
            None => query.delete(key),
        }
    }
    let path = location.pathname().unwrap_or_default();
    let query: String = query.to_string().into();
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let _ = location.assign(&target);
}

/// The resolved range under a page's picker.
#[component]
pub fn RangeCaption(range: TimeRange) -> impl IntoView {
    let offset = use_local_offset();
    let (from, to) = (range.from_ms, range.to_ms);
    view! {
        <p class="range-caption" data-testid="range-caption" data-from=from data-to=to>
            {describe(&range)}
            " · "
            {move || format::date_time(from, offset.get())}
            " – "
            {move || format::date_time(to, offset.get())}
        </p>
    }
}
