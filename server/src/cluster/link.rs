//! The Redis link: publishes this instance's state, receives everyone's.
//!
//! It runs on a thread of its own, so Redis never takes a worker of the app's runtime or
//! holds up the ticker: the ticker hands states over through a small queue and moves on
//! (a full queue drops the state and counts it). Every Redis call has a timeout; a
//! failure closes both connections, marks the cluster degraded, and the link reconnects
//! after a backoff (0.25 s doubling to 4 s, with jitter), resubscribing and republishing.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

use super::Cluster;

/// Longest wait for Redis to connect or answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Short enough that the cluster view is back within about five seconds of Redis.
const BACKOFF_MAX: Duration = Duration::from_secs(4);

/// Runs the link on a new thread until `stop` resolves (its sender is dropped).
pub fn spawn(
    cluster: Arc<Cluster>,
    client: redis::Client,
    outbox: mpsc::Receiver<Vec<u8>>,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("sightline-cluster".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime for the cluster link");
            runtime.block_on(run(cluster, client, outbox, stop));
        })
}

async fn run(
    cluster: Arc<Cluster>,
    client: redis::Client,
    mut outbox: mpsc::Receiver<Vec<u8>>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let outcome = tokio::select! {
            outcome = session(&cluster, &client, &mut outbox) => outcome,
            _ = &mut stop => return,
        };
        match outcome {
            Ok(()) => return,
            Err(Failure { error, was_up }) => {
                if was_up {
                    backoff = BACKOFF_MIN;
                }
                if cluster.health.down(&error) {
                    tracing::warn!(
                        "cluster degraded: Redis at {}: {error}; showing this instance's view and retrying",
                        cluster.settings.redacted_url()
                    );
                }
            }
        }
        let wait = jitter(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = &mut stop => return,
        }
    }
}

struct Failure {
    error: String,
    /// The link had been up: the next wait starts short again.
    was_up: bool,
}

/// One connection's life: subscribe, then publish and receive until something fails.
/// `Ok` only when the outbox closed (shutting down).
async fn session(
    cluster: &Cluster,
    client: &redis::Client,
    outbox: &mut mpsc::Receiver<Vec<u8>>,
) -> Result<(), Failure> {
    let fail = |was_up: bool| move |error: String| Failure { error, was_up };
    let mut publisher = call(client.get_multiplexed_async_connection())
        .await
        .map_err(fail(false))?;
    let mut subscriber = call(client.get_async_pubsub()).await.map_err(fail(false))?;
    // Subscribe before anything else, so no state published from here on is missed.
    call(subscriber.subscribe(cluster.channel("state")))
        .await
        .map_err(fail(false))?;
    // What queued up while down is old; the next period brings a fresh state.
    while outbox.try_recv().is_ok() {}
    if cluster.health.up() {
        tracing::info!(
            "cluster connected: Redis at {}",
            cluster.settings.redacted_url()
        );
    }
    let mut messages = subscriber.on_message();
    let channel = cluster.channel("state");
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Err(fail(true)("the connection to Redis closed".into()));
                };
                cluster.receive(message.get_payload_bytes());
            }
            state = outbox.recv() => {
                let Some(state) = state else { return Ok(()) };
                call(publisher.publish::<_, _, ()>(&channel, state))
                    .await
                    .map_err(fail(true))?;
                cluster.health.published();
            }
        }
    }
}

/// A Redis call with [`CALL_TIMEOUT`].
async fn call<T>(f: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
    match timeout(CALL_TIMEOUT, f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs_f32())),
    }
}

/// 75 % to 125 % of `d`, so instances that lost Redis together do not return together.
fn jitter(d: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    d.mul_f64(0.75 + f64::from(byte[0]) / 510.0)
}
