//! History: windows, samples and notable requests in an embedded SQLite database.
//!
//! window -> [`writer`] (own thread, own connection) -> SQLite (WAL) <- [`query`] (pooled
//! read connections, on the blocking pool) <- REST API and server functions. What goes
//! wrong on the way is counted in [`health`].

pub mod codec;
pub mod health;
pub mod query;
pub mod records;
pub mod rows;
pub mod samples;
pub mod schema;
pub mod tiers;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use sightline_app::history::{HistoryError, Settings, SettingsUpdate};

use crate::metrics::details::Details;
use writer::{Message, WindowBatch, Writer};

/// Read connections kept open between queries.
const IDLE_READERS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// State the writer and the readers share.
#[derive(Debug)]
pub struct Shared {
    path: PathBuf,
    settings: Mutex<Settings>,
    write_error: Mutex<Option<String>>,
    /// When a write last failed (ms since the epoch), 0 if none has.
    last_write_error_ms: AtomicU64,
    lost_windows: AtomicU64,
    records_capped: AtomicU64,
    rows_skipped: AtomicU64,
}

impl Shared {
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    fn set_write_error(&self, error: Option<String>) {
        if error.is_some() {
            self.last_write_error_ms
                .store(crate::clock::now_ms(), Ordering::Relaxed);
        }
        *lock(&self.write_error) = error;
    }

    fn note_lost_window(&self) {
        self.lost_windows.fetch_add(1, Ordering::Relaxed);
    }
}

/// The history database: one writer thread, pooled readers.
#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    sender: Mutex<Option<Sender<Message>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    details: &'static Details,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(2))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

impl Store {
    /// Opens (creating and migrating) the database and starts the writer. Persisted
    /// settings win over `defaults`.
    pub fn open(
        path: &Path,
        defaults: Settings,
        details: &'static Details,
    ) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        let settings = load_settings(&conn, defaults)?;
        details.set_slow_threshold_ms(settings.slow_threshold_ms);
        let shared = Arc::new(Shared {
            path: path.to_owned(),
            settings: Mutex::new(settings),
            write_error: Mutex::new(None),
            last_write_error_ms: AtomicU64::new(0),
            lost_windows: AtomicU64::new(0),
            records_capped: AtomicU64::new(0),
            rows_skipped: AtomicU64::new(0),
        });
        let (sender, messages) = channel();
        let writer = Writer {
            conn,
            shared: shared.clone(),
            messages,
            details: details.connect(),
            route_ids: HashMap::new(),
            quota: records::Quota::default(),
        };
        let thread = std::thread::Builder::new()
            .name("sightline-history".into())
            .spawn(move || writer.run())
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self {
            shared,
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            readers: Mutex::new(Vec::new()),
            details,
        })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
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

    /// The last write error, if the latest write failed.
    pub fn write_error(&self) -> Option<String> {
        lock(&self.shared.write_error).clone()
    }

    /// Validates, persists and applies a settings change (blocking).
    pub fn update_settings(&self, update: &SettingsUpdate) -> Result<Settings, HistoryError> {
        let mut current = lock(&self.shared.settings);
        let next = update.apply(&current)?;
        self.read(|conn| {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let result = (|| {
                for (key, value) in [
                    ("retention_days", next.retention_days.to_string()),
                    ("slow_threshold_ms", next.slow_threshold_ms.to_string()),
                ] {
                    conn.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        [key, value.as_str()],
                    )?;
                }
                Ok::<_, rusqlite::Error>(())
            })();
            conn.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
            Ok(result?)
        })?;
        self.details.set_slow_threshold_ms(next.slow_threshold_ms);
        *current = next.clone();
        Ok(next)
    }

    /// Runs `f` on a pooled connection (blocking: call it from the blocking pool).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = match lock(&self.readers).pop() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.shared.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        self.shared.note_skipped(rows::take_skipped());
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Size of the database and its write-ahead log, in bytes.
    pub fn size_bytes(&self) -> u64 {
        let mut wal = self.shared.path.clone().into_os_string();
        wal.push("-wal");
        [self.shared.path.as_os_str(), wal.as_os_str()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn load_settings(conn: &Connection, defaults: Settings) -> Result<Settings, StoreError> {
    let get = |key: &str| -> rusqlite::Result<Option<String>> {
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
    };
    let mut settings = defaults;
    if let Some(days) = get("retention_days")?.and_then(|v| v.parse().ok()) {
        settings.retention_days = days;
    }
    if let Some(ms) = get("slow_threshold_ms")?.and_then(|v| v.parse().ok()) {
        settings.slow_threshold_ms = ms;
    }
    Ok(settings)
}

#[cfg(test)]
pub(crate) mod tests;
