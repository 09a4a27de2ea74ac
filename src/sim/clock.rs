//! Time as each API writes it, and a clock whose stamps strictly increase.
//!
//! Every write must move the record's modification time, even two writes in the same
//! millisecond, or incremental pulls on `SystemModstamp` / `lastmodifieddate` lose changes.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

/// Hands out strictly increasing millisecond timestamps (never behind the wall clock).
#[derive(Debug, Default, Clone)]
pub struct StampClock {
    last_ms: i64,
}

impl StampClock {
    pub fn next(&mut self) -> DateTime<Utc> {
        let now = Utc::now().timestamp_millis();
        self.last_ms = now.max(self.last_ms + 1);
        from_ms(self.last_ms)
    }
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// HubSpot v3: `2019-12-07T16:50:06.678Z`.
pub fn hubspot_iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Salesforce: `2013-05-20T20:49:32.000+0000` (UTC, offset without a colon).
pub fn salesforce_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

pub fn date_string(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parse the datetime forms both APIs accept: RFC 3339 (`Z` or `+hh:mm`), Salesforce's
/// `+0000`, and (HubSpot) milliseconds since the epoch.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(t.with_timezone(&Utc));
    }
    None
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

tokio::task_local! {
    /// The correlation id of the HubSpot request being answered: its header and every
    /// `correlationId` in its body are the same id, as HubSpot's are.
    static REQUEST_CORRELATION: String;
}

/// Answer a request with `id` as its correlation id.
pub async fn with_correlation<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_CORRELATION.scope(id, f).await
}

/// The current request's correlation id (a fresh one outside a request).
pub fn correlation_id() -> String {
    REQUEST_CORRELATION
        .try_with(Clone::clone)
        .unwrap_or_else(|_| new_correlation_id())
}

/// A random-looking but seeded correlation id (uuid v4 shape).
pub fn new_correlation_id() -> String {
    let a = fastrand::u128(..);
    let h = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_strictly_increase_within_one_millisecond() {
        let mut c = StampClock::default();
        let a = c.next();
        let b = c.next();
        let d = c.next();
        assert!(a < b && b < d);
    }

    #[test]
    fn formats_round_trip_through_the_parser() {
        let t = from_ms(1_700_000_000_123);
        assert_eq!(hubspot_iso(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(salesforce_datetime(t), "2023-11-14T22:13:20.123+0000");
        assert_eq!(parse_datetime(&hubspot_iso(t)), Some(t));
        assert_eq!(parse_datetime(&salesforce_datetime(t)), Some(t));
        assert_eq!(
            parse_datetime("2023-11-14T22:13:20Z").map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
    }
}
