//! Settings: retention and slow threshold (validated, saved), store health, export,
//! version.

use leptos::prelude::*;

use crate::BasePath;
use crate::api::{fetch_settings, save_settings};
use crate::components::loaded::loaded;
use crate::components::page::PageHeader;
use crate::components::range::{RangePicker, use_range};
use crate::format;
use crate::history::{SettingsInfo, SettingsUpdate, StoredInstance};
use crate::snapshot::StoreHealth;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| fetch_settings());
    view! {
        <PageHeader title="Settings" intro="How long history is kept, what counts as slow, exports and version."/>
        {loaded(info, move |info| {
            let health = info.store.clone();
            let instances = info.instances.clone();
            view! {
                <SettingsForm retention_days=info.retention_days slow_threshold_ms=info.slow_threshold_ms/>
                <About info=info/>
                <StoredInstances instances=instances/>
                <StoreHealthPanel health=health/>
            }
        })}
        <Export/>
    }
}

/// Retention and slow threshold, saved through `save_settings` (which checks the role
/// again): an island, fetched with this page.
#[island(lazy)]
fn SettingsForm(retention_days: u32, slow_threshold_ms: u64) -> impl IntoView {
    let save = Action::new(|update: &SettingsUpdate| save_settings(update.clone()));
    let retention = NodeRef::<leptos::html::Input>::new();
    let threshold = NodeRef::<leptos::html::Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |input: NodeRef<leptos::html::Input>| {
            input.get().map(|i| serde_json::Value::String(i.value()))
        };
        save.dispatch(SettingsUpdate {
            retention_days: value(retention),
            slow_threshold_ms: value(threshold),
        });
    };
    let outcome = move || {
        save.value().get().map(|result| match result {
            Ok(_) => view! { <p class="form-ok" role="status" data-testid="settings-saved">"Saved."</p> }.into_any(),
            Err(e) => {
                let message = match e {
                    ServerFnError::ServerError(m) => m,
                    other => other.to_string(),
                };
                view! { <p class="form-error" role="alert" data-testid="settings-error">{message}</p> }.into_any()
            }
        })
    };
    let is_admin = crate::auth::use_user().is_some_and(|u| u.is_admin());
    view! {
        <section class="panel">
            <h2>"History"</h2>
            <form class="settings-form" on:submit=submit>
                {(!is_admin).then(|| view! {
                    <p class="hint" data-testid="read-only">"Only an admin can change these."</p>
                })}
                <fieldset disabled=!is_admin>
                <label>
                    <span>"Keep history for (days)"</span>
                    <input type="number" name="retention_days" min="1" max="365" required
                        node_ref=retention value=retention_days data-testid="retention-days"/>
                    <small>"10 s detail for a day, 1 min for a week, 1 h after that."</small>
                </label>
                <label>
                    <span>"Slow request threshold (ms)"</span>
                    <input type="number" name="slow_threshold_ms" min="1" max="3600000" required
                        node_ref=threshold value=slow_threshold_ms data-testid="slow-threshold"/>
                    <small>"Requests at least this slow are kept one by one."</small>
                </label>
                </fieldset>
                {is_admin.then(|| view! {
                    <button type="submit" class="button primary" disabled=move || save.pending().get()>"Save"</button>
                })}
                {outcome}
            </form>
        </section>
    }
}

/// Version and database facts.
#[component]
fn About(info: SettingsInfo) -> impl IntoView {
    let oldest = info.oldest_ms;
    let offset = crate::clock::use_local_offset();
    view! {
        <section class="panel" data-testid="version-info">
            <h2>"About"</h2>
            <dl class="facts">
                <dt>"Version"</dt><dd>{format!("Sightline {}", info.version)}</dd>
                <dt>"Database"</dt>
                <dd data-testid="database">{database_name(&info.database)}" "<code>{info.database_path.clone()}</code></dd>
                <dt>"Database size"</dt><dd>{format::bytes(info.database_bytes as f64)}</dd>
                <dt>"Oldest data"</dt>
                <dd>{move || oldest.map_or_else(|| "none yet".to_owned(), |t| format::date_time(t, offset.get()))}</dd>
            </dl>
        </section>
    }
}

