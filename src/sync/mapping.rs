//! Field mappings as plugins declare them (the `mappings` hook returns data), and the
//! per-record plan they produce: for each field, both values, the rule, the winner and the
//! write. The engine executes plans; dry runs print them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::convert::{ConvertError, FieldType, OwnerMap, ValueMap, to_hubspot, to_salesforce};
use super::rules::{Decision, Rule, decide, decide_first_link};

/// One mapped field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    pub hubspot: String,
    pub salesforce: String,
    #[serde(default = "default_rule")]
    pub rule: Rule,
    #[serde(default, rename = "type")]
    pub kind: FieldType,
    /// HubSpot value → Salesforce value, for picklists and multi-selects.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Further Salesforce value → HubSpot value pairs that only sync back to HubSpot.
    #[serde(default)]
    pub salesforce_values: BTreeMap<String, String>,
    /// Built from the two above on first use: converting a value must not copy the maps
    /// (it did, per field per record, and was the sync's largest cost).
    #[serde(skip)]
    value_map: OnceLock<ValueMap>,
}

impl FieldMapping {
    /// Salesforce values that several HubSpot values map to, each with those HubSpot values
    /// and the one it comes back as: the reverse of such a map is lossy.
    pub fn lossy_values(&self) -> Vec<(String, Vec<String>, String)> {
        let mut by_sf: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (h, sf) in &self.values {
            by_sf.entry(sf).or_default().push(h);
        }
        by_sf
            .into_iter()
            .filter(|(sf, hs)| hs.len() > 1 && !self.salesforce_values.contains_key(*sf))
            .map(|(sf, hs)| {
                let back = hs[0].to_string();
                (
                    sf.to_string(),
                    hs.into_iter().map(String::from).collect(),
                    back,
                )
            })
            .collect()
    }

    pub fn value_map(&self) -> &ValueMap {
        self.value_map
            .get_or_init(|| ValueMap::with_extra(&self.values, &self.salesforce_values))
    }
}

fn default_rule() -> Rule {
    Rule::PreferSalesforceUnlessBlank
}

/// One object pair (`contact`, `company`, `deal`, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairMapping {
    /// The HubSpot object type (`contacts`).
    pub hubspot: String,
    /// The Salesforce sObject (`Lead`).
    pub salesforce: String,
    pub fields: Vec<FieldMapping>,
}

/// What the `mappings` hook returns: pair name → mapping.
pub type Mappings = BTreeMap<String, PairMapping>;

/// Parse and check a `mappings` value; errors name the pair and field.
pub fn parse(v: &Value) -> Result<Mappings, String> {
    let m: Mappings = serde_json::from_value(v.clone()).map_err(|e| format!("mappings: {e}"))?;
    for (pair, p) in &m {
        let mut seen_hs = std::collections::BTreeSet::new();
        let mut seen_sf = std::collections::BTreeSet::new();
        for f in &p.fields {
            if !seen_hs.insert(&f.hubspot) {
                return Err(format!(
                    "mappings.{pair}: HubSpot property {} is mapped twice",
                    f.hubspot
                ));
            }
            if !seen_sf.insert(&f.salesforce) {
                return Err(format!(
                    "mappings.{pair}: Salesforce field {} is mapped twice",
                    f.salesforce
                ));
            }
            if matches!(f.kind, FieldType::Picklist | FieldType::Multi) && f.values.is_empty() {
                return Err(format!(
                    "mappings.{pair}: {} ↔ {} is a {:?} and needs `values`",
                    f.hubspot, f.salesforce, f.kind
                ));
            }
        }
    }
    Ok(m)
}

/// One field of a record's plan.
#[derive(Debug, Clone, Serialize)]
pub struct FieldPlan {
    pub hubspot: String,
    pub salesforce: String,
    pub rule: &'static str,
    pub hubspot_value: Value,
    pub salesforce_value: Value,
    pub decision: Decision,
    /// A value that could not be converted (the field is left alone).
    pub error: Option<String>,
}

/// A record's plan: the fields and the resulting writes on each side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordPlan {
    pub fields: Vec<FieldPlan>,
    /// Salesforce fields to write (typed values).
    pub salesforce_writes: Map<String, Value>,
    /// HubSpot properties to write (strings; "" clears).
    pub hubspot_writes: Map<String, Value>,
    /// For a Salesforce create: the unset fields Salesforce fills in from its describe's
    /// defaults, part of the record's state after the create.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub salesforce_defaults: Map<String, Value>,
}

impl RecordPlan {
    pub fn is_noop(&self) -> bool {
        self.salesforce_writes.is_empty() && self.hubspot_writes.is_empty()
    }
}

