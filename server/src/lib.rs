//! Sightline: a live monitoring dashboard for axum services.
//!
//! Add the dashboard to an app by merging [`Sightline::router`] into its router:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let sightline = sightline::Sightline::new(sightline::Config::default())?;
//! let app = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .merge(sightline.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

pub mod config;
mod dashboard;

use std::sync::Arc;

pub use config::Config;

/// A configured Sightline instance; cheap to clone.
#[derive(Clone, Debug)]
pub struct Sightline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    leptos: leptos::config::LeptosOptions,
}

/// Why Sightline could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading the Leptos settings from the environment: {0}")]
    Leptos(#[from] leptos::config::errors::LeptosConfigError),
}

impl Sightline {
    pub fn new(config: Config) -> Result<Self, Error> {
        let mut leptos = leptos::config::get_configuration(None)?.leptos_options;
        leptos.site_root = config.site_root.to_string_lossy().as_ref().into();
        Ok(Self {
            inner: Arc::new(Inner { config, leptos }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The dashboard's routes, all below the configured path; merge it into your router.
    pub fn router(&self) -> axum::Router {
        dashboard::router(&self.inner.config, self.inner.leptos.clone())
    }
}
