//! Embedding Sightline in your own axum app: add the layer, merge the dashboard's routes
//! at a path of your choosing, and serve as usual.
//!
//! ```sh
//! OPS_PASSWORD=change-me cargo run -p sightline --example embed
//! # open http://127.0.0.1:4000/ops/metrics (sign in as `ops`), then:
//! curl http://127.0.0.1:4000/orders/7
//! ```

use axum::{Json, Router, extract::Path, routing::get};
use serde_json::json;
use sightline::Config;
use sightline::{Access, Credentials, Password, Role, Sightline, User};

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
    // One admin from the environment; without it Sightline makes a password and logs it.
    let access = match std::env::var("OPS_PASSWORD") {
        Ok(password) => Access::Protected(Credentials {
            users: vec![User {
                name: "ops".into(),
                password: Password::Plain(password),
                role: Role::Admin,
            }],
            tokens: Vec::new(),
        }),
        Err(_) => Access::Generated,
    };
    Config {
        path: sightline::BasePath::parse("/ops/metrics").expect("a valid path"),
        exclude: vec!["/health".into()],
        access,
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
    // With connection info, failed sign-ins are limited per client address.
    let app = app(&sightline).with_state(());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}
