//! What plugins' `transform` hooks write, found before a sync finds out record by record:
//! what the plugins declare (plugin.toml `writes`, the fields of a per-field transform
//! table), and what a function transform returns for a sample of real records (five per
//! object, one call each).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::plugins::PluginSet;
use crate::session::Session;
use crate::sync::hooks::Hooks;
use crate::sync::mapping::Mappings;
use crate::sync::pairs::PairSpec;

/// Records a function transform is tried on, per object.
const SAMPLE: usize = 5;

/// Fields a transform may write: Salesforce ones by sObject, HubSpot ones by object.
#[derive(Debug, Default, Clone)]
pub struct TransformWrites {
    pub salesforce: BTreeMap<String, BTreeSet<String>>,
    pub hubspot: BTreeMap<String, BTreeSet<String>>,
}

impl TransformWrites {
    fn add(&mut self, pairs: &[PairSpec], object: &str, field: String) {
        let is_sobject = pairs.iter().any(|s| s.has_sobject(object));
        let side = if is_sobject {
            &mut self.salesforce
        } else {
            &mut self.hubspot
        };
        side.entry(object.to_string()).or_default().insert(field);
    }
}

fn ctx(spec: &PairSpec, side: &str, sobject: &str) -> Value {
    json!({
        "pair": spec.name, "side": side, "object": spec.hs_object, "sobject": sobject,
        "direction": if side == "hubspot" { "to_salesforce" } else { "to_hubspot" },
        "counterpart": Value::Null,
    })
}

/// Everything the enabled plugins' transforms may write for the enabled pairs.
pub async fn discover(
    session: &Session,
    plugins: &PluginSet,
    pairs: &[PairSpec],
    mappings: &Mappings,
) -> TransformWrites {
    let mut out = TransformWrites::default();
    for name in plugins.names() {
        if let Some(p) = plugins.get(&name) {
            for (object, fields) in p.declared_writes() {
                for f in fields {
                    out.add(pairs, &object, f);
                }
            }
        }
    }
    if !plugins.wants("transform") {
        return out;
    }
    for spec in pairs.iter().filter(|p| mappings.contains_key(&p.name)) {
        let base = &mappings[&spec.name];
        if let Some(hs) = &session.hubspot {
            let props: Vec<&str> = base.fields.iter().map(|f| f.hubspot.as_str()).collect();
            let path = format!(
                "/crm/v3/objects/{}?limit={SAMPLE}&properties={}",
                spec.hs_object,
                props.join(",")
            );
            let records = hs
                .request(reqwest::Method::GET, &path, None)
                .await
                .map(|v| v["results"].as_array().cloned().unwrap_or_default())
                .unwrap_or_default();
            for sobject in spec.sobjects() {
                for r in &records {
                    // A transform that fails on a sample says nothing of what it writes.
                    if let Ok(Some(fields)) =
                        plugins.transform(r, &ctx(spec, "hubspot", sobject)).await
                    {
                        for f in fields.keys() {
                            out.add(pairs, sobject, f.clone());
                        }
                    }
                }
            }
        }
        if let Some(sf) = &session.salesforce {
            for sobject in spec.sobjects() {
                // The mapped fields this sObject has (describes are cached): one query.
                let Ok(described) = sf.describe(sobject).await else {
                    continue;
                };
                let has = |f: &str| {
                    described["fields"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|d| d["name"] == f))
                };
                let mut fields: BTreeSet<&str> = base
                    .fields
                    .iter()
                    .map(|f| f.salesforce.as_str())
                    .filter(|f| has(f))
                    .collect();
                fields.insert("Id");
                let soql = format!(
                    "SELECT {} FROM {sobject} LIMIT {SAMPLE}",
                    fields.into_iter().collect::<Vec<_>>().join(", ")
                );
                let Ok(records) = sf.query(&soql).await else {
                    continue;
                };
                for mut record in records {
                    record["attributes"] = json!({"type": sobject});
                    if let Ok(Some(written)) = plugins
                        .transform(&record, &ctx(spec, "salesforce", sobject))
                        .await
                    {
                        for f in written.keys() {
                            out.add(pairs, &spec.hs_object, f.clone());
                        }
                    }
                }
            }
        }
    }
    out
}
