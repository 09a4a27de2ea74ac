//! HubSpot CRM records: storage, writes with validation, unique values, and rendering.

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::errors::{HsError, invalid_properties, invalid_property};
use super::schema::{ObjectType, PropertyDef};
use crate::sim::clock::{StampClock, hubspot_iso};

#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    pub props: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Set when a merge archived this record: the record it became part of.
    pub merged_into: Option<u64>,
}

/// Which properties a read returns.
#[derive(Debug, Clone)]
pub enum PropSelection {
    Default,
    Named(Vec<String>),
}

impl PropSelection {
    /// From a `properties` query value (comma list, possibly repeated) or a JSON array.
    pub fn from_names(names: Vec<String>) -> PropSelection {
        let names: Vec<String> = names
            .iter()
            .flat_map(|n| n.split(','))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            PropSelection::Default
        } else {
            PropSelection::Named(names)
        }
    }
}

#[derive(Debug, Default)]
pub struct Store {
    next_id: u64,
    pub clock: StampClock,
    pub records: BTreeMap<ObjectType, BTreeMap<u64, Record>>,
    pub schemas: BTreeMap<ObjectType, Vec<PropertyDef>>,
    /// (object type, unique property) → lower-cased value → record id (live records only).
    unique: HashMap<(ObjectType, String), HashMap<String, u64>>,
}

impl Store {
    pub fn new(first_id: u64, schemas: BTreeMap<ObjectType, Vec<PropertyDef>>) -> Store {
        Store {
            next_id: first_id,
            clock: StampClock::default(),
            records: ObjectType::ALL
                .iter()
                .map(|t| (*t, BTreeMap::new()))
                .collect(),
            schemas,
            unique: HashMap::new(),
        }
    }

    /// A new object type (a custom object) with its properties.
    pub fn add_type(&mut self, t: ObjectType, properties: Vec<PropertyDef>) {
        self.records.entry(t).or_default();
        self.schemas.insert(t, properties);
    }

    pub fn property(&self, t: ObjectType, name: &str) -> Option<&PropertyDef> {
        self.schemas.get(&t)?.iter().find(|p| p.name == name)
    }

    pub fn get(&self, t: ObjectType, id: u64) -> Option<&Record> {
        self.records.get(&t)?.get(&id)
    }

    pub fn live(&self, t: ObjectType, id: u64) -> Option<&Record> {
        self.get(t, id).filter(|r| r.archived_at.is_none())
    }

