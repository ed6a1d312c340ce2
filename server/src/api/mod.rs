//! The history REST API under `{path}/api`, and the backend of the pages' server
//! functions: both parse the same parameters and run the same queries.

mod export;
mod input;

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::{Query, RawQuery, State, rejection::JsonRejection, rejection::QueryRejection},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;
use sightline_app::api::{Answer, HistoryBackend};
use sightline_app::history::{
    EndpointsPage, EndpointsParams, ErrorDistribution, ErrorsParams, HistoryError,
    InstancesHistory, OverviewHistory, ParamError, RangeParams, RecentHistory, RecentParams,
    RecordsPage, SampleGroup, SamplesHistory, SettingsInfo, SettingsUpdate, SlowParams, TimeRange,
    TopEndpoints, TopParams,
};

use sightline_app::BasePath;
use sightline_app::auth::Principal;

use crate::clock::now_ms;
use crate::dashboard::RouteList;
use crate::store::reader::Reader;
use crate::store::{Store, StoreError, query, recent};
use input::params;

/// How long `/api/recent` (and the Dashboard's first paint) waits for history.
const RECENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Clone)]
pub struct HistoryState {
    pub store: Option<Arc<Store>>,
    pub version: String,
}

impl HistoryState {
    /// Runs `f` against the store on the blocking pool.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store, u64) -> Result<T, HistoryError> + Send + 'static,
    ) -> Answer<T> {
        let store = self.store.clone();
        Box::pin(async move {
            let store = store.ok_or_else(|| {
                HistoryError::Unavailable("this server keeps no history (--no-history)".into())
            })?;
            tokio::task::spawn_blocking(move || f(&store, now_ms()))
                .await
                .map_err(|e| HistoryError::Unavailable(format!("query failed: {e}")))?
        })
    }

    fn info(&self, store: &Store) -> Result<SettingsInfo, StoreError> {
        let settings = store.settings();
        let (oldest_ms, instances) = store.read(|db| {
            let everything = TimeRange {
                from_ms: 0,
                to_ms: u64::MAX,
                ..TimeRange::default()
            };
            Ok((db.oldest()?, query::instances(db, &everything)?.items))
        })?;
        Ok(SettingsInfo {
            retention_days: settings.retention_days,
            slow_threshold_ms: settings.slow_threshold_ms,
            version: self.version.clone(),
            database: store.kind().to_owned(),
            database_path: store.location(),
            database_bytes: store.size_bytes()?,
            oldest_ms,
            instances,
            store: store.health(),
        })
    }
}

/// Resolves the parameters at `now`, then reads.
fn resolved<P, Q, T>(
    params: P,
    resolve: impl FnOnce(&P, u64) -> Result<Q, ParamError> + Send + 'static,
    read: impl FnOnce(&dyn Reader, &Q, &Store) -> Result<T, StoreError> + Send + 'static,
) -> impl FnOnce(&Store, u64) -> Result<T, HistoryError> + Send + 'static
where
    P: Send + 'static,
    Q: Send + 'static,
    T: Send + 'static,
{
    move |store, now| {
        let q = resolve(&params, now)?;
        Ok(store.read(|conn| read(conn, &q, store))?)
    }
}

impl HistoryBackend for HistoryState {
    fn overview(&self, p: RangeParams) -> Answer<OverviewHistory> {
        self.run(resolved(p, RangeParams::resolve, |c, q, _| {
            query::overview(c, q)
        }))
    }

    fn samples(&self, group: SampleGroup, p: RangeParams) -> Answer<SamplesHistory> {
        self.run(resolved(p, RangeParams::resolve, move |c, q, _| {
            query::samples(c, q, group)
        }))
    }

    fn endpoints(&self, p: EndpointsParams) -> Answer<EndpointsPage> {
        self.run(resolved(p, EndpointsParams::resolve, |c, q, _| {
            query::endpoints(c, q)
        }))
    }

    fn top(&self, p: TopParams) -> Answer<TopEndpoints> {
        self.run(resolved(p, TopParams::resolve, |c, q, _| query::top(c, q)))
    }

    fn slow(&self, p: SlowParams) -> Answer<RecordsPage> {
        self.run(resolved(p, SlowParams::resolve, |c, q, store| {
            query::slow(c, q, store.settings().slow_threshold_ms)
        }))
    }

    fn errors(&self, p: ErrorsParams) -> Answer<RecordsPage> {
        self.run(resolved(p, ErrorsParams::resolve, |c, q, _| {
            query::errors(c, q)
        }))
    }

    fn error_distribution(&self, p: RangeParams) -> Answer<ErrorDistribution> {
        self.run(resolved(p, RangeParams::resolve, |c, q, _| {
            query::error_distribution(c, q)
        }))
    }

