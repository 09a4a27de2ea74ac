//! hubforce: a Lua plugin host with authenticated HubSpot and Salesforce primitives.
//!
//! The library holds everything; `main.rs` only parses the command line. Tests and
//! benchmarks use the library directly, starting the simulator in process.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod budget;
pub mod checks;
pub mod classify;
pub mod config;
pub mod connect;
pub mod demo;
pub mod error;
pub mod logs;
pub mod lua;
pub mod out;
pub mod plugin_tests;
pub mod plugins;
pub mod private;
pub mod profile;
pub mod repl;
pub mod secret;
pub mod serve;
pub mod session;
pub mod sim;
pub mod store;
pub mod sync;
pub mod watch;
