//! The Lua host: sandboxed states, value conversion, and (next) the host API modules.
//! mlua is imported only here, in `src/plugins/` and in the REPL.

pub mod convert;
pub mod host;
pub mod modules;
pub mod sandbox;
pub mod script;
