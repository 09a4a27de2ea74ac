//! Talking to HubSpot and Salesforce: one transport (retries, budgets, classification),
//! and the typed primitives of each provider on top of it.

pub mod classify;
pub mod hubspot;
pub mod salesforce;
pub mod transport;
