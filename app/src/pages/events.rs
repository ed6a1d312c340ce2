//! Events: the live feed of custom events and log lines, newest first, with level,
//! channel and text filters, pause and resume. The browser keeps the last
//! [`MAX_EVENTS`](crate::live::MAX_EVENTS), so a tab left open for days does not grow.

use leptos::prelude::*;

use crate::auth::use_user;
use crate::clock::use_local_offset;
use crate::components::page::PageHeader;
use crate::format;
use crate::live::{LiveEvent, MAX_EVENTS, use_live_events};

/// Log levels, most severe first.
const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

fn severity(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(2)
}

/// Whether an event passes the filters: `kind` is `all`, `events`, `logs` or a level
/// (that level and more severe).
pub fn shown(e: &LiveEvent, kind: &str, channel: &str, text: &str) -> bool {
    // A gap concerns every filter: whatever was lost might have matched.
    if e.gap {
        return true;
    }
    let kind_ok = match (kind, e.level()) {
        ("all", _) => true,
        ("events", level) => level.is_none(),
        ("logs", level) => level.is_some(),
        (wanted, Some(level)) => severity(level) <= severity(wanted),
        (_, None) => false,
    };
    let channel_ok = channel.is_empty() || e.channel.as_deref() == Some(channel);
    let text_ok = text.is_empty() || {
        let needle = text.to_lowercase();
        e.event.to_lowercase().contains(&needle)
            || e.data.to_string().to_lowercase().contains(&needle)
    };
    kind_ok && channel_ok && text_ok
}

#[component]
pub fn EventsPage() -> impl IntoView {
    view! {
        <PageHeader title="Events" intro="Custom events and log lines from the service, live, newest first."/>
        <EventsFeed/>
    }
}

/// Everything below the heading: live, so an island (its code is fetched with this page).
#[island(lazy)]
fn EventsFeed() -> impl IntoView {
    let events = use_live_events();
    let offset = use_local_offset();
    let kind = RwSignal::new("all".to_owned());
    let channel = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    // While paused the list shows what it showed when paused; new events still arrive.
    let frozen = RwSignal::new(None::<(Vec<LiveEvent>, u64)>);
    let paused = move || frozen.with(Option::is_some);
    let toggle = move |_| {
        if paused() {
            frozen.set(None);
        } else {
            frozen.set(Some((
                events.items.get_untracked().into_iter().collect(),
                events.received.get_untracked(),
            )));
        }
    };
    let source = move || match frozen.get() {
        Some((items, _)) => items,
        None => events.items.get().into_iter().collect(),
    };
    let waiting = move || {
        frozen
            .with(|f| f.as_ref().map(|(_, at)| *at))
            .map(|at| events.received.get().saturating_sub(at))
    };
    let channels = move || {
        let mut seen: Vec<String> = events
            .items
            .get()
            .iter()
            .filter_map(|e| e.channel.clone())
            .collect();
        seen.sort();
        seen.dedup();
        seen
    };
    let visible = move || {
        let (k, c, t) = (kind.get(), channel.get(), text.get());
        source()
            .into_iter()
            .filter(|e| shown(e, &k, &c, &t))
            .collect::<Vec<_>>()
    };
    let is_admin = use_user().is_some_and(|u| u.is_admin());

    view! {
        {is_admin.then(|| view! { <SendEvent/> })}
        <section class="panel events-panel" data-testid="events">
            <div class="panel-head">
                <div class="search">
                    <select aria-label="Kind" on:change=move |ev| kind.set(event_target_value(&ev)) data-testid="kind-filter">
                        <option value="all">"Everything"</option>
                        <option value="events">"Custom events"</option>
                        <option value="logs">"All logs"</option>
                        {LEVELS.iter().map(|l| view! { <option value=*l>{format!("Logs: {l} and worse")}</option> }).collect::<Vec<_>>()}
                    </select>
                    <select aria-label="Channel" on:change=move |ev| channel.set(event_target_value(&ev)) data-testid="channel-filter">
                        <option value="">"All channels"</option>
                        <For each=channels key=|c| c.clone() let:c>
                            <option value=c.clone()>{c.clone()}</option>
                        </For>
                    </select>
                    <input type="search" placeholder="Search" aria-label="Search events"
                        on:input=move |ev| text.set(event_target_value(&ev))/>
                    <button type="button" class="button" on:click=toggle data-testid="pause">
                        {move || if paused() { "Resume" } else { "Pause" }}
                    </button>
                </div>
                <span class="hint" data-testid="events-count">
                    {move || match waiting() {
                        Some(n) => format!("Paused · {n} new"),
                        None => format!("{} received · last {MAX_EVENTS} kept", format::count(events.received.get())),
                    }}
                </span>
            </div>
            <ul class="records feed">
                <For each=visible key=|e| e.id let:e>
                    <EventRow event=e offset=offset/>
                </For>
            </ul>
            <Show when=move || visible().is_empty()>
                <p class="empty">
                    "Nothing yet. Events appear here as they happen: "
                    <code>"POST {path}/api/events"</code>
                    " or "
                    <code>"sightline.broadcast(...)"</code>
                    ", and the server's log lines."
                </p>
            </Show>
        </section>
    }
}

