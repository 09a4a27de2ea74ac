//! Evaluating a parsed SOQL query: field resolution (with parent relationships), type
//! checks of filter values, filtering, ordering, paging and rendering.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::SoqlError;
use super::dates::keyword_range;
use super::parse::{Cond, DateFn, Expr, FieldSet, Lit, OrderKey, Path, Query, SelectItem};
use crate::sim::clock::{parse_date, parse_datetime};
use crate::sim::salesforce::ids;
use crate::sim::salesforce::schema::{FType, FieldDef, ObjectDef};
use crate::sim::salesforce::store::{SfRecord, Store, attributes};

const MAX_OFFSET: usize = 2000;

/// What a query found: `totalSize` and the rows (after OFFSET and LIMIT).
#[derive(Debug)]
pub struct QueryResult {
    pub total_size: usize,
    pub records: Vec<Value>,
}

/// A path resolved against the schema: the relationship hops, then the leaf field.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    /// (reference field name, relationship name) per hop.
    pub hops: Vec<(String, String)>,
    pub leaf: FieldDef,
}

/// What evaluating a query needs: the store, the query text (for positioned errors), the
/// object queried and the time date literals are relative to.
pub(super) struct Ctx<'a> {
    pub store: &'a Store,
    pub text: &'a str,
    pub root: &'a ObjectDef,
    pub now: DateTime<Utc>,
}

