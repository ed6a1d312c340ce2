//! Reusable pieces of the dashboard.

pub mod cards;
pub mod chart;
pub mod endpoint_table;
pub mod instances;
pub mod layout;
pub mod live_badge;
pub mod live_charts;
pub mod loaded;
pub mod page;
pub mod range;
pub mod records;
