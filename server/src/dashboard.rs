//! The dashboard's HTTP side: server-rendered pages, the compiled assets, and the 404 page,
//! all mounted below the configured base path.

use axum::{
    Json, Router,
    http::{HeaderValue, Method, header},
    response::Redirect,
    routing::{any, get, post},
};
use leptos::{config::LeptosOptions, prelude::*};
use leptos_axum::{
    generate_route_list, render_app_to_stream_with_context, render_route_with_context,
};
use sightline_app::live::{InitialSnapshot, LiveConfig};
use sightline_app::{App, auth::Principal, shell};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

use crate::api::{self, HistoryState};
use crate::auth::{self, Auth};
use crate::live::sse::{self, LiveState};
use crate::{Config, site};

/// Every route the dashboard serves, as it is added: what the access tests walk through.
#[derive(Debug, Default)]
pub struct RouteList(pub Vec<(Method, String)>);

impl RouteList {
    /// Notes a route and gives its path back for `Router::route`.
    pub fn note(&mut self, methods: &[Method], path: String) -> String {
        for m in methods {
            self.0.push((m.clone(), path.clone()));
        }
        path
    }
}

pub(crate) fn router(
    config: &Config,
    options: LeptosOptions,
    live: LiveState,
    history: HistoryState,
    health: crate::health::HealthState,
    auth: std::sync::Arc<Auth>,
) -> (Router, RouteList) {
    let mut list = RouteList::default();
    let get_only = [Method::GET];
    let base = config.path.clone();
    let backend = sightline_app::api::Backend(std::sync::Arc::new(history.clone()));
    let generated = auth.generated_password.is_some();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let live_config = LiveConfig {
        snapshot_ms: millis(config.snapshot_interval),
        heartbeat_ms: millis(config.sse_heartbeat),
        retry_ms: millis(config.sse_retry),
        pause_hidden_ms: millis(config.live_pause_hidden),
    };
    let context = {
        let base = base.clone();
        let hub = live.hub.clone();
        let backend = backend.clone();
        move || {
            provide_context(base.clone());
            provide_context(backend.clone());
            provide_context(live_config);
            if generated {
                provide_context(sightline_app::auth::GeneratedPassword);
            }
            // The first paint shows the latest snapshot (no empty "waiting" state), but only
            // to someone signed in: the login page carries no figure at all.
            let parts = use_context::<http::request::Parts>();
            let signed_in = parts
                .as_ref()
                .is_some_and(|parts| parts.extensions.get::<Principal>().is_some());
            // In a cluster, `?instance=` narrows the page to one instance.
            let instance = parts.as_ref().and_then(|p| instance_param(p.uri.query()?));
            if let Some(latest) = hub.latest_for(instance.as_deref()).filter(|_| signed_in) {
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
    // Exactly Sightline's own server functions: not a catch-all, which would also run an
    // embedding app's server functions (they share one registry) below this base path.
    let mut functions = Router::new();
    for path in sightline_app::api::paths() {
        list.note(&[Method::POST], base.join(path));
        functions = functions.route(path, post(server_fns.clone()));
    }
    let sign_in = Router::new()
        .route(
            &list.note(&[Method::POST], base.join("/api/login")),
            post(auth::login),
        )
        .route(
            &list.note(&[Method::POST], base.join("/api/logout")),
            post(auth::logout),
        )
        .with_state(auth.clone());
    let probe = Router::new()
        .route(
            &list.note(&get_only, base.join("/api/health")),
            get(crate::health::health),
        )
        .with_state(health);
    let api = Router::new()
        .route(
            &list.note(&get_only, base.join("/api/sse")),
            get(sse::stream),
        )
        .route(
            &list.note(&get_only, base.join("/api/snapshot")),
            get(sse::snapshot),
        )
        .route(
            &list.note(&[Method::POST], base.join("/api/events")),
            post(sse::publish),
        )
        .route(
            &list.note(&[Method::POST], base.join("/api/send")),
            post(sse::publish),
        )
        .route(
            &list.note(&get_only, base.join("/api/{*rest}")),
            any(api_not_found),
        )
        .with_state(live)
        .merge(api::router(history, &base, &mut list))
        .merge(sign_in)
        .merge(probe)
        // Server functions look themselves up by path: nesting strips the base path.
        .nest(base.as_str(), functions);
    // The app's pages, each rendered in its own SSR mode. Not `leptos_routes_with_context`:
    // it also mounts every server function at the site root, outside the base path (where
    // an embedding app's own `/api/fn/...` would collide with them).
    let page = render_route_with_context(routes.clone(), context.clone(), render_shell.clone());
    let mut pages = Router::<LeptosOptions>::new();
    for route in &routes {
        pages = pages.route(
            &list.note(&get_only, route.path().to_owned()),
            get(page.clone()),
        );
    }
    let pages = pages
        .route(
            &list.note(&get_only, base.join("/")),
            get(move || async move { slash_redirect }),
        )
        .route(
            &list.note(&get_only, base.join("/{*rest}")),
            get(render_app_to_stream_with_context(context, render_shell)),
        )
        // Pages carry live figures: never kept by a shared cache. Their HTML (the first
        // snapshot inlined) shrinks several times over; the site's files, added after
        // this, carry their own compressed copies.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ))
        .layer(CompressionLayer::new().gzip(true).br(true));
    let pages = site_routes(pages, config, &base, &mut list)
        .with_state(options)
        .merge(api)
        // On every route (and every method of it), but not on the fallback: a request
        // outside the dashboard belongs to the embedding app, which answers it as it likes.
        .route_layer(axum::middleware::from_fn_with_state(auth, auth::guard));
    (pages, list)
}

/// The compiled site: embedded, or from `Config::site_root` during development.
fn site_routes(
    pages: Router<LeptosOptions>,
    config: &Config,
    base: &sightline_app::BasePath,
    list: &mut RouteList,
) -> Router<LeptosOptions> {
    let get_only = [Method::GET];
    let pkg = list.note(&get_only, base.join("/pkg/{*file}"));
    let favicon = list.note(&get_only, base.join("/favicon.svg"));
    let Some(root) = &config.site_root else {
        return pages
            .route(&pkg, get(site::pkg))
            .route(&favicon, get(site::favicon));
    };
    // cargo-leptos `--precompress` leaves .br/.gz beside each file; anything else is
    // compressed on the fly. `no-cache` revalidates with Last-Modified after each build.
    let assets = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .service(
            ServeDir::new(root.join("pkg"))
                .precompressed_br()
                .precompressed_gzip(),
        );
    pages
        .nest_service(&base.join("/pkg"), assets)
        .route_service(&favicon, ServeFile::new(root.join("favicon.svg")))
}

async fn api_not_found(uri: axum::http::Uri) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    (
        axum::http::StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": format!("no API endpoint at {}", uri.path()) })),
    )
}

/// The `instance` query parameter, if any and not empty.
fn instance_param(query: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, v)| k == "instance" && !v.is_empty())
        .map(|(_, v)| v)
}