impl<'a> Ctx<'a> {
    /// The same query text and time, over another object (a subquery's or a semi-join's).
    pub fn over(&self, root: &'a ObjectDef) -> Ctx<'a> {
        Ctx {
            store: self.store,
            text: self.text,
            root,
            now: self.now,
        }
    }

    pub fn resolve(&self, p: &Path) -> Result<Resolved, SoqlError> {
        let no_column = |entity: &str, name: &str| {
            SoqlError::at(
                "INVALID_FIELD",
                self.text,
                p.pos,
                &format!(
                    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            )
        };
        let mut objects: Vec<&ObjectDef> = vec![self.root];
        let mut hops = Vec::new();
        let (last, rels) = p
            .parts
            .split_last()
            .ok_or_else(|| SoqlError::malformed(self.text, p.pos, "empty field"))?;
        for rel in rels {
            let f = objects
                .iter()
                .find_map(|o| o.relationship(rel))
                .ok_or_else(|| {
                    SoqlError::at(
                        "INVALID_FIELD",
                        self.text,
                        p.pos,
                        &format!(
                            "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                        ),
                    )
                })?
                .clone();
            hops.push((
                f.name.clone(),
                f.relationship.unwrap_or_default().to_string(),
            ));
            objects = f
                .reference_to
                .iter()
                .filter_map(|t| self.store.object(t))
                .collect();
        }
        let leaf = objects
            .iter()
            .find_map(|o| o.field(last))
            .ok_or_else(|| {
                no_column(
                    objects.first().map(|o| o.name).unwrap_or(self.root.name),
                    last,
                )
            })?
            .clone();
        Ok(Resolved { hops, leaf })
    }

    /// Follow the hops from a record; None when a parent is missing.
    fn parent_chain(
        &self,
        rec: &'a SfRecord,
        hops: &[(String, String)],
    ) -> Vec<Option<&'a SfRecord>> {
        let mut out = Vec::new();
        let mut cur = Some(rec);
        for (field, _) in hops {
            cur = cur
                .and_then(|r| r.get(field).as_str())
                .and_then(|id| self.store.get(id));
            out.push(cur);
        }
        out
    }

    pub fn value(&self, rec: &'a SfRecord, r: &Resolved) -> &'a Value {
        static NULL: Value = Value::Null;
        let mut cur = rec;
        for (field, _) in &r.hops {
            match cur.get(field).as_str().and_then(|id| self.store.get(id)) {
                Some(parent) => cur = parent,
                None => return &NULL,
            }
        }
        cur.get(&r.leaf.name)
    }
}

fn type_name(t: FType) -> &'static str {
    match t {
        FType::DateTime => "dateTime",
        FType::Date => "date",
        FType::Boolean => "boolean",
        t if t.numeric() => "number",
        _ => "string",
    }
}

/// Is this literal allowed against this field type? Mirrors Salesforce's refusals.
fn check_literal(ctx: &Ctx, leaf: &FieldDef, lit: &Lit, pos: usize) -> Result<(), SoqlError> {
    let ok = match (leaf.ftype, lit) {
        (_, Lit::Null) => true,
        (FType::DateTime, Lit::DateTime(_) | Lit::Keyword(..)) => true,
        (FType::Date, Lit::Date(_) | Lit::Keyword(..)) => true,
        (FType::Boolean, Lit::Bool(_)) => true,
        (t, Lit::Num(_)) if t.numeric() => true,
        (t, Lit::Str(_)) if t.textual() => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let quoted = if matches!(lit, Lit::Str(_)) {
        " and should not be enclosed in quotes"
    } else {
        ""
    };
    Err(SoqlError::at(
        "INVALID_QUERY_FILTER_OPERATOR",
        ctx.text,
        pos,
        &format!(
            "value of filter criterion for field '{}' must be of type {}{quoted}",
            leaf.name,
            type_name(leaf.ftype)
        ),
    ))
}

/// A WHERE clause with every path resolved and every literal checked, once per query.
pub(super) enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Cmp {
        field: Resolved,
        op: &'static str,
        value: Lit,
    },
    In {
        field: Resolved,
        negated: bool,
        values: Vec<Lit>,
        /// For text and id fields: the values as compared (lower-cased, ids at 18
        /// characters), so a long `IN` list costs one look-up per record.
        lookup: Option<std::collections::HashSet<String>>,
    },
    Like {
        field: Resolved,
        pattern: String,
    },
    Includes {
        field: Resolved,
        excludes: bool,
        groups: Vec<Vec<String>>,
    },
    DateCmp {
        field: Resolved,
        func: DateFn,
        op: &'static str,
        value: Lit,
    },
}

fn invalid_operator(ctx: &Ctx, pos: usize, text: String) -> SoqlError {
    SoqlError::at("INVALID_QUERY_FILTER_OPERATOR", ctx.text, pos, &text)
}

pub(super) fn compile(ctx: &Ctx, c: &Cond) -> Result<Filter, SoqlError> {
    Ok(match c {
        Cond::And(a, b) => Filter::And(Box::new(compile(ctx, a)?), Box::new(compile(ctx, b)?)),
        Cond::Or(a, b) => Filter::Or(Box::new(compile(ctx, a)?), Box::new(compile(ctx, b)?)),
        Cond::Not(a) => Filter::Not(Box::new(compile(ctx, a)?)),
        Cond::Cmp {
            path,
            value,
            pos,
            op,
        } => {
            let field = ctx.resolve(path)?;
            check_literal(ctx, &field.leaf, value, *pos)?;
            if field.leaf.ftype == FType::Boolean && !matches!(*op, "=" | "!=") {
                return Err(invalid_operator(
                    ctx,
                    *pos,
                    format!("invalid operator on boolean field: {}", field.leaf.name),
                ));
            }
            Filter::Cmp {
                field,
                op,
                value: value.clone(),
            }
        }
        Cond::In {
            path,
            values,
            pos,
            negated,
        } => {
            let field = ctx.resolve(path)?;
            values
                .iter()
                .try_for_each(|v| check_literal(ctx, &field.leaf, v, *pos))?;
            let lookup = match field.leaf.ftype {
                FType::Id | FType::Reference => Some(
                    values
                        .iter()
                        .filter_map(|v| match v {
                            Lit::Str(s) => Some(ids::normalize(s).unwrap_or_else(|| s.clone())),
                            _ => None,
                        })
                        .collect(),
                ),
                t if t.textual() && values.iter().all(|v| matches!(v, Lit::Str(_) | Lit::Null)) => {
                    Some(
                        values
                            .iter()
                            .filter_map(|v| match v {
                                Lit::Str(s) => Some(s.to_lowercase()),
                                _ => None,
                            })
                            .collect(),
                    )
                }
                _ => None,
            };
            Filter::In {
                field,
                negated: *negated,
                values: values.clone(),
                lookup,
            }
        }
        Cond::Like { path, pattern } => {
            let field = ctx.resolve(path)?;
            if !field.leaf.ftype.textual() {
                return Err(invalid_operator(
                    ctx,
                    path.pos,
                    format!(
                        "invalid operator on field: {}: LIKE is for text fields",
                        field.leaf.name
                    ),
                ));
            }
            Filter::Like {
                field,
                pattern: pattern.to_lowercase(),
            }
        }
        Cond::Includes {
            path,
            excludes,
            values,
        } => {
            let field = ctx.resolve(path)?;
            if field.leaf.ftype != FType::MultiPicklist {
                return Err(invalid_operator(
                    ctx,
                    path.pos,
                    format!(
                        "includes or excludes operator only valid on multipicklist field: {}",
                        field.leaf.name
                    ),
                ));
            }
            let groups = values
                .iter()
                .map(|g| g.split(';').map(str::to_lowercase).collect())
                .collect();
            Filter::Includes {
                field,
                excludes: *excludes,
                groups,
            }
        }
        Cond::DateCmp {
            func,
            path,
            op,
            value,
            pos,
        } => {
            let field = ctx.resolve(path)?;
            date_function_field(ctx, &field, path.pos)?;
            let fits = match (func, value) {
                (_, Lit::Null) => true,
                (DateFn::DayOnly, Lit::Date(_)) => true,
                (DateFn::DayOnly, _) => false,
                (_, Lit::Num(_)) => true,
                _ => false,
            };
            if !fits {
                return Err(invalid_operator(
                    ctx,
                    *pos,
                    format!(
                        "value of filter criterion for a date function of field '{}' must be of type {}",
                        field.leaf.name,
                        if *func == DateFn::DayOnly {
                            "date"
                        } else {
                            "number"
                        }
                    ),
                ));
            }
            Filter::DateCmp {
                field,
                func: *func,
                op,
                value: value.clone(),
            }
        }
        Cond::InQuery {
            path,
            negated,
            query,
            pos,
        } => {
            let field = ctx.resolve(path)?;
            let values = super::related::semi_join(ctx, &field, query, *pos)?;
            Filter::In {
                field,
                negated: *negated,
                values: Vec::new(),
                lookup: Some(values),
            }
        }
        Cond::AggCmp { pos, agg, .. } => {
            return Err(SoqlError::malformed(
                ctx.text,
                *pos,
                &format!(
                    "aggregate function {} is allowed in SELECT, HAVING and ORDER BY only",
                    agg.name()
                ),
            ));
        }
    })
}

/// Date functions take date and datetime fields only.
pub(super) fn date_function_field(ctx: &Ctx, f: &Resolved, pos: usize) -> Result<(), SoqlError> {
    if matches!(f.leaf.ftype, FType::Date | FType::DateTime) {
        return Ok(());
    }
    Err(SoqlError::malformed(
        ctx.text,
        pos,
        &format!(
            "Invalid date function argument: {} is not a date or datetime field",
            f.leaf.name
        ),
    ))
}

/// A stored value against a literal with a comparison operator (numbers as numbers, dates
/// as ISO strings).
pub(super) fn value_matches(v: &Value, op: &str, lit: &Lit) -> bool {
    let o = match (v, lit) {
        (_, Lit::Null) => {
            return match op {
                "=" => v.is_null(),
                "!=" => !v.is_null(),
                _ => false,
            };
        }
        (Value::Null, _) => return op == "!=",
        (Value::Number(n), Lit::Num(x)) => n.as_f64().and_then(|n| n.partial_cmp(x)),
        (Value::String(s), Lit::Date(d) | Lit::DateTime(d) | Lit::Str(d)) => {
            Some(cmp_ignoring_case(s, d))
        }
        (Value::Bool(b), Lit::Bool(x)) => Some(b.cmp(x)),
        _ => None,
    };
    o.is_some_and(|o| holds(op, o))
}

/// Compare a stored value with a literal of a compatible type.
fn compare(leaf: &FieldDef, stored: &Value, lit: &Lit) -> Option<Ordering> {
    match (leaf.ftype, lit) {
        (FType::Id | FType::Reference, Lit::Str(s)) => {
            let want = ids::normalize(s).unwrap_or_else(|| s.clone());
            Some(stored.as_str()?.cmp(want.as_str()))
        }
        (t, Lit::Str(s)) if t.textual() => Some(cmp_ignoring_case(stored.as_str()?, s)),
        (t, Lit::Num(n)) if t.numeric() => stored.as_f64()?.partial_cmp(n),
        (FType::Boolean, Lit::Bool(b)) => Some(stored.as_bool()?.cmp(b)),
        (FType::Date, Lit::Date(d)) => Some(stored.as_str()?.cmp(d.as_str())),
        (FType::DateTime, Lit::DateTime(d)) => {
            Some(parse_datetime(stored.as_str()?)?.cmp(&parse_datetime(d)?))
        }
        _ => None,
    }
}

/// The ids a filter can only match among, from the store's indexes; None when it needs a
/// scan. Only top-level conditions on the queried object count.
fn indexed_candidates(ctx: &Ctx, f: &Filter) -> Option<std::collections::BTreeSet<String>> {
    match f {
        Filter::In {
            field,
            negated: false,
            lookup: Some(set),
            ..
        } if field.hops.is_empty() => {
            if field.leaf.ftype == FType::Id {
                return Some(set.iter().cloned().collect());
            }
            if !(field.leaf.external_id || field.leaf.ftype == FType::Email) {
                return None;
            }
            Some(
                set.iter()
                    .flat_map(|v| ctx.store.lookup(ctx.root.name, &field.leaf.name, v))
                    .collect(),
            )
        }
        // `Email = 'x'` is the look-up every hand-written sync makes; without this the
        // simulator scanned the whole table for it (found by the compare bench).
        Filter::Cmp {
            field,
            op: "=",
            value: Lit::Str(v),
        } if field.hops.is_empty()
            && (field.leaf.external_id || field.leaf.ftype == FType::Email) =>
        {
            Some(
                ctx.store
                    .lookup(ctx.root.name, &field.leaf.name, v)
                    .into_iter()
                    .collect(),
            )
        }
        Filter::Or(a, b) => {
            let mut ids = indexed_candidates(ctx, a)?;
            ids.extend(indexed_candidates(ctx, b)?);
            Some(ids)
        }
        Filter::And(a, b) => match (indexed_candidates(ctx, a), indexed_candidates(ctx, b)) {
            (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
            (Some(x), None) | (None, Some(x)) => Some(x),
            (None, None) => None,
        },
        _ => None,
    }
}

/// Salesforce compares text case-insensitively; this does it without allocating, since a
/// filter runs once per record and `IN` lists run it once per value.
fn cmp_ignoring_case(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

fn stored_instant(leaf: &FieldDef, stored: &Value) -> Option<DateTime<Utc>> {
    let s = stored.as_str()?;
    match leaf.ftype {
        FType::Date => parse_date(s).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
        _ => parse_datetime(s),
    }
}

fn cmp_matches(leaf: &FieldDef, stored: &Value, op: &str, lit: &Lit, now: DateTime<Utc>) -> bool {
    if *lit == Lit::Null {
        return match op {
            "=" => stored.is_null(),
            "!=" => !stored.is_null(),
            _ => false,
        };
    }
    if stored.is_null() {
        return op == "!=";
    }
    if let Lit::Keyword(kw, n) = lit {
        let (Some((start, end)), Some(v)) =
            (keyword_range(kw, *n, now), stored_instant(leaf, stored))
        else {
            return false;
        };
        return match op {
            "=" => start <= v && v < end,
            "!=" => !(start <= v && v < end),
            "<" => v < start,
            "<=" => v < end,
            ">" => v >= end,
            ">=" => v >= start,
            _ => false,
        };
    }
    compare(leaf, stored, lit).is_some_and(|o| holds(op, o))
}

/// Does a comparison's outcome satisfy the operator?
fn holds(op: &str, o: Ordering) -> bool {
    match op {
        "=" => o == Ordering::Equal,
        "!=" => o != Ordering::Equal,
        "<" => o == Ordering::Less,
        "<=" => o != Ordering::Greater,
        ">" => o == Ordering::Greater,
        ">=" => o != Ordering::Less,
        _ => false,
    }
}

fn like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (
        pattern.to_lowercase().chars().collect(),
        value.to_lowercase().chars().collect(),
    );
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some(('_', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && go(rest, &v[1..]),
        }
    }
    go(&p, &v)
}

pub(super) fn matches(ctx: &Ctx, rec: &SfRecord, f: &Filter, now: DateTime<Utc>) -> bool {
    match f {
        Filter::DateCmp {
            field,
            func,
            op,
            value,
        } => {
            let computed = super::dates::apply(*func, ctx.value(rec, field)).unwrap_or(Value::Null);
            value_matches(&computed, op, value)
        }
        Filter::And(a, b) => matches(ctx, rec, a, now) && matches(ctx, rec, b, now),
        Filter::Or(a, b) => matches(ctx, rec, a, now) || matches(ctx, rec, b, now),
        Filter::Not(a) => !matches(ctx, rec, a, now),
        Filter::Cmp { field, op, value } => {
            cmp_matches(&field.leaf, ctx.value(rec, field), op, value, now)
        }
        Filter::In {
            field,
            negated,
            lookup: Some(set),
            ..
        } => {
            let v = ctx.value(rec, field);
            let hit = v.as_str().is_some_and(|s| match field.leaf.ftype {
                FType::Id | FType::Reference => set.contains(s),
                _ => set.contains(&s.to_lowercase()),
            });
            hit != *negated
        }
        Filter::In {
            field,
            negated,
            values,
            lookup: None,
        } => {
            let v = ctx.value(rec, field);
            let hit = values
                .iter()
                .any(|l| *l != Lit::Null && cmp_matches(&field.leaf, v, "=", l, now));
            hit != *negated
        }
        Filter::Like { field, pattern } => ctx
            .value(rec, field)
            .as_str()
            .is_some_and(|s| like(pattern, s)),
        Filter::Includes {
            field,
            excludes,
            groups,
        } => {
            let stored: Vec<String> = ctx
                .value(rec, field)
                .as_str()
                .map(|s| s.split(';').map(str::to_lowercase).collect())
                .unwrap_or_default();
            let hit = groups
                .iter()
                .any(|g| g.iter().all(|want| stored.contains(want)));
            hit != *excludes
        }
    }
}

/// A sort key computed once per row (text folded to lower case, except ids).
#[derive(PartialEq, PartialOrd)]
pub(super) enum SortKey {
    Text(String),
    Number(f64),
    Bool(bool),
    Other,
}

pub(super) fn sort_key(leaf: &FieldDef, v: &Value) -> Option<SortKey> {
    Some(match v {
        Value::Null => return None,
        Value::String(x)
            if leaf.ftype.textual() && !matches!(leaf.ftype, FType::Id | FType::Reference) =>
        {
            SortKey::Text(x.to_lowercase())
        }
        Value::String(x) => SortKey::Text(x.clone()),
        Value::Number(n) => SortKey::Number(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => SortKey::Bool(*b),
        _ => SortKey::Other,
    })
}

/// Put one selected path into the row, nesting parent relationships as Salesforce does.
pub(super) fn put(
    ctx: &Ctx,
    row: &mut Map<String, Value>,
    rec: &SfRecord,
    r: &Resolved,
    version: &str,
) {
    if r.hops.is_empty() {
        row.insert(r.leaf.name.clone(), rec.get(&r.leaf.name).clone());
        return;
    }
    let chain = ctx.parent_chain(rec, &r.hops);
    let mut cur = row;
    for (i, (_, rel)) in r.hops.iter().enumerate() {
        let Some(parent) = chain[i] else {
            cur.entry(rel.clone()).or_insert(Value::Null);
            return;
        };
        let entry = cur.entry(rel.clone()).or_insert_with(|| {
            let t = ctx.store.type_of(&parent.id).unwrap_or("Account");
            json!({"attributes": attributes(t, &parent.id, version)})
        });
        let Some(obj) = entry.as_object_mut() else {
            return;
        };
        if i + 1 == r.hops.len() {
            obj.insert(r.leaf.name.clone(), parent.get(&r.leaf.name).clone());
            return;
        }
        cur = obj;
    }
}

/// The object a query reads, or Salesforce's INVALID_TYPE.
fn root_object<'a>(store: &'a Store, q: &Query, text: &str) -> Result<&'a ObjectDef, SoqlError> {
    store.object(&q.from).ok_or_else(|| {
        SoqlError::at(
            "INVALID_TYPE",
            text,
            q.from_pos,
            &format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                q.from
            ),
        )
    })
}

/// The records a query's WHERE selects, in id order (deleted ones too for `queryAll`).
pub(super) fn filtered<'a>(
    ctx: &Ctx<'a>,
    q: &Query,
    all_rows: bool,
) -> Result<Vec<&'a SfRecord>, SoqlError> {
    let filter = q.filter.as_ref().map(|c| compile(ctx, c)).transpose()?;
    let table = ctx.store.records.get(ctx.root.name);
    // Ids, external ids and emails are indexed (as Salesforce indexes them): a filter that
    // pins one of those visits only the records it can match, in the same (id) order.
    let pinned = match (&filter, all_rows) {
        (Some(f), false) => indexed_candidates(ctx, f),
        _ => None,
    };
    let scan: Box<dyn Iterator<Item = &SfRecord>> = match (&pinned, table) {
        (Some(ids), Some(m)) => Box::new(ids.iter().filter_map(|id| m.get(id))),
        (None, Some(m)) => Box::new(m.values()),
        (_, None) => Box::new(std::iter::empty()),
    };
    let mut hits = Vec::new();
    for rec in scan {
        if rec.deleted_at.is_some() && !all_rows {
            continue;
        }
        if let Some(f) = &filter
            && !matches(ctx, rec, f, ctx.now)
        {
            continue;
        }
        hits.push(rec);
    }
    Ok(hits)
}

