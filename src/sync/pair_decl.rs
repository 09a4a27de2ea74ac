//! Object pairs as data: what a plugin's `pairs` hook declares (the HubSpot object and the
//! sObjects, how unlinked records match, parent links, filters, extra properties to pull,
//! record types ⇄ pipelines), read and checked before any call. What can be checked without
//! the schemas is checked here — unknown keys, missing ones, a parent that is no declared
//! pair, a cycle of parents, a record type without its pipeline; fields against the schemas
//! are checked when the engine is prepared.
//!
//! The engine runs on these: `plugins/default` declares the four standard pairs, and
//! nothing about them is written into Rust beyond what HubSpot's and Salesforce's own
//! objects mean (a HubSpot contact's lifecycle stage, a converted Lead).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

/// Where a declaration is wrong: the pair, the key path, and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pairs.{pair}{path}: {message}")]
pub struct PairDeclError {
    pub pair: String,
    /// `.match.by`, `.parents[1].pair`…; empty for the pair itself.
    pub path: String,
    pub message: String,
}

impl PairDeclError {
    pub fn new(pair: &str, path: impl Into<String>, message: impl Into<String>) -> PairDeclError {
        PairDeclError {
            pair: pair.to_string(),
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The HubSpot side of a pair.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubspotSide {
    /// A standard object's name (`contacts`), or a custom object's type id (`2-…`) or fully
    /// qualified name (`p123_subscriptions`).
    pub object: String,
    /// Search filters (HubSpot's `filters` shape: `{propertyName, operator, value}`) the
    /// pair's records must pass; at most 4, as a search group takes 6 and the pull uses 2.
    #[serde(default)]
    pub filters: Vec<Value>,
    /// Properties to pull beyond the mapped ones.
    #[serde(default)]
    pub pull: Vec<String>,
    /// The property that keeps the linked Salesforce id, one for all sObjects or one per
    /// sObject (`salesforceleadid`, `salesforcecontactid`). A `hubforce_…` property the
    /// object lacks is created when the sync starts.
    #[serde(default = "default_salesforce_id")]
    pub salesforce_id: PerObject,
    /// Values a record created from Salesforce starts with when its mapping gives none
    /// (`lifecyclestage = "lead"`, `pipeline = "default"`).
    #[serde(default)]
    pub defaults: BTreeMap<String, Value>,
}

fn default_salesforce_id() -> PerObject {
    PerObject::All(HUBFORCE_SALESFORCE_ID.into())
}

/// The property hubforce adds to an object whose records have no Salesforce id property.
pub const HUBFORCE_SALESFORCE_ID: &str = "hubforce_salesforce_id";

/// The Salesforce field that keeps the HubSpot id unless a pair names another.
pub const HUBSPOT_ID_FIELD: &str = "HubSpot_Id__c";

/// One value for every sObject of a pair, or one per sObject.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PerObject {
    All(String),
    ByObject(BTreeMap<String, String>),
}

impl PerObject {
    pub fn get(&self, sobject: &str) -> Option<&str> {
        match self {
            PerObject::All(v) => Some(v),
            PerObject::ByObject(m) => m.get(sobject).map(String::as_str),
        }
    }

    /// Every value, for checks.
    pub fn values(&self) -> Vec<&str> {
        match self {
            PerObject::All(v) => vec![v.as_str()],
            PerObject::ByObject(m) => m.values().map(String::as_str).collect(),
        }
    }

    fn objects(&self) -> Vec<&str> {
        match self {
            PerObject::All(_) => Vec::new(),
            PerObject::ByObject(m) => m.keys().map(String::as_str).collect(),
        }
    }
}

/// The Salesforce side of a pair.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSide {
    /// The sObjects, in match order (Lead and Contact for contacts).
    pub objects: Vec<String>,
    /// Which of them a new record becomes (the first when absent).
    #[serde(default)]
    pub create_as: Option<String>,
    /// A SOQL `WHERE` fragment the pair's records must pass: one for every sObject, or
    /// one per sObject (`Lead = "IsConverted = false"`).
    #[serde(default, rename = "where")]
    pub filter: Option<PerObject>,
    /// Fields to pull beyond the mapped ones; each sObject reads those it has.
    #[serde(default)]
    pub pull: Vec<String>,
    /// The field that keeps the HubSpot id (an external id field).
    #[serde(default = "default_hubspot_id")]
    pub hubspot_id: String,
}

fn default_hubspot_id() -> String {
    HUBSPOT_ID_FIELD.into()
}

/// How unlinked records find their counterpart.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "by", rename_all = "snake_case")]
pub enum MatchDecl {
    /// The HubSpot id in a Salesforce external id field, or a shared key in both.
    ExternalId {
        salesforce: String,
        #[serde(default)]
        hubspot: Option<String>,
    },
    Email,
    DomainThenName,
    /// Every listed field equal on both sides.
    Fields {
        fields: Vec<FieldPair>,
    },
    /// Only the ids each side keeps of the other.
    Ids,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldPair {
    pub hubspot: String,
    pub salesforce: String,
}

/// A parent link: a HubSpot association ⇄ a Salesforce lookup, to another declared pair.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParentDecl {
    pub pair: String,
    /// The associated HubSpot object (`companies`).
    pub association: String,
    /// The lookup field (`AccountId`, `WhatId`, `Account__c`).
    pub lookup: String,
}

/// A record type ⇄ a pipeline, with its stage map (HubSpot stage id → Salesforce value).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordTypeDecl {
    /// The record type's developer name.
    pub record_type: String,
    pub pipeline: String,
    /// The Salesforce field the stages map to (`StageName`, `Status`).
    pub stage_field: String,
    pub stages: BTreeMap<String, String>,
    /// Salesforce values several stages share, or none maps to: the stage each comes back
    /// as (otherwise the first stage mapped to the value).
    #[serde(default)]
    pub salesforce_stages: BTreeMap<String, String>,
}

