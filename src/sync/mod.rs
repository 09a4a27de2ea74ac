//! The sync engine: pull → include → map → resolve → push → checkpoint (see design.md).
//! This part: the field rules and the ledger that makes every batch all-or-nothing.

pub mod convert;
pub mod ledger;
pub mod mapping;
pub mod rules;
