//! Value conversion between HubSpot (every property value a string) and Salesforce (typed
//! JSON): dates, datetimes, numbers, booleans, enumerations ↔ picklists through a value map,
//! multi-selects ↔ `;`-joined picklists. Owners go by email and need look-ups, so the engine
//! maps them with [`OwnerMap`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    #[default]
    Text,
    Number,
    Integer,
    Boolean,
    Date,
    Datetime,
    Picklist,
    Multi,
    Owner,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String);

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError(msg.into())
}

/// HubSpot enumeration value → Salesforce picklist value; the reverse is derived.
#[derive(Debug, Clone, Default)]
pub struct ValueMap {
    forward: BTreeMap<String, String>,
    backward: BTreeMap<String, String>,
}

impl ValueMap {
    pub fn new(pairs: &BTreeMap<String, String>) -> ValueMap {
        ValueMap::with_extra(pairs, &BTreeMap::new())
    }

    /// With `extra`: more Salesforce values (→ HubSpot value) that only map back, for a
    /// picklist with more values than the HubSpot enumeration.
    pub fn with_extra(
        pairs: &BTreeMap<String, String>,
        extra: &BTreeMap<String, String>,
    ) -> ValueMap {
        let mut backward = extra.clone();
        for (h, s) in pairs {
            // Several HubSpot values may map to one Salesforce value: the first one wins back.
            backward.entry(s.clone()).or_insert_with(|| h.clone());
        }
        ValueMap {
            forward: pairs.clone(),
            backward,
        }
    }

    fn to_sf(&self, v: &str) -> Result<String, ConvertError> {
        if self.forward.is_empty() {
            return Ok(v.to_string());
        }
        self.forward.get(v).cloned().ok_or_else(|| {
            err(format!(
                "no Salesforce value is mapped for HubSpot value \"{v}\""
            ))
        })
    }

    fn to_hs(&self, v: &str) -> Result<String, ConvertError> {
        if self.backward.is_empty() {
            return Ok(v.to_string());
        }
        self.backward.get(v).cloned().ok_or_else(|| {
            err(format!(
                "no HubSpot value is mapped for Salesforce value \"{v}\""
            ))
        })
    }
}

/// Owners by email: HubSpot owner id ↔ email ↔ Salesforce user id.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OwnerMap {
    pub hs_by_id: BTreeMap<String, String>,
    pub hs_by_email: BTreeMap<String, String>,
    pub sf_by_id: BTreeMap<String, String>,
    pub sf_by_email: BTreeMap<String, String>,
}

impl OwnerMap {
    pub fn to_sf(&self, hs_owner: &str) -> Result<String, ConvertError> {
        let email = self
            .hs_by_id
            .get(hs_owner)
            .ok_or_else(|| err(format!("HubSpot owner {hs_owner} is unknown")))?;
        self.sf_by_email
            .get(&email.to_lowercase())
            .cloned()
            .ok_or_else(|| {
                err(format!(
                    "no active Salesforce user has the owner's email {email}"
                ))
            })
    }

    pub fn to_hs(&self, sf_user: &str) -> Result<String, ConvertError> {
        let email = self
            .sf_by_id
            .get(sf_user)
            .ok_or_else(|| err(format!("Salesforce user {sf_user} is unknown")))?;
        self.hs_by_email
            .get(&email.to_lowercase())
            .cloned()
            .ok_or_else(|| err(format!("no HubSpot owner has the user's email {email}")))
    }
}

/// Both APIs' datetime forms: RFC 3339, Salesforce's `+0000` offset, epoch milliseconds.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            s.parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
        })
}

/// A HubSpot value (None = unset) as the Salesforce field of this type takes it.
pub fn to_salesforce(
    t: FieldType,
    hs: Option<&str>,
    map: &ValueMap,
    owners: &OwnerMap,
) -> Result<Value, ConvertError> {
    let Some(v) = hs.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Value::Null);
    };
    Ok(match t {
        FieldType::Text => json!(v),
        FieldType::Number => json!(
            v.parse::<f64>()
                .map_err(|_| err(format!("\"{v}\" is not a number")))?
        ),
        FieldType::Integer => {
            let n = v
                .parse::<f64>()
                .map_err(|_| err(format!("\"{v}\" is not a number")))?;
            if n.fract() != 0.0 {
                return Err(err(format!("\"{v}\" is not a whole number")));
            }
            json!(n as i64)
        }
        FieldType::Boolean => match v.to_ascii_lowercase().as_str() {
            "true" => json!(true),
            "false" => json!(false),
            _ => return Err(err(format!("\"{v}\" is not true or false"))),
        },
        FieldType::Date => {
            let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .or_else(|| parse_datetime(v).map(|t| t.date_naive()))
                .ok_or_else(|| err(format!("\"{v}\" is not a date")))?;
            json!(d.format("%Y-%m-%d").to_string())
        }
        FieldType::Datetime => {
            let t = parse_datetime(v).ok_or_else(|| err(format!("\"{v}\" is not a datetime")))?;
            json!(t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        }
        FieldType::Picklist => json!(map.to_sf(v)?),
        FieldType::Multi => {
            let parts: Vec<String> = v
                .split(';')
                .filter(|p| !p.is_empty())
                .map(|p| map.to_sf(p))
                .collect::<Result<_, _>>()?;
            json!(parts.join(";"))
        }
        FieldType::Owner => json!(owners.to_sf(v)?),
    })
}

