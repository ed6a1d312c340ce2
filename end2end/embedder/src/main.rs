//! A shop with a Sightline dashboard at `/ops/metrics`.
//!
//! Listens on `EMBEDDER_ADDR` (default 127.0.0.1:4000). No credentials are configured, so
//! Sightline makes an admin password and prints it to standard error.

use axum::{Router, extract::Path, routing::get};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sightline = sightline::Sightline::builder()
        .path("/ops/metrics")
        .start()?;
    let app = Router::new()
        .route("/", get(|| async { "welcome to the shop" }))
        .route(
            "/orders/{id}",
            get(|Path(id): Path<u64>| async move { format!("order {id}") }),
        )
        .merge(sightline.router())
        .layer(sightline.layer());

    let addr = std::env::var("EMBEDDER_ADDR").unwrap_or_else(|_| "127.0.0.1:4000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("shop on http://{addr}, dashboard on http://{addr}/ops/metrics");
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