/// Sort rows by keys computed once per row; `None` sorts as null.
pub(super) fn sort_rows<T>(rows: &mut [(Vec<Option<SortKey>>, T)], order: &[(bool, bool)]) {
    rows.sort_by(|(ka, _), (kb, _)| {
        for ((a, b), (desc, nulls_last)) in ka.iter().zip(kb).zip(order) {
            let o = match (a, b) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => {
                    if *nulls_last {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (Some(_), None) => {
                    if *nulls_last {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (Some(x), Some(y)) => {
                    let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
                    if *desc { o.reverse() } else { o }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

/// ORDER BY of a query over records (not grouped): field paths only.
pub(super) fn record_order(ctx: &Ctx, q: &Query) -> Result<Vec<(Resolved, bool, bool)>, SoqlError> {
    q.order
        .iter()
        .map(|o| match &o.key {
            OrderKey::Expr(Expr::Field(p)) => Ok((ctx.resolve(p)?, o.desc, o.nulls_last)),
            _ => Err(SoqlError::malformed(
                ctx.text,
                o.pos,
                "Ordered field must be grouped or aggregated",
            )),
        })
        .collect()
}

/// Order records by resolved fields.
pub(super) fn order_records<'a>(
    ctx: &Ctx<'a>,
    hits: Vec<&'a SfRecord>,
    order: &[(Resolved, bool, bool)],
) -> Vec<&'a SfRecord> {
    if order.is_empty() {
        return hits;
    }
    let mut keyed: Vec<(Vec<Option<SortKey>>, &SfRecord)> = hits
        .into_iter()
        .map(|rec| {
            (
                order
                    .iter()
                    .map(|(r, _, _)| sort_key(&r.leaf, ctx.value(rec, r)))
                    .collect(),
                rec,
            )
        })
        .collect();
    let dirs: Vec<(bool, bool)> = order.iter().map(|(_, d, n)| (*d, *n)).collect();
    sort_rows(&mut keyed, &dirs);
    keyed.into_iter().map(|(_, rec)| rec).collect()
}

/// The fields `FIELDS(…)` stands for, checking the documented LIMIT 200 rule for ALL and
/// CUSTOM.
fn expand_fields(ctx: &Ctx, q: &Query, set: FieldSet, pos: usize) -> Result<Vec<Path>, SoqlError> {
    if set != FieldSet::Standard && q.limit.is_none_or(|l| l > 200) {
        return Err(SoqlError::malformed(
            ctx.text,
            if q.limit.is_some() { q.limit_pos } else { pos },
            "The SOQL FIELDS function must have a LIMIT of at most 200",
        ));
    }
    Ok(ctx
        .root
        .fields
        .iter()
        .filter(|f| match set {
            FieldSet::All => true,
            FieldSet::Standard => !f.custom,
            FieldSet::Custom => f.custom,
        })
        .map(|f| Path {
            parts: vec![f.name.clone()],
            pos,
        })
        .collect())
}

/// Run a query. `all_rows` is `queryAll` (deleted records too).
pub fn run(
    store: &Store,
    q: &Query,
    text: &str,
    all_rows: bool,
    version: &str,
    now: DateTime<Utc>,
) -> Result<QueryResult, SoqlError> {
    let root = root_object(store, q, text)?;
    let ctx = Ctx {
        store,
        text,
        root,
        now,
    };
    if super::aggregate::is_aggregate(q) {
        return super::aggregate::run(&ctx, q, all_rows);
    }
    let mut fields = Vec::new();
    let mut children = Vec::new();
    let mut count_all = false;
    for item in &q.select {
        match item {
            SelectItem::Field(p) => fields.push(ctx.resolve(p)?),
            SelectItem::CountAll => count_all = true,
            SelectItem::Fields { set, pos } => {
                for p in expand_fields(&ctx, q, *set, *pos)? {
                    fields.push(ctx.resolve(&p)?);
                }
            }
            SelectItem::Subquery(sub) => {
                children.push(super::related::Children::prepare(&ctx, sub)?)
            }
            // Aggregates and date functions make the query an aggregate one (above).
            SelectItem::Aggregate { .. } | SelectItem::Date { .. } => {}
        }
    }
    if count_all && q.select.len() > 1 {
        return Err(SoqlError::malformed(
            text,
            0,
            "COUNT() must be the only element in the SELECT list",
        ));
    }
    let order = record_order(&ctx, q)?;
    if q.offset.is_some_and(|o| o > MAX_OFFSET) {
        return Err(SoqlError {
            code: "NUMBER_OUTSIDE_VALID_RANGE",
            message: format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
        });
    }
    let hits = order_records(&ctx, filtered(&ctx, q, all_rows)?, &order);
    let limited: Vec<&SfRecord> = hits
        .iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(usize::MAX))
        .copied()
        .collect();
    if count_all {
        return Ok(QueryResult {
            total_size: limited.len(),
            records: Vec::new(),
        });
    }
    let children: Vec<_> = children
        .into_iter()
        .map(|c| c.index(&ctx, all_rows))
        .collect::<Result<_, _>>()?;
    let records = limited
        .iter()
        .map(|rec| {
            let mut row = Map::new();
            row.insert("attributes".into(), attributes(root.name, &rec.id, version));
            for r in &fields {
                put(&ctx, &mut row, rec, r, version);
            }
            for c in &children {
                row.insert(c.name.clone(), c.render(&ctx, &rec.id, version));
            }
            Value::Object(row)
        })
        .collect::<Vec<_>>();
    Ok(QueryResult {
        total_size: records.len(),
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_handles_percent_and_underscore() {
        assert!(like("%@x.example", "Ann@X.example"));
        assert!(like("a_n", "ann"));
        assert!(!like("a_n", "annn"));
        assert!(like("%", ""));
    }
}
