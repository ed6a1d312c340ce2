//! Reusable pieces of the dashboard.

pub mod cards;
pub mod endpoint_table;
pub mod layout;
pub mod live_badge;
pub mod page;
