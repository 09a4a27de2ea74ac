//! Plugins: folders under `plugins/` with a `plugin.toml` and an `init.lua`, each loaded into
//! its own sandboxed Lua state.

pub mod bundled;
pub mod hooks;
pub mod manifest;
pub mod plugin;
pub mod registry;

pub use plugin::{HOOKS, Plugin, PluginError};
pub use registry::{PluginInfo, PluginSet, calls_of};
