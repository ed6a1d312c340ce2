//! One module per dashboard page.

pub mod app_metrics;
pub mod dashboard;
pub mod endpoints;
pub mod errors;
pub mod events;
pub mod login;
pub mod not_found;
pub mod settings;
pub mod system;
