//! The live side: the hub that fans snapshots out, SSE framing, and the endpoints.

pub mod frame;
pub mod hub;
pub mod sse;
