//! `GET {path}/api/export`: a dataset over a range, as JSON or CSV, for download.
//!
//! Table datasets are read page after page until exhausted, up to [`MAX_EXPORT_ROWS`];
//! an export the cap cut short carries `X-Sightline-Truncated: true`. CSV text cells that
//! a spreadsheet would run as a formula get a leading `'`.

use axum::{
    extract::{Query, RawQuery, State, rejection::QueryRejection},
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use sightline_app::api::HistoryBackend;
use sightline_app::history::{
    EndpointRow, EndpointsParams, ErrorsParams, HistoryError, MAX_PAGE, MAX_PAGE_LIMIT, ParamError,
    RangeParams, RequestRecord, SampleGroup, SamplesHistory, text_param,
};

use super::{HistoryState, error_response, input::params, reply};
use crate::clock::now_ms;

/// The most rows one export holds.
pub const MAX_EXPORT_ROWS: usize = 100_000;
/// Set to `true` on an export that [`MAX_EXPORT_ROWS`] cut short.
pub const TRUNCATED_HEADER: &str = "x-sightline-truncated";

#[derive(Debug, Default, Deserialize)]
pub struct ExportParams {
    #[serde(flatten)]
    range: RangeParams,
    format: Option<String>,
    dataset: Option<String>,
}

const DATASETS: [&str; 5] = ["endpoints", "errors", "system", "process", "runtime"];

/// `(csv, dataset)` from `format` (default `json`) and `dataset` (default `endpoints`).
fn choose(p: &ExportParams) -> Result<(bool, &str), ParamError> {
    let csv = match text_param("format", &p.format)?.unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ParamError::new(
                "format",
                format!("expected json or csv, got {other:?}"),
            ));
        }
    };
    let dataset = text_param("dataset", &p.dataset)?.unwrap_or("endpoints");
    if !DATASETS.contains(&dataset) {
        return Err(ParamError::new(
            "dataset",
            format!(
                "unknown dataset {dataset:?}; use one of {}",
                DATASETS.join(", ")
            ),
        ));
    }
    Ok((csv, dataset))
}

