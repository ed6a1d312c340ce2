//! Embedding Sightline in your own axum app: add the layer, merge the dashboard's routes
//! at a path of your choosing, and serve as usual.
//!
//! ```sh
//! cargo leptos build --release          # once: compiles the dashboard's site
//! cargo run -p sightline --example embed
//! # open http://127.0.0.1:4000/ops/metrics, then: curl http://127.0.0.1:4000/orders/7
//! ```

use axum::{Json, Router, extract::Path, routing::get};
use serde_json::json;
use sightline::{Config, Sightline};

/// The shop's own routes: Sightline knows nothing about them.
fn shop() -> Router {
    Router::new()
        .route("/", get(|| async { "welcome to the shop" }))
        .route(
            "/orders/{id}",
            get(|Path(id): Path<u64>| async move { Json(json!({ "order": id })) }),
        )
        .route("/health", get(|| async { "ok" }))
}

/// The shop with Sightline: metrics for every route, the dashboard under `/ops/metrics`,
/// health checks left out of the numbers.
pub fn app(sightline: &Sightline) -> Router {
    shop().merge(sightline.router()).layer(sightline.layer())
}

pub fn config() -> Config {
    Config {
        path: sightline_app::BasePath::parse("/ops/metrics").expect("a valid path"),
        exclude: vec!["/health".into()],
        ..Config::default()
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sightline = Sightline::start(config())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
    println!("shop on http://127.0.0.1:4000, dashboard on http://127.0.0.1:4000/ops/metrics");
    // Finalised once, so axum does not rebuild the route table for every connection.
    axum::serve(listener, app(&sightline).with_state(()).into_make_service()).await?;
    Ok(())
}
