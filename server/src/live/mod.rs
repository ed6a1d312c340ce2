//! The live side: the hub that fans snapshots and custom events out, SSE framing, and the
//! endpoints.

pub mod events;
pub mod frame;
pub mod hub;
pub mod logs;
pub mod scope;
pub mod sse;
pub mod uplink;
