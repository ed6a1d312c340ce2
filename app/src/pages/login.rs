//! Sign-in: a plain form (it works before the page hydrates, and without JavaScript) that
//! the server answers with a session cookie and a redirect.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::BasePath;

#[component]
pub fn LoginPage() -> impl IntoView {
    let base = BasePath::current();
    let query = use_query_map();
    let next = move || {
        query
            .with(|q| q.get("next"))
            .filter(|n| n.starts_with(BasePath::current().as_str()))
            .unwrap_or_else(|| BasePath::current().as_str().to_owned())
    };
    let failed = move || query.with(|q| q.get("error").is_some());
    let generated = crate::auth::password_generated().then(|| {
        view! {
            <p class="hint" data-testid="login-hint">
                "No users are configured, so an admin account was made when the service started. "
                "Its name and password are on the service's standard error, "
                "in the line that begins " <code>"Sightline: no credentials configured"</code>
                " (it is also logged under the tracing target " <code>"sightline::credentials"</code>
                "). To choose your own, configure users: " <code>"SIGHTLINE_PASSWORD"</code>
                " for the sightline binary, " <code>"Builder::user"</code> " in an app."
            </p>
        }
    });
    view! {
        <Title text="Sign in"/>
        <section class="login panel">
            <h1>"Sign in"</h1>
            <p class="intro">"This dashboard shows the metrics of a live service; sign in to see them."</p>
            {generated}
            <form method="post" action=base.join("/api/login") class="settings-form">
                <input type="hidden" name="next" value=next/>
                <label>
                    <span>"Username"</span>
                    <input type="text" name="username" autocomplete="username" required autofocus/>
                </label>
                <label>
                    <span>"Password"</span>
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" class="button primary">"Sign in"</button>
                <Show when=failed>
                    <p class="form-error" role="alert" data-testid="login-error">"Wrong username or password."</p>
                </Show>
            </form>
        </section>
    }
}
