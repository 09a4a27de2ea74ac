//! What Salesforce's describe says about a synced sObject, read once when the engine is
//! prepared: its fields, its record types and what each lookup may point at.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Described {
    pub fields: HashSet<String>,
    /// Record type developer name → id (not the Master one every object has).
    pub record_types: BTreeMap<String, String>,
    /// Lookup field → the sObjects it may point at (`ContactId` → Contact, `WhoId` → Contact,
    /// Lead).
    pub references: HashMap<String, Vec<String>>,
    /// Field → its describe type (`boolean`, `double`, `int`, `datetime`…): what a Bulk API
    /// CSV's text becomes.
    pub types: HashMap<String, String>,
    /// Field → the value Salesforce gives it on create when the create leaves it unset: the
    /// picklist entry marked `defaultValue`, or a checkbox's `defaultValue`. A formula default
    /// is not known until the record exists, so it is not here.
    pub defaults: HashMap<String, Value>,
}

impl Described {
    pub fn of(describe: &Value) -> Described {
        let list = |key: &str| describe[key].as_array().into_iter().flatten();
        let mut out = Described::default();
        for f in list("fields") {
            let Some(name) = f["name"].as_str() else {
                continue;
            };
            out.fields.insert(name.to_string());
            if let Some(t) = f["type"].as_str() {
                out.types.insert(name.to_string(), t.to_string());
            }
            let to: Vec<String> = f["referenceTo"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(String::from))
                .collect();
            if !to.is_empty() {
                out.references.insert(name.to_string(), to);
            }
            if let Some(v) = default_on_create(f) {
                out.defaults.insert(name.to_string(), v);
            }
        }
        for r in list("recordTypeInfos").filter(|r| r["master"] != json!(true)) {
            if let (Some(dev), Some(id)) = (r["developerName"].as_str(), r["recordTypeId"].as_str())
            {
                out.record_types.insert(dev.to_string(), id.to_string());
            }
        }
        out
    }
}

/// What a create that leaves field `f` unset gives it, when the describe says.
fn default_on_create(f: &Value) -> Option<Value> {
    if f["defaultedOnCreate"] == json!(false) || f["createable"] == json!(false) {
        return None;
    }
    if f["type"] == "boolean" {
        return f["defaultValue"].as_bool().map(Value::Bool);
    }
    f["picklistValues"]
        .as_array()?
        .iter()
        .find(|e| e["defaultValue"] == json!(true) && e["active"] != json!(false))
        .and_then(|e| e["value"].as_str())
        .map(|v| Value::String(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_types_come_from_describe_without_the_master() {
        let d = Described::of(&json!({
            "fields": [{"name": "Id"}, {"name": "Status"},
                       {"name": "ContactId", "referenceTo": ["Contact"]}, {"name": "Subject", "referenceTo": []}],
            "recordTypeInfos": [
                {"developerName": "Support", "recordTypeId": "012A", "master": false},
                {"developerName": "Master", "recordTypeId": "012000000000000AAA", "master": true},
            ],
        }));
        assert!(d.fields.contains("Status"));
        assert_eq!(d.record_types.len(), 1);
        assert_eq!(d.record_types["Support"], "012A");
        assert_eq!(d.references.len(), 1);
        assert_eq!(d.references["ContactId"], ["Contact"]);
    }

    #[test]
    fn defaults_on_create_come_from_the_default_picklist_entry_and_checkboxes() {
        let d = Described::of(&json!({"fields": [
            {"name": "Status", "type": "picklist", "defaultedOnCreate": true, "defaultValue": null,
             "picklistValues": [
                {"active": true, "defaultValue": false, "value": "Working"},
                {"active": true, "defaultValue": true, "value": "Open"}]},
            {"name": "Rating", "type": "picklist", "defaultedOnCreate": false,
             "picklistValues": [{"active": true, "defaultValue": false, "value": "Hot"}]},
            {"name": "DoNotCall", "type": "boolean", "defaultedOnCreate": true, "defaultValue": false},
            {"name": "IsConverted", "type": "boolean", "createable": false, "defaultValue": false},
            {"name": "Title", "type": "string", "defaultValue": null},
        ]}));
        assert_eq!(d.defaults.len(), 2, "{:?}", d.defaults);
        assert_eq!(d.defaults["Status"], json!("Open"));
        assert_eq!(d.defaults["DoNotCall"], json!(false));
    }
}
