//! The PostgreSQL layout and its migrations. Several instances may start at once: the
//! migration runs in one transaction under an advisory lock, so one of them migrates and
//! the others find the schema up to date.

use deadpool_postgres::Object;

use super::SCHEMA;
use crate::store::StoreError;
use crate::store::samples::FIELDS;

/// Advisory lock keys (one namespace: "Sightline" in ASCII, then the purpose).
pub const MIGRATE_LOCK: i64 = 0x5369_6768_746c_0001;
pub const PRUNE_LOCK: i64 = 0x5369_6768_746c_0002;
/// With an instance's row id: held while that instance writes (`pg_advisory_xact_lock(int, int)`).
pub const WRITE_LOCK: i32 = 0x5369_0003;

/// Each entry moves the schema one version forward; never edit one that has shipped.
/// The same tables as the SQLite layout (see `sqlite::schema`), by instance from the start.
fn migrations() -> Vec<String> {
    let sample_columns: String = FIELDS
        .iter()
        .map(|f| format!("{} DOUBLE PRECISION,\n", f.column))
        .collect();
    vec![format!(
        "
        CREATE TABLE routes (
            id BIGSERIAL PRIMARY KEY,
            method TEXT NOT NULL,
            route TEXT NOT NULL,
            UNIQUE (method, route)
        );
        CREATE TABLE instances (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        -- route_id 0 holds all routes together.
        CREATE TABLE windows (
            tier BIGINT NOT NULL,
            start_ms BIGINT NOT NULL,
            route_id BIGINT NOT NULL,
            instance_id BIGINT NOT NULL,
            requests BIGINT NOT NULL,
            client_errors BIGINT NOT NULL,
            server_errors BIGINT NOT NULL,
            bytes BIGINT NOT NULL,
            latency_sum_us BIGINT NOT NULL,
            latency_max_us BIGINT NOT NULL,
            status TEXT NOT NULL,
            histogram BYTEA NOT NULL,
            PRIMARY KEY (tier, route_id, start_ms, instance_id)
        );
        -- Rows by time, for queries over every route at once (the endpoints table).
        CREATE INDEX windows_time ON windows (tier, start_ms);
        CREATE TABLE samples (
            tier BIGINT NOT NULL,
            start_ms BIGINT NOT NULL,
            instance_id BIGINT NOT NULL,
            n BIGINT NOT NULL,
            {sample_columns}
            PRIMARY KEY (tier, start_ms, instance_id)
        );
        CREATE TABLE requests (
            id BIGSERIAL PRIMARY KEY,
            instance_id BIGINT NOT NULL,
            time_ms BIGINT NOT NULL,
            method TEXT NOT NULL,
            route TEXT NOT NULL,
            path TEXT NOT NULL,
            status BIGINT NOT NULL,
            latency_us BIGINT NOT NULL,
            bytes BIGINT NOT NULL,
            message TEXT
        );
        CREATE INDEX requests_time ON requests (time_ms);
        CREATE INDEX requests_latency ON requests (latency_us);
        CREATE TABLE record_counts (
            start_ms BIGINT NOT NULL,
            instance_id BIGINT NOT NULL,
            kept BIGINT NOT NULL,
            capped BIGINT NOT NULL,
            PRIMARY KEY (start_ms, instance_id)
        );
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE horizons (tier BIGINT PRIMARY KEY, pruned_before_ms BIGINT NOT NULL);
        -- What each writer (instance, run of the process) has written: a retried write
        -- whose first attempt landed is skipped.
        CREATE TABLE marks (
            instance_id BIGINT NOT NULL,
            run TEXT NOT NULL,
            seq BIGINT NOT NULL,
            time_ms BIGINT NOT NULL,
            PRIMARY KEY (instance_id, run, seq)
        );
        CREATE INDEX marks_time ON marks (time_ms);
        "
    )]
}

/// The schema's version, `None` before the first migration.
async fn version(client: &Object) -> Result<Option<i64>, StoreError> {
    let table = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{SCHEMA}.schema_version")],
        )
        .await?;
    if !table.try_get::<_, bool>(0)? {
        return Ok(None);
    }
    let row = client
        .query_opt(&format!("SELECT version FROM {SCHEMA}.schema_version"), &[])
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Brings the schema up to date: one transaction, under [`MIGRATE_LOCK`].
pub async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let all = migrations();
    if version(client).await? == Some(all.len() as i64) {
        // Up to date: nothing to lock, create or write (and no CREATE right needed).
        return Ok(());
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
         CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (version BIGINT NOT NULL);"
    ))
    .await?;
    let current: i64 = tx
        .query_opt(&format!("SELECT version FROM {SCHEMA}.schema_version"), &[])
        .await?
        .map_or(0, |r| r.get(0));
    if current as usize > all.len() {
        return Err(StoreError::Postgres(format!(
            "the database's schema (version {current}) is newer than this Sightline knows ({}): upgrade Sightline",
            all.len()
        )));
    }
    if current as usize == all.len() {
        // Another instance migrated while this one waited for the lock.
        return Ok(tx.commit().await?);
    }
    for sql in &all[current as usize..] {
        tx.batch_execute(sql).await?;
    }
    tx.execute(&format!("DELETE FROM {SCHEMA}.schema_version"), &[])
        .await?;
    tx.execute(
        &format!("INSERT INTO {SCHEMA}.schema_version (version) VALUES ($1)"),
        &[&(all.len() as i64)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
