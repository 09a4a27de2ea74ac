//! The plugin hooks the engine calls — `mappings`, `include`, `transform`, `resolve`,
//! `on_delete` — seen as plain Rust: JSON in, JSON out. Every enabled plugin takes part (in
//! the profile's order); a hook that fails becomes that record's `plugin` error, never the
//! run's. The record hooks are async: a hook may call the host API (`salesforce.query` in a
//! `transform`), metered under the plugin's tag, while the sync waits for it.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use super::mapping::Mappings;
use super::settings::DeletePolicy;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::mapping;
    use serde_json::json;

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
