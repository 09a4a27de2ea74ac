//! The plugin hooks the engine calls — `mappings`, `include`, `transform`, `resolve`,
//! `on_delete` — seen as plain Rust: JSON in, JSON out. Every enabled plugin takes part (in
//! the profile's order); a hook that fails becomes that record's `plugin` error, never the
//! run's. The record hooks are async: a hook may call the host API (`salesforce.query` in a
//! `transform`), metered under the plugin's tag, while the sync waits for it.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};

use super::mapping::{self, Mappings};
use super::settings::DeletePolicy;
use crate::plugins::registry::PluginSet;

/// What an async hook call gives back.
pub type HookResult<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// An inclusion decision with the reason `explain` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Inclusion {
    pub included: bool,
    pub reason: String,
}

/// What `resolve` decided for an unlinked record.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Use the engine's own match rules.
    Default,
    /// Link to this record of the other side.
    Link(String),
    /// Create a new record even if one matches.
    Create,
    /// Leave the record alone.
    Skip,
}

pub trait Hooks: Send + Sync {
    /// Does any plugin have this hook? The engine skips building the arguments otherwise.
    fn wants(&self, _hook: &str) -> bool {
        true
    }
    /// The merged field mappings of every plugin.
    fn mappings(&self) -> Result<Mappings, String>;
    /// What the hooks read beyond the mappings, by HubSpot object or sObject.
    fn reads(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        Default::default()
    }
    /// Every `include` hook's decision (all must agree); None when no plugin has one.
    fn include<'a>(
        &'a self,
        record: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Option<Inclusion>>;
    /// Field values a `transform` hook computes for the target side (merged in order).
    fn transform<'a>(
        &'a self,
        record: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Option<Map<String, Value>>>;
    /// The first `resolve` hook that decides.
    fn resolve<'a>(
        &'a self,
        record: &'a Value,
        candidates: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Resolution>;
    /// The first `on_delete` hook that decides what a deletion does to the counterpart.
    fn on_delete<'a>(
        &'a self,
        _record: &'a Value,
        _ctx: &'a Value,
    ) -> HookResult<'a, Option<DeletePolicy>> {
        Box::pin(async { Ok(None) })
    }
}

/// Merge `next` into `base`: a pair's fields are replaced by HubSpot property, new ones added.
pub fn merge(base: &mut Mappings, next: Mappings) {
    for (pair, m) in next {
        match base.get_mut(&pair) {
            None => {
                base.insert(pair, m);
            }
            Some(b) => {
                b.hubspot = m.hubspot;
                b.salesforce = m.salesforce;
                for f in m.fields {
                    b.fields
                        .retain(|x| x.hubspot != f.hubspot && x.salesforce != f.salesforce);
                    b.fields.push(f);
                }
            }
        }
    }
}

/// Mappings given directly (tests, benchmarks' built-in baseline): no Lua at all.
pub struct StaticHooks(pub Mappings);

impl Hooks for StaticHooks {
    fn wants(&self, hook: &str) -> bool {
        hook == "mappings"
    }
    fn mappings(&self) -> Result<Mappings, String> {
        Ok(self.0.clone())
    }
    fn include<'a>(&'a self, _: &'a Value, _: &'a Value) -> HookResult<'a, Option<Inclusion>> {
        Box::pin(async { Ok(None) })
    }
    fn transform<'a>(
        &'a self,
        _: &'a Value,
        _: &'a Value,
    ) -> HookResult<'a, Option<Map<String, Value>>> {
        Box::pin(async { Ok(None) })
    }
    fn resolve<'a>(
        &'a self,
        _: &'a Value,
        _: &'a Value,
        _: &'a Value,
    ) -> HookResult<'a, Resolution> {
        Box::pin(async { Ok(Resolution::Default) })
    }
}

impl Hooks for PluginSet {
    fn wants(&self, hook: &str) -> bool {
        self.any_has(hook)
    }

    fn mappings(&self) -> Result<Mappings, String> {
        let mut out = Mappings::new();
        for name in self.names() {
            let Some(p) = self.get(&name) else { continue };
            if !p.has("mappings") {
                continue;
            }
            let v = p.call("mappings", &[]).map_err(|e| e.to_string())?;
            let m = mapping::parse(&v).map_err(|e| format!("plugin {name}: {e}"))?;
            merge(&mut out, m);
        }
        Ok(out)
    }

    fn reads(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for name in self.names() {
            if let Some(p) = self.get(&name) {
                for (object, fields) in &p.manifest.reads {
                    out.entry(object.clone())
                        .or_default()
                        .extend(fields.iter().cloned());
                }
            }
        }
        out
    }

