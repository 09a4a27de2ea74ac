//! The `[profiles.X.sync]` settings, read with the configuration (`config::sync_settings`).

pub use crate::config::sync_settings::*;
