//! The browser side of the live connection (hydrated pages only): the tabs of one
//! dashboard share one stream ([`tabs`]), the leader's stream survives failures
//! ([`stream`]), and every tab shows what arrives the same way ([`apply`]).

mod apply;
mod stream;
mod tabs;
mod wire;

pub use apply::Sinks;
pub use tabs::join;

/// The addresses of the live stream and of its latest snapshot.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub stream: String,
    pub snapshot: String,
}
