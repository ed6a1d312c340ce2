//! Reusable pieces of the dashboard.

pub mod layout;
pub mod live_badge;
pub mod page;
