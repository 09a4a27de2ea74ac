//! The Lua host: sandboxed states, value conversion, and the host API modules.
//! mlua is imported only here, in `src/plugins/` and in the REPL.

pub mod clock;
pub mod convert;
pub mod errors;
pub mod files;
mod guards;
pub mod host;
pub mod modules;
pub mod pattern;
pub mod sandbox;
pub mod script;
