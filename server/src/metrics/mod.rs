//! Request metrics: request -> layer -> recorder -> window.

pub mod details;
pub mod histogram;
pub mod layer;
pub mod recent;
pub mod recorder;
pub mod summary;
pub mod templates;
pub mod window;
