//! The two history backends as test fixtures: a SQLite file in a temporary directory, and
//! a database on a throwaway PostgreSQL server. Tests that hold for both loop over
//! [`Backend::each`], so one test body checks both.

#![allow(dead_code)]

use sightline::Config;
use sightline::metrics::details::Details;
use sightline::store::postgres::{Postgres as PgStore, Target};
use sightline::store::sqlite::Sqlite;
use sightline::store::writer::Sink;
use sightline::store::{Database, Options, Store};
use sightline_app::history::Settings;

use crate::common::TempDir;
use crate::postgres::Postgres;

pub enum Backend {
    Sqlite(TempDir),
    Postgres { server: Postgres, url: String },
}

impl Backend {
    /// A fresh SQLite file and a fresh PostgreSQL database.
    pub fn each() -> [Backend; 2] {
        [Self::sqlite(), Self::postgres()]
    }

    pub fn sqlite() -> Self {
        Self::Sqlite(TempDir::new("store"))
    }

    pub fn postgres() -> Self {
        let server = Postgres::start();
        let url = server.database("history");
        Self::Postgres { server, url }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres { .. } => "postgresql",
        }
    }

    pub fn database(&self) -> Database {
        match self {
            Self::Sqlite(dir) => Database::Sqlite(dir.db()),
            Self::Postgres { url, .. } => Database::Postgres(Box::new(Target::parse(url).unwrap())),
        }
    }

    pub fn server(&self) -> Option<&Postgres> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres { server, .. } => Some(server),
        }
    }

    /// Store options for `instance`, 30 days kept, 500 ms slow.
    pub fn options(&self, instance: &str) -> Options {
        Options {
            database: self.database(),
            instance: instance.to_owned(),
            defaults: Settings {
                retention_days: 30,
                slow_threshold_ms: 500,
            },
            wait_for_database: false,
        }
    }

    /// The store as `instance` sees it.
    pub fn open(&self, instance: &str) -> Store {
        let details: &'static Details = Box::leak(Box::default());
        Store::open(&self.options(instance), details)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name()))
    }

    /// The write side alone, as the writer thread of `instance` in `run` holds it.
    pub fn sink(&self, instance: &str, run: &str) -> Box<dyn Sink> {
        match self.database() {
            Database::Sqlite(path) => Box::new(Sqlite::open(&path, instance, run).unwrap().1),
            Database::Postgres(target) => {
                Box::new(PgStore::open(&target, instance, run, false).unwrap().1)
            }
        }
    }

    /// `config` keeping its history here.
    pub fn config(&self, config: Config) -> Config {
        match self {
            Self::Sqlite(dir) => Config {
                db_path: Some(dir.db()),
                database_url: None,
                ..config
            },
            Self::Postgres { url, .. } => Config {
                database_url: Some(url.as_str().into()),
                ..config
            },
        }
    }
}
