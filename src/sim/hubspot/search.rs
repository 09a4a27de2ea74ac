//! CRM search: filter groups (OR of ANDs), one sort, `limit` ≤ 200 and the 10,000-result cap.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::HsJson;
use super::errors::HsError;
use super::objects::object_type;
use super::schema::{ObjectType, PropKind, PropertyDef};
use super::store::{PropSelection, Record, Store};
use crate::sim::SimState;
use crate::sim::clock::{parse_date, parse_datetime};

const MAX_LIMIT: usize = 200;
const RESULT_CAP: usize = 10_000;
const MAX_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 10;
const MAX_FILTERS: usize = 25;

#[derive(Debug)]
struct Filter {
    def: PropertyDef,
    operator: String,
    value: Option<String>,
    values: Vec<String>,
    high: Option<String>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A comparable form of a stored or filter value for numeric and date properties.
fn number_of(def: &PropertyDef, s: &str) -> Option<f64> {
    match def.kind {
        PropKind::Number => s.trim().parse().ok(),
        PropKind::DateTime | PropKind::Date => {
            if let Ok(ms) = s.parse::<i64>() {
                return Some(ms as f64);
            }
            if let Some(t) = parse_datetime(s) {
                return Some(t.timestamp_millis() as f64);
            }
            parse_date(s).map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp_millis() as f64
            })
        }
        _ => None,
    }
}

fn numeric(def: &PropertyDef) -> bool {
    matches!(
        def.kind,
        PropKind::Number | PropKind::Date | PropKind::DateTime
    )
}

fn compare(def: &PropertyDef, a: &str, b: &str) -> Option<Ordering> {
    if numeric(def) {
        number_of(def, a)?.partial_cmp(&number_of(def, b)?)
    } else {
        Some(a.to_lowercase().cmp(&b.to_lowercase()))
    }
}

fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (
        pattern.to_lowercase().chars().collect(),
        value.to_lowercase().chars().collect(),
    );
    // Classic two-pointer glob match with `*`.
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Filter {
    fn matches(&self, rec: &Record) -> bool {
        let stored = rec.props.get(&self.def.name).filter(|s| !s.is_empty());
        let parts: Vec<&str> = match stored {
            Some(s) if self.def.multi_select() => s.split(';').collect(),
            Some(s) => vec![s.as_str()],
            None => Vec::new(),
        };
        let eq = |want: &str| {
            parts
                .iter()
                .any(|p| compare(&self.def, p, want) == Some(Ordering::Equal))
        };
        let cmp = |want: &str, ok: fn(Ordering) -> bool| {
            parts
                .iter()
                .any(|p| compare(&self.def, p, want).is_some_and(ok))
        };
        let value = self.value.as_deref().unwrap_or("");
        match self.operator.as_str() {
            "EQ" => eq(value),
            "NEQ" => !eq(value),
            "LT" => cmp(value, |o| o == Ordering::Less),
            "LTE" => cmp(value, |o| o != Ordering::Greater),
            "GT" => cmp(value, |o| o == Ordering::Greater),
            "GTE" => cmp(value, |o| o != Ordering::Less),
            "BETWEEN" => {
                let high = self.high.as_deref().unwrap_or("");
                parts.iter().any(|p| {
                    compare(&self.def, p, value).is_some_and(|o| o != Ordering::Less)
                        && compare(&self.def, p, high).is_some_and(|o| o != Ordering::Greater)
                })
            }
            "IN" => self.values.iter().any(|v| eq(v)),
            "NOT_IN" => !self.values.iter().any(|v| eq(v)),
            "HAS_PROPERTY" => stored.is_some(),
            "NOT_HAS_PROPERTY" => stored.is_none(),
            "CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN" => {
                let hit = stored.is_some_and(|s| {
                    if value.contains('*') {
                        wildcard(value, s)
                    } else {
                        s.split(|c: char| c.is_whitespace() || c == ';' || c == ',')
                            .any(|tok| tok.eq_ignore_ascii_case(value))
                    }
                });
                (self.operator == "CONTAINS_TOKEN") == hit
            }
            _ => false,
        }
    }
}

