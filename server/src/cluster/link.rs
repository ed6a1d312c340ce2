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

use super::events::{self, Cursor, SCRIPT, Step, record};
use super::{Cluster, Offer};
use crate::live::uplink::RemoteEvent;

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
    offers: mpsc::Receiver<Offer>,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("sightline-cluster".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime for the cluster link");
            runtime.block_on(run(cluster, client, outbox, offers, stop));
        })
}

async fn run(
    cluster: Arc<Cluster>,
    client: redis::Client,
    mut outbox: mpsc::Receiver<Vec<u8>>,
    mut offers: mpsc::Receiver<Offer>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut state = LinkState::default();
    loop {
        let outcome = tokio::select! {
            outcome = session(&cluster, &client, &mut outbox, &mut offers, &mut state) => outcome,
            _ = &mut stop => return,
        };
        match outcome {
            Ok(()) => return,
            Err(Failure { error, was_up }) => {
                if was_up {
                    backoff = BACKOFF_MIN;
                }
                // Down first, so no new event is handed over while the queue is emptied.
                if cluster.health.down(&error) {
                    tracing::warn!(
                        "cluster degraded: Redis at {}: {error}; showing this instance's view and retrying",
                        cluster.settings.redacted_url()
                    );
                }
            }
        }
        cluster.set_conn(None);
        // Events handed over but never sent: to this instance's clients, so none is lost.
        while let Ok(offer) = offers.try_recv() {
            deliver_here(&cluster, offer);
        }
        let wait = jitter(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = &mut stop => return,
        }
    }
}

/// What the link keeps from one connection to the next.
#[derive(Default)]
struct LinkState {
    /// The last event delivered to this instance's clients.
    cursor: Cursor,
    /// Events whose script call failed after it was sent: Redis may or may not have run
    /// it. Each carries a token; after reconnecting, those found in the record are
    /// answered from it, the others are sent again. Never delivered twice.
    uncertain: Vec<(u64, Offer)>,
}

struct Failure {
    error: String,
    /// The link had been up: the next wait starts short again.
    was_up: bool,
}

/// One connection's life: subscribe, catch up on the record, then publish and receive
/// until something fails. `Ok` only when the outbox closed (shutting down).
async fn session(
    cluster: &Cluster,
    client: &redis::Client,
    outbox: &mut mpsc::Receiver<Vec<u8>>,
    offers: &mut mpsc::Receiver<Offer>,
    state: &mut LinkState,
) -> Result<(), Failure> {
    let fail = |was_up: bool| move |error: String| Failure { error, was_up };
    let mut publisher = call(client.get_multiplexed_async_connection())
        .await
        .map_err(fail(false))?;
    let mut subscriber = call(client.get_async_pubsub()).await.map_err(fail(false))?;
    let (states, announced) = (cluster.channel("state"), cluster.channel("events"));
    let keys = Keys {
        meta: cluster.channel("events:meta"),
        stream: cluster.channel("events"),
        announced: announced.clone(),
    };
    if state.cursor.0.is_none() {
        // First link-up: where the record stands before subscribing; what is announced
        // in between is then caught up from the record, not skipped.
        state.cursor.0 = call(record::head(&mut publisher, &keys.meta))
            .await
            .map_err(fail(false))?;
    }
    // Subscribe before reading the record, so nothing falls between the two.
    call(subscriber.subscribe(&[&states, &announced]))
        .await
        .map_err(fail(false))?;
    catch_up(cluster, &mut publisher, &keys, state)
        .await
        .map_err(fail(false))?;
    let script = redis::Script::new(SCRIPT);
    // Events Redis may not have taken: those not found in the record go again.
    for (token, offer) in std::mem::take(&mut state.uncertain) {
        record_event(cluster, &script, &mut publisher, &keys, state, offer, token)
            .await
            .map_err(fail(false))?;
    }
    // What queued up while down is old; the next period brings a fresh state.
    while outbox.try_recv().is_ok() {}
    cluster.set_conn(Some(publisher.clone()));
    if cluster.health.up() {
        tracing::info!(
            "cluster connected: Redis at {}",
            cluster.settings.redacted_url()
        );
    }
    let mut messages = subscriber.on_message();
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Err(fail(true)("the connection to Redis closed".into()));
                };
                if message.get_channel_name() == states {
                    cluster.receive(message.get_payload_bytes());
                } else {
                    announcement(cluster, &mut publisher, &keys, state, message.get_payload_bytes())
                        .await
                        .map_err(fail(true))?;
                }
            }
            state = outbox.recv() => {
                let Some(state) = state else { return Ok(()) };
                call(publisher.publish::<_, _, ()>(&states, state))
                    .await
                    .map_err(fail(true))?;
                cluster.health.published();
            }
            Some(offer) = offers.recv() => {
                let token = token();
                record_event(cluster, &script, &mut publisher, &keys, state, offer, token)
                    .await
                    .map_err(fail(true))?;
            }
        }
    }
}