/// The hash of a HubSpot record's whole state (`keys`: see `Engine::hs_state_properties`), its
/// mapped values in Salesforce terms, so that formats the two APIs write differently
/// (`2026-01-01` and `2026-01-01T00:00:00Z`, `42` and `42.0`) hash alike. Values that do not
/// convert, and unmapped properties, hash as their text.
pub fn hubspot_state_hash(
    pair: &PairMapping,
    props: &Map<String, Value>,
    keys: &[String],
    owners: &OwnerMap,
) -> String {
    hubspot_state_hash_by(pair, |k| props.get(k), keys, owners)
}

/// [`hubspot_state_hash`] of the values `prop` gives for `keys` (a record with writes laid
/// over it).
pub fn hubspot_state_hash_by<'v>(
    pair: &PairMapping,
    prop: impl Fn(&str) -> Option<&'v Value>,
    keys: &[String],
    owners: &OwnerMap,
) -> String {
    let state: Vec<(&str, Value)> = keys
        .iter()
        .map(|k| {
            // The last mapping of a property wins, as inserting into a map did.
            let raw = prop(k).and_then(Value::as_str);
            let v = match pair.fields.iter().rev().find(|f| f.hubspot == *k) {
                Some(f) => to_salesforce(f.kind, raw, f.value_map(), owners).unwrap_or_else(|_| {
                    raw.map(|s| Value::String(s.into())).unwrap_or(Value::Null)
                }),
                None => prop(k).cloned().unwrap_or(Value::Null),
            };
            (k.as_str(), v)
        })
        .collect();
    let value = |k: &str| state.iter().find(|(n, _)| *n == k).map(|(_, v)| v);
    super::records::values_hash_by(value, state.iter().map(|(k, _)| *k))
}

/// When the records of a plan were last changed, and whether they were linked just now
/// (matched in this batch: no blank overwrites a value then).
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub hs_modified: DateTime<Utc>,
    pub sf_modified: DateTime<Utc>,
    pub first_link: bool,
}

