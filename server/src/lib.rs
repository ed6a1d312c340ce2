//! Sightline: a live monitoring dashboard for axum services.
//!
//! One layer records every request; the dashboard and its API are routes you merge into
//! your app. Data flows one way:
//! request -> [`MetricsLayer`] -> recorder -> window -> snapshot -> hub -> SSE -> browser.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! # async fn run() -> anyhow::Result<()> {
//! // Inside a tokio runtime: start() spawns the sampling and snapshot loop.
//! let sightline = sightline::Sightline::builder().path("/ops/metrics").start()?;
//! let app = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .merge(sightline.router())
//!     .layer(sightline.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! // Connection info lets the sign-in limit count per client address.
//! let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

mod api;
pub mod auth;
mod builder;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
mod dashboard;
mod health;
pub mod live;
pub mod metrics;
pub mod proxy;
pub mod runtime;
pub mod sampler;
mod site;
pub mod store;
mod ticker;
pub mod tls;

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use auth::{Access, ApiToken, AuthError, Credentials, Password, Principal, Role, User};
pub use builder::Builder;
pub use config::{Config, DatabaseUrl};
pub use live::events::EventError;
pub use live::logs::LogLayer;
pub use metrics::details::ErrorMessage;
pub use metrics::layer::MetricsLayer;
pub use sightline_app::base::{BasePath, InvalidBasePath};
pub use sightline_app::snapshot::DashboardSnapshot;

use live::hub::Hub;
use metrics::recorder::Recorder;
use sightline_app::history::Settings;
use sightline_app::snapshot::ServerInfo;
use store::Store;

// The README's code blocks (its embedding section above all) compile as doctests.
#[cfg(all(doctest, readme_doctests))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The `tracing` target of the generated-password notice, which the log forwarder skips.
pub const CREDENTIALS_TARGET: &str = "sightline::credentials";

