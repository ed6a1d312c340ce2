//! Custom events across the cluster: one sequence in Redis, one order everywhere.
//!
//! An event is numbered, recorded and announced in one step (a Lua script: the counter,
//! `XADD` to a bounded stream, `PUBLISH`), so its id, its place in the record and its
//! delivery cannot disagree. Every instance, the sender included, delivers it when the
//! announcement arrives. The record carries an epoch that changes when Redis loses it
//! (a flush, a restart without persistence): ids of an old epoch are refused with `reset`.
//!
//! Ids as clients see them pack the epoch and the sequence into one number,
//! `2^52 + epoch * 2^31 + seq` (epoch below 2^20, seq below 2^31): exact as a JSON number
//! in any language (under 2^53), and apart from every local id (which count from the
//! process's start in milliseconds, far below 2^52).

use serde::{Deserialize, Serialize};

use crate::live::uplink::RemoteEvent;
pub use crate::live::uplink::{SEQ_BITS, pack, same_epoch, unpack};

/// Counter, epoch, record and announcement, atomically. KEYS: the meta hash, the stream.
/// ARGV: the stream's length, the event (JSON), the channel. Returns `{epoch, seq}`.
pub const SCRIPT: &str = r#"
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  local t = redis.call('TIME')
  epoch = tostring((tonumber(t[1]) * 1000003 + tonumber(t[2])) % 1048575 + 1)
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', meta, 'seq', 1)
local id = epoch .. '-' .. seq
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], id, 'e', ARGV[2])
redis.call('PUBLISH', ARGV[3], id .. ' ' .. ARGV[2])
return {tonumber(epoch), seq}
"#;

/// An event as recorded and announced (the id travels beside it).
#[derive(Debug, Serialize, Deserialize)]
pub struct Recorded {
    pub event: String,
    pub channel: Option<String>,
    pub time_ms: u64,
    /// The event's data: one line of JSON, as a string.
    pub data: String,
    /// Set by the sending instance, to find this event in the record after a failure.
    #[serde(default)]
    pub token: u64,
}

/// `"epoch-seq"`, a stream id, as `(epoch, seq)`.
pub fn parse_stream_id(raw: &str) -> Option<(u64, u64)> {
    let (epoch, seq) = raw.split_once('-')?;
    let (epoch, seq) = (epoch.parse().ok()?, seq.parse().ok()?);
    (epoch > 0 && epoch < 1 << 20 && seq < 1 << SEQ_BITS).then_some((epoch, seq))
}

/// An announcement: `"epoch-seq {json}"`.
pub fn parse_announcement(payload: &[u8]) -> Option<((u64, u64), RemoteEvent)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (id, json) = text.split_once(' ')?;
    let at = parse_stream_id(id)?;
    Some((at, remote(at, json)?))
}

/// A recorded event (`json`) at `at`.
pub fn remote(at: (u64, u64), json: &str) -> Option<RemoteEvent> {
    let r: Recorded = serde_json::from_str(json).ok()?;
    Some(RemoteEvent {
        id: pack(at.0, at.1),
        event: r.event,
        channel: r.channel,
        time_ms: r.time_ms,
        data: r.data,
        token: r.token,
    })
}

/// Where this instance is in the cluster's sequence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub Option<(u64, u64)>);

/// What to do with an announcement at `at`, given the cursor.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Already delivered (it came through the record first).
    Skip,
    /// Next in order.
    Deliver,
    /// Events between the cursor and this one were missed: fetch `(from, to)` (both
    /// included) from the record first.
    Fill(u64, u64),
    /// A new epoch: what came before is lost to clients that missed it.
    NewEpoch,
}

