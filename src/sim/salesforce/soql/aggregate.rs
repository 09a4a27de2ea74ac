//! Aggregate queries: `COUNT`, `COUNT_DISTINCT`, `SUM`, `AVG`, `MIN`, `MAX` over all rows
//! or per GROUP BY group (fields or date functions), HAVING, ORDER BY over groups, LIMIT and
//! OFFSET over groups. Rows come back as `AggregateResult`: grouped fields under their
//! name, aggregates and date functions under their alias or `expr0`, `expr1`, ….

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::SoqlError;
use super::dates;
use super::eval::{
    Ctx, QueryResult, Resolved, SortKey, date_function_field, filtered, sort_rows, value_matches,
};
use super::parse::{Agg, Cond, DateFn, Expr, Lit, OrderKey, Query, SelectItem};
use crate::sim::salesforce::store::SfRecord;

/// Does the query aggregate (then rows are groups, not records)?
pub(super) fn is_aggregate(q: &Query) -> bool {
    !q.group_by.is_empty()
        || q.select
            .iter()
            .any(|i| matches!(i, SelectItem::Aggregate { .. } | SelectItem::Date { .. }))
}

/// A value per record: a field, or a date function of one.
struct Computed {
    field: Resolved,
    func: Option<DateFn>,
}

impl Computed {
    fn of(ctx: &Ctx, e: &Expr) -> Result<Computed, SoqlError> {
        let field = ctx.resolve(e.path())?;
        let func = match e {
            Expr::Date(f, p) => {
                date_function_field(ctx, &field, p.pos)?;
                Some(*f)
            }
            Expr::Field(_) => None,
        };
        Ok(Computed { field, func })
    }

    fn value(&self, ctx: &Ctx, rec: &SfRecord) -> Value {
        let v = ctx.value(rec, &self.field);
        match self.func {
            Some(f) => dates::apply(f, v).unwrap_or(Value::Null),
            None => v.clone(),
        }
    }
}

/// An aggregate with its argument (COUNT() has none).
struct Aggregate {
    agg: Agg,
    arg: Option<Computed>,
}

impl Aggregate {
    fn of(ctx: &Ctx, agg: Agg, arg: Option<&Expr>, pos: usize) -> Result<Aggregate, SoqlError> {
        let arg = arg.map(|e| Computed::of(ctx, e)).transpose()?;
        if let (Agg::Sum | Agg::Avg, Some(a)) = (agg, &arg)
            && a.func.is_none()
            && !a.field.leaf.ftype.numeric()
        {
            return Err(SoqlError::malformed(
                ctx.text,
                pos,
                &format!(
                    "field {} does not support aggregate operator {}",
                    a.field.leaf.name,
                    agg.name()
                ),
            ));
        }
        Ok(Aggregate { agg, arg })
    }

    fn over(&self, ctx: &Ctx, rows: &[&SfRecord]) -> Value {
        let Some(arg) = &self.arg else {
            return json!(rows.len());
        };
        let values: Vec<Value> = rows
            .iter()
            .map(|r| arg.value(ctx, r))
            .filter(|v| !v.is_null())
            .collect();
        let numbers = || values.iter().filter_map(Value::as_f64);
        match self.agg {
            Agg::Count => json!(values.len()),
            Agg::CountDistinct => {
                let mut seen: Vec<String> = values
                    .iter()
                    .map(|v| v.to_string().to_lowercase())
                    .collect();
                seen.sort();
                seen.dedup();
                json!(seen.len())
            }
            Agg::Sum if values.is_empty() => Value::Null,
            Agg::Sum => json!(numbers().sum::<f64>()),
            Agg::Avg if values.is_empty() => Value::Null,
            Agg::Avg => json!(numbers().sum::<f64>() / values.len() as f64),
            Agg::Min | Agg::Max => {
                let mut best: Option<&Value> = None;
                for v in &values {
                    let better = best.is_none_or(|b| {
                        let o = key_of(v).partial_cmp(&key_of(b));
                        if self.agg == Agg::Min {
                            o == Some(std::cmp::Ordering::Less)
                        } else {
                            o == Some(std::cmp::Ordering::Greater)
                        }
                    });
                    if better {
                        best = Some(v);
                    }
                }
                best.cloned().unwrap_or(Value::Null)
            }
        }
    }
}

