//! `sync.schema`: the mappings and what transforms write, against both schemas (describe and
//! HubSpot's properties) — a field that does not exist, a declared type that does not fit
//! the field's, a picklist value the field does not take. Each is an error: the sync would
//! otherwise find out record by record (or, for a missing field, drop it silently).

use std::collections::BTreeMap;

use serde_json::Value;

use super::writes::TransformWrites;
use super::{CheckOptions, CheckReport, Status};
use crate::session::Session;
use crate::sync::convert::FieldType;
use crate::sync::mapping::{FieldMapping, Mappings};
use crate::sync::pairs::PairSpec;

const G: &str = "sync";
const C: &str = "schema";

/// Why a mapping's declared type does not fit a Salesforce field of type `sf` and a
/// HubSpot property of type `hs`; None when it fits.
fn misfit(kind: FieldType, sf: &str, hs: &str) -> Option<String> {
    let numeric = ["double", "currency", "percent", "int", "long"];
    let (sf_ok, hs_ok, want) = match kind {
        FieldType::Number | FieldType::Integer => (numeric.contains(&sf), hs == "number", "number"),
        FieldType::Boolean => (
            sf == "boolean",
            hs == "bool" || hs == "enumeration",
            "boolean",
        ),
        FieldType::Date | FieldType::Datetime => (
            sf == "date" || sf == "datetime",
            hs == "date" || hs == "datetime",
            "date",
        ),
        FieldType::Picklist => (
            !numeric.contains(&sf) && sf != "boolean",
            hs == "enumeration" || hs == "string",
            "picklist",
        ),
        FieldType::Multi => (sf == "multipicklist", hs == "enumeration", "multi"),
        FieldType::Owner => (true, true, "owner"),
        // Text carries text: a number, a flag or a date field needs its own type to convert.
        FieldType::Text => (
            !numeric.contains(&sf) && !["boolean", "date", "datetime"].contains(&sf),
            !["number", "bool", "date", "datetime"].contains(&hs),
            "text",
        ),
    };
    match (sf_ok, hs_ok) {
        (true, true) => None,
        (false, _) => Some(format!(
            "declared {want}, but the Salesforce field is a {sf}"
        )),
        (_, false) => Some(format!(
            "declared {want}, but the HubSpot property is a {hs}"
        )),
    }
}

/// A name's closest neighbour among `known`, for "did you mean".
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|k| {
            (
                crate::plugins::plugin::distance(&k.to_lowercase(), &name.to_lowercase()),
                k,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| format!(" (did you mean {k}?)"))
        .unwrap_or_default()
}

fn by_name(list: &[Value]) -> BTreeMap<&str, &Value> {
    list.iter()
        .filter_map(|v| Some((v["name"].as_str()?, v)))
        .collect()
}

