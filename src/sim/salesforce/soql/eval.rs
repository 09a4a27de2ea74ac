//! Evaluating a parsed SOQL query: field resolution (with parent relationships), type
//! checks of filter values, filtering, ordering, paging and rendering.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::SoqlError;
use super::parse::{Cond, Lit, Path, Query, SelectItem};
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
struct Resolved {
    /// (reference field name, relationship name) per hop.
    hops: Vec<(String, String)>,
    leaf: FieldDef,
}

struct Ctx<'a> {
    store: &'a Store,
    text: &'a str,
    root: &'a ObjectDef,
}

impl<'a> Ctx<'a> {
    fn resolve(&self, p: &Path) -> Result<Resolved, SoqlError> {
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

    fn value(&self, rec: &'a SfRecord, r: &Resolved) -> &'a Value {
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

/// [start, end) of a date keyword, in UTC.
fn keyword_range(
    kw: &str,
    n: Option<i64>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let today = now.date_naive();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let week_start = today - Duration::days(today.weekday().num_days_from_sunday() as i64);
    let month_start = |y: i32, m: i32| {
        let (y, m) = (y + (m - 1).div_euclid(12), (m - 1).rem_euclid(12) + 1);
        NaiveDate::from_ymd_opt(y, m as u32, 1)
    };
    let (y, m) = (today.year(), today.month() as i32);
    let n = n.unwrap_or(0);
    let r = match kw {
        "TODAY" => (day(today), day(today) + Duration::days(1)),
        "YESTERDAY" => (day(today) - Duration::days(1), day(today)),
        "TOMORROW" => (
            day(today) + Duration::days(1),
            day(today) + Duration::days(2),
        ),
        "THIS_WEEK" => (day(week_start), day(week_start) + Duration::days(7)),
        "LAST_WEEK" => (day(week_start) - Duration::days(7), day(week_start)),
        "NEXT_WEEK" => (
            day(week_start) + Duration::days(7),
            day(week_start) + Duration::days(14),
        ),
        "THIS_MONTH" => (day(month_start(y, m)?), day(month_start(y, m + 1)?)),
        "LAST_MONTH" => (day(month_start(y, m - 1)?), day(month_start(y, m)?)),
        "NEXT_MONTH" => (day(month_start(y, m + 1)?), day(month_start(y, m + 2)?)),
        "THIS_YEAR" => (day(month_start(y, 1)?), day(month_start(y + 1, 1)?)),
        "LAST_YEAR" => (day(month_start(y - 1, 1)?), day(month_start(y, 1)?)),
        "NEXT_YEAR" => (day(month_start(y + 1, 1)?), day(month_start(y + 2, 1)?)),
        "LAST_90_DAYS" => (
            day(today) - Duration::days(90),
            day(today) + Duration::days(1),
        ),
        "NEXT_90_DAYS" => (
            day(today) + Duration::days(1),
            day(today) + Duration::days(91),
        ),
        "LAST_N_DAYS" => (
            day(today) - Duration::days(n),
            day(today) + Duration::days(1),
        ),
        "NEXT_N_DAYS" => (
            day(today) + Duration::days(1),
            day(today) + Duration::days(1 + n),
        ),
        "LAST_N_WEEKS" => (day(week_start) - Duration::days(7 * n), day(week_start)),
        "NEXT_N_WEEKS" => (
            day(week_start) + Duration::days(7),
            day(week_start) + Duration::days(7 + 7 * n),
        ),
        "LAST_N_MONTHS" => (day(month_start(y, m - n as i32)?), day(month_start(y, m)?)),
        "NEXT_N_MONTHS" => (
            day(month_start(y, m + 1)?),
            day(month_start(y, m + 1 + n as i32)?),
        ),
        _ => return None,
    };
    Some(r)
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
enum Filter {
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
}

fn invalid_operator(ctx: &Ctx, pos: usize, text: String) -> SoqlError {
    SoqlError::at("INVALID_QUERY_FILTER_OPERATOR", ctx.text, pos, &text)
}

fn compile(ctx: &Ctx, c: &Cond) -> Result<Filter, SoqlError> {
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
    })
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
    let Some(o) = compare(leaf, stored, lit) else {
        return false;
    };
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

fn matches(ctx: &Ctx, rec: &SfRecord, f: &Filter, now: DateTime<Utc>) -> bool {
    match f {
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
enum SortKey {
    Text(String),
    Number(f64),
    Bool(bool),
    Other,
}

fn sort_key(leaf: &FieldDef, v: &Value) -> Option<SortKey> {
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
fn put(ctx: &Ctx, row: &mut Map<String, Value>, rec: &SfRecord, r: &Resolved, version: &str) {
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

/// Run a query. `all_rows` is `queryAll` (deleted records too).
pub fn run(
    store: &Store,
    q: &Query,
    text: &str,
    all_rows: bool,
    version: &str,
    now: DateTime<Utc>,
) -> Result<QueryResult, SoqlError> {
    let root = store.object(&q.from).ok_or_else(|| {
        SoqlError::at(
            "INVALID_TYPE",
            text,
            q.from_pos,
            &format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                q.from
            ),
        )
    })?;
    let ctx = Ctx { store, text, root };
    let mut fields = Vec::new();
    let (mut count_all, mut counts) = (false, Vec::new());
    for item in &q.select {
        match item {
            SelectItem::Field(p) => fields.push(ctx.resolve(p)?),
            SelectItem::CountAll => count_all = true,
            SelectItem::Count { field, alias } => counts.push((ctx.resolve(field)?, alias.clone())),
        }
    }
    if (count_all || !counts.is_empty()) && !fields.is_empty() {
        let p = q.select.iter().find_map(|i| {
            if let SelectItem::Field(p) = i {
                Some(p)
            } else {
                None
            }
        });
        let (pos, name) = p
            .map(|p| (p.pos, p.parts.join(".")))
            .unwrap_or((0, String::new()));
        return Err(SoqlError::malformed(
            text,
            pos,
            &format!("Field must be grouped or aggregated: {name}"),
        ));
    }
    if count_all && q.select.len() > 1 {
        return Err(SoqlError::malformed(
            text,
            0,
            "COUNT() must be the only element in the SELECT list",
        ));
    }
    let filter = q.filter.as_ref().map(|c| compile(&ctx, c)).transpose()?;
    let order: Vec<(Resolved, bool, bool)> = q
        .order
        .iter()
        .map(|o| Ok((ctx.resolve(&o.path)?, o.desc, o.nulls_last)))
        .collect::<Result<_, SoqlError>>()?;
    if q.offset.is_some_and(|o| o > MAX_OFFSET) {
        return Err(SoqlError {
            code: "NUMBER_OUTSIDE_VALID_RANGE",
            message: format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
        });
    }
    let mut hits: Vec<&SfRecord> = Vec::new();
    let table = store.records.get(root.name);
    // Ids, external ids and emails are indexed (as Salesforce indexes them): a filter that
    // pins one of those visits only the records it can match, in the same (id) order.
    let pinned = match (&filter, all_rows) {
        (Some(f), false) => indexed_candidates(&ctx, f),
        _ => None,
    };
    let scan: Box<dyn Iterator<Item = &SfRecord>> = match (&pinned, table) {
        (Some(ids), Some(m)) => Box::new(ids.iter().filter_map(|id| m.get(id))),
        (None, Some(m)) => Box::new(m.values()),
        (_, None) => Box::new(std::iter::empty()),
    };
    for rec in scan {
        if rec.deleted_at.is_some() && !all_rows {
            continue;
        }
        if let Some(f) = &filter
            && !matches(&ctx, rec, f, now)
        {
            continue;
        }
        hits.push(rec);
    }
    if !order.is_empty() {
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
        keyed.sort_by(|(ka, _), (kb, _)| {
            for ((a, b), (_, desc, nulls_last)) in ka.iter().zip(kb).zip(&order) {
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
        hits = keyed.into_iter().map(|(_, rec)| rec).collect();
    }
    let offset = q.offset.unwrap_or(0);
    let limited: Vec<&SfRecord> = hits
        .iter()
        .skip(offset)
        .take(q.limit.unwrap_or(usize::MAX))
        .copied()
        .collect();
    if count_all {
        return Ok(QueryResult {
            total_size: limited.len(),
            records: Vec::new(),
        });
    }
    if !counts.is_empty() {
        let mut row = Map::new();
        row.insert("attributes".into(), json!({"type": "AggregateResult"}));
        for (i, (r, alias)) in counts.iter().enumerate() {
            let n = limited
                .iter()
                .filter(|rec| !ctx.value(rec, r).is_null())
                .count();
            row.insert(
                alias.clone().unwrap_or_else(|| format!("expr{i}")),
                json!(n),
            );
        }
        return Ok(QueryResult {
            total_size: 1,
            records: vec![Value::Object(row)],
        });
    }
    let records = limited
        .iter()
        .map(|rec| {
            let mut row = Map::new();
            row.insert("attributes".into(), attributes(root.name, &rec.id, version));
            for r in &fields {
                put(&ctx, &mut row, rec, r, version);
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

    #[test]
    fn date_keywords_cover_the_expected_days() {
        let now = parse_datetime("2026-03-15T12:00:00Z").unwrap();
        let (s, e) = keyword_range("THIS_MONTH", None, now).unwrap();
        assert_eq!(
            (s.to_rfc3339(), e.to_rfc3339()),
            (
                "2026-03-01T00:00:00+00:00".into(),
                "2026-04-01T00:00:00+00:00".into()
            )
        );
        let (s, e) = keyword_range("LAST_N_DAYS", Some(7), now).unwrap();
        assert_eq!(
            (s.date_naive().to_string(), e.date_naive().to_string()),
            ("2026-03-08".into(), "2026-03-16".into())
        );
        let (s, _) = keyword_range(
            "LAST_MONTH",
            None,
            parse_datetime("2026-01-10T00:00:00Z").unwrap(),
        )
        .unwrap();
        assert_eq!(s.date_naive().to_string(), "2025-12-01");
    }
}