fn key_of(v: &Value) -> Option<SortKey> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) => SortKey::Text(s.to_lowercase()),
        Value::Number(n) => SortKey::Number(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => SortKey::Bool(*b),
        _ => SortKey::Other,
    })
}

/// What one SELECT item answers for a group.
enum Output {
    Key { index: usize, name: String },
    Agg { agg: Aggregate, name: String },
}

/// A HAVING clause over groups.
enum Having {
    And(Box<Having>, Box<Having>),
    Or(Box<Having>, Box<Having>),
    Not(Box<Having>),
    Agg {
        agg: Box<Aggregate>,
        op: &'static str,
        value: Lit,
    },
    Key {
        index: usize,
        op: &'static str,
        values: Vec<Lit>,
        negated: bool,
    },
}

struct Group<'a> {
    keys: Vec<Value>,
    rows: Vec<&'a SfRecord>,
}

fn key_index(ctx: &Ctx, keys: &[Expr], e: &Expr, pos: usize) -> Result<usize, SoqlError> {
    keys.iter().position(|k| k.same(e)).ok_or_else(|| {
        SoqlError::malformed(
            ctx.text,
            pos,
            &format!(
                "Field must be grouped or aggregated: {}",
                e.path().parts.join(".")
            ),
        )
    })
}

fn compile_having(ctx: &Ctx, c: &Cond, keys: &[Expr]) -> Result<Having, SoqlError> {
    Ok(match c {
        Cond::And(a, b) => Having::And(
            Box::new(compile_having(ctx, a, keys)?),
            Box::new(compile_having(ctx, b, keys)?),
        ),
        Cond::Or(a, b) => Having::Or(
            Box::new(compile_having(ctx, a, keys)?),
            Box::new(compile_having(ctx, b, keys)?),
        ),
        Cond::Not(a) => Having::Not(Box::new(compile_having(ctx, a, keys)?)),
        Cond::AggCmp {
            agg,
            arg,
            op,
            value,
            pos,
        } => Having::Agg {
            agg: Box::new(Aggregate::of(ctx, *agg, arg.as_ref(), *pos)?),
            op,
            value: value.clone(),
        },
        Cond::Cmp {
            path,
            op,
            value,
            pos,
        } => Having::Key {
            index: key_index(ctx, keys, &Expr::Field(path.clone()), *pos)?,
            op,
            values: vec![value.clone()],
            negated: false,
        },
        Cond::DateCmp {
            func,
            path,
            op,
            value,
            pos,
        } => Having::Key {
            index: key_index(ctx, keys, &Expr::Date(*func, path.clone()), *pos)?,
            op,
            values: vec![value.clone()],
            negated: false,
        },
        Cond::In {
            path,
            negated,
            values,
            pos,
        } => Having::Key {
            index: key_index(ctx, keys, &Expr::Field(path.clone()), *pos)?,
            op: "=",
            values: values.clone(),
            negated: *negated,
        },
        Cond::Like { path, .. } | Cond::Includes { path, .. } | Cond::InQuery { path, .. } => {
            return Err(SoqlError::malformed(
                ctx.text,
                path.pos,
                "HAVING compares grouped fields and aggregates only",
            ));
        }
    })
}

fn having_matches(ctx: &Ctx, h: &Having, g: &Group) -> bool {
    match h {
        Having::And(a, b) => having_matches(ctx, a, g) && having_matches(ctx, b, g),
        Having::Or(a, b) => having_matches(ctx, a, g) || having_matches(ctx, b, g),
        Having::Not(a) => !having_matches(ctx, a, g),
        Having::Agg { agg, op, value } => value_matches(&agg.over(ctx, &g.rows), op, value),
        Having::Key {
            index,
            op,
            values,
            negated,
        } => values.iter().any(|v| value_matches(&g.keys[*index], op, v)) != *negated,
    }
}