const OPERATORS: &[&str] = &[
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
];

fn parse_filters(store: &Store, t: ObjectType, body: &Value) -> Result<Vec<Vec<Filter>>, HsError> {
    let groups = body["filterGroups"].as_array().cloned().unwrap_or_default();
    if groups.len() > MAX_GROUPS {
        return Err(HsError::validation(format!(
            "Too many filter groups: {} (the maximum is {MAX_GROUPS})",
            groups.len()
        )));
    }
    let mut total = 0;
    let mut out = Vec::new();
    for g in &groups {
        let filters = g["filters"].as_array().cloned().unwrap_or_default();
        if filters.len() > MAX_FILTERS_PER_GROUP {
            return Err(HsError::validation(format!(
                "Too many filters in a group: {} (the maximum is {MAX_FILTERS_PER_GROUP})",
                filters.len()
            )));
        }
        total += filters.len();
        let mut group = Vec::new();
        for f in &filters {
            let name = f["propertyName"].as_str().unwrap_or_default();
            let def = store
                .property(t, name)
                .ok_or_else(|| {
                    HsError::validation(format!(
                        "There was a problem with the request: property {name} does not exist"
                    ))
                })?
                .clone();
            let operator = f["operator"].as_str().unwrap_or("EQ").to_string();
            if !OPERATORS.contains(&operator.as_str()) {
                return Err(HsError::validation(format!("Unknown operator {operator}")));
            }
            if operator == "NOT_HAS_PROPERTY" || operator == "HAS_PROPERTY" {
                if !f["value"].is_null() {
                    return Err(HsError::validation(format!(
                        "{operator} does not take a value"
                    )));
                }
            } else if matches!(operator.as_str(), "IN" | "NOT_IN") {
                if !f["values"].is_array() {
                    return Err(HsError::validation(format!("{operator} needs values")));
                }
            } else if f["value"].is_null() {
                return Err(HsError::validation(format!("{operator} needs a value")));
            }
            group.push(Filter {
                def,
                operator,
                value: text(&f["value"]),
                values: f["values"]
                    .as_array()
                    .map(|a| a.iter().filter_map(text).collect())
                    .unwrap_or_default(),
                high: text(&f["highValue"]),
            });
        }
        out.push(group);
    }
    if total > MAX_FILTERS {
        return Err(HsError::validation(format!(
            "Too many filters: {total} (the maximum is {MAX_FILTERS})"
        )));
    }
    Ok(out)
}

/// The smallest id every filter group allows, when each group has an `hs_object_id` lower
/// bound (`GT`/`GTE`): with several bounds in a group, the largest counts.
fn id_lower_bound(groups: &[Vec<Filter>]) -> Option<u64> {
    let mut lowest: Option<u64> = None;
    for g in groups {
        let group_bound = g
            .iter()
            .filter(|f| f.def.name == "hs_object_id")
            .filter_map(|f| {
                let v: u64 = f.value.as_deref()?.trim().parse().ok()?;
                match f.operator.as_str() {
                    "GT" => v.checked_add(1),
                    "GTE" => Some(v),
                    _ => None,
                }
            })
            .max()?;
        lowest = Some(lowest.map_or(group_bound, |l| l.min(group_bound)));
    }
    lowest
}

fn searchable(t: ObjectType) -> &'static [&'static str] {
    match t {
        ObjectType::Contacts => &["firstname", "lastname", "email", "phone", "company"],
        ObjectType::Companies => &["name", "domain", "website", "phone"],
        ObjectType::Deals => &["dealname"],
        ObjectType::Tasks => &["hs_task_subject"],
        ObjectType::Tickets => &["subject", "content"],
        ObjectType::Custom(c) => &c.searchable,
    }
}

