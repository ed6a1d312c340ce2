//! Renders a server-function resource: its data, or the error it answered, keeping the
//! previous view while a new range loads.

use leptos::prelude::*;
use leptos::server_fn::ServerFnError;
use serde::{Serialize, de::DeserializeOwned};

pub type Data<T> = Resource<Result<T, ServerFnError>>;

pub fn loaded<T, V>(data: Data<T>, render: impl Fn(T) -> V + Send + Sync + 'static) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                data.get()
                    .map(|result| match result {
                        Ok(value) => render(value).into_any(),
                        Err(e) => {
                            view! { <p class="panel error-panel" role="alert">{error_message(e)}</p> }.into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// What a server function's error says, without the wrapping.
pub fn error_message(e: ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m,
        other => other.to_string(),
    }
}