/// A Salesforce value as the HubSpot property of this type stores it (None = clear).
pub fn to_hubspot(
    t: FieldType,
    sf: &Value,
    map: &ValueMap,
    owners: &OwnerMap,
) -> Result<Option<String>, ConvertError> {
    let text = match sf {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            (None, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        other => return Err(err(format!("{other} has no HubSpot form"))),
    };
    Ok(Some(match t {
        FieldType::Text | FieldType::Number | FieldType::Integer | FieldType::Boolean => text,
        FieldType::Date => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(|d| d.format("%Y-%m-%d").to_string())
            .map_err(|_| err(format!("\"{text}\" is not a date")))?,
        FieldType::Datetime => parse_datetime(&text)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .ok_or_else(|| err(format!("\"{text}\" is not a datetime")))?,
        FieldType::Picklist => map.to_hs(&text)?,
        FieldType::Multi => text
            .split(';')
            .filter(|p| !p.is_empty())
            .map(|p| map.to_hs(p))
            .collect::<Result<Vec<_>, _>>()?
            .join(";"),
        FieldType::Owner => owners.to_hs(&text)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ValueMap {
        ValueMap::new(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn scalars_cross_both_ways() {
        let (m, o) = (ValueMap::default(), OwnerMap::default());
        assert_eq!(
            to_salesforce(FieldType::Number, Some("12.5"), &m, &o).unwrap(),
            json!(12.5)
        );
        assert_eq!(
            to_salesforce(FieldType::Integer, Some("42"), &m, &o).unwrap(),
            json!(42)
        );
        assert!(to_salesforce(FieldType::Integer, Some("4.2"), &m, &o).is_err());
        assert_eq!(
            to_salesforce(FieldType::Boolean, Some("TRUE"), &m, &o).unwrap(),
            json!(true)
        );
        assert_eq!(
            to_salesforce(FieldType::Text, Some("  "), &m, &o).unwrap(),
            Value::Null
        );
        assert_eq!(
            to_hubspot(FieldType::Number, &json!(42.0), &m, &o)
                .unwrap()
                .as_deref(),
            Some("42")
        );
        assert_eq!(
            to_hubspot(FieldType::Boolean, &json!(false), &m, &o)
                .unwrap()
                .as_deref(),
            Some("false")
        );
        assert_eq!(
            to_hubspot(FieldType::Text, &Value::Null, &m, &o).unwrap(),
            None
        );
    }

    #[test]
    fn dates_and_datetimes_use_each_sides_format() {
        let (m, o) = (ValueMap::default(), OwnerMap::default());
        assert_eq!(
            to_salesforce(
                FieldType::Datetime,
                Some("2026-03-01T10:00:00.000Z"),
                &m,
                &o
            )
            .unwrap(),
            json!("2026-03-01T10:00:00.000+0000")
        );
        assert_eq!(
            to_salesforce(FieldType::Datetime, Some("1772359200000"), &m, &o).unwrap(),
            json!("2026-03-01T10:00:00.000+0000")
        );
        assert_eq!(
            to_salesforce(FieldType::Date, Some("2026-03-01T10:00:00.000Z"), &m, &o).unwrap(),
            json!("2026-03-01")
        );
        assert_eq!(
            to_hubspot(
                FieldType::Datetime,
                &json!("2026-03-01T10:00:00.000+0000"),
                &m,
                &o
            )
            .unwrap()
            .as_deref(),
            Some("2026-03-01T10:00:00.000Z")
        );
        assert_eq!(
            to_hubspot(FieldType::Date, &json!("2026-03-01"), &m, &o)
                .unwrap()
                .as_deref(),
            Some("2026-03-01")
        );
    }

    #[test]
    fn picklists_and_multi_selects_go_through_the_value_map() {
        let o = OwnerMap::default();
        let m = map(&[
            ("lead", "Open - Not Contacted"),
            ("marketingqualifiedlead", "Working - Contacted"),
            ("salesqualifiedlead", "Working - Contacted"),
        ]);
        assert_eq!(
            to_salesforce(FieldType::Picklist, Some("lead"), &m, &o).unwrap(),
            json!("Open - Not Contacted")
        );
        assert_eq!(
            to_hubspot(FieldType::Picklist, &json!("Working - Contacted"), &m, &o)
                .unwrap()
                .as_deref(),
            Some("marketingqualifiedlead")
        );
        assert!(
            to_salesforce(FieldType::Picklist, Some("customer"), &m, &o)
                .unwrap_err()
                .0
                .contains("no Salesforce value is mapped")
        );
        let multi = map(&[("analytics", "Analytics"), ("support", "Support")]);
        assert_eq!(
            to_salesforce(FieldType::Multi, Some("analytics;support"), &multi, &o).unwrap(),
            json!("Analytics;Support")
        );
        assert_eq!(
            to_hubspot(FieldType::Multi, &json!("Support;Analytics"), &multi, &o)
                .unwrap()
                .as_deref(),
            Some("support;analytics")
        );
    }

    #[test]
    fn owners_match_by_email() {
        let m = ValueMap::default();
        let mut o = OwnerMap::default();
        o.hs_by_id.insert("70".into(), "Rep@Acme.example".into());
        o.hs_by_email.insert("rep@acme.example".into(), "70".into());
        o.sf_by_id.insert("005A".into(), "rep@acme.example".into());
        o.sf_by_email
            .insert("rep@acme.example".into(), "005A".into());
        assert_eq!(
            to_salesforce(FieldType::Owner, Some("70"), &m, &o).unwrap(),
            json!("005A")
        );
        assert_eq!(
            to_hubspot(FieldType::Owner, &json!("005A"), &m, &o)
                .unwrap()
                .as_deref(),
            Some("70")
        );
        assert!(to_salesforce(FieldType::Owner, Some("71"), &m, &o).is_err());
    }
}