/// `export?dataset=endpoints|errors|system|process|runtime&format=json|csv` over a range.
pub async fn export(
    State(h): State<HistoryState>,
    RawQuery(raw): RawQuery,
    query: Result<Query<ExportParams>, QueryRejection>,
) -> Response {
    let p = match params(raw.as_deref(), query) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let (csv, dataset) = match choose(&p) {
        Ok(chosen) => chosen,
        Err(e) => return reply::<()>(Err(e.into())),
    };
    // Resolved once, so every page reads the same range even as the clock moves.
    let range = match p.range.resolve(now_ms()) {
        Ok(range) => range,
        Err(e) => return reply::<()>(Err(e.into())),
    };
    let fixed = RangeParams {
        range: None,
        from: Some(range.from_ms.to_string()),
        to: Some(range.to_ms.to_string()),
        max_points: p.range.max_points.clone(),
        instance: range.instance.clone(),
    };
    // Rows that add up every instance have no instance of their own.
    let scope = json!(range.instance);
    let limit = Some(MAX_PAGE_LIMIT.to_string());
    let table = match dataset {
        "endpoints" => every_page(|page| {
            let answer = h.endpoints(EndpointsParams {
                range: fixed.clone(),
                page: Some(page.to_string()),
                limit: limit.clone(),
                ..EndpointsParams::default()
            });
            async move { answer.await.map(|p| (p.items, p.total)) }
        })
        .await
        .map(|(rows, cut)| (endpoints_table(&rows, &scope), cut)),
        "errors" => every_page(|page| {
            let answer = h.errors(ErrorsParams {
                range: fixed.clone(),
                page: Some(page.to_string()),
                limit: limit.clone(),
                ..ErrorsParams::default()
            });
            async move { answer.await.map(|p| (p.items, p.total)) }
        })
        .await
        .map(|(rows, cut)| (records_table(&rows), cut)),
        group => {
            let group = match group {
                "system" => SampleGroup::System,
                "process" => SampleGroup::Process,
                _ => SampleGroup::Runtime,
            };
            h.samples(group, fixed.clone())
                .await
                .map(|s| (samples_table(&s, &scope), false))
        }
    };
    let (table, truncated) = match table {
        Ok(table) => table,
        Err(e) => return reply::<()>(Err(e)),
    };
    let name = format!("sightline-{dataset}.{}", if csv { "csv" } else { "json" });
    let disposition = format!("attachment; filename=\"{name}\"");
    // Up to the row limit, encoding takes a while: not on a thread that serves requests.
    let encoded = tokio::task::spawn_blocking(move || {
        if csv {
            table
                .to_csv()
                .map_err(|e| format!("could not write the CSV: {e}"))
        } else {
            serde_json::to_vec(&table.to_json())
                .map_err(|e| format!("could not write the JSON: {e}"))
        }
    })
    .await
    .unwrap_or_else(|_| Err("the export stopped while it was being written".into()));
    let body = match encoded {
        Ok(body) => body,
        Err(why) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, why, None),
    };
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response();
    if truncated {
        response.headers_mut().insert(
            HeaderName::from_static(TRUNCATED_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// Every row of a paged query, `fetch(page)` answering `(rows, total)` for pages of
/// [`MAX_PAGE_LIMIT`] from 1 on, up to [`MAX_EXPORT_ROWS`]; `true` when the cap cut it
/// short.
async fn every_page<T, F, Fut>(mut fetch: F) -> Result<(Vec<T>, bool), HistoryError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64), HistoryError>>,
{
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let (items, total) = fetch(page).await?;
        let last = items.len() < MAX_PAGE_LIMIT as usize;
        rows.extend(items);
        if rows.len() >= MAX_EXPORT_ROWS {
            let cut = rows.len() > MAX_EXPORT_ROWS || total > MAX_EXPORT_ROWS as u64;
            rows.truncate(MAX_EXPORT_ROWS);
            return Ok((rows, cut));
        }
        if last || page >= MAX_PAGE {
            return Ok((rows, false));
        }
        page += 1;
    }
}

/// Rows of named columns, written as CSV or as JSON objects.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        out.write_record(&self.columns)?;
        for row in &self.rows {
            out.write_record(row.iter().map(csv_cell))?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }

    fn to_json(&self) -> Value {
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

/// A CSV cell: numbers as JSON writes them, nothing for null, text guarded.
fn csv_cell(v: &Value) -> String {
    match v {
        Value::String(s) => formula_guard(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Text a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return) gets a leading `'`, so it shows as the text it is.
fn formula_guard(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| (*c).to_owned()).collect()
}

fn endpoints_table(rows: &[EndpointRow], instance: &Value) -> Table {
    Table {
        columns: names(&[
            "instance",
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
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    instance.clone(),
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

fn records_table(rows: &[RequestRecord]) -> Table {
    Table {
        columns: names(&[
            "time_ms",
            "instance",
            "method",
            "route",
            "path",
            "status",
            "latency_ms",
            "bytes",
            "message",
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    json!(r.time_ms),
                    json!(r.instance),
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

/// One row per step; a value that was not measured in a step is left empty (`null`).
fn samples_table(s: &SamplesHistory, instance: &Value) -> Table {
    let mut columns = vec!["time_ms".to_owned(), "instance".to_owned()];
    let mut times: std::collections::BTreeMap<u64, Vec<Value>> = Default::default();
    for (i, series) in s.series.iter().enumerate() {
        columns.push(series.name.clone());
        for (t, v) in &series.points {
            let row = times
                .entry(*t)
                .or_insert_with(|| vec![Value::Null; s.series.len()]);
            row[i] = json!(v);
        }
    }
    Table {
        columns,
        rows: times
            .into_iter()
            .map(|(t, values)| {
                let mut row = vec![json!(t), instance.clone()];
                row.extend(values);
                row
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of a query with `total` rows.
    fn pages(
        total: u64,
    ) -> impl FnMut(u32) -> std::future::Ready<Result<(Vec<u8>, u64), HistoryError>> {
        move |page| {
            let start = u64::from(page - 1) * u64::from(MAX_PAGE_LIMIT);
            let n = total.saturating_sub(start).min(u64::from(MAX_PAGE_LIMIT)) as usize;
            std::future::ready(Ok((vec![0u8; n], total)))
        }
    }

    #[tokio::test]
    async fn exports_read_every_page_up_to_the_cap() {
        let cap = MAX_EXPORT_ROWS as u64;
        for (total, rows, cut) in [
            (0, 0, false),
            (1_000, 1_000, false),
            (1_234, 1_234, false),
            (cap, MAX_EXPORT_ROWS, false),
            (cap + 1, MAX_EXPORT_ROWS, true),
        ] {
            let (got, truncated) = every_page(pages(total)).await.unwrap();
            assert_eq!((got.len(), truncated), (rows, cut), "{total} rows");
        }
    }

    #[test]
    fn formulas_are_guarded_and_csv_is_quoted() {
        for (text, cell) in [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("/ok", "/ok"),
            ("", ""),
        ] {
            assert_eq!(formula_guard(text), cell);
        }
        let table = Table {
            columns: names(&["n", "message"]),
            rows: vec![
                vec![json!(-1.5), json!("=HYPERLINK(\"x\")")],
                vec![Value::Null, json!("a,b")],
            ],
        };
        let csv = String::from_utf8(table.to_csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            "n,message\r\n-1.5,\"'=HYPERLINK(\"\"x\"\")\"\r\n,\"a,b\"\r\n"
        );
    }
}
