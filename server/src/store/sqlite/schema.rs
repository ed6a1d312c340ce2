//! The database layout and its migrations, applied in order on open (`PRAGMA user_version`
//! counts the ones applied).

use rusqlite::Connection;

use crate::store::samples::FIELDS;

/// Each entry moves the schema one version forward; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: windows per route and tier, samples per tier, stored requests, settings.
    "
    CREATE TABLE routes (
        id INTEGER PRIMARY KEY,
        method TEXT NOT NULL,
        route TEXT NOT NULL,
        UNIQUE (method, route)
    );
    -- route_id 0 holds all routes together.
    CREATE TABLE windows (
        tier INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        route_id INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        client_errors INTEGER NOT NULL,
        server_errors INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        latency_sum_us INTEGER NOT NULL,
        latency_max_us INTEGER NOT NULL,
        status TEXT NOT NULL,
        histogram BLOB NOT NULL,
        PRIMARY KEY (tier, route_id, start_ms)
    ) WITHOUT ROWID;
    CREATE TABLE samples (
        tier INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sys_cpu_percent REAL NOT NULL,
        sys_mem_used_bytes REAL NOT NULL,
        sys_mem_total_bytes REAL NOT NULL,
        sys_disk_used_bytes REAL NOT NULL,
        sys_disk_total_bytes REAL NOT NULL,
        sys_net_rx_bytes_per_sec REAL NOT NULL,
        sys_net_tx_bytes_per_sec REAL NOT NULL,
        sys_load_average_1m REAL NOT NULL,
        proc_rss_bytes REAL NOT NULL,
        proc_cpu_percent REAL NOT NULL,
        proc_threads REAL NOT NULL,
        proc_open_fds REAL NOT NULL,
        rt_workers REAL NOT NULL,
        rt_alive_tasks REAL NOT NULL,
        rt_global_queue_depth REAL NOT NULL,
        rt_scheduling_lag_avg_ms REAL NOT NULL,
        rt_scheduling_lag_max_ms REAL NOT NULL,
        PRIMARY KEY (tier, start_ms)
    ) WITHOUT ROWID;
    -- Error responses and slow requests, one row each.
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        method TEXT NOT NULL,
        route TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        latency_us INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        message TEXT
    );
    CREATE INDEX requests_time ON requests (time_ms);
    CREATE INDEX requests_latency ON requests (latency_us);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- Per tier: rows starting before this were pruned.
    CREATE TABLE horizons (tier INTEGER PRIMARY KEY, pruned_before_ms INTEGER NOT NULL);
    ",
    // 2: a sampled value may be NULL: a figure the OS did not give (no load average, no
    // thread count) is missing, not zero. SQLite cannot drop NOT NULL, so the table is
    // copied.
    "
    CREATE TABLE samples_nullable (
        tier INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sys_cpu_percent REAL,
        sys_mem_used_bytes REAL,
        sys_mem_total_bytes REAL,
        sys_disk_used_bytes REAL,
        sys_disk_total_bytes REAL,
        sys_net_rx_bytes_per_sec REAL,
        sys_net_tx_bytes_per_sec REAL,
        sys_load_average_1m REAL,
        proc_rss_bytes REAL,
        proc_cpu_percent REAL,
        proc_threads REAL,
        proc_open_fds REAL,
        rt_workers REAL,
        rt_alive_tasks REAL,
        rt_global_queue_depth REAL,
        rt_scheduling_lag_avg_ms REAL,
        rt_scheduling_lag_max_ms REAL,
        PRIMARY KEY (tier, start_ms)
    ) WITHOUT ROWID;
    INSERT INTO samples_nullable SELECT * FROM samples;
    DROP TABLE samples;
    ALTER TABLE samples_nullable RENAME TO samples;
    ",
    // 3: per 10 s window, error and slow-request records stored and not stored (over the
    // per-route quota), so that the stored ones can be told from all there were.
    "
    CREATE TABLE record_counts (
        start_ms INTEGER PRIMARY KEY,
        kept INTEGER NOT NULL,
        capped INTEGER NOT NULL
    );
    ",
    // 4: every row says which instance wrote it (rows from before are the first
    // instance's: the one opening the file, see `claim_first_instance`), and what each
    // writer has written is marked, so that a retried write counts nothing twice.
    "
    CREATE TABLE instances (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE windows_by_instance (
        tier INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        route_id INTEGER NOT NULL,
        instance_id INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        client_errors INTEGER NOT NULL,
        server_errors INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        latency_sum_us INTEGER NOT NULL,
        latency_max_us INTEGER NOT NULL,
        status TEXT NOT NULL,
        histogram BLOB NOT NULL,
        PRIMARY KEY (tier, route_id, start_ms, instance_id)
    ) WITHOUT ROWID;
    INSERT INTO windows_by_instance
        SELECT tier, start_ms, route_id, 1, requests, client_errors, server_errors, bytes,
               latency_sum_us, latency_max_us, status, histogram
        FROM windows;
    DROP TABLE windows;
    ALTER TABLE windows_by_instance RENAME TO windows;
    CREATE TABLE samples_by_instance (
        tier INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        instance_id INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sys_cpu_percent REAL,
        sys_mem_used_bytes REAL,
        sys_mem_total_bytes REAL,
        sys_disk_used_bytes REAL,
        sys_disk_total_bytes REAL,
        sys_net_rx_bytes_per_sec REAL,
        sys_net_tx_bytes_per_sec REAL,
        sys_load_average_1m REAL,
        proc_rss_bytes REAL,
        proc_cpu_percent REAL,
        proc_threads REAL,
        proc_open_fds REAL,
        rt_workers REAL,
        rt_alive_tasks REAL,
        rt_global_queue_depth REAL,
        rt_scheduling_lag_avg_ms REAL,
        rt_scheduling_lag_max_ms REAL,
        PRIMARY KEY (tier, start_ms, instance_id)
    ) WITHOUT ROWID;
    INSERT INTO samples_by_instance
        SELECT tier, start_ms, 1, n, sys_cpu_percent, sys_mem_used_bytes, sys_mem_total_bytes,
               sys_disk_used_bytes, sys_disk_total_bytes, sys_net_rx_bytes_per_sec,
               sys_net_tx_bytes_per_sec, sys_load_average_1m, proc_rss_bytes, proc_cpu_percent,
               proc_threads, proc_open_fds, rt_workers, rt_alive_tasks, rt_global_queue_depth,
               rt_scheduling_lag_avg_ms, rt_scheduling_lag_max_ms
        FROM samples;
    DROP TABLE samples;
    ALTER TABLE samples_by_instance RENAME TO samples;
    ALTER TABLE requests ADD COLUMN instance_id INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE record_counts_by_instance (
        start_ms INTEGER NOT NULL,
        instance_id INTEGER NOT NULL,
        kept INTEGER NOT NULL,
        capped INTEGER NOT NULL,
        PRIMARY KEY (start_ms, instance_id)
    ) WITHOUT ROWID;
    INSERT INTO record_counts_by_instance SELECT start_ms, 1, kept, capped FROM record_counts;
    DROP TABLE record_counts;
    ALTER TABLE record_counts_by_instance RENAME TO record_counts;
    CREATE TABLE marks (
        instance_id INTEGER NOT NULL,
        run TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        PRIMARY KEY (instance_id, run, seq)
    ) WITHOUT ROWID;
    CREATE INDEX marks_time ON marks (time_ms);
    ",
    // 5: rows by time, for queries over every route at once (the endpoints table).
    "
    CREATE INDEX windows_time ON windows (tier, start_ms);
    ",
];

