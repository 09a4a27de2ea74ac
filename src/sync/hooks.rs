//! The plugin hooks the engine calls — `mappings`, `include`, `transform`, `resolve`,
//! `on_delete` — seen as plain Rust: JSON in, JSON out. Every enabled plugin takes part (in
//! the profile's order); a hook that fails becomes that record's `plugin` error, never the
//! run's. The record hooks are async: a hook may call the host API (`salesforce.query` in a
//! `transform`), metered under the plugin's tag, while the sync waits for it.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use std::collections::BTreeMap;

use super::mapping::Mappings;
use super::pair_decl::{PairDecl, PairDeclError};
use super::settings::DeletePolicy;

/// A hook that failed: which plugin (and generation of its code), which hook, and the
/// message, which starts with the plugin's `file:line` when the failure is in its code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("plugin {plugin} (generation {generation}), hook {hook}: {message}")]
pub struct HookError {
    pub plugin: String,
    pub generation: u64,
    pub hook: String,
    pub message: String,
}

impl HookError {
    /// The plugin's `file:line` the message names, when it names one.
    pub fn at(&self) -> Option<&str> {
        let end = self.message.find(".lua:")? + ".lua:".len();
        let digits = self.message[end..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        (digits > 0).then(|| &self.message[..end + digits])
    }
}

/// A declaration error no plugin's file is known for: the `pairs` hook's, unlocated.
impl From<PairDeclError> for HookError {
    fn from(e: PairDeclError) -> HookError {
        HookError {
            plugin: String::new(),
            generation: 0,
            hook: "pairs".into(),
            message: e.to_string(),
        }
    }
}

/// What an async hook call gives back.
pub type HookResult<'a, T> = Pin<Box<dyn Future<Output = Result<T, HookError>> + Send + 'a>>;

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
    fn mappings(&self) -> Result<Mappings, HookError>;
    /// Every declared object pair (a later plugin's pair replaces one of the same name),
    /// with the links between pairs checked.
    fn pairs(&self) -> Result<BTreeMap<String, PairDecl>, HookError>;
    /// A declaration error found later (against the schemas), as the error of the plugin
    /// that declared the pair, at its file:line when the plugin knows it.
    fn pair_error(&self, e: PairDeclError) -> HookError {
        e.into()
    }
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

/// Pairs and mappings given directly (benchmarks' built-in baseline): no Lua at all.
pub struct StaticHooks {
    pub pairs: BTreeMap<String, PairDecl>,
    pub mappings: Mappings,
}

impl Hooks for StaticHooks {
    fn wants(&self, hook: &str) -> bool {
        hook == "mappings" || hook == "pairs"
    }
    fn mappings(&self) -> Result<Mappings, HookError> {
        Ok(self.mappings.clone())
    }
    fn pairs(&self) -> Result<BTreeMap<String, PairDecl>, HookError> {
        Ok(self.pairs.clone())
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
    fn a_hook_error_knows_its_plugin_line() {
        let e = HookError {
            plugin: "northwind".into(),
            generation: 3,
            hook: "include".into(),
            message: "plugins/northwind/init.lua:12: attempt to index a nil value".into(),
        };
        assert_eq!(e.at(), Some("plugins/northwind/init.lua:12"));
        assert_eq!(
            e.to_string(),
            "plugin northwind (generation 3), hook include: plugins/northwind/init.lua:12: attempt to index a nil value"
        );
        let refused = HookError {
            message: "returned 5; return true, false, nil or {include = bool, reason = \"…\"}"
                .into(),
            ..e
        };
        assert_eq!(refused.at(), None);
    }

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