/// `POST /crm/v3/objects/{objectType}/search`
pub async fn search(
    State(sim): State<Arc<SimState>>,
    Path(object_type_name): Path<String>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let limit = body["limit"].as_u64().unwrap_or(10) as usize;
    if limit > MAX_LIMIT {
        return Err(HsError::validation(format!(
            "limit must be at most {MAX_LIMIT}"
        )));
    }
    let after: usize = match text(&body["after"]) {
        None => 0,
        Some(a) if a.is_empty() => 0,
        Some(a) => a
            .parse()
            .map_err(|_| HsError::validation(format!("after {a} is not a valid paging cursor")))?,
    };
    if after >= RESULT_CAP {
        return Err(HsError::validation(format!(
            "The search API returns at most {RESULT_CAP} results per query; after={after} is beyond that. Narrow the query instead of paging."
        )));
    }
    let hs = sim.hubspot();
    let groups = parse_filters(&hs.store, t, &body)?;
    let query = body["query"]
        .as_str()
        .map(str::to_lowercase)
        .filter(|q| !q.is_empty());
    if query.as_ref().is_some_and(|q| q.len() > 3000) {
        return Err(HsError::validation("query must be at most 3000 characters"));
    }
    // Every group bounding the id from below lets the scan start there (records are kept
    // in id order); groups that bound nothing else need no filter evaluation at all. This
    // keeps id-windowed paging through a million records linear, as an index would.
    let lower = id_lower_bound(&groups);
    let only_id_bounds = !groups.is_empty()
        && groups.iter().all(|g| {
            g.iter().all(|f| {
                f.def.name == "hs_object_id" && matches!(f.operator.as_str(), "GT" | "GTE")
            })
        });
    let records = &hs.store.records[&t];
    let mut hits: Vec<&Record> = records
        .range(lower.unwrap_or(0)..)
        .map(|(_, r)| r)
        .filter(|r| r.archived_at.is_none())
        .filter(|r| {
            groups.is_empty()
                || (only_id_bounds && lower.is_some())
                || groups.iter().any(|g| g.iter().all(|f| f.matches(r)))
        })
        .filter(|r| {
            query.as_ref().is_none_or(|q| {
                searchable(t).iter().any(|p| {
                    r.props
                        .get(*p)
                        .is_some_and(|v| v.to_lowercase().contains(q.as_str()))
                })
            })
        })
        .collect();
    if let Some(sort) = body["sorts"].as_array().and_then(|a| a.first()) {
        let (name, descending) = match sort {
            Value::String(s) => match s.strip_prefix('-') {
                Some(n) => (n.to_string(), true),
                None => (s.clone(), false),
            },
            other => (
                other["propertyName"]
                    .as_str()
                    .unwrap_or("hs_object_id")
                    .to_string(),
                other["direction"].as_str() == Some("DESCENDING"),
            ),
        };
        let def = hs
            .store
            .property(t, &name)
            .ok_or_else(|| {
                HsError::validation(format!("Can't sort by {name}: the property does not exist"))
            })?
            .clone();
        // Records are kept in id order: sorting by id ascending is already done.
        let by_id_ascending = name == "hs_object_id" && !descending;
        if !by_id_ascending {
            hits.sort_by(|a, b| {
                let (va, vb) = (a.props.get(&name), b.props.get(&name));
                let o = match (va, vb) {
                    (Some(x), Some(y)) => compare(&def, x, y).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                let o = if descending { o.reverse() } else { o };
                o.then(a.id.cmp(&b.id))
            });
        }
    }
    let total = hits.len();
    let props = match body["properties"].as_array() {
        Some(a) if !a.is_empty() => PropSelection::Named(
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        ),
        _ => PropSelection::Default,
    };
    let results: Vec<Value> = hits
        .iter()
        .skip(after)
        .take(limit)
        .map(|r| hs.store.render(t, r, &props))
        .collect();
    let mut out = json!({"total": total, "results": results});
    let next = after + limit;
    if next < total {
        out["paging"] = json!({"next": {"after": next.to_string()}});
    }
    Ok(axum::Json(out).into_response())
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_match_like_contains_token() {
        assert!(wildcard("*@example.com", "ann@EXAMPLE.com"));
        assert!(wildcard("ann*", "annika"));
        assert!(!wildcard("*@example.com", "ann@example.org"));
        assert!(wildcard("*", ""));
    }
}
