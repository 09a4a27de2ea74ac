//! Records as the engine handles them, whichever API they came from: an id, the values and
//! the last modification time. Also the hash of a record's synced values (echo suppression).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A HubSpot record: every property value is a string.
#[derive(Debug, Clone)]
pub struct HsRecord {
    pub id: String,
    pub props: Map<String, Value>,
    pub modified: DateTime<Utc>,
}

/// A Salesforce record of one sObject.
#[derive(Debug, Clone)]
pub struct SfRecord {
    pub id: String,
    pub sobject: String,
    pub fields: Map<String, Value>,
    pub modified: DateTime<Utc>,
}

pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    super::convert::parse_datetime(v.as_str()?)
}

impl HsRecord {
    /// From a CRM v3 object (`{id, properties, updatedAt}`); None when it has no id. Takes
    /// the value so that its properties move rather than copy.
    pub fn from_json(mut v: Value, modified_property: &str) -> Option<HsRecord> {
        let id = v["id"].as_str()?.to_string();
        let props = match v.get_mut("properties").map(Value::take) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let modified = props
            .get(modified_property)
            .and_then(parse_time)
            .or_else(|| parse_time(&v["updatedAt"]))
            .unwrap_or_default();
        Some(HsRecord {
            id,
            props,
            modified,
        })
    }

    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({"id": self.id, "properties": self.props, "updatedAt": self.modified.to_rfc3339()})
    }
}

impl SfRecord {
    /// From a query or retrieve answer (`attributes` dropped).
    pub fn from_json(v: Value, sobject: &str) -> Option<SfRecord> {
        let Value::Object(mut fields) = v else {
            return None;
        };
        fields.remove("attributes");
        let id = fields.get("Id")?.as_str()?.to_string();
        let modified = fields
            .get("LastModifiedDate")
            .and_then(parse_time)
            .or_else(|| fields.get("SystemModstamp").and_then(parse_time))
            .unwrap_or_default();
        Some(SfRecord {
            id,
            sobject: sobject.to_string(),
            fields,
            modified,
        })
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn to_json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert(
            "attributes".into(),
            serde_json::json!({"type": self.sobject}),
        );
        Value::Object(m)
    }
}

/// Feeds the hash as text is written to it, so values are hashed without a copy.
struct HashWriter<'h>(&'h mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Hash one value in a form both APIs agree on: blanks are null, numbers and booleans are
/// their text, so `42` and `42.0`, `""` and null hash alike.
fn hash_normal(h: &mut Sha256, v: Option<&Value>) {
    let mut w = HashWriter(h);
    // Writing JSON into a hasher cannot fail.
    let _ = match v {
        None | Some(Value::Null) => serde_json::to_writer(&mut w, &Value::Null),
        Some(Value::String(s)) if s.is_empty() => serde_json::to_writer(&mut w, &Value::Null),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) => serde_json::to_writer(&mut w, &format!("{f}")),
            None => serde_json::to_writer(&mut w, &Value::Null),
        },
        Some(Value::Bool(b)) => serde_json::to_writer(&mut w, if *b { "true" } else { "false" }),
        Some(other) => serde_json::to_writer(&mut w, other),
    };
}

/// The first `n` bytes of a digest as lowercase hex.
pub(crate) fn hex_prefix(digest: &[u8], n: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * n);
    for b in digest.iter().take(n) {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// HubSpot properties that move with every write, whoever makes it: not part of a record's
/// state.
pub const HS_VOLATILE: &[&str] = &[
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "createdate",
    "hs_object_id",
    "hs_merged_object_ids",
];
/// The same for Salesforce fields, and the record's own id.
pub const SF_VOLATILE: &[&str] = &[
    "Id",
    "SystemModstamp",
    "LastModifiedDate",
    "LastModifiedById",
    "CreatedDate",
    "CreatedById",
    "attributes",
    "IsDeleted",
    "MasterRecordId",
];

/// The hash of the values of `keys` in `values`: what we wrote, or what we read back.
pub fn values_hash<'a>(values: &Map<String, Value>, keys: impl Iterator<Item = &'a str>) -> String {
    values_hash_by(|k| values.get(k), keys)
}

/// [`values_hash`] of the values `value` gives (a record with writes laid over it).
pub fn values_hash_by<'a, 'v>(
    value: impl Fn(&str) -> Option<&'v Value>,
    keys: impl Iterator<Item = &'a str>,
) -> String {
    let mut keys: Vec<&str> = keys.collect();
    keys.sort_unstable();
    keys.dedup();
    let mut h = Sha256::new();
    for k in keys {
        h.update(k.as_bytes());
        h.update([0]);
        hash_normal(&mut h, value(k));
        h.update([1]);
    }
    hex_prefix(&h.finalize(), 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hash_of_a_state_is_the_one_ledgers_already_hold() {
        // Written by earlier versions into every ledger: a change would make the next pass
        // treat every record as changed.
        let v = json!({"Email": "a@b", "NumberOfEmployees": 42.0, "Title": "", "Zip": true});
        let keys = ["Zip", "Title", "Email", "NumberOfEmployees"];
        assert_eq!(
            values_hash(v.as_object().unwrap(), keys.iter().copied()),
            "dd160223fc7e7bc4c64adebb45dbbf6e"
        );
    }

    #[test]
    fn hashes_ignore_number_form_blank_form_and_other_fields() {
        let a = json!({"Email": "a@b", "NumberOfEmployees": 42, "Title": ""});
        let b = json!({"Email": "a@b", "NumberOfEmployees": 42.0, "Title": null, "Other": 1});
        let keys = ["Email", "NumberOfEmployees", "Title"];
        assert_eq!(
            values_hash(a.as_object().unwrap(), keys.iter().copied()),
            values_hash(b.as_object().unwrap(), keys.iter().copied())
        );
        let c = json!({"Email": "a@c", "NumberOfEmployees": 42});
        assert_ne!(
            values_hash(a.as_object().unwrap(), keys.iter().copied()),
            values_hash(c.as_object().unwrap(), keys.iter().copied())
        );
    }

    #[test]
    fn records_take_their_modification_time_from_either_api() {
        let h = HsRecord::from_json(
            json!({"id": "7", "properties": {"lastmodifieddate": "2026-03-01T10:00:00.000Z"}}),
            "lastmodifieddate",
        )
        .unwrap();
        assert_eq!(h.modified.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        let s = SfRecord::from_json(
            json!({"attributes": {"type": "Lead"}, "Id": "00Q1", "LastModifiedDate": "2026-03-01T10:00:00.000+0000"}),
            "Lead",
        )
        .unwrap();
        assert_eq!(s.modified, h.modified);
        assert!(!s.fields.contains_key("attributes"));
    }
}
