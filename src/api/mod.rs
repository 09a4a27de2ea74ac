//! Talking to HubSpot and Salesforce: one transport (retries, budgets, classification),
//! and the typed primitives of each provider on top of it.

pub mod hubspot;
pub mod hubspot_imports;
pub mod salesforce;
pub mod salesforce_bulk;
pub mod shape;
pub mod transport;

/// Classification lives below the transport and the token flows (both classify answers).
pub use crate::classify;

/// Calls sent together: every answer, in order, once all have come back (none is abandoned
/// in flight, so a failure never leaves a write whose answer nobody read); the first
/// failure if any failed. The transport keeps them within the budget.
pub async fn all<T, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<T>, crate::error::ApiError>
where
    F: std::future::Future<Output = Result<T, crate::error::ApiError>>,
{
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .collect()
}

/// [`all`] for calls that each answer a list (a chunk's records): one list, in order.
pub async fn all_concat<T, F>(
    calls: impl IntoIterator<Item = F>,
) -> Result<Vec<T>, crate::error::ApiError>
where
    F: std::future::Future<Output = Result<Vec<T>, crate::error::ApiError>>,
{
    Ok(all(calls).await?.into_iter().flatten().collect())
}

/// The array at `key` of an answer, moved out rather than copied (a page of records is
/// most of what a sync allocates); empty when the answer has none.
pub fn take_array(v: &mut serde_json::Value, key: &str) -> Vec<serde_json::Value> {
    match v.get_mut(key).map(serde_json::Value::take) {
        Some(serde_json::Value::Array(a)) => a,
        _ => Vec::new(),
    }
}