fn database_name(kind: &str) -> &'static str {
    match kind {
        "postgresql" => "PostgreSQL, shared:",
        _ => "SQLite file",
    }
}

/// Every instance with stored history: its first and last 10 s windows and requests.
#[component]
fn StoredInstances(instances: Vec<StoredInstance>) -> impl IntoView {
    let offset = crate::clock::use_local_offset();
    let rows = instances
        .into_iter()
        .map(|i| {
            let (first, last) = (i.first_ms, i.last_ms);
            view! {
                <tr data-instance=i.id.clone()>
                    <td><code>{i.id.clone()}</code></td>
                    <td class="num">{move || format::date_time(first, offset.get())}</td>
                    <td class="num">{move || format::date_time(last, offset.get())}</td>
                    <td class="num">{format::count(i.requests)}</td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <section class="panel" data-testid="stored-instances">
            <h2>"Instances in history"</h2>
            <p class="hint">"Every instance that wrote to this database, kept as long as its history."</p>
            <div class="table-scroll">
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"Instance"</th>
                            <th scope="col" class="num">"First window"</th>
                            <th scope="col" class="num">"Last window"</th>
                            <th scope="col" class="num">"Requests"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// Failed writes, lost windows, records not kept and unreadable rows, since start.
#[component]
fn StoreHealthPanel(health: StoreHealth) -> impl IntoView {
    let offset = crate::clock::use_local_offset();
    let last_error = health.last_write_error_ms;
    let writes = match &health.write_error {
        Some(error) => format!("failing: {error}"),
        None => "ok".to_owned(),
    };
    let facts = [
        ("Windows waiting to be written", health.windows_queued),
        ("Windows lost", health.windows_lost),
        ("Records dropped (queue full)", health.records_dropped),
        (
            "Records not stored (route over its share of a 10 s window)",
            health.records_capped,
        ),
        ("Unreadable rows skipped", health.rows_skipped),
    ];
    view! {
        <section class="panel" data-testid="store-health">
            <h2>"Store health"</h2>
            <p class="hint">"Since this server started. Window counts stay exact either way."</p>
            <dl class="facts">
                <dt>"Writes"</dt><dd data-testid="store-writes">{writes}</dd>
                <dt>"Last write error"</dt>
                <dd>{move || last_error.map_or_else(|| "none".to_owned(), |t| format::date_time(t, offset.get()))}</dd>
                {facts
                    .into_iter()
                    .map(|(label, n)| view! { <dt>{label}</dt><dd>{format::count(n)}</dd> })
                    .collect::<Vec<_>>()}
            </dl>
        </section>
    }
}

/// Download links for the range picked here.
#[component]
fn Export() -> impl IntoView {
    let base = BasePath::current();
    let range = use_range();
    let datasets = [
        ("endpoints", "Endpoints"),
        ("errors", "Error log"),
        ("system", "System samples"),
        ("process", "Process samples"),
        ("runtime", "Runtime samples"),
    ];
    view! {
        <section class="panel" data-testid="export">
            <h2>"Export"</h2>
            <p class="hint">"Pick a range, then download it as CSV or JSON."</p>
            <RangePicker page="/settings"/>
            <table class="table">
                <tbody>
                    {datasets
                        .into_iter()
                        .map(|(dataset, label)| {
                            let base = base.clone();
                            let href = move |format: &str| {
                                let q = range.get().to_query();
                                let sep = if q.is_empty() { "" } else { "&" };
                                base.join(&format!("/api/export?dataset={dataset}&format={format}{sep}{q}"))
                            };
                            let (csv, json) = (href.clone(), href);
                            view! {
                                <tr>
                                    <td>{label}</td>
                                    <td class="num">
                                        <a href=move || csv("csv") download rel="external">"CSV"</a>
                                        " · "
                                        <a href=move || json("json") download rel="external">"JSON"</a>
                                    </td>
                                </tr>
                            }
                        })
                        .collect::<Vec<_>>()}
                </tbody>
            </table>
        </section>
    }
}