/// One mapped field against both schemas: what is wrong with it.
fn field_problems(
    sobject: &str,
    f: &FieldMapping,
    sf_fields: &BTreeMap<&str, &Value>,
    hs_props: &BTreeMap<&str, &Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    let at = format!("{} ⇄ {sobject}.{}", f.hubspot, f.salesforce);
    let sf = sf_fields.get(f.salesforce.as_str());
    let hs = hs_props.get(f.hubspot.as_str());
    if sf.is_none() {
        out.push(format!(
            "{at}: {sobject} has no field {}{}",
            f.salesforce,
            closest(&f.salesforce, sf_fields.keys().copied())
        ));
    }
    if hs.is_none() {
        out.push(format!(
            "{at}: HubSpot has no property {}{}",
            f.hubspot,
            closest(&f.hubspot, hs_props.keys().copied())
        ));
    }
    let (Some(sf), Some(hs)) = (sf, hs) else {
        return out;
    };
    if let Some(why) = misfit(
        f.kind,
        sf["type"].as_str().unwrap_or_default(),
        hs["type"].as_str().unwrap_or_default(),
    ) {
        out.push(format!("{at}: {why}"));
    }
    if !f.values.is_empty() {
        let restricted = sf["restrictedPicklist"] == true;
        let sf_values: Vec<&str> = sf["picklistValues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["active"] != false)
            .filter_map(|v| v["value"].as_str())
            .collect();
        let unknown_sf: Vec<&str> = f
            .values
            .values()
            .map(String::as_str)
            .chain(f.salesforce_values.keys().map(String::as_str))
            .filter(|v| restricted && !sf_values.contains(v))
            .collect();
        if !unknown_sf.is_empty() {
            out.push(format!(
                "{at}: {sobject}.{} is a restricted picklist without {}",
                f.salesforce,
                quoted(&unknown_sf)
            ));
        }
        let options: Vec<&str> = hs["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["value"].as_str())
            .collect();
        let unknown_hs: Vec<&str> = f
            .values
            .keys()
            .chain(f.salesforce_values.values())
            .map(String::as_str)
            .filter(|v| hs["type"] == "enumeration" && !options.contains(v))
            .collect();
        if !unknown_hs.is_empty() {
            out.push(format!(
                "{at}: HubSpot's {} has no option {}",
                f.hubspot,
                quoted(&unknown_hs)
            ));
        }
    }
    out
}

/// A schema that could not be read: the connection's own checks say why, so this warns.
fn unchecked(report: &mut CheckReport, what: &str, e: &crate::error::ApiError) {
    report.push(
        G,
        C,
        Status::Warn,
        format!("could not read {what}, so the mappings were not checked against it: {e}"),
        Some(e.hint.clone()),
    );
}

fn quoted(values: &[&str]) -> String {
    let mut v: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    v.dedup();
    v.join(", ")
}

pub async fn run(
    session: &Session,
    mappings: &Mappings,
    writes: &TransformWrites,
    pairs: &[PairSpec],
    opts: &CheckOptions,
    report: &mut CheckReport,
) {
    if !opts.wants(G, C) {
        return;
    }
    let (Some(hs), Some(sf)) = (&session.hubspot, &session.salesforce) else {
        report.push(G, C, Status::Skipped, "needs both providers", None);
        return;
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    for spec in pairs {
        let props = match hs.properties(&spec.hs_object).await {
            Ok(p) => p,
            Err(e) => {
                return unchecked(
                    report,
                    &format!("HubSpot's {} properties", spec.hs_object),
                    &e,
                );
            }
        };
        let hs_props = by_name(&props);
        // A mapping's own sObject must have every field; a Contact that takes a Lead
        // mapping leaves out the Lead-only fields (as the sync does).
        let mut per_sobject: Vec<(String, &crate::sync::mapping::PairMapping)> = Vec::new();
        if let Some(m) = mappings.get(&spec.name) {
            per_sobject.push((m.salesforce.clone(), m));
        }
        for sobject in spec.sobjects() {
            if let Some(m) = mappings.get(&format!("{}.{sobject}", spec.name)) {
                per_sobject.push((sobject.to_string(), m));
            }
        }
        for (sobject, m) in per_sobject {
            let described = match sf.describe(&sobject).await {
                Ok(d) => d,
                Err(e) => return unchecked(report, &format!("the {sobject} describe"), &e),
            };
            let list = described["fields"].as_array().cloned().unwrap_or_default();
            let sf_fields = by_name(&list);
            for f in &m.fields {
                checked += 1;
                problems.extend(
                    field_problems(&sobject, f, &sf_fields, &hs_props)
                        .into_iter()
                        .map(|p| format!("{}: {p}", spec.name)),
                );
            }
        }
        // What transforms write to HubSpot must exist there and be writable.
        for prop in writes.hubspot.get(&spec.hs_object).into_iter().flatten() {
            checked += 1;
            match hs_props.get(prop.as_str()) {
                None => problems.push(format!(
                    "a transform writes {}.{prop}, which HubSpot does not have{}",
                    spec.hs_object,
                    closest(prop, hs_props.keys().copied())
                )),
                Some(p) if p["modificationMetadata"]["readOnlyValue"] == true => {
                    problems.push(format!(
                        "a transform writes {}.{prop}, which is read-only in HubSpot",
                        spec.hs_object
                    ))
                }
                Some(_) => {}
            }
        }
    }
    if problems.is_empty() {
        report.push(
            G,
            C,
            Status::Ok,
            format!("{checked} mapped and transform-written fields exist on both sides, with fitting types and values"),
            None,
        );
    } else {
        report.push(
            G,
            C,
            Status::Error,
            problems.join("; "),
            Some("fix the mapping in the plugin (`hubforce explain` and `hubforce repl` show both schemas: `salesforce.describe(\"Lead\")`, `hubspot.properties(\"contacts\")`), or create the field".into()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_must_fit_both_fields() {
        assert_eq!(misfit(FieldType::Number, "double", "number"), None);
        assert!(
            misfit(FieldType::Number, "string", "number")
                .is_some_and(|m| m.contains("Salesforce field is a string"))
        );
        assert!(misfit(FieldType::Text, "double", "string").is_some());
        assert!(misfit(FieldType::Text, "picklist", "enumeration").is_none());
        assert!(misfit(FieldType::Date, "date", "number").is_some());
        assert!(misfit(FieldType::Boolean, "boolean", "enumeration").is_none());
    }
}
