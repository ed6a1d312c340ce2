//! The integration tests: real Sightline-monitored apps over real sockets, and the
//! `sightline` binary in processes of its own. One test binary with a module per concern
//! (rather than one per file, each linking the whole crate) keeps the build short.

mod access;
mod backends;
mod cluster;
mod cluster_events;
mod common;
mod cross_site;
mod edges;
mod embed;
mod events;
mod history;
mod live;
mod live_charts;
mod postgres;
mod postgres_outage;
mod proxy;
mod redis;
mod sessions;
mod shared_history;
mod shutdown;
mod sign_in;
mod store;
mod store_health;
mod streams;
