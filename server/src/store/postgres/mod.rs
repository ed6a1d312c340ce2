//! The shared backend: PostgreSQL, for several instances of one service. Every table lives
//! in the `sightline` schema, so the database can be the service's own.
//!
//! The client is async (tokio-postgres, pooled by deadpool-postgres) and runs on a small
//! runtime of its own: the writer thread and the queries (on the blocking pool) wait on it,
//! so the app's async workers never do. Every call is bounded by [`CALL_TIMEOUT`].

pub mod read;
pub mod schema;
pub mod write;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use sightline_app::history::Settings;
use tokio_postgres::config::{Host, SslMode};

use super::StoreError;
use super::reader::Reader;
use read::PgReader;

/// Connections open at most, per instance.
pub const MAX_CONNECTIONS: usize = 4;
/// The longest any one database call may take before it counts as failed.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The schema holding Sightline's tables.
pub const SCHEMA: &str = "sightline";

/// A parsed `postgres://` URL.
#[derive(Clone)]
pub struct Target {
    config: tokio_postgres::Config,
    /// Host, port and database, for messages (never the password).
    shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Target {
    /// Parses `postgres://user:password@host:port/database?sslmode=require` (or the
    /// `key=value` form). TLS is used when `sslmode=require`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("sightline");
        // Sightline's tables live in their own schema, whatever the URL's options say.
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -c search_path={SCHEMA}"),
            _ => format!("-c search_path={SCHEMA}"),
        };
        config.options(options);
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
            .map(|(host, port)| match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            })
            .collect();
        let shown = format!(
            "postgres://{}/{}",
            hosts.join(","),
            config.get_dbname().or(config.get_user()).unwrap_or("")
        );
        Ok(Self { config, shown })
    }

    /// `postgres://host:port/database`, without credentials.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// The pool and the runtime it runs on.
pub struct Db {
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    shown: String,
    /// Whether the schema is known to be up to date (it is migrated on first contact).
    migrated: AtomicBool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("target", &self.shown).finish()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Dropping may happen on an async worker, where a blocking shutdown would panic.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(
            "sslmode=require, but no trusted certificates were found on this system".into(),
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl Db {
    pub fn new(target: &Target) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sightline-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(format!("starting its runtime: {e}")))?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if target.config.get_ssl_mode() == SslMode::Require {
            let tls = tls_connector().map_err(StoreError::Postgres)?;
            Manager::from_config(target.config.clone(), tls, manager_config)
        } else {
            let mut config = target.config.clone();
            config.ssl_mode(SslMode::Disable);
            Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Postgres(e.to_string()))?;
        Ok(Self {
            runtime: Some(runtime),
            pool,
            shown: target.shown.clone(),
            migrated: AtomicBool::new(false),
        })
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `fut` on the database runtime and waits for it, at most [`CALL_TIMEOUT`]. Call
    /// it from a thread that may block (the writer, the blocking pool), never from an async
    /// worker.
    pub fn call<T>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives as long as the pool");
        runtime.handle().block_on(async {
            tokio::time::timeout(CALL_TIMEOUT, fut)
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Postgres(format!(
                        "no answer within {} s",
                        CALL_TIMEOUT.as_secs()
                    )))
                })
        })
    }

    /// A pooled connection, the schema brought up to date first if it was not yet.
    pub async fn client(&self) -> Result<Object, StoreError> {
        let mut client = self.pool.get().await.map_err(|e| {
            StoreError::Postgres(format!("connecting to {}: {}", self.shown, pool_error(&e)))
        })?;
        if !self.migrated.load(Ordering::Acquire) {
            schema::migrate(&mut client).await?;
            self.migrated.store(true, Ordering::Release);
        }
        Ok(client)
    }
}

/// The root cause of a pool error (the connection error, not "backend error").
fn pool_error(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => postgres_error(e),
        other => other.to_string(),
    }
}

/// A PostgreSQL error with its cause: tokio-postgres' own text is often just "db error".
pub fn postgres_error(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Postgres(postgres_error(&e))
    }
}

/// The shared backend's reader side; the writer's sink is [`write::PgSink`].
#[derive(Debug)]
pub struct Postgres {
    pub db: Arc<Db>,
}

impl Postgres {
    /// Connects and migrates. With `wait`, an unreachable database is not an error: the
    /// writer keeps trying, and queries answer that history is unavailable until then.
    pub fn open(
        target: &Target,
        instance: &str,
        run: &str,
        wait: bool,
    ) -> Result<(Self, write::PgSink), StoreError> {
        let db = Arc::new(Db::new(target)?);
        match db.call(async { db.client().await.map(drop) }) {
            Ok(()) => {}
            Err(e) if wait => {
                tracing::warn!(database = %db.shown, error = %e, "history database unreachable; history starts when it answers");
            }
            Err(e) => return Err(e),
        }
        let sink = write::PgSink::new(db.clone(), instance, run);
        Ok((Self { db }, sink))
    }

    pub fn reader<T>(
        &self,
        f: impl FnOnce(&dyn Reader) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let client = self.db.call(self.db.client())?;
        f(&PgReader {
            db: &self.db,
            client,
        })
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        self.db.call(async {
            let mut client = self.db.client().await?;
            let tx = client.transaction().await?;
            for (key, value) in super::sqlite::settings_rows(settings) {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Bytes the schema's tables and indexes take.
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        self.db.call(async {
            let client = self.db.client().await?;
            let row = client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relkind = 'r'",
                    &[&SCHEMA],
                )
                .await?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }
}
