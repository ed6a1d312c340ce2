//! The dashboard's HTTP side: server-rendered pages, the compiled assets, and the 404 page,
//! all mounted below the configured base path.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::Redirect,
    routing::get,
};
use leptos::{config::LeptosOptions, prelude::*};
use leptos_axum::{LeptosRoutes, generate_route_list, render_app_to_stream_with_context};
use sightline_app::{App, shell};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

use crate::Config;

pub(crate) fn router(config: &Config, options: LeptosOptions) -> Router {
    let base = config.path.clone();
    let context = {
        let base = base.clone();
        move || provide_context(base.clone())
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
}
