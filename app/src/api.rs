//! Server functions behind the history pages. They run the same queries as the REST API:
//! the server provides a [`Backend`] in context, and both call it.
//!
//! Their URLs are `{path}/api/fn/sightline/...`: the browser prefixes the base path at
//! start-up (see `crate::App`). The `sightline` segment keeps them apart from an embedding
//! app's own server functions, which share one registry with these.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::history::{
    EndpointsPage, EndpointsParams, ErrorDistribution, ErrorsParams, OverviewHistory, RangeParams,
    RecentHistory, RecentParams, RecordsPage, SampleGroup, SamplesHistory, SettingsInfo,
    SettingsUpdate, SlowParams, TopEndpoints, TopParams,
};

#[cfg(feature = "ssr")]
pub use backend::{Answer, Backend, HistoryBackend};

/// The paths (below the base path) of Sightline's server functions: the only ones its
/// router serves.
pub fn paths() -> [&'static str; 10] {
    use leptos::server_fn::ServerFn;
    [
        FetchOverview::PATH,
        FetchSamples::PATH,
        FetchEndpoints::PATH,
        FetchTop::PATH,
        FetchSlow::PATH,
        FetchErrors::PATH,
        FetchErrorDistribution::PATH,
        FetchRecent::PATH,
        FetchSettings::PATH,
        SaveSettings::PATH,
    ]
}

#[cfg(feature = "ssr")]
mod backend {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use crate::history::*;

    pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, HistoryError>> + Send>>;

    /// What the server implements; parameters arrive unparsed and are checked there.
    pub trait HistoryBackend: Send + Sync + 'static {
        fn overview(&self, p: RangeParams) -> Answer<OverviewHistory>;
        fn samples(&self, group: SampleGroup, p: RangeParams) -> Answer<SamplesHistory>;
        fn endpoints(&self, p: EndpointsParams) -> Answer<EndpointsPage>;
        fn top(&self, p: TopParams) -> Answer<TopEndpoints>;
        fn slow(&self, p: SlowParams) -> Answer<RecordsPage>;
        fn errors(&self, p: ErrorsParams) -> Answer<RecordsPage>;
        fn error_distribution(&self, p: RangeParams) -> Answer<ErrorDistribution>;
        /// The Dashboard's live charts: the last 15 minutes in 10 s windows.
        fn recent(&self, p: RecentParams) -> Answer<RecentHistory>;
        /// Instances with history in the range, first and last windows.
        fn instances(&self, p: RangeParams) -> Answer<InstancesHistory>;
        /// Ids of every instance with stored history, as last read (never waits).
        fn known_instances(&self) -> Vec<String>;
        fn settings(&self) -> Answer<SettingsInfo>;
        fn save_settings(&self, update: SettingsUpdate) -> Answer<SettingsInfo>;
    }

    /// The backend, as provided in context.
    #[derive(Clone)]
    pub struct Backend(pub Arc<dyn HistoryBackend>);
}

/// Refuses with `status` (as the HTTP status of the server function's answer).
#[cfg(feature = "ssr")]
fn refuse(status: http::StatusCode, message: &str) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    ServerFnError::new(message)
}

/// Who called, as the server's access guard put it on the request. Checked here as well
/// as by the guard, so a server function mounted where no guard runs fails closed.
#[cfg(feature = "ssr")]
fn caller() -> Result<crate::auth::Principal, ServerFnError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::auth::Principal>().cloned())
        .ok_or_else(|| refuse(http::StatusCode::UNAUTHORIZED, "sign in first"))
}

/// The history backend, for anyone signed in.
#[cfg(feature = "ssr")]
fn backend() -> Result<Backend, ServerFnError> {
    caller()?;
    use_context::<Backend>().ok_or_else(|| ServerFnError::new("history is not configured"))
}

/// The history backend, for admins only: what changes state.
#[cfg(feature = "ssr")]
fn admin_backend() -> Result<Backend, ServerFnError> {
    if !caller()?.is_admin() {
        return Err(refuse(
            http::StatusCode::FORBIDDEN,
            "this needs the admin role",
        ));
    }
    backend()
}

#[cfg(feature = "ssr")]
fn answer<T>(result: Result<T, crate::history::HistoryError>) -> Result<T, ServerFnError> {
    result.map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(prefix = "/api/fn/sightline", endpoint = "overview", input = Json)]
pub async fn fetch_overview(params: RangeParams) -> Result<OverviewHistory, ServerFnError> {
    answer(backend()?.0.overview(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "samples", input = Json)]
pub async fn fetch_samples(
    group: SampleGroup,
    params: RangeParams,
) -> Result<SamplesHistory, ServerFnError> {
    answer(backend()?.0.samples(group, params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "endpoints", input = Json)]
pub async fn fetch_endpoints(params: EndpointsParams) -> Result<EndpointsPage, ServerFnError> {
    answer(backend()?.0.endpoints(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "top", input = Json)]
pub async fn fetch_top(params: TopParams) -> Result<TopEndpoints, ServerFnError> {
    answer(backend()?.0.top(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "slow", input = Json)]
pub async fn fetch_slow(params: SlowParams) -> Result<RecordsPage, ServerFnError> {
    answer(backend()?.0.slow(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "errors", input = Json)]
pub async fn fetch_errors(params: ErrorsParams) -> Result<RecordsPage, ServerFnError> {
    answer(backend()?.0.errors(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "error_distribution", input = Json)]
pub async fn fetch_error_distribution(
    params: RangeParams,
) -> Result<ErrorDistribution, ServerFnError> {
    answer(backend()?.0.error_distribution(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "recent", input = Json)]
pub async fn fetch_recent(params: RecentParams) -> Result<RecentHistory, ServerFnError> {
    answer(backend()?.0.recent(params).await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "settings", input = Json)]
pub async fn fetch_settings() -> Result<SettingsInfo, ServerFnError> {
    answer(backend()?.0.settings().await)
}

#[server(prefix = "/api/fn/sightline", endpoint = "save_settings", input = Json)]
pub async fn save_settings(update: SettingsUpdate) -> Result<SettingsInfo, ServerFnError> {
    answer(admin_backend()?.0.save_settings(update).await)
}
