//! The time-range picker and the URL state of the history pages: the range, and each
//! page's filters, live in the query string, so a link reproduces the view.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

use crate::BasePath;
use crate::clock::use_local_offset;
use crate::format;
use crate::history::{PRESETS, RangeParams, TimeRange};

/// Every query parameter a history page keeps in its URL, in the order written.
const KEYS: [&str; 11] = [
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

/// Navigation to a path that already holds the base path.
pub fn absolute() -> NavigateOptions {
    NavigateOptions {
        resolve: false,
        ..NavigateOptions::default()
    }
}

/// A GET form for page filters: navigates in place once hydrated; without JavaScript the
/// browser submits it to the same page.
#[component]
pub fn QueryForm(
    /// The page's path below the base path.
    page: &'static str,
    children: Children,
) -> impl IntoView {
    let action = BasePath::current().join(page);
    let navigate = use_navigate();
    let target = action.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(form) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Ok(data) = web_sys::FormData::new_with_form(&form) else {
                return;
            };
            let Ok(params) = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data) else {
                return;
            };
            let query: String = params.to_string().into();
            navigate(&format!("{target}?{query}"), absolute());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&navigate, &target);
    };
    view! {
        <form method="get" action=action on:submit=submit>
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
    let offset = use_local_offset();
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

    // The custom inputs start at the URL's from/to when given.
    let initial = move |key: &'static str| {
        let q = range.get();
        let raw = if key == "from" { q.from } else { q.to };
        raw.and_then(|v| v.parse::<u64>().ok())
            .map(|ms| format::datetime_local(ms, offset.get()))
            .unwrap_or_default()
    };
    let from_input = NodeRef::<leptos::html::Input>::new();
    let to_input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let apply = {
        let links = links.clone();
        move |ev: leptos::ev::SubmitEvent| {
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
                        let href = links.href(&[
                            ("range", None),
                            ("from", Some(from.to_string())),
                            ("to", Some(to.to_string())),
                            ("page", None),
                        ]);
                        navigate(&href, absolute());
                    }
                    (None, _) => error.set(Some("Choose a start time.".into())),
                    _ => error.set(Some("The start must be before the end.".into())),
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&links, &navigate, from_input, to_input);
        }
    };

    view! {
        <section class="range-picker panel" aria-label="Time range">
            <nav class="presets" aria-label="Range presets">{presets}</nav>
            <form class="custom-range" on:submit=apply>
                <label>
                    "From "
                    <input type="datetime-local" name="from" node_ref=from_input prop:value=move || initial("from")/>
                </label>
                <label>
                    "To "
                    <input type="datetime-local" name="to" node_ref=to_input prop:value=move || initial("to")/>
                </label>
                <button type="submit" class="button">"Apply"</button>
                <span class="form-error" role="alert">{move || error.get()}</span>
            </form>
        </section>
    }
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