/// One declared pair.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PairDecl {
    pub hubspot: HubspotSide,
    pub salesforce: SalesforceSide,
    #[serde(rename = "match")]
    pub matching: MatchDecl,
    #[serde(default)]
    pub parents: Vec<ParentDecl>,
    #[serde(default)]
    pub record_types: Vec<RecordTypeDecl>,
}

impl PairDecl {
    /// The sObject a new record becomes.
    pub fn create_as(&self) -> &str {
        self.salesforce
            .create_as
            .as_deref()
            .or(self.salesforce.objects.first().map(String::as_str))
            .unwrap_or_default()
    }
}

/// Every pair a plugin declares, by name, each checked on its own; [`check_parents`] checks
/// the links between them once every plugin's pairs are known.
pub fn parse(v: &Value) -> Result<BTreeMap<String, PairDecl>, PairDeclError> {
    let Value::Object(pairs) = v else {
        return Err(PairDeclError {
            pair: String::new(),
            path: String::new(),
            message: "return a table of pairs by name".into(),
        });
    };
    let mut out = BTreeMap::new();
    for (name, decl) in pairs {
        let err = |path: &str, message: String| PairDeclError {
            pair: name.clone(),
            path: path.to_string(),
            message,
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(err("", "a pair's name is lower-case letters and _".into()));
        }
        let d: PairDecl =
            serde_json::from_value(decl.clone()).map_err(|e| err("", e.to_string()))?;
        check_one(&d).map_err(|(path, message)| err(&path, message))?;
        out.insert(name.clone(), d);
    }
    Ok(out)
}

fn check_one(d: &PairDecl) -> Result<(), (String, String)> {
    if d.hubspot.object.is_empty() {
        return Err((".hubspot.object".into(), "name the HubSpot object".into()));
    }
    if d.salesforce.objects.is_empty() {
        return Err((
            ".salesforce.objects".into(),
            "name at least one sObject".into(),
        ));
    }
    if let Some(c) = &d.salesforce.create_as
        && !d.salesforce.objects.contains(c)
    {
        return Err((
            ".salesforce.create_as".into(),
            format!(
                "{c} is not one of objects ({})",
                d.salesforce.objects.join(", ")
            ),
        ));
    }
    if d.hubspot.filters.len() > 4 {
        return Err((
            ".hubspot.filters".into(),
            "at most 4 filters (HubSpot's search takes 6 in a group; the pull uses 2)".into(),
        ));
    }
    if let Some(i) = d
        .hubspot
        .filters
        .iter()
        .position(|f| !f["propertyName"].is_string() || !f["operator"].is_string())
    {
        return Err((
            format!(".hubspot.filters[{}]", i + 1),
            "a filter is { propertyName = \"…\", operator = \"EQ\", value = \"…\" }".into(),
        ));
    }
    let objects = &d.salesforce.objects;
    let per_object = [
        (".hubspot.salesforce_id", Some(&d.hubspot.salesforce_id)),
        (".salesforce.where", d.salesforce.filter.as_ref()),
    ];
    for (path, v) in per_object {
        let Some(v) = v else { continue };
        if let Some(o) = v
            .objects()
            .into_iter()
            .find(|o| !objects.iter().any(|x| x == o))
        {
            return Err((
                format!("{path}.{o}"),
                format!("{o} is not one of objects ({})", objects.join(", ")),
            ));
        }
    }
    if let Some(o) = objects
        .iter()
        .find(|o| d.hubspot.salesforce_id.get(o).is_none())
    {
        return Err((
            ".hubspot.salesforce_id".into(),
            format!("name the property that keeps the id of a {o}"),
        ));
    }
    if !d.record_types.is_empty() && objects.len() != 1 {
        return Err((
            ".record_types".into(),
            "record types belong to one sObject: a pair with record types has one object".into(),
        ));
    }
    if let MatchDecl::Fields { fields } = &d.matching
        && fields.is_empty()
    {
        return Err((
            ".match.fields".into(),
            "list at least one field pair".into(),
        ));
    }
    check_record_types(&d.record_types)
}

