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

/// How long a provider's job (a Bulk API job, a HubSpot import) may take before hubforce
/// stops waiting: the job goes on at the provider; its rows count as failed, for the next
/// pass to write again.
pub const JOB_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The pause before looking at a job again, after `looks` looks: 0.5 s doubling to 10 s.
pub fn job_pause(looks: u32) -> std::time::Duration {
    std::time::Duration::from_millis(500u64.saturating_mul(1 << looks.min(5)))
        .min(std::time::Duration::from_secs(10))
}

/// The array at `key` of an answer, moved out rather than copied (a page of records is
/// most of what a sync allocates); empty when the answer has none.
pub fn take_array(v: &mut serde_json::Value, key: &str) -> Vec<serde_json::Value> {
    match v.get_mut(key).map(serde_json::Value::take) {
        Some(serde_json::Value::Array(a)) => a,
        _ => Vec::new(),
    }
}