impl Cursor {
    pub fn step(&self, at: (u64, u64)) -> Step {
        match self.0 {
            None => Step::Deliver,
            Some((epoch, _)) if epoch != at.0 => Step::NewEpoch,
            Some((_, seq)) if at.1 <= seq => Step::Skip,
            Some((_, seq)) if at.1 == seq + 1 => Step::Deliver,
            Some((_, seq)) => Step::Fill(seq + 1, at.1 - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_and_announcements_parse() {
        let id = pack(1_048_575, 42);
        assert_eq!(unpack(id), Some((1_048_575, 42)));
        assert!(
            pack(1_048_575, (1 << 31) - 1) < 1 << 53,
            "exact in JSON everywhere"
        );
        // Local ids (milliseconds since the epoch, for ages) are never cluster ids.
        assert_eq!(unpack(1_800_000_000_000), None);
        assert!(same_epoch(pack(9, 1), pack(9, 7)) && !same_epoch(pack(9, 1), pack(8, 1)));
        let (at, e) = parse_announcement(
            br#"77-5 {"event":"deploy","channel":"ops","time_ms":9,"data":"{\"v\":1}"}"#,
        )
        .unwrap();
        assert_eq!(at, (77, 5));
        assert_eq!(e.id, pack(77, 5));
        assert_eq!(
            (e.event.as_str(), e.data.as_str()),
            ("deploy", r#"{"v":1}"#)
        );
        for bad in [&b"77-5"[..], b"x-5 {}", b"77-5 {", b"0-1 {}"] {
            assert!(parse_announcement(bad).is_none());
        }
    }

    #[test]
    fn the_cursor_orders_fills_and_notices_a_new_epoch() {
        let c = Cursor(Some((7, 10)));
        assert_eq!(c.step((7, 10)), Step::Skip);
        assert_eq!(c.step((7, 11)), Step::Deliver);
        assert_eq!(c.step((7, 14)), Step::Fill(11, 13));
        assert_eq!(c.step((8, 1)), Step::NewEpoch);
        assert_eq!(Cursor(None).step((7, 3)), Step::Deliver);
    }
}

/// Reading the record.
pub mod record {
    use redis::aio::MultiplexedConnection;

    use super::{parse_stream_id, remote, unpack};
    use crate::live::uplink::{RemoteEvent, ReplayRefused};

    /// Events at `from` (excluded, `None`: the start) up to `to` (included, `None`: the
    /// end), in order.
    pub async fn range(
        conn: &mut MultiplexedConnection,
        stream: &str,
        from: Option<(u64, u64)>,
        to: Option<(u64, u64)>,
    ) -> redis::RedisResult<Vec<((u64, u64), RemoteEvent)>> {
        let start = from.map_or_else(|| "-".to_owned(), |(e, s)| format!("({e}-{s}"));
        let end = to.map_or_else(|| "+".to_owned(), |(e, s)| format!("{e}-{s}"));
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(stream)
            .arg(start)
            .arg(end)
            .query_async(conn)
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let at = parse_stream_id(&id)?;
                let json = fields.get(1)?;
                Some((at, remote(at, json)?))
            })
            .collect())
    }

    /// The record's epoch and last sequence number.
    pub async fn head(
        conn: &mut MultiplexedConnection,
        meta: &str,
    ) -> redis::RedisResult<Option<(u64, u64)>> {
        let (epoch, seq): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(meta)
            .arg("epoch")
            .arg("seq")
            .query_async(conn)
            .await?;
        Ok(epoch.zip(seq))
    }

    /// Every event after the client's `id`, or why it must start over.
    pub async fn replay_after(
        conn: &mut MultiplexedConnection,
        meta: &str,
        stream: &str,
        id: u64,
    ) -> Result<Vec<RemoteEvent>, ReplayRefused> {
        let Some(at) = unpack(id) else {
            return Err(
                "your last id was not issued by this cluster; here is a fresh snapshot".into(),
            );
        };
        let head = head(conn, meta).await.map_err(|e| e.to_string())?;
        let Some((epoch, seq)) = head else {
            return Err("the cluster has no record of events; here is a fresh snapshot".into());
        };
        if epoch != at.0 {
            return Err(
                "the events since your last id were lost by the cluster; here is a fresh snapshot"
                    .into(),
            );
        }
        if at.1 > seq {
            return Err(
                "your last id was not issued by this cluster; here is a fresh snapshot".into(),
            );
        }
        let events = range(conn, stream, Some(at), None)
            .await
            .map_err(|e| e.to_string())?;
        match events.first() {
            Some((first, _)) if *first != (at.0, at.1 + 1) => Err(
                "the events since your last id are no longer kept; here is a fresh snapshot".into(),
            ),
            None if at.1 < seq => Err(
                "the events since your last id are no longer kept; here is a fresh snapshot".into(),
            ),
            _ => Ok(events.into_iter().map(|(_, e)| e).collect()),
        }
    }
}