    fn include<'a>(
        &'a self,
        record: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Option<Inclusion>> {
        Box::pin(async move {
            let mut decision: Option<Inclusion> = None;
            for name in self.names() {
                let Some(p) = self.get(&name) else { continue };
                if !p.has("include") {
                    continue;
                }
                let v = p
                    .call_async("include", &[record.clone(), ctx.clone()])
                    .await
                    .map_err(|e| e.to_string())?;
                let (included, reason) = match &v {
                    Value::Null => continue,
                    Value::Bool(b) => (*b, format!("plugin {name}: include returned {b}")),
                    Value::Object(o) => (
                        o.get("include").and_then(Value::as_bool).unwrap_or(false),
                        format!(
                            "plugin {name}: {}",
                            o.get("reason")
                                .and_then(Value::as_str)
                                .unwrap_or("no reason given")
                        ),
                    ),
                    other => {
                        return Err(format!(
                            "plugin {name}, hook include: returned {other}; return true, false, nil or {{include = bool, reason = \"…\"}}"
                        ));
                    }
                };
                if !included {
                    return Ok(Some(Inclusion { included, reason }));
                }
                decision = Some(Inclusion { included, reason });
            }
            Ok(decision)
        })
    }

    fn transform<'a>(
        &'a self,
        record: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Option<Map<String, Value>>> {
        Box::pin(async move {
            let mut out: Option<Map<String, Value>> = None;
            for name in self.names() {
                let Some(p) = self.get(&name) else { continue };
                if !p.has("transform") {
                    continue;
                }
                let v = p
                    .call_async("transform", &[record.clone(), ctx.clone()])
                    .await
                    .map_err(|e| e.to_string())?;
                match v {
                    Value::Null => {}
                    Value::Object(o) => out.get_or_insert_with(Map::new).extend(o),
                    other => {
                        return Err(format!(
                            "plugin {name}, hook transform: returned {other}; return a table of field values or nil"
                        ));
                    }
                }
            }
            Ok(out)
        })
    }

    fn resolve<'a>(
        &'a self,
        record: &'a Value,
        candidates: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Resolution> {
        Box::pin(async move {
            for name in self.names() {
                let Some(p) = self.get(&name) else { continue };
                if !p.has("resolve") {
                    continue;
                }
                let v = p
                    .call_async(
                        "resolve",
                        &[record.clone(), candidates.clone(), ctx.clone()],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                match v {
                    Value::Null => {}
                    Value::String(id) => return Ok(Resolution::Link(id)),
                    Value::Bool(false) => return Ok(Resolution::Create),
                    Value::Object(o) if o.get("skip") == Some(&json!(true)) => {
                        return Ok(Resolution::Skip);
                    }
                    other => {
                        return Err(format!(
                            "plugin {name}, hook resolve: returned {other}; return an id to link, false to create, {{skip = true}} or nil"
                        ));
                    }
                }
            }
            Ok(Resolution::Default)
        })
    }

    fn on_delete<'a>(
        &'a self,
        record: &'a Value,
        ctx: &'a Value,
    ) -> HookResult<'a, Option<DeletePolicy>> {
        Box::pin(async move {
            for name in self.names() {
                let Some(p) = self.get(&name) else { continue };
                if !p.has("on_delete") {
                    continue;
                }
                let v = p
                    .call_async("on_delete", &[record.clone(), ctx.clone()])
                    .await
                    .map_err(|e| e.to_string())?;
                match v {
                    Value::Null => {}
                    Value::String(s) => match DeletePolicy::parse(&s) {
                        Some(policy) => return Ok(Some(policy)),
                        None => {
                            return Err(format!(
                                "plugin {name}, hook on_delete: returned \"{s}\"; return \"keep\", \"propagate\", \"recreate\" or nil"
                            ));
                        }
                    },
                    other => {
                        return Err(format!(
                            "plugin {name}, hook on_delete: returned {other}; return \"keep\", \"propagate\", \"recreate\" or nil"
                        ));
                    }
                }
            }
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_plugins_replace_fields_and_add_pairs() {
        let mut base = mapping::parse(&json!({"contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
            {"hubspot": "email", "salesforce": "Email"}, {"hubspot": "jobtitle", "salesforce": "Title"}]}}))
        .unwrap();
        let next = mapping::parse(&json!({
            "contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
                {"hubspot": "jobtitle", "salesforce": "Title", "rule": "dont_sync"},
                {"hubspot": "segment", "salesforce": "Segment__c"}]},
            "deal": {"hubspot": "deals", "salesforce": "Opportunity", "fields": []}}))
        .unwrap();
        merge(&mut base, next);
        let c = &base["contact"];
        assert_eq!(c.fields.len(), 3);
        let title = c.fields.iter().find(|f| f.hubspot == "jobtitle").unwrap();
        assert_eq!(title.rule, super::super::rules::Rule::DontSync);
        assert!(base.contains_key("deal"));
    }
}
