//! History: windows, samples and notable requests, in an embedded SQLite file or in a
//! PostgreSQL database that several instances share.
//!
//! window -> [`writer`] (own thread) -> backend ([`sqlite`] | [`postgres`]) <- [`reader`]
//! primitives <- [`query`] (on the blocking pool) <- REST API and server functions. What
//! goes wrong on the way is counted in [`health`].

pub mod codec;
pub mod health;
pub mod postgres;
pub mod query;
pub mod reader;
pub mod recent;
pub mod records;
pub mod samples;
pub mod skipped;
pub mod sqlite;
pub mod stored_window;
pub mod tiers;
pub mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use sightline_app::history::{HistoryError, Settings, SettingsUpdate};

use crate::metrics::details::Details;
use reader::Reader;
use writer::{Message, Sink, WindowBatch, Writer};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("stored data: {0}")]
    Decode(#[from] codec::DecodeError),
    #[error("{0}")]
    Param(#[from] sightline_app::history::ParamError),
}

impl From<StoreError> for HistoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Param(p) => HistoryError::Param(p),
            other => HistoryError::Unavailable(other.to_string()),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where history is kept.
#[derive(Clone, Debug)]
pub enum Database {
    /// An embedded SQLite file (one instance).
    Sqlite(PathBuf),
    /// A PostgreSQL database several instances share.
    Postgres(Box<postgres::Target>),
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct Options {
    pub database: Database,
    /// This instance's id: every row it writes carries it.
    pub instance: String,
    /// Settings until the database says otherwise.
    pub defaults: Settings,
    /// PostgreSQL unreachable at start: start anyway and keep trying (else an error).
    pub wait_for_database: bool,
}

impl Options {
    pub fn sqlite(path: impl Into<PathBuf>, defaults: Settings) -> Self {
        Self {
            database: Database::Sqlite(path.into()),
            instance: crate::config::default_instance_id(),
            defaults,
            wait_for_database: false,
        }
    }
}

/// State the writer and the readers share.
#[derive(Debug)]
pub struct Shared {
    settings: Mutex<Settings>,
    details: &'static Details,
    write_error: Mutex<Option<String>>,
    /// When a write last failed (ms since the epoch), 0 if none has.
    last_write_error_ms: AtomicU64,
    lost_windows: AtomicU64,
    /// Windows waiting for a write the database refused to be retried.
    queued_windows: AtomicU64,
    records_capped: AtomicU64,
    rows_skipped: AtomicU64,
    /// Ids of the instances with stored history, as the writer last read them.
    known_instances: Mutex<Vec<String>>,
}

impl Shared {
    fn set_known_instances(&self, ids: Vec<String>) {
        *lock(&self.known_instances) = ids;
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Takes settings that were changed (here or by another instance) into use.
    fn apply_settings(&self, settings: Settings) {
        self.details
            .set_slow_threshold_ms(settings.slow_threshold_ms);
        *lock(&self.settings) = settings;
    }

    fn set_write_error(&self, error: Option<String>) {
        if error.is_some() {
            self.last_write_error_ms
                .store(crate::clock::now_ms(), Ordering::Relaxed);
        }
        *lock(&self.write_error) = error;
    }

    fn set_queued_windows(&self, n: u64) {
        self.queued_windows.store(n, Ordering::Relaxed);
    }

    fn note_lost_window(&self) {
        self.lost_windows.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// The history store: one writer thread, readers on demand.
#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    sender: Mutex<Option<Sender<Message>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    backend: Backend,
    details: &'static Details,
}

/// A random id for this run of the process: a writer's marks are per run.
fn run_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    format!("{:016x}", u64::from_le_bytes(bytes))
}

type Opened = (Backend, Box<dyn Sink>, Settings);

/// The backend, the writer's sink, and the settings to start with.
fn open_backend(options: &Options, run: &str) -> Result<Opened, StoreError> {
    let (backend, mut sink): (Backend, Box<dyn Sink>) = match &options.database {
        Database::Sqlite(path) => {
            let (sqlite, sink) = sqlite::Sqlite::open(path, &options.instance, run)?;
            (Backend::Sqlite(sqlite), Box::new(sink))
        }
        Database::Postgres(target) => {
            let (pg, sink) = postgres::Postgres::open(
                target,
                &options.instance,
                run,
                options.wait_for_database,
            )?;
            (Backend::Postgres(pg), Box::new(sink))
        }
    };
    let settings = match sink.settings(&options.defaults) {
        Ok(settings) => settings,
        // Only when waiting for PostgreSQL: the writer reads them once it answers.
        Err(_) => options.defaults.clone(),
    };
    Ok((backend, sink, settings))
}

impl Store {
    /// Opens (creating and migrating) the database and starts the writer. Persisted
    /// settings win over the defaults.
    pub fn open(options: &Options, details: &'static Details) -> Result<Self, StoreError> {
        let run = run_id();
        // Sightline may be started on an async worker, where waiting on the database's
        // runtime is not allowed: opening runs on a thread of its own.
        let (backend, sink, settings) = std::thread::scope(|s| {
            s.spawn(|| open_backend(options, &run))
                .join()
                .unwrap_or_else(|_| Err(StoreError::Postgres("opening panicked".into())))
        })?;
        details.set_slow_threshold_ms(settings.slow_threshold_ms);
        let shared = Arc::new(Shared {
            settings: Mutex::new(settings),
            details,
            write_error: Mutex::new(None),
            last_write_error_ms: AtomicU64::new(0),
            lost_windows: AtomicU64::new(0),
            queued_windows: AtomicU64::new(0),
            records_capped: AtomicU64::new(0),
            rows_skipped: AtomicU64::new(0),
            known_instances: Mutex::new(Vec::new()),
        });
        let (sender, messages) = channel();
        let writer = Writer {
            sink,
            shared: shared.clone(),
            messages,
            details: details.connect(),
            quota: records::Quota::default(),
        };
        let thread = std::thread::Builder::new()
            .name("sightline-history".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Postgres(format!("starting the writer: {e}")))?;
        Ok(Self {
            shared,
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            backend,
            details,
        })
    }

    /// `sqlite` or `postgresql`.
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }

    /// The SQLite file, or the PostgreSQL server and database (no credentials).
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(s) => s.path().display().to_string(),
            Backend::Postgres(p) => p.db.shown().to_owned(),
        }
    }

    /// Queues a finished window; never blocks.
    pub fn write(&self, batch: WindowBatch) {
        if let Some(sender) = lock(&self.sender).as_ref() {
            let _ = sender.send(Message::Window(Box::new(batch)));
        }
    }

    /// Waits until everything queued so far was written (or failed to be).
    pub fn flush(&self) {
        let (done, wait) = channel();
        let sent = lock(&self.sender)
            .as_ref()
            .is_some_and(|s| s.send(Message::Flush(done)).is_ok());
        if sent {
            let _ = wait.recv();
        }
    }

    /// Prunes now, on the writer thread, as if the clock read `now_ms`: the rows deleted,
    /// or `None` when another instance was pruning (blocking).
    pub fn prune(&self, now_ms: u64, retention_ms: u64) -> Result<Option<u64>, String> {
        let (done, wait) = channel();
        let sent = lock(&self.sender).as_ref().is_some_and(|s| {
            s.send(Message::Prune {
                now_ms,
                retention_ms,
                done,
            })
            .is_ok()
        });
        if !sent {
            return Err("the store is closed".into());
        }
        wait.recv().map_err(|e| e.to_string())?
    }

    /// Writes what is queued and stops the writer; later writes are ignored.
    pub fn close(&self) {
        if let Some(sender) = lock(&self.sender).take() {
            let _ = sender.send(Message::Stop);
        }
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }

    pub fn settings(&self) -> Settings {
        self.shared.settings()
    }

    /// Ids of the instances with stored history (read every few seconds; never waits).
    pub fn known_instances(&self) -> Vec<String> {
        lock(&self.shared.known_instances).clone()
    }

    /// The last write error, if the latest write failed.
    pub fn write_error(&self) -> Option<String> {
        lock(&self.shared.write_error).clone()
    }

    /// Validates, persists and applies a settings change (blocking).
    pub fn update_settings(&self, update: &SettingsUpdate) -> Result<Settings, HistoryError> {
        let current = self.shared.settings();
        let next = update.apply(&current)?;
        match &self.backend {
            Backend::Sqlite(s) => s.save_settings(&next)?,
            Backend::Postgres(p) => p.save_settings(&next)?,
        }
        self.shared.apply_settings(next.clone());
        Ok(next)
    }

    /// Runs `f` on a reader (blocking: call it from the blocking pool).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&dyn Reader) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = match &self.backend {
            Backend::Sqlite(s) => s.reader(f),
            Backend::Postgres(p) => p.reader(f),
        };
        self.shared.note_skipped(skipped::take_skipped());
        result
    }

    /// Runs `f` on a SQLite read connection; `None` on PostgreSQL.
    pub fn sqlite<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        match &self.backend {
            Backend::Sqlite(s) => Some(s.read(f)),
            Backend::Postgres(_) => None,
        }
    }

    /// Bytes the database takes (blocking on PostgreSQL).
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => Ok(s.size_bytes()),
            Backend::Postgres(p) => p.size_bytes(),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
pub(crate) mod tests;