/// A random token that tells one event's record apart.
fn token() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes) | 1
}

/// Runs the script for one event: numbered, recorded, announced. A failure after sending
/// leaves the event uncertain (see [`LinkState::uncertain`]).
async fn record_event(
    cluster: &Cluster,
    script: &redis::Script,
    conn: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    state: &mut LinkState,
    (event, reply): Offer,
    token: u64,
) -> Result<(), String> {
    let recorded = events::Recorded {
        event: event.event.clone(),
        channel: event.channel.clone(),
        time_ms: crate::clock::now_ms(),
        data: event.data.clone(),
        token,
    };
    let json = serde_json::to_string(&recorded).expect("an event always serialises");
    let sent = call(
        script
            .key(&keys.meta)
            .key(&keys.stream)
            .arg(cluster.record_len)
            .arg(json)
            .arg(&keys.announced)
            .invoke_async::<(u64, u64)>(conn),
    )
    .await;
    match sent {
        Ok((epoch, seq)) => {
            if let Some(reply) = reply {
                let _ = reply.send(events::pack(epoch, seq));
            }
            Ok(())
        }
        Err(error) => {
            state.uncertain.push((token, (event, reply)));
            Err(error)
        }
    }
}

struct Keys {
    meta: String,
    stream: String,
    announced: String,
}

/// An event the cluster could not take, to this instance's clients with a local id.
fn deliver_here(cluster: &Cluster, (event, reply): Offer) {
    let id = cluster
        .hub
        .publish_custom(&event.event, event.channel.as_deref(), &event.data);
    if let Some(reply) = reply {
        let _ = reply.send(id);
    }
}

/// After (re)connecting: the events recorded since the last one delivered, or `reset`
/// when they are gone (a new epoch, a record rolled back, or trimmed past).
async fn catch_up(
    cluster: &Cluster,
    conn: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    state: &mut LinkState,
) -> Result<(), String> {
    let Some(head) = call(record::head(conn, &keys.meta)).await? else {
        // No record (yet, or lost): the next event starts one.
        return Ok(());
    };
    let at = state.cursor.0.unwrap_or((head.0, 0));
    if head.0 != at.0 || head.1 < at.1 {
        let lost = "the cluster lost its record of events; here is a fresh snapshot";
        cluster
            .hub
            .events_lost(lost, Some(events::pack(head.0, head.1)));
        state.cursor.0 = Some(head);
    } else if head.1 > at.1 {
        fill(cluster, conn, keys, state, (at.0, at.1 + 1), head).await?;
    }
    Ok(())
}

/// Delivers the recorded events `from..=to` (same epoch), or says they are lost.
async fn fill(
    cluster: &Cluster,
    conn: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    state: &mut LinkState,
    from: (u64, u64),
    to: (u64, u64),
) -> Result<(), String> {
    let found = call(record::range(
        conn,
        &keys.stream,
        Some((from.0, from.1 - 1)),
        Some(to),
    ))
    .await?;
    let complete =
        found.len() as u64 == to.1 - from.1 + 1 && found.first().map(|f| f.0) == Some(from);
    if !complete {
        cluster.hub.events_lost(
            "this instance missed events the cluster no longer keeps; here is a fresh snapshot",
            None,
        );
    }
    for (at, event) in found {
        deliver(cluster, state, at, &event);
    }
    state.cursor.0 = Some(to);
    Ok(())
}

/// One event to this instance's clients; an uncertain offer it settles gets its id.
fn deliver(cluster: &Cluster, state: &mut LinkState, at: (u64, u64), event: &RemoteEvent) {
    cluster.hub.deliver(event);
    state.cursor.0 = Some(at);
    if let Some(i) = state.uncertain.iter().position(|(t, _)| *t == event.token) {
        let (_, (_, reply)) = state.uncertain.swap_remove(i);
        if let Some(reply) = reply {
            let _ = reply.send(event.id);
        }
    }
}

/// An announced event: delivered in order, after any it was missing.
async fn announcement(
    cluster: &Cluster,
    conn: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    state: &mut LinkState,
    payload: &[u8],
) -> Result<(), String> {
    let Some((at, event)) = events::parse_announcement(payload) else {
        cluster
            .health
            .rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(());
    };
    match state.cursor.step(at) {
        Step::Skip => return Ok(()),
        Step::Deliver => {}
        Step::Fill(from, to) => fill(cluster, conn, keys, state, (at.0, from), (at.0, to)).await?,
        Step::NewEpoch => cluster.hub.events_lost(
            "the cluster lost its record of events; here is a fresh snapshot",
            None,
        ),
    }
    deliver(cluster, state, at, &event);
    Ok(())
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
