//! The history REST API under `{path}/api`, and the backend of the pages' server
//! functions: both parse the same parameters and run the same queries.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde::Serialize;
use sightline_app::api::{Answer, HistoryBackend};
use sightline_app::history::{
    EndpointsPage, EndpointsParams, ErrorDistribution, ErrorsParams, HistoryError, OverviewHistory,
    ParamError, RangeParams, RecordsPage, SampleGroup, SamplesHistory, SettingsInfo,
    SettingsUpdate, SlowParams, TopEndpoints, TopParams,
};

use sightline_app::BasePath;

use crate::dashboard::RouteList;
use crate::store::{Store, StoreError, query};
use crate::ticker::now_ms;

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
        Ok(SettingsInfo {
            retention_days: settings.retention_days,
            slow_threshold_ms: settings.slow_threshold_ms,
            version: self.version.clone(),
            database_path: store.path().display().to_string(),
            database_bytes: store.size_bytes(),
            oldest_ms: store.read(query::oldest)?,
            store: store.health(),
        })
    }
}

/// Resolves the parameters at `now`, then reads.
fn resolved<P, Q, T>(
    params: P,
    resolve: impl FnOnce(&P, u64) -> Result<Q, ParamError> + Send + 'static,
    read: impl FnOnce(&rusqlite::Connection, &Q, &Store) -> Result<T, StoreError> + Send + 'static,
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

/// Query strings that do not even parse (a repeated key, say) get a JSON 400 too.
fn params<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, Box<Response>> {
    query
        .map(|Query(p)| p)
        .map_err(|e| Box::new(error_response(StatusCode::BAD_REQUEST, e.body_text(), None)))
}

macro_rules! handler {
    ($name:ident, $params:ty, |$h:ident, $p:ident| $call:expr) => {
        async fn $name(
            State($h): State<HistoryState>,
            query: Result<Query<$params>, QueryRejection>,
        ) -> Response {
            match params(query) {
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

async fn get_settings(State(h): State<HistoryState>) -> Response {
    reply(h.settings().await)
}

async fn post_settings(
    State(h): State<HistoryState>,
    body: Result<Json<SettingsUpdate>, JsonRejection>,
) -> Response {
    match body {
        Ok(Json(update)) => reply(h.save_settings(update).await),
        Err(e) => error_response(e.status(), e.body_text(), None),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ExportParams {
    #[serde(flatten)]
    range: RangeParams,
    format: Option<String>,
    dataset: Option<String>,
}

const DATASETS: [&str; 5] = ["endpoints", "errors", "system", "process", "runtime"];

/// `export?dataset=endpoints|errors|system|process|runtime&format=json|csv` over a range.
async fn export(
    State(h): State<HistoryState>,
    query: Result<Query<ExportParams>, QueryRejection>,
) -> Response {
    let p = match params(query) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let csv = match p.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return reply::<()>(Err(ParamError::new(
                "format",
                format!("expected json or csv, got {other:?}"),
            )
            .into()));
        }
    };
    let dataset = p.dataset.clone().unwrap_or_else(|| "endpoints".into());
    if !DATASETS.contains(&dataset.as_str()) {
        return reply::<()>(Err(ParamError::new(
            "dataset",
            format!(
                "unknown dataset {dataset:?}; use one of {}",
                DATASETS.join(", ")
            ),
        )
        .into()));
    }
    let table = match dataset.as_str() {
        "endpoints" => h
            .endpoints(EndpointsParams {
                range: p.range.clone(),
                limit: Some("500".into()),
                ..EndpointsParams::default()
            })
            .await
            .map(|page| endpoints_table(&page)),
        "errors" => h
            .errors(ErrorsParams {
                range: p.range.clone(),
                limit: Some("500".into()),
                ..ErrorsParams::default()
            })
            .await
            .map(|page| records_table(&page)),
        group => {
            let group = match group {
                "system" => SampleGroup::System,
                "process" => SampleGroup::Process,
                _ => SampleGroup::Runtime,
            };
            h.samples(group, p.range.clone())
                .await
                .map(|s| samples_table(&s))
        }
    };
    let table = match table {
        Ok(table) => table,
        Err(e) => return reply::<()>(Err(e)),
    };
    let name = format!("sightline-{dataset}.{}", if csv { "csv" } else { "json" });
    let disposition = format!("attachment; filename=\"{name}\"");
    if csv {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            table.to_csv(),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_DISPOSITION, disposition)],
            Json(table.to_json()),
        )
            .into_response()
    }
}

/// Rows of named columns, written as CSV or as JSON objects.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    fn to_csv(&self) -> String {
        let field = |v: &serde_json::Value| {
            let raw = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            if raw.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", raw.replace('"', "\"\""))
            } else {
                raw
            }
        };
        let mut out = self.columns.join(",");
        out.push_str("\r\n");
        for row in &self.rows {
            out.push_str(&row.iter().map(field).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        out
    }

    fn to_json(&self) -> serde_json::Value {
        self.rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.clone(), v.clone()))
                    .collect::<serde_json::Map<_, _>>()
            })
            .collect()
    }
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| (*c).to_owned()).collect()
}

fn endpoints_table(page: &EndpointsPage) -> Table {
    use serde_json::json;
    Table {
        columns: names(&[
            "method",
            "route",
            "requests",
            "client_errors",
            "server_errors",
            "error_rate_percent",
            "bytes",
            "avg_ms",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
        ]),
        rows: page
            .items
            .iter()
            .map(|r| {
                vec![
                    json!(r.method),
                    json!(r.route),
                    json!(r.requests),
                    json!(r.client_errors),
                    json!(r.server_errors),
                    json!(r.error_rate_percent),
                    json!(r.bytes),
                    json!(r.latency.avg_ms),
                    json!(r.latency.p50_ms),
                    json!(r.latency.p95_ms),
                    json!(r.latency.p99_ms),
                    json!(r.latency.max_ms),
                ]
            })
            .collect(),
    }
}

fn records_table(page: &RecordsPage) -> Table {
    use serde_json::json;
    Table {
        columns: names(&[
            "time_ms",
            "method",
            "route",
            "path",
            "status",
            "latency_ms",
            "bytes",
            "message",
        ]),
        rows: page
            .items
            .iter()
            .map(|r| {
                vec![
                    json!(r.time_ms),
                    json!(r.method),
                    json!(r.route),
                    json!(r.path),
                    json!(r.status),
                    json!(r.latency_ms),
                    json!(r.bytes),
                    json!(r.message),
                ]
            })
            .collect(),
    }
}

fn samples_table(s: &SamplesHistory) -> Table {
    let mut columns = vec!["time_ms".to_owned()];
    let mut times: std::collections::BTreeMap<u64, Vec<serde_json::Value>> = Default::default();
    for (i, series) in s.series.iter().enumerate() {
        columns.push(series.name.clone());
        for (t, v) in &series.points {
            let row = times
                .entry(*t)
                .or_insert_with(|| vec![serde_json::Value::Null; s.series.len()]);
            row[i] = serde_json::json!(v);
        }
    }
    Table {
        columns,
        rows: times
            .into_iter()
            .map(|(t, values)| {
                let mut row = vec![serde_json::json!(t)];
                row.extend(values);
                row
            })
            .collect(),
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
        .route(&at("/api/export"), get(export));
    let settings = list.note(&[Method::GET, Method::POST], base.join("/api/settings"));
    router
        .route(&settings, get(get_settings).post(post_settings))
        .with_state(state)
}
