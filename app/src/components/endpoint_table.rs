//! A top-endpoints table: method, route, requests, error rate, p95.

use leptos::prelude::*;

use crate::format;
use crate::snapshot::EndpointStat;

#[component]
pub fn EndpointTable(
    title: &'static str,
    #[prop(into)] rows: Signal<Vec<EndpointStat>>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <section class="panel" data-testid=testid>
            <h2>{title}</h2>
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Endpoint"</th>
                        <th scope="col" class="num">"Requests"</th>
                        <th scope="col" class="num">"Errors"</th>
                        <th scope="col" class="num">"p95"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || rows.get()
                        key=|row| (row.method.clone(), row.route.clone(), row.requests, row.latency.p95_ms.to_bits(), row.error_rate_percent.to_bits())
                        let:row
                    >
                        <tr>
                            <td>
                                <span class="method">{row.method.clone()}</span>
                                " "
                                <code>{row.route.clone()}</code>
                            </td>
                            <td class="num">{format::count(row.requests)}</td>
                            <td class="num">{format::percent(row.error_rate_percent)}</td>
                            <td class="num">{format::millis(row.latency.p95_ms)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="empty">"No requests in the last minute."</p>
            </Show>
        </section>
    }
}