    pub fn count(&self, t: ObjectType) -> usize {
        self.records
            .get(&t)
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|r| r.archived_at.is_none())
            .count()
    }

    /// Resolve a path id: a record id, or with `idProperty` the value of a unique property.
    pub fn resolve_id(
        &self,
        t: ObjectType,
        id: &str,
        id_property: Option<&str>,
    ) -> Result<Option<u64>, HsError> {
        match id_property {
            None | Some("hs_object_id") => Ok(id.parse::<u64>().ok()),
            Some(prop) => {
                let def = self.property(t, prop).ok_or_else(|| {
                    HsError::validation(format!("Property \"{prop}\" does not exist"))
                })?;
                if !def.unique {
                    return Err(HsError::validation(format!(
                        "{prop} is not a unique property; idProperty must name a property with unique values"
                    )));
                }
                Ok(self
                    .unique
                    .get(&(t, prop.to_string()))
                    .and_then(|m| m.get(&id.to_lowercase()))
                    .copied())
            }
        }
    }

    /// Validate a `properties` object against the schema. Errors list every bad property.
    pub fn validate(
        &self,
        t: ObjectType,
        props: &Map<String, Value>,
        creating: bool,
    ) -> Result<Vec<(String, String)>, HsError> {
        let mut out = Vec::with_capacity(props.len());
        let mut bad = Vec::new();
        for (name, value) in props {
            match self.property(t, name) {
                None => bad.push(invalid_property(
                    name,
                    "PROPERTY_DOESNT_EXIST",
                    &format!("Property \"{name}\" does not exist"),
                )),
                Some(def) => match def.normalize(value) {
                    Ok(v) => out.push((name.clone(), v)),
                    Err(item) => bad.push(item),
                },
            }
        }
        if creating {
            for def in self
                .schemas
                .get(&t)
                .into_iter()
                .flatten()
                .filter(|d| d.required)
            {
                let present = out.iter().any(|(n, v)| n == &def.name && !v.is_empty());
                if !present {
                    bad.push(invalid_property(
                        &def.name,
                        "REQUIRED_PROPERTY",
                        &format!("Property \"{}\" is required", def.name),
                    ));
                }
            }
        }
        if bad.is_empty() {
            Ok(out)
        } else {
            Err(invalid_properties(bad))
        }
    }

    /// The record that already holds a unique value this write would take, if any.
    pub fn unique_conflict(
        &self,
        t: ObjectType,
        values: &[(String, String)],
        own: Option<u64>,
    ) -> Option<(String, u64)> {
        for (name, v) in values {
            if v.is_empty() {
                continue;
            }
            if let Some(&other) = self
                .unique
                .get(&(t, name.clone()))
                .and_then(|m| m.get(&v.to_lowercase()))
                && Some(other) != own
            {
                return Some((name.clone(), other));
            }
        }
        None
    }

    pub fn conflict_error(t: ObjectType, prop: &str, existing: u64) -> HsError {
        let label = match t {
            ObjectType::Contacts => "Contact".to_string(),
            other => format!("A {} with this {prop}", other.singular()),
        };
        HsError::new(
            StatusCode::CONFLICT,
            "CONFLICT",
            format!("{label} already exists. Existing ID: {existing}"),
        )
    }

    /// Create a record from validated values; fails on a unique-value collision.
    pub fn create(&mut self, t: ObjectType, values: Vec<(String, String)>) -> Result<u64, HsError> {
        if let Some((prop, existing)) = self.unique_conflict(t, &values, None) {
            return Err(Store::conflict_error(t, &prop, existing));
        }
        let now = self.clock.next();
        Ok(self.insert(t, values, now))
    }

    /// Insert without conflict checks (seeding and already-checked writes).
    pub fn insert(
        &mut self,
        t: ObjectType,
        values: Vec<(String, String)>,
        created: DateTime<Utc>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1 + (id % 3);
        let mut rec = Record {
            id,
            props: BTreeMap::new(),
            created,
            updated: created,
            archived_at: None,
            merged_into: None,
        };
        for (k, v) in values {
            if !v.is_empty() {
                rec.props.insert(k, v);
            }
        }
        let stamp = hubspot_iso(created);
        rec.props.insert(t.created_property().into(), stamp.clone());
        rec.props.insert("hs_object_id".into(), id.to_string());
        self.stamp_modified(t, &mut rec, created);
        self.index(t, &rec);
        self.records.get_mut(&t).map(|m| m.insert(id, rec));
        id
    }

    fn stamp_modified(&self, t: ObjectType, rec: &mut Record, at: DateTime<Utc>) {
        rec.updated = at;
        let stamp = hubspot_iso(at);
        rec.props
            .insert(t.modified_property().into(), stamp.clone());
        if t == ObjectType::Contacts {
            rec.props.insert("hs_lastmodifieddate".into(), stamp);
        }
    }

    fn unique_props(&self, t: ObjectType) -> Vec<String> {
        self.schemas
            .get(&t)
            .into_iter()
            .flatten()
            .filter(|d| d.unique)
            .map(|d| d.name.clone())
            .collect()
    }

    fn index(&mut self, t: ObjectType, rec: &Record) {
        for name in self.unique_props(t) {
            if let Some(v) = rec.props.get(&name) {
                self.unique
                    .entry((t, name))
                    .or_default()
                    .insert(v.to_lowercase(), rec.id);
            }
        }
    }

    fn unindex(&mut self, t: ObjectType, rec: &Record) {
        for name in self.unique_props(t) {
            if let (Some(v), Some(m)) = (
                rec.props.get(&name),
                self.unique.get_mut(&(t, name.clone())),
            ) {
                m.remove(&v.to_lowercase());
            }
        }
    }

    /// Update a live record with validated values; an empty value clears the property.
    pub fn update(
        &mut self,
        t: ObjectType,
        id: u64,
        values: Vec<(String, String)>,
    ) -> Result<(), HsError> {
        let Some(old) = self.live(t, id).cloned() else {
            return Err(HsError::not_found(format!(
                "resource not found: no {} with id {id}",
                t.singular()
            )));
        };
        if let Some((prop, existing)) = self.unique_conflict(t, &values, Some(id)) {
            return Err(Store::conflict_error(t, &prop, existing));
        }
        let now = self.clock.next();
        let mut rec = old.clone();
        for (k, v) in values {
            if v.is_empty() {
                rec.props.remove(&k);
            } else {
                rec.props.insert(k, v);
            }
        }
        self.stamp_modified(t, &mut rec, now);
        self.unindex(t, &old);
        self.index(t, &rec);
        self.records.get_mut(&t).map(|m| m.insert(id, rec));
        Ok(())
    }

    /// Set values the API cannot write (calculated properties), e.g. form submissions.
    pub fn set_system(&mut self, t: ObjectType, id: u64, values: &[(&str, String)]) -> bool {
        let now = self.clock.next();
        let Some(mut rec) = self.live(t, id).cloned() else {
            return false;
        };
        for (k, v) in values {
            rec.props.insert(k.to_string(), v.clone());
        }
        self.stamp_modified(t, &mut rec, now);
        self.records.get_mut(&t).map(|m| m.insert(id, rec));
        true
    }

    /// The record a read of `id` answers with: `id` itself, or — for a record merged away —
    /// the record it became (HubSpot resolves the old ids of a merge to the new record).
    pub fn read_through(&self, t: ObjectType, id: u64, archived: bool) -> Option<&Record> {
        let mut rec = self.get(t, id)?;
        if archived {
            return rec.archived_at.is_some().then_some(rec);
        }
        for _ in 0..16 {
            match (rec.archived_at, rec.merged_into) {
                (None, _) => return Some(rec),
                (Some(_), Some(into)) => rec = self.get(t, into)?,
                (Some(_), None) => return None,
            }
        }
        None
    }

    /// A merge as HubSpot does it now: a new record (a new id) takes the primary's values,
    /// and the other's where the primary has none; both originals are archived and read
    /// through to it; the new record's `hs_merged_object_ids` lists every id merged into it.
    /// Associations of both move to the new record.
    pub fn merge(&mut self, t: ObjectType, primary: u64, other: u64) -> Result<u64, HsError> {
        let missing = |id: u64| {
            HsError::not_found(format!(
                "resource not found: no {} with id {id}",
                t.singular()
            ))
        };
        if primary == other {
            return Err(HsError::validation("a record cannot be merged into itself"));
        }
        let p = self
            .live(t, primary)
            .cloned()
            .ok_or_else(|| missing(primary))?;
        let o = self.live(t, other).cloned().ok_or_else(|| missing(other))?;
        let system = [
            t.created_property(),
            t.modified_property(),
            "hs_lastmodifieddate",
            "hs_object_id",
            "hs_merged_object_ids",
        ];
        let mut values: BTreeMap<String, String> = o.props.clone();
        values.extend(p.props.clone());
        values.retain(|k, _| !system.contains(&k.as_str()));
        let mut merged: Vec<String> = Vec::new();
        let earlier = [&p, &o].into_iter().flat_map(|r| {
            r.props
                .get("hs_merged_object_ids")
                .map(|m| m.split(';').map(String::from).collect::<Vec<_>>())
                .unwrap_or_default()
        });
        for m in earlier.chain([primary.to_string(), other.to_string()]) {
            if !m.is_empty() && !merged.contains(&m) {
                merged.push(m);
            }
        }
        self.unindex(t, &p);
        self.unindex(t, &o);
        let now = self.clock.next();
        let id = self.insert(t, values.into_iter().collect(), now);
        if let Some(r) = self.records.get_mut(&t).and_then(|m| m.get_mut(&id)) {
            r.props
                .insert("hs_merged_object_ids".into(), merged.join(";"));
        }
        for old in [primary, other] {
            if let Some(r) = self.records.get_mut(&t).and_then(|m| m.get_mut(&old)) {
                r.archived_at = Some(now);
                r.updated = now;
                r.merged_into = Some(id);
            }
        }
        Ok(id)
    }

    pub fn archive(&mut self, t: ObjectType, id: u64) -> bool {
        let Some(rec) = self.live(t, id).cloned() else {
            return false;
        };
        self.unindex(t, &rec);
        let now = self.clock.next();
        if let Some(r) = self.records.get_mut(&t).and_then(|m| m.get_mut(&id)) {
            r.archived_at = Some(now);
            r.updated = now;
        }
        true
    }

    /// A record as the v3 API returns it.
    pub fn render(&self, t: ObjectType, rec: &Record, sel: &PropSelection) -> Value {
        let mut props = Map::new();
        let always = [t.created_property(), t.modified_property(), "hs_object_id"];
        let put = |props: &mut Map<String, Value>, name: &str| {
            let v = rec
                .props
                .get(name)
                .map(|s| Value::String(s.clone()))
                .unwrap_or(Value::Null);
            props.insert(name.to_string(), v);
        };
        match sel {
            PropSelection::Default => {
                for name in t.default_properties() {
                    put(&mut props, name);
                }
            }
            PropSelection::Named(names) => {
                for name in always {
                    put(&mut props, name);
                }
                // Unknown names are silently ignored, as HubSpot does. A value the record
                // holds is of a known property (writes are validated and properties are never
                // removed), so only names it lacks need the schema's linear look-up.
                for name in names
                    .iter()
                    .filter(|n| rec.props.contains_key(n.as_str()) || self.property(t, n).is_some())
                {
                    put(&mut props, name);
                }
            }
        }
        let mut v = json!({
            "id": rec.id.to_string(),
            "properties": props,
            "createdAt": hubspot_iso(rec.created),
            "updatedAt": hubspot_iso(rec.updated),
            "archived": rec.archived_at.is_some(),
        });
        if let Some(at) = rec.archived_at {
            v["archivedAt"] = json!(hubspot_iso(at));
        }
        v
    }

    /// `propertiesWithHistory`: HubSpot keeps history; the simulator keeps the current value
    /// as the one history entry, which is what a sync needs to know (value + timestamp).
    pub fn history(&self, rec: &Record, names: &[String]) -> Value {
        let mut h = Map::new();
        for n in names {
            if let Some(v) = rec.props.get(n) {
                h.insert(
                    n.clone(),
                    json!([{ "value": v, "timestamp": hubspot_iso(rec.updated), "sourceType": "API" }]),
                );
            }
        }
        Value::Object(h)
    }
}
