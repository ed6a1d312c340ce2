//! The dashboard's HTTP side: server-rendered pages, the compiled assets, and the 404 page,
//! all mounted below the configured base path.

use axum::{
    Json, Router,
    http::{HeaderValue, header},
    response::Redirect,
    routing::{any, get},
};
use leptos::{config::LeptosOptions, prelude::*};
use leptos_axum::{LeptosRoutes, generate_route_list, render_app_to_stream_with_context};
use sightline_app::{App, live::InitialSnapshot, shell};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

use crate::Config;
use crate::api::{self, HistoryState};
use crate::live::sse::{self, LiveState};

pub(crate) fn router(
    config: &Config,
    options: LeptosOptions,
    live: LiveState,
    history: HistoryState,
) -> Router {
    let base = config.path.clone();
    let backend = sightline_app::api::Backend(std::sync::Arc::new(history.clone()));
    let context = {
        let base = base.clone();
        let hub = live.hub.clone();
        let backend = backend.clone();
        move || {
            provide_context(base.clone());
            provide_context(backend.clone());
            // The first paint shows the latest snapshot: no empty "waiting" state.
            if let Some(latest) = hub.latest() {
                provide_context(InitialSnapshot {
                    snapshot: latest.snapshot.clone(),
                    json: latest.json.clone(),
                });
            }
        }
    };
    let routes = generate_route_list({
        let context = context.clone();
        move || {
            context();
            view! { <App/> }
        }
    });
    let render_shell = {
        let options = options.clone();
        move || shell(options.clone())
    };

    let pkg_dir = config.site_root.join(options.site_pkg_dir.as_ref());
    // cargo-leptos `--precompress` leaves .br/.gz beside each file; anything else is
    // compressed on the fly. `no-cache` revalidates with Last-Modified after each build.
    let assets = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .service(
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        );
    let favicon = ServeFile::new(config.site_root.join("favicon.svg"));

    let slash_redirect = Redirect::permanent(base.as_str());
    let server_fns = {
        let backend = backend.clone();
        let base = base.clone();
        move |req: axum::extract::Request| {
            let (backend, base) = (backend.clone(), base.clone());
            leptos_axum::handle_server_fns_with_context(
                move || {
                    provide_context(base.clone());
                    provide_context(backend.clone());
                },
                req,
            )
        }
    };
    let api = Router::new()
        .route(&base.join("/api/sse"), get(sse::stream))
        .route(&base.join("/api/snapshot"), get(sse::snapshot))
        .route(&base.join("/api/{*rest}"), any(api_not_found))
        .with_state(live)
        .merge(api::router(history, &base))
        // Server functions look themselves up by path: nesting strips the base path.
        .nest(
            base.as_str(),
            Router::new().route("/api/fn/{*name}", any(server_fns)),
        );
    Router::<LeptosOptions>::new()
        .leptos_routes_with_context(&options, routes, context.clone(), render_shell.clone())
        .nest_service(&base.join("/pkg"), assets)
        .route_service(&base.join("/favicon.svg"), favicon)
        .route(&base.join("/"), get(move || async move { slash_redirect }))
        .route(
            &base.join("/{*rest}"),
            get(render_app_to_stream_with_context(context, render_shell)),
        )
        .with_state(options)
        .merge(api)
}

async fn api_not_found(uri: axum::http::Uri) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    (
        axum::http::StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": format!("no API endpoint at {}", uri.path()) })),
    )
}
