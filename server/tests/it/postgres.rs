//! A real, throwaway PostgreSQL: a cluster made with `initdb` in a temporary directory,
//! started with `pg_ctl` on a free loopback port (as the `postgres` user when the tests
//! run as root, which PostgreSQL refuses to run as), stopped and removed when dropped.

#![allow(dead_code)]

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, Output};

use super::common::{TempDir, free_port};

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: TempDir,
    /// `Some("postgres")` when commands must run as that user.
    user: Option<&'static str>,
}

/// Debian puts the server's programs in `/usr/lib/postgresql/<version>/bin`, not on `PATH`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup.sh)")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql")
}

impl Postgres {
    pub fn start() -> Self {
        let port = free_port();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let pg = Self {
            port,
            bin: bin_dir(),
            dir: TempDir::new("postgres"),
            user: root.then_some("postgres"),
        };
        if root {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir.0)
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        pg.start_server();
        pg
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    fn start_server(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.0.display()
        );
        let (data, log) = (self.data(), self.dir.0.join("log"));
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server (connections are cut, as in an outage); [`Postgres::resume`]
    /// starts it again on the same port with the same data.
    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }

    pub fn resume(&self) {
        self.start_server();
    }

    /// Holds the session advisory lock `key` (in the `history` database) until dropped,
    /// from a `psql` of its own, as another instance would.
    pub fn hold_advisory_lock(&self, key: i64) -> HeldLock {
        let mut child = self
            .command("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "history", "-At", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "SELECT pg_advisory_lock({key}); SELECT 'held';").unwrap();
        stdin.flush().unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(Ok(line)) = lines.next() {
            if line == "held" {
                break;
            }
        }
        HeldLock { child, stdin }
    }

    /// A new, empty database on this server; its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql(&format!("CREATE DATABASE {name}"));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    /// One of the server's programs, as the right user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"])
                    .arg(path)
                    .current_dir(&self.dir.0);
                c
            }
            None => Command::new(path),
        }
    }

    /// Runs a program to the end; panics with its output on failure.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `postgres://postgres@127.0.0.1:{port}/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A query through `psql` over TCP, for what tests check behind Sightline's back.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// [`Self::psql`] in another database of this server.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        let port = self.port.to_string();
        let out = self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                database,
                "-At",
                "-c",
                sql,
            ],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// A session advisory lock held by a `psql`; released when dropped (the session ends).
pub struct HeldLock {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "\\q");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdin(std::process::Stdio::null())
            .output();
    }
}

#[test]
fn a_throwaway_cluster_starts_answers_and_stops() {
    let pg = Postgres::start();
    assert_eq!(pg.psql("select 40 + 2"), "42");
    assert!(pg.url().ends_with(&format!(":{}/postgres", pg.port)));
    let data = pg.data();
    drop(pg);
    // Stopped and removed with its directory.
    assert!(!data.exists());
}