/// Each record type once, with stages, and a way back only to declared stages.
fn check_record_types(types: &[RecordTypeDecl]) -> Result<(), (String, String)> {
    let mut seen = BTreeSet::new();
    for (i, rt) in types.iter().enumerate() {
        if !seen.insert(&rt.record_type) {
            return Err((
                format!(".record_types[{}].record_type", i + 1),
                format!("{} is declared twice", rt.record_type),
            ));
        }
        if let Some((v, stage)) = rt
            .salesforce_stages
            .iter()
            .find(|(_, s)| !rt.stages.contains_key(*s))
        {
            return Err((
                format!(".record_types[{}].salesforce_stages", i + 1),
                format!("{v} comes back as {stage}, which is not one of the stages"),
            ));
        }
        if rt.stages.is_empty() {
            return Err((
                format!(".record_types[{}].stages", i + 1),
                "map at least one stage".into(),
            ));
        }
    }
    Ok(())
}

/// Parents must be declared pairs, and the pairs must not be each other's parents.
pub fn check_parents(pairs: &BTreeMap<String, PairDecl>) -> Result<(), PairDeclError> {
    for (name, d) in pairs {
        for (i, p) in d.parents.iter().enumerate() {
            if !pairs.contains_key(&p.pair) {
                return Err(PairDeclError {
                    pair: name.clone(),
                    path: format!(".parents[{}].pair", i + 1),
                    message: format!(
                        "{} is not a declared pair (declared: {})",
                        p.pair,
                        pairs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    for start in pairs.keys() {
        let mut path = vec![start.clone()];
        if let Some(cycle) = find_cycle(pairs, start, &mut path) {
            return Err(PairDeclError {
                pair: start.clone(),
                path: ".parents".into(),
                message: format!("parents run in a circle: {}", cycle.join(" → ")),
            });
        }
    }
    Ok(())
}

fn find_cycle(
    pairs: &BTreeMap<String, PairDecl>,
    at: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    for p in pairs
        .get(at)
        .map(|d| d.parents.as_slice())
        .unwrap_or_default()
    {
        if let Some(i) = path.iter().position(|n| *n == p.pair) {
            let mut cycle = path[i..].to_vec();
            cycle.push(p.pair.clone());
            return Some(cycle);
        }
        path.push(p.pair.clone());
        if let Some(c) = find_cycle(pairs, &p.pair, path) {
            return Some(c);
        }
        path.pop();
    }
    None
}

/// The order pairs must run in: parents before children.
pub fn run_order(pairs: &BTreeMap<String, PairDecl>) -> Vec<String> {
    fn visit(n: &str, pairs: &BTreeMap<String, PairDecl>, done: &mut Vec<String>) {
        if done.iter().any(|d| d == n) {
            return;
        }
        for p in pairs
            .get(n)
            .map(|d| d.parents.as_slice())
            .unwrap_or_default()
        {
            visit(&p.pair, pairs, done);
        }
        done.push(n.to_string());
    }
    let mut done = Vec::new();
    for n in pairs.keys() {
        visit(n, pairs, &mut done);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs() -> Value {
        json!({
            "company": {
                "hubspot": {"object": "companies"},
                "salesforce": {"objects": ["Account"]},
                "match": {"by": "domain_then_name"},
            },
            "contact": {
                "hubspot": {"object": "contacts"},
                "salesforce": {"objects": ["Contact", "Lead"], "create_as": "Lead"},
                "match": {"by": "email"},
                "parents": [{"pair": "company", "association": "companies", "lookup": "AccountId"}],
            },
            "ticket": {
                "hubspot": {"object": "tickets", "pull": ["hs_ticket_priority"]},
                "salesforce": {"objects": ["Case"], "where": "IsClosed = false"},
                "match": {"by": "external_id", "salesforce": "HubSpot_Id__c"},
                "parents": [
                    {"pair": "contact", "association": "contacts", "lookup": "ContactId"},
                    {"pair": "company", "association": "companies", "lookup": "AccountId"},
                ],
                "record_types": [
                    {"record_type": "Support", "pipeline": "0", "stage_field": "Status",
                     "stages": {"1": "New", "2": "Working", "4": "Closed"}},
                    {"record_type": "Billing", "pipeline": "billing", "stage_field": "Status",
                     "stages": {"billing_new": "New", "billing_closed": "Closed"}},
                ],
            },
            "subscription": {
                "hubspot": {"object": "p44710158_subscriptions"},
                "salesforce": {"objects": ["Subscription__c"]},
                "match": {"by": "external_id", "salesforce": "Subscription_Key__c", "hubspot": "subscription_key"},
                "parents": [{"pair": "company", "association": "companies", "lookup": "Account__c"}],
            },
        })
    }

    #[test]
    fn declared_pairs_read_and_run_parents_first() {
        let p = parse(&pairs()).unwrap();
        check_parents(&p).unwrap();
        assert_eq!(p["contact"].create_as(), "Lead");
        assert_eq!(p["company"].create_as(), "Account");
        assert_eq!(
            p["ticket"].matching,
            MatchDecl::ExternalId {
                salesforce: "HubSpot_Id__c".into(),
                hubspot: None
            }
        );
        assert_eq!(
            p["ticket"]
                .salesforce
                .filter
                .as_ref()
                .and_then(|f| f.get("Case")),
            Some("IsClosed = false")
        );
        let order = run_order(&p);
        let at = |n: &str| order.iter().position(|o| o == n).unwrap();
        assert!(
            at("company") < at("contact") && at("contact") < at("ticket"),
            "{order:?}"
        );
        assert!(at("company") < at("subscription"));
    }

    fn refused(edit: impl FnOnce(&mut Value)) -> PairDeclError {
        let mut v = pairs();
        edit(&mut v);
        parse(&v).and_then(|p| check_parents(&p)).unwrap_err()
    }

    #[test]
    fn every_declaration_error_names_the_pair_and_the_key() {
        let e = refused(|v| v["ticket"]["salesforce"]["object"] = json!("Case"));
        assert_eq!(e.pair, "ticket");
        assert!(e.message.contains("unknown field `object`"), "{e}");
        let e = refused(|v| v["ticket"]["parents"][0]["pair"] = json!("person"));
        assert_eq!(
            (e.pair.as_str(), e.path.as_str()),
            ("ticket", ".parents[1].pair")
        );
        assert!(e.message.contains("person is not a declared pair"), "{e}");
        let e = refused(|v| {
            v["company"]["parents"] =
                json!([{"pair": "ticket", "association": "tickets", "lookup": "X__c"}])
        });
        assert!(e.message.contains("parents run in a circle"), "{e}");
        let e = refused(|v| v["contact"]["salesforce"]["create_as"] = json!("Account"));
        assert_eq!(e.path, ".salesforce.create_as");
        let e = refused(|v| v["contact"]["match"] = json!({"by": "telepathy"}));
        assert!(e.message.contains("telepathy"), "{e}");
        let e = refused(|v| v["ticket"]["record_types"][1]["record_type"] = json!("Support"));
        assert_eq!(e.path, ".record_types[2].record_type");
        let e = refused(|v| v["ticket"]["record_types"][0]["stages"] = json!({}));
        assert_eq!(e.path, ".record_types[1].stages");
        let e = refused(|v| v["Tickets"] = v["ticket"].clone());
        assert!(e.message.contains("lower-case"), "{e}");
        assert_eq!(
            e.to_string(),
            "pairs.Tickets: a pair's name is lower-case letters and _"
        );
    }
}
