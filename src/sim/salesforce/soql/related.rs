//! Relationship queries across objects: parent-to-child subqueries
//! (`SELECT Name, (SELECT LastName FROM Contacts) FROM Account`) and semi- and anti-joins
//! (`WHERE Id IN (SELECT AccountId FROM Contact)`).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::SoqlError;
use super::eval::{Ctx, Resolved, filtered, order_records, put, record_order};
use super::parse::{Query, SelectItem};
use crate::sim::salesforce::ids;
use crate::sim::salesforce::schema::{FType, ObjectDef, child_relationship};
use crate::sim::salesforce::store::{SfRecord, attributes};

fn not_understood(ctx: &Ctx, q: &Query) -> SoqlError {
    SoqlError::at(
        "INVALID_TYPE",
        ctx.text,
        q.from_pos,
        &format!(
            "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
            q.from
        ),
    )
}

/// The ids a semi-join's subquery selects (18 characters), for `outer IN (…)`.
pub(super) fn semi_join(
    ctx: &Ctx,
    outer: &Resolved,
    q: &Query,
    pos: usize,
) -> Result<HashSet<String>, SoqlError> {
    if !matches!(outer.leaf.ftype, FType::Id | FType::Reference) {
        return Err(SoqlError::malformed(
            ctx.text,
            pos,
            &format!(
                "The left operand of a semi join must be an id or a reference field: {}",
                outer.leaf.name
            ),
        ));
    }
    let root = ctx.store.object(&q.from).ok_or_else(|| {
        SoqlError::at(
            "INVALID_TYPE",
            ctx.text,
            q.from_pos,
            &format!("sObject type '{}' is not supported.", q.from),
        )
    })?;
    let inner = ctx.over(root);
    let [SelectItem::Field(p)] = q.select.as_slice() else {
        return Err(SoqlError::malformed(
            ctx.text,
            q.from_pos,
            "a semi join subquery must select exactly one id or reference field",
        ));
    };
    let field = inner.resolve(p)?;
    if !field.hops.is_empty() || !matches!(field.leaf.ftype, FType::Id | FType::Reference) {
        return Err(SoqlError::malformed(
            ctx.text,
            p.pos,
            &format!(
                "a semi join subquery must select an id or a reference field, not {}",
                p.parts.join(".")
            ),
        ));
    }
    Ok(filtered(&inner, q, false)?
        .iter()
        .filter_map(|r| r.get(&field.leaf.name).as_str())
        .map(|s| ids::normalize(s).unwrap_or_else(|| s.to_string()))
        .collect())
}

/// A parent-to-child subquery, resolved once per query.
pub(super) struct Children<'a> {
    /// The relationship name as the schema spells it (the key in each parent row).
    pub name: String,
    child: &'a ObjectDef,
    link: &'static str,
    fields: Vec<Resolved>,
    query: Query,
}

/// A subquery's rows, grouped by the parent they point at.
pub(super) struct IndexedChildren<'a> {
    pub name: String,
    child: &'a ObjectDef,
    fields: Vec<Resolved>,
    by_parent: HashMap<String, Vec<&'a SfRecord>>,
}

impl<'a> Children<'a> {
    pub fn prepare(ctx: &Ctx<'a>, q: &Query) -> Result<Children<'a>, SoqlError> {
        let (name, child, link) =
            child_relationship(ctx.root.name, &q.from).ok_or_else(|| not_understood(ctx, q))?;
        let child = ctx
            .store
            .object(child)
            .ok_or_else(|| not_understood(ctx, q))?;
        let inner = ctx.over(child);
        let mut fields = Vec::new();
        for item in &q.select {
            match item {
                SelectItem::Field(p) => fields.push(inner.resolve(p)?),
                _ => {
                    return Err(SoqlError::malformed(
                        ctx.text,
                        q.from_pos,
                        "a parent-to-child subquery selects fields only",
                    ));
                }
            }
        }
        Ok(Children {
            name: name.to_string(),
            child,
            link,
            fields,
            query: q.clone(),
        })
    }

    /// Run the subquery once for every parent: its rows in order, at most LIMIT per parent.
    pub fn index(self, ctx: &Ctx<'a>, all_rows: bool) -> Result<IndexedChildren<'a>, SoqlError> {
        let inner = ctx.over(self.child);
        let order = record_order(&inner, &self.query)?;
        let rows = order_records(&inner, filtered(&inner, &self.query, all_rows)?, &order);
        let mut by_parent: HashMap<String, Vec<&SfRecord>> = HashMap::new();
        let limit = self.query.limit.unwrap_or(usize::MAX);
        for rec in rows {
            if let Some(parent) = rec.get(self.link).as_str() {
                let list = by_parent.entry(parent.to_string()).or_default();
                if list.len() < limit {
                    list.push(rec);
                }
            }
        }
        Ok(IndexedChildren {
            name: self.name,
            child: self.child,
            fields: self.fields,
            by_parent,
        })
    }
}

impl<'a> IndexedChildren<'a> {
    /// The nested answer a parent row carries: a query result, or null without children.
    pub fn render(&self, ctx: &Ctx<'a>, parent: &str, version: &str) -> Value {
        let Some(rows) = self.by_parent.get(parent) else {
            return Value::Null;
        };
        let inner = ctx.over(self.child);
        let records: Vec<Value> = rows
            .iter()
            .map(|rec| {
                let mut row = Map::new();
                row.insert(
                    "attributes".into(),
                    attributes(self.child.name, &rec.id, version),
                );
                for r in &self.fields {
                    put(&inner, &mut row, rec, r, version);
                }
                Value::Object(row)
            })
            .collect();
        json!({"totalSize": records.len(), "done": true, "records": records})
    }
}