/// Run an aggregate query.
pub(super) fn run(ctx: &Ctx, q: &Query, all_rows: bool) -> Result<QueryResult, SoqlError> {
    let keys: Vec<Computed> = q
        .group_by
        .iter()
        .map(|e| Computed::of(ctx, e))
        .collect::<Result<_, _>>()?;
    let mut outputs = Vec::new();
    let mut unnamed = 0;
    let mut next_name = |alias: &Option<String>| {
        alias.clone().unwrap_or_else(|| {
            unnamed += 1;
            format!("expr{}", unnamed - 1)
        })
    };
    for item in &q.select {
        match item {
            SelectItem::Field(p) => {
                let index = key_index(ctx, &q.group_by, &Expr::Field(p.clone()), p.pos)?;
                outputs.push(Output::Key {
                    index,
                    name: keys[index].field.leaf.name.clone(),
                });
            }
            SelectItem::Date { func, path, alias } => {
                let index =
                    key_index(ctx, &q.group_by, &Expr::Date(*func, path.clone()), path.pos)?;
                outputs.push(Output::Key {
                    index,
                    name: next_name(alias),
                });
            }
            SelectItem::Aggregate {
                agg,
                arg,
                alias,
                pos,
            } => outputs.push(Output::Agg {
                agg: Aggregate::of(ctx, *agg, Some(arg), *pos)?,
                name: next_name(alias),
            }),
            SelectItem::CountAll | SelectItem::Subquery(_) | SelectItem::Fields { .. } => {
                return Err(SoqlError::malformed(
                    ctx.text,
                    q.from_pos,
                    "COUNT(), FIELDS() and subqueries cannot be combined with aggregate functions or GROUP BY",
                ));
            }
        }
    }
    let having = q
        .having
        .as_ref()
        .map(|h| compile_having(ctx, h, &q.group_by))
        .transpose()?;
    let rows = filtered(ctx, q, all_rows)?;
    let mut groups: Vec<Group> = Vec::new();
    if keys.is_empty() {
        groups.push(Group {
            keys: Vec::new(),
            rows,
        });
    } else {
        let mut at: HashMap<String, usize> = HashMap::new();
        for rec in rows {
            let values: Vec<Value> = keys.iter().map(|k| k.value(ctx, rec)).collect();
            // Text groups case-insensitively, as Salesforce does.
            let id = Value::Array(values.clone()).to_string().to_lowercase();
            let i = *at.entry(id).or_insert_with(|| {
                groups.push(Group {
                    keys: values,
                    rows: Vec::new(),
                });
                groups.len() - 1
            });
            groups[i].rows.push(rec);
        }
    }
    if let Some(h) = &having {
        groups.retain(|g| having_matches(ctx, h, g));
    }
    if !q.order.is_empty() {
        let mut sorters = Vec::new();
        for o in &q.order {
            sorters.push(match &o.key {
                OrderKey::Expr(e) => Err(key_index(ctx, &q.group_by, e, o.pos)?),
                OrderKey::Agg(agg, arg) => Ok(Aggregate::of(ctx, *agg, arg.as_ref(), o.pos)?),
            });
        }
        let mut keyed: Vec<(Vec<Option<SortKey>>, Group)> = groups
            .into_iter()
            .map(|g| {
                let k = sorters
                    .iter()
                    .map(|s| match s {
                        Err(index) => key_of(&g.keys[*index]),
                        Ok(agg) => key_of(&agg.over(ctx, &g.rows)),
                    })
                    .collect();
                (k, g)
            })
            .collect();
        let dirs: Vec<(bool, bool)> = q.order.iter().map(|o| (o.desc, o.nulls_last)).collect();
        sort_rows(&mut keyed, &dirs);
        groups = keyed.into_iter().map(|(_, g)| g).collect();
    }
    let records: Vec<Value> = groups
        .iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(usize::MAX))
        .map(|g| {
            let mut row = Map::new();
            row.insert("attributes".into(), json!({"type": "AggregateResult"}));
            for out in &outputs {
                match out {
                    Output::Key { index, name } => {
                        row.insert(name.clone(), g.keys[*index].clone());
                    }
                    Output::Agg { agg, name } => {
                        row.insert(name.clone(), agg.over(ctx, &g.rows));
                    }
                }
            }
            Value::Object(row)
        })
        .collect();
    Ok(QueryResult {
        total_size: records.len(),
        records,
    })
}
