//! Inputs at the edges, over real sockets with history on: every REST endpoint refuses
//! edge values with a 400 naming the parameter; arbitrary query strings never get a 5xx;
//! exports are whole and their CSV guards formula-like cells.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{TempDir, TestApp, fast_config, spawn};
use axum::{Router, routing::get};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::Value;
use sightline::{Config, ErrorMessage, Sightline};
use sightline_app::history::{
    MAX_MAX_POINTS, MAX_PAGE, MAX_PAGE_LIMIT, MAX_PARAM_BYTES, MAX_SLOW_THRESHOLD_MS, MAX_TIME_MS,
    MAX_TOP_LIMIT,
};

const API: &str = "/sightline/api";

/// Every GET endpoint of the REST API.
const ENDPOINTS: [&str; 11] = [
    "overview",
    "system",
    "process",
    "runtime",
    "endpoints",
    "endpoints/top",
    "endpoints/slow",
    "errors",
    "errors/distribution",
    "export",
    "settings",
];

fn history_config(dir: &TempDir) -> Config {
    Config {
        db_path: Some(dir.db()),
        ..fast_config()
    }
}

/// Asserts `GET {API}/{endpoint}?{query}` is a 400 naming `param`.
async fn refused(app: &TestApp, endpoint: &str, query: &str, param: &str) {
    let response = app.get(&format!("{API}/{endpoint}?{query}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let shown: String = query.chars().take(80).collect();
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{endpoint}?{shown}: {body}"
    );
    assert_eq!(body["param"], param, "{endpoint}?{shown}: {body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains(param), "{endpoint}?{shown}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_refuses_edge_values_by_name() {
    let dir = TempDir::new("edges");
    let app = spawn(history_config(&dir)).await;
    let max = u64::MAX.to_string();
    let past_u64 = "18446744073709551616";
    let long = "x".repeat(MAX_PARAM_BYTES + 1);
    let ranged: Vec<(String, &str)> = vec![
        (format!("from={max}"), "from"),
        (format!("from={}&to={max}", u64::MAX - 1), "from"),
        (format!("from=1&to={max}"), "to"),
        (format!("from={past_u64}"), "from"),
        (format!("from={}", MAX_TIME_MS + 1), "from"),
        ("from=-1".into(), "from"),
        ("from=1&to=-5".into(), "to"),
        ("from=5000&to=1000".into(), "from"),
        ("from=5000&to=5000".into(), "from"),
        ("max_points=0".into(), "max_points"),
        (format!("max_points={}", MAX_MAX_POINTS + 1), "max_points"),
        (format!("max_points={past_u64}"), "max_points"),
        ("from=%FF".into(), "from"),
        (format!("range={long}"), "range"),
        (format!("zz={}", "a".repeat(9_000)), "query"),
    ];
    for endpoint in &ENDPOINTS[..10] {
        for (query, param) in &ranged {
            refused(&app, endpoint, query, param).await;
        }
    }
    let past_page = format!("page={}", u64::from(MAX_PAGE) + 1);
    let past_limit = format!("limit={}", MAX_PAGE_LIMIT + 1);
    let specific: Vec<(&str, String, &str)> = vec![
        ("overview", "from=1&from=2".into(), "from"),
        ("endpoints", "page=0".into(), "page"),
        ("endpoints", past_page.clone(), "page"),
        ("endpoints", "page=-1".into(), "page"),
        ("endpoints", "limit=0".into(), "limit"),
        ("endpoints", past_limit.clone(), "limit"),
        ("endpoints", format!("search={long}"), "search"),
        ("endpoints", "search=%FF".into(), "search"),
        ("endpoints", format!("sort={long}"), "sort"),
        ("endpoints", format!("order={long}"), "order"),
        ("endpoints/top", "limit=0".into(), "limit"),
        (
            "endpoints/top",
            format!("limit={}", MAX_TOP_LIMIT + 1),
            "limit",
        ),
        ("endpoints/top", format!("metric={long}"), "metric"),
        ("endpoints/slow", "threshold=0".into(), "threshold"),
        (
            "endpoints/slow",
            format!("threshold={}", MAX_SLOW_THRESHOLD_MS + 1),
            "threshold",
        ),
        ("endpoints/slow", "threshold=-1".into(), "threshold"),
        ("endpoints/slow", "page=0".into(), "page"),
        ("endpoints/slow", past_page.clone(), "page"),
        ("endpoints/slow", "limit=0".into(), "limit"),
        ("endpoints/slow", past_limit.clone(), "limit"),
        ("errors", "page=0".into(), "page"),
        ("errors", past_page.clone(), "page"),
        ("errors", "limit=0".into(), "limit"),
        ("errors", past_limit.clone(), "limit"),
        ("errors", format!("route={long}"), "route"),
        ("errors", "route=%FF%FE".into(), "route"),
        ("errors", format!("status={long}"), "status"),
        ("export", format!("format={long}"), "format"),
        ("export", format!("dataset={long}"), "dataset"),
        ("export", "format=%FF".into(), "format"),
    ];
    for (endpoint, query, param) in &specific {
        refused(&app, endpoint, query, param).await;
    }
    // The same values one step inside the edges are answered.
    for (endpoint, query) in [
        (
            "endpoints",
            format!("page={MAX_PAGE}&limit={MAX_PAGE_LIMIT}"),
        ),
        (
            "endpoints",
            format!("search={}", "x".repeat(MAX_PARAM_BYTES)),
        ),
        ("endpoints/top", format!("limit={MAX_TOP_LIMIT}")),
        (
            "endpoints/slow",
            format!("threshold={MAX_SLOW_THRESHOLD_MS}"),
        ),
        ("errors", "route=%E2%82%AC".into()),
        (
            "overview",
            format!("from={}&to={MAX_TIME_MS}", MAX_TIME_MS - 1),
        ),
        ("system", format!("max_points={MAX_MAX_POINTS}")),
    ] {
        let response = app.get(&format!("{API}/{endpoint}?{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{endpoint}?{query}");
    }
}

/// Parameter names the API knows, tried more often than random keys.
const KEYS: &[&str] = &[
    "range",
    "from",
    "to",
    "max_points",
    "search",
    "sort",
    "order",
    "page",
    "limit",
    "metric",
    "threshold",
    "status",
    "route",
    "format",
    "dataset",
];

/// Values near every edge the API checks.
const EDGE_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "100",
    "101",
    "500",
    "501",
    "2000",
    "2001",
    "3600000",
    "3600001",
    "1000000",
    "1000001",
    "253402300799999",
    "253402300800000",
    "18446744073709551615",
    "18446744073709551616",
    "1h",
    "30d",
    "2w",
    "4xx",
    "5xx",
    "404",
    "csv",
    "json",
    "errors",
    "system",
    "asc",
    "desc",
    "p99",
    "latency",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_%0-9]{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        proptest::sample::select(EDGE_VALUES).prop_map(str::to_owned),
        "(%[0-9A-Fa-f]{2}){1,6}",
        "[0-9]{20,40}",
        "\\PC{0,12}",
        "[=+@&;#%a-z0-9-]{0,16}",
        (1usize..4_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Up to six `key=value` pairs, joined with `&`.
fn query_string() -> impl Strategy<Value = String> {
    proptest::collection::vec((key(), value()), 0..6).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[test]
fn arbitrary_query_strings_never_get_a_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = TempDir::new("edges-prop");
    let app = rt.block_on(async {
        let app = spawn(history_config(&dir)).await;
        for path in ["/ok", "/missing/1", "/fail"] {
            app.get(path).await;
        }
        app
    });
    for endpoint in ENDPOINTS {
        let mut runner = TestRunner::new(RunnerConfig {
            cases: 64,
            failure_persistence: None,
            ..RunnerConfig::default()
        });
        let result = runner.run(&query_string(), |query| {
            let url = app.url(&format!("{API}/{endpoint}?{query}"));
            let status = match rt.block_on(app.http.get(url.as_str()).send()) {
                Ok(response) => response.status(),
                // A URL the client itself will not send says nothing about the server.
                Err(e) if e.is_builder() => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("{url}: {e}"))),
            };
            prop_assert!(!status.is_server_error(), "{url}: {status}");
            Ok(())
        });
        if let Err(e) = result {
            panic!("{endpoint}: {e}");
        }
    }
    let sightline = app.sightline.clone();
    rt.block_on(async move { tokio::task::spawn_blocking(move || sightline.shutdown()).await })
        .unwrap();
}

/// A monitored app with one route whose error message reads like a spreadsheet formula.
async fn spawn_formula_app(config: Config) -> (Sightline, String) {
    let sightline = Sightline::start(config).expect("sightline starts");
    let app = Router::new()
        .route(
            "/formula",
            get(|| async {
                (
                    StatusCode::BAD_GATEWAY,
                    axum::Extension(ErrorMessage::new("=2+3")),
                    "bad gateway",
                )
            }),
        )
        .merge(sightline.router())
        .layer(sightline.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = app
        .with_state(())
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (sightline, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_whole_and_guard_formulas() {
    let dir = TempDir::new("edges-export");
    let (sightline, base) = spawn_formula_app(history_config(&dir)).await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let request = http.get(format!("{base}{path}"));
        async move { request.send().await.unwrap() }
    };
    assert_eq!(
        get("/formula".into()).await.status(),
        StatusCode::BAD_GATEWAY
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let errors: Value = get(format!("{API}/errors?range=5m"))
            .await
            .json()
            .await
            .unwrap();
        if errors["total"] == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never recorded: {errors}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let csv = get(format!("{API}/export?range=5m&dataset=errors&format=csv")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers().get("x-sightline-truncated").is_none());
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("time_ms,instance,method,route,path,status,latency_ms,bytes,message\r\n"),
        "{csv}"
    );
    assert!(csv.contains(",GET,/formula,/formula,502,"), "{csv}");
    assert!(csv.ends_with(",'=2+3\r\n"), "{csv}");

    let json = get(format!("{API}/export?range=5m&dataset=errors")).await;
    assert!(json.headers().get("x-sightline-truncated").is_none());
    let json: Value = json.json().await.unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json[0]["message"], "=2+3", "JSON keeps the text as it is");

    for dataset in ["endpoints", "system"] {
        let export = get(format!(
            "{API}/export?range=5m&dataset={dataset}&format=csv"
        ))
        .await;
        assert_eq!(export.status(), StatusCode::OK, "{dataset}");
        assert!(
            export.headers().get("x-sightline-truncated").is_none(),
            "{dataset}"
        );
    }
    tokio::task::spawn_blocking(move || sightline.shutdown())
        .await
        .unwrap();
}
