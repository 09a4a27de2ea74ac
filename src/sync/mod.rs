//! The sync engine: pull → include → map → resolve → push → checkpoint (see design.md).

pub mod activities;
pub mod batch;
pub mod convert;
mod deletes;
pub mod engine;
pub mod error_groups;
pub mod explain;
pub mod hooks;
mod inclusion;
pub mod ledger;
mod ledger_tombstones;
mod link_ids;
pub mod lookup;
pub mod mapping;
pub mod pair_decl;
pub mod pairs;
pub mod progress;
pub mod pull;
pub mod records;
pub mod records_only;
pub mod report;
pub mod roundtrip;
pub mod rules;
pub mod settings;
pub mod status;
pub mod tombstones;
mod write;