/// A running Sightline; cheap to clone. The sampling thread stops with the last clone.
#[derive(Clone, Debug)]
pub struct Sightline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    leptos: leptos::config::LeptosOptions,
    recorder: Arc<Recorder>,
    hub: Arc<Hub>,
    store: Option<Arc<Store>>,
    auth: Arc<auth::Auth>,
    info: ServerInfo,
    /// Sending (or dropping) it stops the ticker thread, which then writes the window in
    /// progress to history.
    stop_ticker: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    ticker: Mutex<Option<std::thread::JoinHandle<()>>>,
    cluster: Option<Arc<cluster::Cluster>>,
    /// Stopped after the ticker, which hands it states.
    link: Mutex<Option<cluster::LinkHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn stop(&self) {
        drop(
            self.stop_ticker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        if let Some(thread) = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
        drop(self.link.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

/// Why Sightline could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Path(#[from] InvalidBasePath),
    #[error("Sightline::start must be called inside a tokio runtime")]
    NoRuntime,
    #[error("starting the sampling thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("access control: {0}")]
    Auth(#[from] auth::AuthError),
    #[error("{0}")]
    Config(String),
    #[error("cluster: {0}")]
    Cluster(#[from] cluster::InvalidRedisUrl),
    #[error("opening the history database {location}: {source}")]
    Store {
        location: String,
        source: store::StoreError,
    },
}

impl Sightline {
    /// Settings one call at a time: `Sightline::builder().path("/ops/metrics").start()?`.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts sampling and publishing snapshots (on a thread of its own). Call it inside
    /// the tokio runtime that serves the app: that is the runtime whose lag it reports.
    pub fn start(config: Config) -> Result<Self, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        // Built here rather than read from cargo-leptos' variables, which an embedding
        // app's build does not set; the reload port matters only under `cargo leptos watch`.
        let reload_port = std::env::var("LEPTOS_RELOAD_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(3001);
        let leptos = leptos::config::LeptosOptions::builder()
            .output_name(sightline_app::hydration::SITE_NAME)
            .site_root(
                config
                    .site_root
                    .as_deref()
                    .map_or_else(|| "site".into(), |p| p.to_string_lossy()),
            )
            .site_pkg_dir("pkg")
            .reload_port(reload_port)
            .build();

        let auth = Arc::new(auth::Auth::new(
            &config.access,
            config.path.clone(),
            auth::AuthOptions {
                session_ttl: config.session_ttl,
                trusted_header: config.trusted_proxy_header.clone(),
                secure_cookies: config.secure_cookies,
            },
        )?);
        if let Some(password) = &auth.generated_password {
            // To standard error as well: an app without a tracing subscriber still shows it.
            // Never to the live log stream (see `live::logs`).
            let notice = format!(
                "Sightline: no credentials configured: sign in to the dashboard at {} as `admin` with password {password} (to choose your own, configure users: SIGHTLINE_USERNAME and SIGHTLINE_PASSWORD for the sightline binary, Builder::user or Config::access in an app)",
                config.path.join("/login")
            );
            eprintln!("{notice}");
            tracing::warn!(target: CREDENTIALS_TARGET, "{notice}");
        }
        let recorder = Arc::new(Recorder::new(config.max_routes));
        let store = open_store(&config, recorder.details)?.map(Arc::new);
        // Alone, ids count from the start in milliseconds. In a cluster, this instance's
        // own ids (events sent while Redis is away) also take ten random bits, so two
        // instances started in the same millisecond do not share them.
        let first_id = match &config.cluster {
            None => clock::now_ms(),
            Some(_) => {
                let mut bits = [0u8; 2];
                let _ = getrandom::fill(&mut bits);
                clock::now_ms() * 1024 + u64::from(u16::from_le_bytes(bits) & 1023)
            }
        };
        let hub = Hub::with_replay(
            config.sse_max_connections,
            config.sse_replay,
            first_id.max(1),
        );
        let started = Instant::now();
        let info = server_info(&config);
        let (cluster, link) = match &config.cluster {
            None => (None, None),
            Some(settings) => {
                let identity = cluster::wire::Identity {
                    id: info.instance_id.clone(),
                    run: info.run_id.clone(),
                    host: sysinfo::System::host_name().unwrap_or_default(),
                    version: info.version.clone(),
                    pid: info.pid,
                    started_at_ms: info.started_at_ms,
                };
                let (cluster, link) = cluster::Cluster::start(
                    settings.clone(),
                    identity,
                    hub.clone(),
                    config.sse_replay,
                )?;
                (Some(cluster), Some(link))
            }
        };
        let ticker = ticker::Ticker {
            runtime,
            config: config.clone(),
            recorder: recorder.clone(),
            hub: hub.clone(),
            info: info.clone(),
            started,
            store: store.clone(),
            cluster: cluster.clone(),
        };
        let (stop_ticker, stop) = tokio::sync::oneshot::channel();
        let ticker = ticker.spawn(stop)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                leptos,
                recorder,
                hub,
                store,
                auth,
                info,
                stop_ticker: Mutex::new(Some(stop_ticker)),
                ticker: Mutex::new(Some(ticker)),
                cluster,
                link: Mutex::new(link),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The middleware that records requests. Add it last (outermost) so it times the whole
    /// request; the dashboard's own path and `Config::exclude` are skipped.
    pub fn layer(&self) -> MetricsLayer {
        let mut excluded = self.inner.config.exclude.clone();
        excluded.push(self.inner.config.path.as_str().to_owned());
        MetricsLayer::new(self.inner.recorder.clone(), excluded)
    }

    /// The dashboard, its assets and its API, all below the configured path, behind the
    /// access control.
    pub fn router(&self) -> axum::Router {
        self.build_router().0
    }

    /// Every route [`Sightline::router`] serves, by method and path pattern.
    pub fn routes(&self) -> Vec<(http::Method, String)> {
        self.build_router().1.0
    }

    /// The admin password made at start when no credentials were configured.
    pub fn generated_password(&self) -> Option<&str> {
        self.inner.auth.generated_password.as_deref()
    }

    /// Sends a custom event to every live client (`event: <event>`, `data:` the JSON of
    /// `data`). Returns its id; `None` in a cluster, which numbers it when it arrives
    /// (every instance's clients then get it with the same id).
    pub fn broadcast(
        &self,
        event: &str,
        data: &impl serde::Serialize,
    ) -> Result<Option<u64>, EventError> {
        self.broadcast_to(None, event, data)
    }

    /// The same on a channel: clients that asked for other channels do not get it.
    pub fn broadcast_to(
        &self,
        channel: Option<&str>,
        event: &str,
        data: &impl serde::Serialize,
    ) -> Result<Option<u64>, EventError> {
        let e = live::events::check(event, channel, data)?;
        Ok(self.inner.hub.send(e))
    }

    /// A `tracing` layer that forwards events at `level` or more severe to live clients as
    /// `event: log` on channel `log`.
    pub fn log_layer(&self, level: tracing::Level) -> LogLayer {
        LogLayer {
            hub: self.inner.hub.clone(),
            level,
        }
    }

    fn build_router(&self) -> (axum::Router, dashboard::RouteList) {
        let live = live::sse::LiveState {
            hub: self.inner.hub.clone(),
            retry_ms: self.inner.config.sse_retry.as_millis() as u64,
        };
        let history = api::HistoryState {
            store: self.inner.store.clone(),
            version: self.inner.info.version.clone(),
        };
        let health = health::HealthState {
            cluster: self.inner.cluster.clone(),
            store: self.inner.store.clone(),
        };
        dashboard::router(
            &self.inner.config,
            self.inner.leptos.clone(),
            live,
            history,
            health,
            self.inner.auth.clone(),
        )
    }

    /// The history database, unless `Config::db_path` is `None`.
    pub fn store(&self) -> Option<&Arc<Store>> {
        self.inner.store.as_ref()
    }

    /// Stops sampling and writes the window in progress to history; blocks until done
    /// (a few milliseconds). Requests that end afterwards are not recorded.
    ///
    /// Embedders: call it after `axum::serve(...).with_graceful_shutdown(...)` returns
    /// (on the blocking pool, e.g. `tokio::task::spawn_blocking`), not from the shutdown
    /// signal: requests that finish while the server drains are then recorded and
    /// written too. The last clone dropped does the same.
    pub fn shutdown(&self) {
        self.inner.stop();
    }

    /// The snapshot most recently pushed to dashboards.
    pub fn latest_snapshot(&self) -> Option<DashboardSnapshot> {
        self.inner.hub.latest().map(|l| l.snapshot.clone())
    }
}

fn server_info(config: &Config) -> ServerInfo {
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u128(clock::now_ms() as u128 ^ u128::from(std::process::id()));
    ServerInfo {
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        rustc: env!("SIGHTLINE_RUSTC").into(),
        target: env!("SIGHTLINE_TARGET").into(),
        pid: std::process::id(),
        instance_id: config.instance_id.clone(),
        run_id: format!("{:016x}", hasher.finish()),
        started_at_ms: clock::now_ms(),
        sse_connections: 0,
        snapshot_interval_ms: u64::try_from(config.snapshot_interval.as_millis())
            .unwrap_or(u64::MAX),
    }
}

/// The history store the configuration asks for: PostgreSQL, SQLite or none.
fn open_store(
    config: &Config,
    details: &'static metrics::details::Details,
) -> Result<Option<Store>, Error> {
    let database = match (&config.database_url, &config.db_path) {
        (Some(url), _) => store::Database::Postgres(Box::new(
            store::postgres::Target::parse(url.as_str()).map_err(Error::Config)?,
        )),
        (None, Some(path)) => store::Database::Sqlite(path.clone()),
        (None, None) => return Ok(None),
    };
    let location = match &database {
        store::Database::Sqlite(path) => path.display().to_string(),
        store::Database::Postgres(target) => target.shown().to_owned(),
    };
    let options = store::Options {
        database,
        instance: config.instance_id.clone(),
        defaults: Settings {
            retention_days: config.retention_days,
            slow_threshold_ms: config.slow_threshold_ms,
        },
        wait_for_database: config.wait_for_database,
    };
    Store::open(&options, details)
        .map(Some)
        .map_err(|source| Error::Store { location, source })
}