/// Plan one linked pair of records (`sf` empty for a record not yet in Salesforce).
pub fn plan(
    pair: &PairMapping,
    hs: &Map<String, Value>,
    sf: &Map<String, Value>,
    times: Times,
    owners: &OwnerMap,
) -> RecordPlan {
    let Times {
        hs_modified,
        sf_modified,
        first_link,
    } = times;
    let mut out = RecordPlan::default();
    for f in &pair.fields {
        let map = f.value_map();
        let hs_raw = hs
            .get(&f.hubspot)
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let sf_raw = sf.get(&f.salesforce).cloned().unwrap_or(Value::Null);
        // Compare in Salesforce terms: HubSpot's string converted to the Salesforce type.
        let converted: Result<(Value, Option<String>), ConvertError> =
            to_salesforce(f.kind, hs_raw.as_deref(), map, owners)
                .and_then(|hs_as_sf| Ok((hs_as_sf, to_hubspot(f.kind, &sf_raw, map, owners)?)));
        let (hs_as_sf, sf_as_hs) = match converted {
            Ok(v) => v,
            Err(e) => {
                out.fields.push(FieldPlan {
                    hubspot: f.hubspot.clone(),
                    salesforce: f.salesforce.clone(),
                    rule: f.rule.label(),
                    hubspot_value: hs_raw.map(Value::String).unwrap_or(Value::Null),
                    salesforce_value: sf_raw,
                    decision: Decision {
                        winner: None,
                        write_hubspot: None,
                        write_salesforce: None,
                        reason: "the value could not be converted",
                    },
                    error: Some(e.0),
                });
                continue;
            }
        };
        let d = if first_link {
            decide_first_link(f.rule, &hs_as_sf, &sf_raw, hs_modified, sf_modified)
        } else {
            decide(f.rule, &hs_as_sf, &sf_raw, hs_modified, sf_modified)
        };
        if d.write_salesforce.is_some() {
            out.salesforce_writes
                .insert(f.salesforce.clone(), hs_as_sf.clone());
        }
        let mut d = d;
        if d.write_hubspot.is_some() {
            // The decision shows what goes on the wire: HubSpot's value, not Salesforce's.
            let wire = Value::String(sf_as_hs.clone().unwrap_or_default());
            out.hubspot_writes.insert(f.hubspot.clone(), wire.clone());
            d.write_hubspot = Some(wire);
        }
        out.fields.push(FieldPlan {
            hubspot: f.hubspot.clone(),
            salesforce: f.salesforce.clone(),
            rule: f.rule.label(),
            hubspot_value: hs_raw.map(Value::String).unwrap_or(Value::Null),
            salesforce_value: sf_raw,
            decision: d,
            error: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn contact_lead() -> PairMapping {
        let m = parse(&json!({
            "contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
                {"hubspot": "email", "salesforce": "Email", "rule": "two_way"},
                {"hubspot": "lastname", "salesforce": "LastName", "rule": "prefer_salesforce_unless_blank"},
                {"hubspot": "numemployees", "salesforce": "NumberOfEmployees", "type": "integer", "rule": "always_hubspot"},
                {"hubspot": "hs_lead_status", "salesforce": "Status", "type": "picklist", "rule": "always_salesforce",
                 "values": {"NEW": "Open - Not Contacted", "IN_PROGRESS": "Working - Contacted"}},
                {"hubspot": "jobtitle", "salesforce": "Title", "rule": "dont_sync"},
            ]},
        }))
        .unwrap();
        m["contact"].clone()
    }

    #[test]
    fn a_new_record_writes_every_synced_field_to_salesforce() {
        let hs = json!({"email": "a@b.example", "lastname": "Lee", "numemployees": "42", "hs_lead_status": "NEW", "jobtitle": "CTO"});
        let p = plan(
            &contact_lead(),
            hs.as_object().unwrap(),
            &Map::new(),
            Times {
                hs_modified: t("2026-02-01T00:00:00Z"),
                sf_modified: t("2026-01-01T00:00:00Z"),
                first_link: false,
            },
            &OwnerMap::default(),
        );
        assert_eq!(
            Value::Object(p.salesforce_writes.clone()),
            json!({"Email": "a@b.example", "LastName": "Lee", "NumberOfEmployees": 42})
        );
        // Status is Always-Salesforce: a blank Salesforce value clears HubSpot's.
        assert_eq!(
            Value::Object(p.hubspot_writes.clone()),
            json!({"hs_lead_status": ""})
        );
    }

    #[test]
    fn a_linked_pair_writes_only_what_the_rules_say() {
        let hs = json!({"email": "new@b.example", "lastname": "Lee", "numemployees": "42", "hs_lead_status": "NEW"});
        let sf = json!({"Email": "old@b.example", "LastName": "Lee-Smith", "NumberOfEmployees": 42, "Status": "Working - Contacted"});
        let p = plan(
            &contact_lead(),
            hs.as_object().unwrap(),
            sf.as_object().unwrap(),
            Times {
                hs_modified: t("2026-02-01T00:00:00Z"),
                sf_modified: t("2026-01-01T00:00:00Z"),
                first_link: false,
            },
            &OwnerMap::default(),
        );
        assert_eq!(
            Value::Object(p.salesforce_writes.clone()),
            json!({"Email": "new@b.example"}),
            "HubSpot changed last"
        );
        assert_eq!(
            Value::Object(p.hubspot_writes.clone()),
            json!({"lastname": "Lee-Smith", "hs_lead_status": "IN_PROGRESS"})
        );
        let status = p.fields.iter().find(|f| f.salesforce == "Status").unwrap();
        assert_eq!(status.rule, "Always use Salesforce");
        let same = plan(
            &contact_lead(),
            json!({"email": "x@b.example", "lastname": "Lee", "numemployees": "7", "hs_lead_status": "NEW"}).as_object().unwrap(),
            json!({"Email": "x@b.example", "LastName": "Lee", "NumberOfEmployees": 7, "Status": "Open - Not Contacted"}).as_object().unwrap(),
            Times { hs_modified: t("2026-02-01T00:00:00Z"), sf_modified: t("2026-01-01T00:00:00Z"), first_link: false },
            &OwnerMap::default(),
        );
        assert!(same.is_noop(), "{:?}", same);
    }

    #[test]
    fn unconvertible_values_are_reported_per_field_and_the_rest_goes_on() {
        let hs = json!({"email": "a@b.example", "lastname": "Lee", "numemployees": "many", "hs_lead_status": "UNKNOWN"});
        let p = plan(
            &contact_lead(),
            hs.as_object().unwrap(),
            &Map::new(),
            Times {
                hs_modified: t("2026-02-01T00:00:00Z"),
                sf_modified: t("2026-01-01T00:00:00Z"),
                first_link: false,
            },
            &OwnerMap::default(),
        );
        let errors: Vec<&str> = p.fields.iter().filter_map(|f| f.error.as_deref()).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            p.salesforce_writes.contains_key("Email")
                && !p.salesforce_writes.contains_key("NumberOfEmployees")
        );
    }

    #[test]
    fn bad_mappings_say_which_pair_and_field() {
        let e = parse(&json!({"contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
            {"hubspot": "email", "salesforce": "Email"}, {"hubspot": "email", "salesforce": "Email2"}]}})).unwrap_err();
        assert!(
            e.contains("mappings.contact") && e.contains("email is mapped twice"),
            "{e}"
        );
        let e = parse(
            &json!({"contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
            {"hubspot": "s", "salesforce": "S", "type": "picklist"}]}}),
        )
        .unwrap_err();
        assert!(e.contains("needs `values`"), "{e}");
        let e = parse(
            &json!({"contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
            {"hubspot": "s", "salesforce": "S", "rule": "sometimes"}]}}),
        )
        .unwrap_err();
        assert!(e.contains("unknown variant `sometimes`"), "{e}");
    }
}