pub fn version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Gives rows written before instances were told apart (id 1) to `name`, when no
/// instance has claimed them yet.
pub fn claim_first_instance(conn: &Connection, name: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO instances (id, name) SELECT 1, ?1
         WHERE NOT EXISTS (SELECT 1 FROM instances)",
        [name],
    )?;
    Ok(())
}

/// Brings the schema up to date in one transaction. It takes the write lock first, so
/// processes opening the same file at once migrate it once.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Read again under the lock: another process may have migrated meanwhile.
    let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for sql in MIGRATIONS.get(current as usize..).unwrap_or_default() {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", version())?;
    tx.commit()
}

/// `sys_cpu_percent, sys_mem_used_bytes, ...` in [`FIELDS`] order.
pub fn sample_columns() -> String {
    FIELDS
        .iter()
        .map(|f| f.column)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_sample_columns_match_the_fields() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, version());
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('samples')")
            .unwrap();
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let fields: Vec<&str> = FIELDS.iter().map(|f| f.column).collect();
        assert_eq!(columns[..4], ["tier", "start_ms", "instance_id", "n"]);
        assert_eq!(columns[4..], fields[..]);
        let nullable: Vec<bool> = conn
            .prepare("SELECT \"notnull\" FROM pragma_table_info('samples')")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|v| v.unwrap() == 0)
            .collect();
        assert!(nullable[4..].iter().all(|n| *n), "{nullable:?}");
    }

    #[test]
    fn samples_written_before_values_could_be_missing_or_before_instances_are_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        let values = ["1.5"; FIELDS.len()].join(", ");
        tx.execute_batch(&format!(
            "INSERT INTO samples (tier, start_ms, n, {}) VALUES (0, 10000, 3, {values})",
            sample_columns()
        ))
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut conn).unwrap();
        claim_first_instance(&conn, "web-1").unwrap();
        let (n, load, instance): (i64, Option<f64>, String) = conn
            .query_row(
                "SELECT n, sys_load_average_1m, name FROM samples
                 JOIN instances ON instances.id = instance_id WHERE start_ms = 10000",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((n, load, instance.as_str()), (3, Some(1.5), "web-1"));
        conn.execute(
            "UPDATE samples SET sys_load_average_1m = NULL WHERE start_ms = 10000",
            [],
        )
        .unwrap();
    }
}