    /// Bounded in time: the Dashboard is rendered after it, and draws its charts without
    /// history (and fills them in later) rather than wait for a database that hangs.
    fn recent(&self, p: RecentParams) -> Answer<RecentHistory> {
        let read = self.run(move |store, now| {
            let instance = p.resolve(now)?;
            Ok(store.read(|db| recent::recent(db, instance, now))?)
        });
        Box::pin(async move {
            tokio::time::timeout(RECENT_TIMEOUT, read)
                .await
                .unwrap_or_else(|_| {
                    Err(HistoryError::Unavailable(format!(
                        "history did not answer within {} s",
                        RECENT_TIMEOUT.as_secs()
                    )))
                })
        })
    }

    fn instances(&self, p: RangeParams) -> Answer<InstancesHistory> {
        self.run(resolved(p, RangeParams::resolve, |c, q, _| {
            query::instances(c, q)
        }))
    }

    fn known_instances(&self) -> Vec<String> {
        self.store
            .as_ref()
            .map(|s| s.known_instances())
            .unwrap_or_default()
    }

    fn settings(&self) -> Answer<SettingsInfo> {
        let this = self.clone();
        self.run(move |store, _| Ok(this.info(store)?))
    }

    fn save_settings(&self, update: SettingsUpdate) -> Answer<SettingsInfo> {
        let this = self.clone();
        self.run(move |store, _| {
            store.update_settings(&update)?;
            Ok(this.info(store)?)
        })
    }
}

/// A JSON error: `{"error": "...", "param": "..."}`.
pub fn error_response(status: StatusCode, message: String, param: Option<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        error: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        param: Option<String>,
    }
    (
        status,
        Json(Body {
            error: message,
            param,
        }),
    )
        .into_response()
}

fn reply<T: Serialize>(result: Result<T, HistoryError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(HistoryError::Param(p)) => {
            let message = p.to_string();
            error_response(StatusCode::BAD_REQUEST, message, Some(p.param))
        }
        Err(HistoryError::Unavailable(message)) => {
            error_response(StatusCode::SERVICE_UNAVAILABLE, message, None)
        }
    }
}

macro_rules! handler {
    ($name:ident, $params:ty, |$h:ident, $p:ident| $call:expr) => {
        async fn $name(
            State($h): State<HistoryState>,
            RawQuery(raw): RawQuery,
            query: Result<Query<$params>, QueryRejection>,
        ) -> Response {
            match params(raw.as_deref(), query) {
                Ok($p) => reply($call.await),
                Err(response) => *response,
            }
        }
    };
}

handler!(overview, RangeParams, |h, p| h.overview(p));
handler!(system, RangeParams, |h, p| h
    .samples(SampleGroup::System, p));
handler!(process, RangeParams, |h, p| h
    .samples(SampleGroup::Process, p));
handler!(runtime, RangeParams, |h, p| h
    .samples(SampleGroup::Runtime, p));
handler!(endpoints, EndpointsParams, |h, p| h.endpoints(p));
handler!(top, TopParams, |h, p| h.top(p));
handler!(slow, SlowParams, |h, p| h.slow(p));
handler!(errors, ErrorsParams, |h, p| h.errors(p));
handler!(distribution, RangeParams, |h, p| h.error_distribution(p));
handler!(instances, RangeParams, |h, p| h.instances(p));
handler!(recent_windows, RecentParams, |h, p| h.recent(p));

async fn get_settings(State(h): State<HistoryState>) -> Response {
    reply(h.settings().await)
}

async fn post_settings(
    State(h): State<HistoryState>,
    caller: Option<Extension<Principal>>,
    body: Result<Json<SettingsUpdate>, JsonRejection>,
) -> Response {
    if let Some(refused) = crate::auth::refuse_unless_admin(caller.as_deref()) {
        return refused;
    }
    match body {
        Ok(Json(update)) => reply(h.save_settings(update).await),
        Err(e) => error_response(e.status(), e.body_text(), None),
    }
}

/// The history routes below `{base}/api`.
pub fn router(state: HistoryState, base: &BasePath, list: &mut RouteList) -> Router {
    let mut at = |path: &str| list.note(&[Method::GET], base.join(path));
    let router = Router::new()
        .route(&at("/api/overview"), get(overview))
        .route(&at("/api/system"), get(system))
        .route(&at("/api/process"), get(process))
        .route(&at("/api/runtime"), get(runtime))
        .route(&at("/api/endpoints"), get(endpoints))
        .route(&at("/api/endpoints/top"), get(top))
        .route(&at("/api/endpoints/slow"), get(slow))
        .route(&at("/api/errors"), get(errors))
        .route(&at("/api/errors/distribution"), get(distribution))
        .route(&at("/api/instances"), get(instances))
        .route(&at("/api/recent"), get(recent_windows))
        .route(&at("/api/export"), get(export::export));
    let settings = list.note(&[Method::GET, Method::POST], base.join("/api/settings"));
    router
        .route(&settings, get(get_settings).post(post_settings))
        .with_state(state)
}
