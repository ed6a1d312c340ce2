//! The embedded backend: one SQLite file (WAL), written by the writer thread's own
//! connection and read through a few pooled read connections.

pub mod read;
pub mod rows;
pub mod schema;
pub mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use sightline_app::history::Settings;

use super::reader::Reader;
use super::{StoreError, lock};
use write::SqliteSink;

/// Read connections kept open between queries.
const IDLE_READERS: usize = 4;

#[derive(Debug)]
pub struct Sqlite {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(2))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Switches the file to write-ahead logging. SQLite answers "database is locked" at once,
/// without its busy handler, while another process opening the same new file switches it:
/// tried again for as long as the busy timeout.
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

impl Sqlite {
    /// Opens (creating and migrating) the database; answers the reader side and the
    /// writer's sink for `instance` in `run`.
    pub fn open(path: &Path, instance: &str, run: &str) -> Result<(Self, SqliteSink), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path)?;
        // Waits (rather than fails) while another process opening the file holds it.
        configure(&conn)?;
        use_wal(&conn)?;
        schema::migrate(&mut conn)?;
        schema::claim_first_instance(&conn, instance)?;
        // Immediate: a deferred transaction that reads, then writes after another process
        // wrote, fails at once with "database is locked" instead of waiting its turn.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let instance_id = write::row_id(&tx, "instances", &[instance])?;
        tx.commit()?;
        let sink = SqliteSink {
            conn,
            instance_id,
            run: run.to_owned(),
            route_ids: HashMap::new(),
        };
        let sqlite = Self {
            path: path.to_owned(),
            readers: Mutex::new(Vec::new()),
        };
        Ok((sqlite, sink))
    }

    pub fn path(&self) -> &Path {
        &self.path
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
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    pub fn reader<T>(
        &self,
        f: impl FnOnce(&dyn Reader) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.read(|conn| f(conn))
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let result = (|| {
                for (key, value) in settings_rows(settings) {
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
        })
    }

    /// Size of the database and its write-ahead log, in bytes.
    pub fn size_bytes(&self) -> u64 {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        [self.path.as_os_str(), wal.as_os_str()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// The `settings` table's rows for `settings`.
pub fn settings_rows(settings: &Settings) -> [(&'static str, String); 2] {
    [
        ("retention_days", settings.retention_days.to_string()),
        ("slow_threshold_ms", settings.slow_threshold_ms.to_string()),
    ]
}

/// `settings` with the values in `rows` (key, value) that parse.
pub fn apply_settings_rows(
    mut settings: Settings,
    rows: impl IntoIterator<Item = (String, String)>,
) -> Settings {
    for (key, value) in rows {
        match key.as_str() {
            "retention_days" => {
                if let Ok(days) = value.parse() {
                    settings.retention_days = days;
                }
            }
            "slow_threshold_ms" => {
                if let Ok(ms) = value.parse() {
                    settings.slow_threshold_ms = ms;
                }
            }
            _ => {}
        }
    }
    settings
}

pub fn load_settings(conn: &Connection, defaults: Settings) -> Result<Settings, StoreError> {
    let get = |key: &str| -> rusqlite::Result<Option<String>> {
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
    };
    let mut rows = Vec::new();
    for key in ["retention_days", "slow_threshold_ms"] {
        if let Some(value) = get(key)? {
            rows.push((key.to_owned(), value));
        }
    }
    Ok(apply_settings_rows(defaults, rows))
}
