//! How old a kept describe, owner list or id property may be before it is asked again, and
//! the asking. A describe older than a day is revalidated with `If-Modified-Since` (a 304
//! keeps it); owners are read again after an hour (a new rep's records would otherwise wait);
//! an id property known to exist is trusted for a day. Answers that say the schema moved
//! under hubforce (`INVALID_FIELD`, a restricted picklist's value, a property HubSpot does
//! not know) forget everything at once: see [`schema_moved`].
//!
//! The cache saves calls, never data: a ledger that cannot keep an entry costs the call
//! next time, with a warning.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::convert::OwnerMap;
use super::ledger::Ledger;
use super::ledger_cache::Cached;
use crate::api::salesforce::SalesforceApi;
use crate::error::ApiError;

pub const DESCRIBE_TTL: Duration = Duration::hours(24);
pub const OWNERS_TTL: Duration = Duration::hours(1);
pub const PROPERTY_TTL: Duration = Duration::hours(24);

/// Provider codes that mean a kept schema no longer holds.
const SCHEMA_CODES: &[&str] = &[
    "INVALID_FIELD",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "INVALID_TYPE",
    "PROPERTY_DOESNT_EXIST",
    "INVALID_OPTION",
];

/// Whether an answer says the schema changed since hubforce read it.
pub fn schema_moved(e: &ApiError) -> bool {
    e.code.as_deref().is_some_and(|c| SCHEMA_CODES.contains(&c))
}

fn kept(ledger: &Ledger, key: &str) -> Option<Cached> {
    ledger.cached(key).unwrap_or_else(|e| {
        tracing::warn!("the provider cache could not be read ({e}); asking the provider");
        None
    })
}

fn keep(ledger: &Ledger, key: &str, value: &Value, at: DateTime<Utc>) {
    if let Err(e) = ledger.cache(key, value, at) {
        tracing::warn!("the provider cache could not keep {key} ({e})");
    }
}

fn young(c: &Cached, ttl: Duration, now: DateTime<Utc>) -> bool {
    now - c.fetched_at < ttl && c.fetched_at <= now
}

/// An sObject's describe: kept, revalidated or read. Errors are the provider's (a
/// NOT_FOUND is an sObject the org lacks).
pub async fn describe(
    sf: &SalesforceApi,
    ledger: &Ledger,
    sobject: &str,
) -> Result<Value, ApiError> {
    let key = format!("salesforce.describe.{sobject}");
    let now = Utc::now();
    let fetched = match kept(ledger, &key) {
        Some(c) if young(&c, DESCRIBE_TTL, now) => {
            sf.remember_describe(sobject, c.value.clone());
            return Ok(c.value);
        }
        Some(c) => match sf.describe_if_changed(sobject, c.fetched_at).await? {
            None => {
                if let Err(e) = ledger.cache_confirmed(&key, now) {
                    tracing::warn!("the provider cache could not keep {key} ({e})");
                }
                sf.remember_describe(sobject, c.value.clone());
                return Ok(c.value);
            }
            Some(v) => v,
        },
        None => sf.describe(sobject).await?,
    };
    keep(ledger, &key, &fetched, now);
    Ok(fetched)
}

/// The owner map, kept for an hour.
pub async fn owners<F>(ledger: &Ledger, read: F) -> Result<OwnerMap, ApiError>
where
    F: std::future::Future<Output = Result<OwnerMap, ApiError>>,
{
    let key = "owners";
    let now = Utc::now();
    if let Some(c) = kept(ledger, key).filter(|c| young(c, OWNERS_TTL, now))
        && let Ok(map) = serde_json::from_value::<OwnerMap>(c.value)
    {
        return Ok(map);
    }
    let map = read.await?;
    if let Ok(v) = serde_json::to_value(&map) {
        keep(ledger, key, &v, now);
    }
    Ok(map)
}

/// Whether HubSpot's `object` was seen to have property `name` within the day.
pub fn property_known(ledger: &Ledger, object: &str, name: &str) -> bool {
    let now = Utc::now();
    kept(ledger, &property_key(object, name)).is_some_and(|c| young(&c, PROPERTY_TTL, now))
}

/// HubSpot's `object` has property `name` (read or just created).
pub fn property_seen(ledger: &Ledger, object: &str, name: &str) {
    keep(
        ledger,
        &property_key(object, name),
        &Value::Bool(true),
        Utc::now(),
    );
}

fn property_key(object: &str, name: &str) -> String {
    format!("hubspot.property.{object}.{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorClass, Provider};

    #[test]
    fn entries_are_young_inside_their_ttl_only() {
        let now = Utc::now();
        let at = |ago: Duration| Cached {
            fetched_at: now - ago,
            value: Value::Null,
        };
        assert!(young(&at(Duration::minutes(59)), OWNERS_TTL, now));
        assert!(!young(&at(Duration::minutes(61)), OWNERS_TTL, now));
        // A clock set back makes an entry from "the future": read it again.
        assert!(!young(&at(Duration::minutes(-5)), OWNERS_TTL, now));
    }

    #[test]
    fn schema_codes_are_told_from_record_errors() {
        let e = |code: &str| {
            let mut e = ApiError::new(Provider::Salesforce, ErrorClass::Validation, "x");
            e.code = Some(code.into());
            e
        };
        assert!(schema_moved(&e("INVALID_FIELD")));
        assert!(schema_moved(&e("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")));
        assert!(schema_moved(&e("PROPERTY_DOESNT_EXIST")));
        assert!(!schema_moved(&e("DUPLICATES_DETECTED")));
    }
}
