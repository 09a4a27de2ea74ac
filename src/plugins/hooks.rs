//! The engine's `Hooks`, answered by the profile's plugins: each hook called in every plugin
//! that has it, in the profile's order. The engine sees plugins only through this trait.

use serde_json::{Map, Value, json};

use std::collections::BTreeMap;

use super::plugin::{Plugin, PluginError, locate_pair_error};
use super::registry::PluginSet;
use crate::sync::hooks::{HookError, HookResult, Hooks, Inclusion, Resolution, merge};
use crate::sync::mapping::{self, Mappings};
use crate::sync::pair_decl::{self, PairDecl, PairDeclError};
use crate::sync::settings::DeletePolicy;

impl Hooks for PluginSet {
    fn wants(&self, hook: &str) -> bool {
        self.any_has(hook)
    }

    fn mappings(&self) -> Result<Mappings, HookError> {
        let mut out = Mappings::new();
        for p in self.having("mappings") {
            let v = p
                .call("mappings", &[])
                .map_err(|e| hook_error(&p, "mappings", e))?;
            let m = mapping::parse(&v).map_err(|e| refused(&p, "mappings", e.to_string()))?;
            merge(&mut out, m);
        }
        Ok(out)
    }

    fn pairs(&self) -> Result<BTreeMap<String, PairDecl>, HookError> {
        let mut out = BTreeMap::new();
        for name in self.names() {
            let Some(p) = self.get(&name) else { continue };
            for (pair, d) in &p.pairs {
                out.insert(pair.clone(), d.clone());
            }
        }
        pair_decl::check_parents(&out).map_err(|e| self.pair_error(e))?;
        Ok(out)
    }

    fn pair_error(&self, e: PairDeclError) -> HookError {
        // The last plugin that declares the pair is the one whose declaration runs.
        let declared_by = self
            .names()
            .into_iter()
            .rev()
            .filter_map(|n| self.get(&n))
            .find(|p| p.pairs.contains_key(&e.pair));
        let Some(p) = declared_by else {
            return e.into();
        };
        let label = format!("plugins/{}", p.label());
        refused(&p, "pairs", locate_pair_error(&p.dir, &label, &e))
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
            for p in self.having("include") {
                let name = p.label();
                let v = p
                    .call_async("include", &[record.clone(), ctx.clone()])
                    .await
                    .map_err(|e| hook_error(&p, "include", e))?;
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
                        return Err(refused(
                            &p,
                            "include",
                            format!(
                                "returned {other}; return true, false, nil or {{include = bool, reason = \"…\"}}"
                            ),
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
            for p in self.having("transform") {
                let v = p
                    .call_async("transform", &[record.clone(), ctx.clone()])
                    .await
                    .map_err(|e| hook_error(&p, "transform", e))?;
                match v {
                    Value::Null => {}
                    Value::Object(o) => out.get_or_insert_with(Map::new).extend(o),
                    other => {
                        return Err(refused(
                            &p,
                            "transform",
                            format!("returned {other}; return a table of field values or nil"),
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
            for p in self.having("resolve") {
                let v = p
                    .call_async(
                        "resolve",
                        &[record.clone(), candidates.clone(), ctx.clone()],
                    )
                    .await
                    .map_err(|e| hook_error(&p, "resolve", e))?;
                match v {
                    Value::Null => {}
                    Value::String(id) => return Ok(Resolution::Link(id)),
                    Value::Bool(false) => return Ok(Resolution::Create),
                    Value::Object(o) if o.get("skip") == Some(&json!(true)) => {
                        return Ok(Resolution::Skip);
                    }
                    other => {
                        return Err(refused(
                            &p,
                            "resolve",
                            format!(
                                "returned {other}; return an id to link, false to create, {{skip = true}} or nil"
                            ),
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
            for p in self.having("on_delete") {
                let v = p
                    .call_async("on_delete", &[record.clone(), ctx.clone()])
                    .await
                    .map_err(|e| hook_error(&p, "on_delete", e))?;
                match v {
                    Value::Null => {}
                    Value::String(s) => match DeletePolicy::parse(&s) {
                        Some(policy) => return Ok(Some(policy)),
                        None => {
                            return Err(refused(
                                &p,
                                "on_delete",
                                format!(
                                    "returned \"{s}\"; return \"keep\", \"propagate\", \"recreate\" or nil"
                                ),
                            ));
                        }
                    },
                    other => {
                        return Err(refused(
                            &p,
                            "on_delete",
                            format!(
                                "returned {other}; return \"keep\", \"propagate\", \"recreate\" or nil"
                            ),
                        ));
                    }
                }
            }
            Ok(None)
        })
    }
}

/// A hook call that failed, typed: the plugin, its code's generation, the hook, the message
/// (with its `file:line`).
fn hook_error(p: &Plugin, hook: &str, e: PluginError) -> HookError {
    match e {
        PluginError::Hook {
            plugin,
            generation,
            hook,
            message,
        } => HookError {
            plugin,
            generation,
            hook,
            message,
        },
        other => refused(p, hook, other.message().to_string()),
    }
}

/// A hook whose answer the host refuses (a wrong type, an unknown value).
fn refused(p: &Plugin, hook: &str, message: String) -> HookError {
    HookError {
        plugin: p.name().to_string(),
        generation: p.generation,
        hook: hook.to_string(),
        message,
    }
}