#[component]
fn EventRow(event: LiveEvent, offset: RwSignal<i32>) -> impl IntoView {
    let time = event.time_ms;
    let (badge, class) = match event.level() {
        Some(level) => (level.to_owned(), format!("badge level-{level}")),
        None => (event.event.clone(), "badge custom".to_owned()),
    };
    let summary = if event.level().is_some() {
        event.data["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    } else {
        event.data.to_string()
    };
    let pretty = serde_json::to_string_pretty(&event.data).unwrap_or_default();
    if event.gap {
        let reason = event.data["reason"].as_str().unwrap_or_default().to_owned();
        return view! {
            <li class="gap" data-testid="events-gap" role="note">
                <time class="num">{move || format::date_time(time, offset.get())}</time>
                " Events may be missing here: "{reason}
            </li>
        }
        .into_any();
    }
    view! {
        <li>
            <details class="record" data-testid="event" data-event=event.event.clone()>
                <summary>
                    <time class="num">{move || format::date_time(time, offset.get())}</time>
                    <span class=class>{badge}</span>
                    {event.channel.clone().map(|c| view! { <span class="channel">{c}</span> })}
                    <code class="path">{summary}</code>
                </summary>
                <pre class="event-data">{pretty}</pre>
            </details>
        </li>
    }
    .into_any()
}

/// For admins: send a custom event to every open dashboard (and every SSE client).
#[component]
fn SendEvent() -> impl IntoView {
    let name = RwSignal::new("deploy".to_owned());
    let channel = RwSignal::new(String::new());
    let data = RwSignal::new("{\"version\": \"1.0\"}".to_owned());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(&data.get_untracked());
            let Ok(value) = parsed else {
                outcome.set(Some(Err("The data is not valid JSON.".into())));
                return;
            };
            let mut body = serde_json::json!({ "event": name.get_untracked(), "data": value });
            let c = channel.get_untracked();
            if !c.is_empty() {
                body["channel"] = serde_json::Value::String(c);
            }
            let url = crate::BasePath::current().join("/api/events");
            wasm_bindgen_futures::spawn_local(async move {
                let result = match gloo_net::http::Request::post(&url).json(&body) {
                    Ok(request) => match request.send().await {
                        Ok(r) if r.ok() => Ok("Sent.".to_owned()),
                        Ok(r) => Err(r
                            .json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|v| v["error"].as_str().map(str::to_owned))
                            .unwrap_or_else(|| format!("Refused ({}).", r.status()))),
                        Err(e) => Err(e.to_string()),
                    },
                    Err(e) => Err(e.to_string()),
                };
                outcome.set(Some(result));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (name, channel, data, outcome);
    };
    view! {
        <section class="panel" data-testid="send-event">
            <h2>"Send an event"</h2>
            <form class="search" on:submit=send>
                <input type="text" aria-label="Event name" value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                <input type="text" aria-label="Channel" placeholder="channel (optional)" value=channel
                    on:input=move |ev| channel.set(event_target_value(&ev))/>
                <input type="text" class="wide" aria-label="Data (JSON)" value=data on:input=move |ev| data.set(event_target_value(&ev))/>
                <button type="submit" class="button primary">"Send"</button>
                {move || outcome.get().map(|r| match r {
                    Ok(m) => view! { <span class="form-ok" role="status">{m}</span> }.into_any(),
                    Err(m) => view! { <span class="form-error" role="alert">{m}</span> }.into_any(),
                })}
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, channel: Option<&str>, data: serde_json::Value) -> LiveEvent {
        LiveEvent {
            id: 1,
            event: name.into(),
            channel: channel.map(Into::into),
            time_ms: 0,
            data,
            gap: false,
        }
    }

    #[test]
    fn filters() {
        let deploy = event(
            "deploy",
            Some("ops"),
            serde_json::json!({ "version": "1.2" }),
        );
        let warn = event(
            "log",
            Some("log"),
            serde_json::json!({ "level": "warn", "message": "Disk low" }),
        );
        let debug = event(
            "log",
            Some("log"),
            serde_json::json!({ "level": "debug", "message": "x" }),
        );
        assert!(shown(&deploy, "all", "", ""));
        assert!(shown(&deploy, "events", "ops", "1.2"));
        assert!(!shown(&deploy, "logs", "", ""));
        assert!(!shown(&deploy, "events", "log", ""));
        assert!(shown(&warn, "warn", "", "disk"));
        assert!(shown(&warn, "info", "", ""));
        assert!(!shown(&warn, "error", "", ""));
        assert!(!shown(&debug, "info", "", ""));
        assert!(!shown(&warn, "all", "", "nothing like it"));
    }
}
