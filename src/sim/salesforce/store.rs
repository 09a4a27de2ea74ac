//! Salesforce records: storage, validated writes (types, permissions, required fields,
//! restricted picklists, lookups, external ids, the duplicate rule) and rendering.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::errors::Issue;
use super::ids;
use super::schema::{FType, FieldDef, ObjectDef};
use crate::sim::clock::{StampClock, parse_date, parse_datetime, salesforce_datetime};

#[derive(Debug, Clone)]
pub struct SfRecord {
    pub id: String,
    pub fields: BTreeMap<String, Value>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl SfRecord {
    pub fn get(&self, name: &str) -> &Value {
        self.fields.get(name).unwrap_or(&Value::Null)
    }
}

/// Options a request carries into a write.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// `Sforce-Duplicate-Rule-Header: allowSave=true`
    pub allow_duplicates: bool,
}

/// The whole org's data. Cloneable so that all-or-none requests can roll back.
#[derive(Debug, Clone)]
pub struct Store {
    pub objects: Arc<Vec<ObjectDef>>,
    pub records: BTreeMap<&'static str, BTreeMap<String, SfRecord>>,
    /// id → object name, for lookups and id-only calls.
    types: HashMap<String, &'static str>,
    /// (object, field, lower-cased value) → ids, for external ids and emails.
    index: HashMap<(&'static str, String, String), BTreeSet<String>>,
    counters: HashMap<&'static str, u64>,
    pub clock: StampClock,
    /// The integration user: CreatedById / LastModifiedById / default OwnerId.
    pub user_id: String,
    pub duplicate_rule: bool,
    /// When an admin last changed the schema (unix seconds): describe answers 304 to an
    /// `If-Modified-Since` at or after it.
    pub schema_changed: i64,
}

fn indexed(def: &FieldDef) -> bool {
    def.external_id || def.ftype == FType::Email
}

impl Store {
    pub fn new(objects: Vec<ObjectDef>, seed: u64) -> Store {
        let records = objects.iter().map(|o| (o.name, BTreeMap::new())).collect();
        let counters = objects
            .iter()
            .map(|o| (o.key_prefix, 1000 + seed % 1000))
            .collect();
        Store {
            objects: Arc::new(objects),
            records,
            types: HashMap::new(),
            index: HashMap::new(),
            counters,
            clock: StampClock::default(),
            user_id: String::new(),
            duplicate_rule: true,
            // The seeded schema dates from 2025-01-01.
            schema_changed: 1_735_689_600,
        }
    }

    /// The object definition for a name, case-insensitively.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.object_index(name).map(|i| &self.objects[i])
    }

    /// Where an sObject's definition sits in the shared schema (names in any case).
    fn object_index(&self, name: &str) -> Option<usize> {
        self.objects
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn type_of(&self, id: &str) -> Option<&'static str> {
        self.types.get(id).copied()
    }

    pub fn get(&self, id: &str) -> Option<&SfRecord> {
        let t = self.type_of(id)?;
        self.records.get(t)?.get(id)
    }

    pub fn count(&self, t: &str) -> usize {
        self.records
            .get(t)
            .map(|m| m.values().filter(|r| r.deleted_at.is_none()).count())
            .unwrap_or(0)
    }

    /// Live records of a type whose indexed field equals `value` (case-insensitively).
    pub fn lookup(&self, t: &'static str, field: &str, value: &str) -> Vec<String> {
        self.index
            .get(&(t, field.to_string(), value.to_lowercase()))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A record type must be an active one of the record's own object.
    fn check_record_type(&self, sobject: &str, value: &Value) -> Result<(), Issue> {
        let Some(id) = value.as_str() else {
            return Ok(());
        };
        let fits = self.get(id).is_some_and(|rt| {
            rt.get("SobjectType").as_str() == Some(sobject) && rt.get("IsActive") == &json!(true)
        });
        if fits {
            return Ok(());
        }
        Err(Issue::new(
            "INVALID_CROSS_REFERENCE_KEY",
            format!("Record Type ID: this ID value isn't valid for the user: {id}"),
        )
        .fields(vec!["RecordTypeId".into()]))
    }

    /// Take `later`'s id counters: a rolled-back transaction does not hand its ids out
    /// again (Salesforce never reuses an id).
    pub fn keep_ids_spent_by(&mut self, later: &Store) {
        self.counters = later.counters.clone();
    }

    fn next_id(&mut self, prefix: &'static str) -> String {
        let n = self.counters.entry(prefix).or_insert(1000);
        *n += 1;
        ids::make(prefix, *n)
    }

    fn reindex(&mut self, t: &'static str, rec: &SfRecord, add: bool) {
        let Some(def) = self.object(t) else { return };
        let keys: Vec<(String, String)> = def
            .fields
            .iter()
            .filter(|f| indexed(f))
            .filter_map(|f| {
                rec.get(&f.name)
                    .as_str()
                    .map(|v| (f.name.clone(), v.to_lowercase()))
            })
            .collect();
        for (field, v) in keys {
            let set = self.index.entry((t, field, v)).or_default();
            if add {
                set.insert(rec.id.clone());
            } else {
                set.remove(&rec.id);
            }
        }
    }

    /// Convert one written JSON value to what the org stores for this field.
    fn coerce(&self, def: &FieldDef, value: &Value) -> Result<Value, Issue> {
        let name = &def.name;
        if value.is_null() {
            return Ok(Value::Null);
        }
        let text = || -> Result<String, Issue> {
            match value {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(Issue::new(
                    "JSON_PARSER_ERROR",
                    format!(
                        "Cannot deserialize instance of {} from {} value for field {name}",
                        def.ftype.as_str(),
                        json_kind(value)
                    ),
                )),
            }
        };
        let parse_error = |v: &str| {
            Issue::new(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize instance of {} from VALUE_STRING value {v} or request may be missing a required field",
                    def.ftype.as_str()
                ),
            )
        };
        match def.ftype {
            FType::Boolean => match value {
                Value::Bool(b) => Ok(json!(b)),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(json!(true)),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(json!(false)),
                other => Err(parse_error(&other.to_string())),
            },
            FType::Double | FType::Currency | FType::Percent | FType::Int => {
                let n = match value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|n| n.is_finite())
                .ok_or_else(|| parse_error(&value.to_string()))?;
                if def.ftype == FType::Int {
                    if n.fract() != 0.0 {
                        return Err(parse_error(&value.to_string()));
                    }
                    return Ok(json!(n as i64));
                }
                Ok(json!(n))
            }
            FType::Date => {
                let s = text()?;
                parse_date(&s)
                    .map(|_| json!(s))
                    .ok_or_else(|| parse_error(&s))
            }
            FType::DateTime => {
                let s = text()?;
                parse_datetime(&s)
                    .map(|t| json!(salesforce_datetime(t)))
                    .ok_or_else(|| parse_error(&s))
            }
            FType::Reference | FType::Id => {
                let s = text()?;
                if s.is_empty() {
                    return Ok(Value::Null);
                }
                let id = ids::normalize(&s).ok_or_else(|| {
                    Issue::new(
                        "MALFORMED_ID",
                        format!("{}: id value of incorrect type: {s}", def.label),
                    )
                    .fields(vec![name.clone()])
                })?;
                let target = self.type_of(&id);
                match target {
                    Some(t) if def.reference_to.contains(&t) => {
                        if self.get(&id).is_some_and(|r| r.deleted_at.is_some()) {
                            return Err(Issue::new("ENTITY_IS_DELETED", "entity is deleted")
                                .fields(vec![name.clone()]));
                        }
                        Ok(json!(id))
                    }
                    Some(_) => Err(Issue::new(
                        "FIELD_INTEGRITY_EXCEPTION",
                        format!("{}: id value of incorrect type: {id}", def.label),
                    )
                    .fields(vec![name.clone()])),
                    None => Err(Issue::new(
                        "INVALID_CROSS_REFERENCE_KEY",
                        "invalid cross reference id",
                    )
                    .fields(vec![name.clone()])),
                }
            }
            _ => {
                let s = text()?;
                if s.is_empty() {
                    return Ok(Value::Null);
                }
                if def.length > 0 && s.chars().count() > def.length as usize {
                    return Err(Issue::new(
                        "STRING_TOO_LONG",
                        format!(
                            "{}: data value too large: {} (max length={})",
                            def.label,
                            truncate(&s, 40),
                            def.length
                        ),
                    )
                    .fields(vec![name.clone()]));
                }
                if def.ftype == FType::Email && !valid_email(&s) {
                    return Err(Issue::new(
                        "INVALID_EMAIL_ADDRESS",
                        format!("{}: invalid email address: {s}", def.label),
                    )
                    .fields(vec![name.clone()]));
                }
                if def.restricted {
                    let parts: Vec<&str> = if def.ftype == FType::MultiPicklist {
                        s.split(';').collect()
                    } else {
                        vec![s.as_str()]
                    };
                    if let Some(bad) = parts.iter().find(|p| !def.picklist.iter().any(|v| v == *p))
                    {
                        return Err(Issue::new(
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            format!(
                                "{}: bad value for restricted picklist field: {bad}",
                                def.label
                            ),
                        )
                        .fields(vec![name.clone()]));
                    }
                }
                Ok(json!(s))
            }
        }
    }

    /// Validate a write body against the object's fields. `creating` picks the permission
    /// (createable vs updateable) and the required-field check.
    fn validate(
        &self,
        def: &ObjectDef,
        body: &Map<String, Value>,
        creating: bool,
    ) -> Result<Vec<(String, Value)>, Issue> {
        let mut out = Vec::new();
        let mut not_writable = Vec::new();
        for (k, v) in body {
            if k == "attributes" {
                continue;
            }
            if k.eq_ignore_ascii_case("Id") {
                if creating {
                    return Err(Issue::new(
                        "INVALID_FIELD",
                        "The Id field should not be specified in the sobject data.",
                    ));
                }
                continue;
            }
            let f = def.field(k).ok_or_else(|| {
                Issue::new(
                    "INVALID_FIELD",
                    format!("No such column '{k}' on sobject of type {}", def.name),
                )
            })?;
            if (creating && !f.createable) || (!creating && !f.updateable) {
                not_writable.push(f.name.clone());
                continue;
            }
            let value = self.coerce(f, v)?;
            if f.name == "RecordTypeId" {
                self.check_record_type(def.name, &value)?;
            }
            if value.is_null() && !f.nillable && !f.defaulted_on_create {
                return Err(Issue::new(
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{}]", f.name),
                )
                .fields(vec![f.name.clone()]));
            }
            out.push((f.name.clone(), value));
        }
        if !not_writable.is_empty() {
            return Err(Issue::new(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    not_writable.join(", ")
                ),
            )
            .fields(not_writable));
        }
        if creating {
            let missing: Vec<String> = def
                .fields
                .iter()
                .filter(|f| f.createable && !f.nillable && !f.defaulted_on_create)
                .filter(|f| !out.iter().any(|(n, v)| *n == f.name && !v.is_null()))
                .map(|f| f.name.clone())
                .collect();
            if !missing.is_empty() {
                return Err(Issue::new(
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{}]", missing.join(", ")),
                )
                .fields(missing));
            }
        }
        Ok(out)
    }

    /// Unique external ids and the standard duplicate rule on Lead/Contact email.
    fn check_unique(
        &self,
        def: &ObjectDef,
        values: &[(String, Value)],
        own: Option<&str>,
        opts: WriteOptions,
    ) -> Result<(), Issue> {
        for (name, v) in values {
            let (Some(f), Some(s)) = (def.field(name), v.as_str()) else {
                continue;
            };
            if f.unique
                && let Some(other) = self
                    .lookup(def.name, &f.name, s)
                    .into_iter()
                    .find(|o| Some(o.as_str()) != own)
            {
                return Err(Issue::new(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {other}",
                        f.name
                    ),
                )
                .fields(vec![f.name.clone()]));
            }
            if f.name == "Email"
                && self.duplicate_rule
                && !opts.allow_duplicates
                && matches!(def.name, "Lead" | "Contact")
            {
                for t in ["Lead", "Contact"] {
                    if let Some(other) = self
                        .lookup(t, "Email", s)
                        .into_iter()
                        .find(|o| Some(o.as_str()) != own)
                    {
                        let mut issue =
                            Issue::new("DUPLICATES_DETECTED", "Use one of these records?");
                        issue.extra = Some(Box::new(json!({"duplicateResult": {
                            "allowSave": false,
                            "duplicateRule": format!("Standard_{}_Duplicate_Rule", def.name),
                            "duplicateRuleEntityType": def.name,
                            "errorMessage": "Use one of these records?",
                            "matchResults": [{
                                "entityType": t, "errors": [], "matchEngine": "ExactMatchEngine",
                                "matchRecords": [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
                                                  "record": {"attributes": {"type": t}, "Id": other}}],
                                "rule": format!("Standard_{t}_Match_Rule_v1_1"), "size": 1, "success": true,
                            }],
                        }})));
                        return Err(issue);
                    }
                }
            }
        }
        Ok(())
    }

    /// Fields Salesforce computes from others.
    fn recalculate(&self, t: &str, fields: &mut BTreeMap<String, Value>) {
        let s = |fields: &BTreeMap<String, Value>, k: &str| {
            fields
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        match t {
            "Lead" | "Contact" | "User" => {
                let name = format!("{} {}", s(fields, "FirstName"), s(fields, "LastName"))
                    .trim()
                    .to_string();
                fields.insert("Name".into(), json!(name));
            }
            "Opportunity" => {
                let stage = s(fields, "StageName");
                fields.insert("IsClosed".into(), json!(stage.starts_with("Closed")));
                fields.insert("IsWon".into(), json!(stage == "Closed Won"));
            }
            "Case" => {
                let closed = s(fields, "Status") == "Closed";
                fields.insert("IsClosed".into(), json!(closed));
                if s(fields, "CaseNumber").is_empty() {
                    let n = self.count("Case") + 1001;
                    fields.insert("CaseNumber".into(), json!(format!("{n:08}")));
                }
            }
            "CampaignMember" => {
                let responded = s(fields, "Status") == "Responded";
                fields.insert("HasResponded".into(), json!(responded));
            }
            "Task" => {
                fields.insert("IsClosed".into(), json!(s(fields, "Status") == "Completed"));
                let what = s(fields, "WhatId");
                let who = s(fields, "WhoId");
                let account = if self.type_of(&what) == Some("Account") {
                    json!(what)
                } else if self.type_of(&what) == Some("Opportunity") {
                    self.get(&what)
                        .map(|o| o.get("AccountId").clone())
                        .unwrap_or(Value::Null)
                } else if self.type_of(&who) == Some("Contact") {
                    self.get(&who)
                        .map(|c| c.get("AccountId").clone())
                        .unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                fields.insert("AccountId".into(), account);
            }
            _ => {}
        }
    }

    /// Create a record from a request body.
    pub fn create(
        &mut self,
        t: &str,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<String, Issue> {
        // The schema is shared (Arc): hold it rather than copy the object's definition.
        let objects = Arc::clone(&self.objects);
        let def = &objects[self.object_index(t).ok_or_else(|| unsupported_type(t))?];
        if !def.createable {
            return Err(Issue::new(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                format!("insufficient access rights to create {}", def.name),
            ));
        }
        let values = self.validate(def, body, true)?;
        self.check_unique(def, &values, None, opts)?;
        let now = self.clock.next();
        Ok(self.insert(def, values, now))
    }

    /// Take edit access to a field away from the integration user (field-level security):
    /// describe shows it neither createable nor updateable, and writes are refused.
    pub fn restrict_field(&mut self, object: &str, field: &str) -> bool {
        let mut objects = (*self.objects).clone();
        let Some(f) = objects
            .iter_mut()
            .find(|o| o.name == object)
            .and_then(|o| o.fields.iter_mut().find(|f| f.name == field))
        else {
            return false;
        };
        f.createable = false;
        f.updateable = false;
        self.objects = Arc::new(objects);
        self.schema_changed = chrono::Utc::now().timestamp();
        true
    }

    /// An admin deletes a custom or standard field: describe no longer lists it, queries
    /// and writes that name it answer INVALID_FIELD.
    pub fn delete_field(&mut self, object: &str, field: &str) -> bool {
        let mut objects = (*self.objects).clone();
        let Some(o) = objects.iter_mut().find(|o| o.name == object) else {
            return false;
        };
        let before = o.fields.len();
        o.fields.retain(|f| f.name != field);
        if o.fields.len() == before {
            return false;
        }
        self.objects = Arc::new(objects);
        self.schema_changed = chrono::Utc::now().timestamp();
        true
    }

    /// Convert a Lead as a rep does in the UI (there is no REST call for it): a Contact with
    /// the Lead's name, email, phone, title and owner, and the Lead marked converted, pointing
    /// at it. Returns the Contact's id.
    pub fn convert_lead(&mut self, lead_id: &str) -> Result<String, String> {
        let lead = self
            .live(Some("Lead"), lead_id)
            .map_err(|_| format!("no live Lead {lead_id}"))?
            .clone();
        if lead.get("IsConverted") == &json!(true) {
            return Err(format!("Lead {lead_id} is converted already"));
        }
        let def = self.object("Contact").cloned().ok_or("no Contact object")?;
        let values: Vec<(String, Value)> = [
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "Title",
            "OwnerId",
        ]
        .iter()
        .filter(|f| !lead.get(f).is_null())
        .map(|f| (f.to_string(), lead.get(f).clone()))
        .collect();
        let now = self.clock.next();
        let contact = self.insert(&def, values, now);
        let stamp = json!(salesforce_datetime(now));
        if let Some(rec) = self
            .records
            .get_mut("Lead")
            .and_then(|m| m.get_mut(&lead.id))
        {
            for (k, v) in [
                ("IsConverted", json!(true)),
                ("ConvertedContactId", json!(contact)),
                ("ConvertedDate", json!(now.format("%Y-%m-%d").to_string())),
                ("Status", json!("Closed - Converted")),
                ("LastModifiedDate", stamp.clone()),
                ("SystemModstamp", stamp.clone()),
            ] {
                rec.fields.insert(k.into(), v);
            }
        }
        Ok(contact)
    }

    /// What a merge in Salesforce does (the UI's Merge, Apex `merge`): the master keeps its
    /// id and values, a blank of its is filled from the losers; records that pointed at a
    /// loser point at the master; each loser goes to the recycle bin with `MasterRecordId`
    /// set, where queryAll and getDeleted see it. Leads, Contacts and Accounts, up to two
    /// losers, all of one type.
    pub fn merge(&mut self, master_id: &str, loser_ids: &[String]) -> Result<Vec<String>, String> {
        let master = self
            .live(None, master_id)
            .map_err(|_| format!("no live record {master_id}"))?
            .clone();
        let sobject = self.type_of(&master.id).unwrap_or("").to_string();
        if !matches!(sobject.as_str(), "Lead" | "Contact" | "Account") {
            return Err(format!(
                "{sobject} records cannot be merged (Leads, Contacts and Accounts can)"
            ));
        }
        if loser_ids.is_empty() || loser_ids.len() > 2 {
            return Err("a merge takes one or two records to merge into the master".into());
        }
        let mut losers = Vec::new();
        for id in loser_ids {
            let l = self
                .live(Some(&sobject), id)
                .map_err(|_| format!("no live {sobject} {id}"))?
                .clone();
            if l.id == master.id {
                return Err("a record cannot be merged into itself".into());
            }
            losers.push(l);
        }
        let def = self.object(&sobject).cloned().ok_or("no such object")?;
        let now = self.clock.next();
        let stamp = json!(salesforce_datetime(now));
        let mut merged = master.clone();
        for f in def.fields.iter().filter(|f| f.updateable && !f.calculated) {
            if merged.get(&f.name).is_null()
                && let Some(v) = losers.iter().map(|l| l.get(&f.name)).find(|v| !v.is_null())
            {
                merged.fields.insert(f.name.clone(), v.clone());
            }
        }
        merged
            .fields
            .insert("LastModifiedDate".into(), stamp.clone());
        merged.fields.insert("SystemModstamp".into(), stamp.clone());
        self.recalculate(def.name, &mut merged.fields);
        let loser_set: Vec<String> = losers.iter().map(|l| l.id.clone()).collect();
        for l in &losers {
            self.reindex(def.name, l, false);
            if let Some(r) = self
                .records
                .get_mut(def.name)
                .and_then(|m| m.get_mut(&l.id))
            {
                r.deleted_at = Some(now);
                r.fields.insert("IsDeleted".into(), json!(true));
                r.fields.insert("MasterRecordId".into(), json!(master.id));
                r.fields.insert("SystemModstamp".into(), stamp.clone());
            }
        }
        self.reindex(def.name, &master, false);
        self.reindex(def.name, &merged, true);
        self.records
            .entry(def.name)
            .or_default()
            .insert(merged.id.clone(), merged);
        self.repoint(&loser_set, &master.id, &stamp);
        Ok(loser_set)
    }

    /// Every live record's reference to one of `from` now names `to` (a merge's children).
    fn repoint(&mut self, from: &[String], to: &str, stamp: &Value) {
        for table in self.records.values_mut() {
            for rec in table.values_mut().filter(|r| r.deleted_at.is_none()) {
                let mut touched = false;
                for v in rec.fields.values_mut() {
                    if v.as_str().is_some_and(|s| from.iter().any(|f| f == s)) {
                        *v = json!(to);
                        touched = true;
                    }
                }
                if touched && rec.fields.get("MasterRecordId") != Some(&json!(to)) {
                    rec.fields.insert("SystemModstamp".into(), stamp.clone());
                }
            }
        }
    }

    /// Insert already-validated values (also used by the seeder, with seeded timestamps).
    pub fn insert(
        &mut self,
        def: &ObjectDef,
        values: Vec<(String, Value)>,
        at: DateTime<Utc>,
    ) -> String {
        let id = self.next_id(def.key_prefix);
        self.insert_as(def, id, values, at)
    }

    /// Insert under a given id (the Organization record carries the org id).
    pub fn insert_as(
        &mut self,
        def: &ObjectDef,
        id: String,
        values: Vec<(String, Value)>,
        at: DateTime<Utc>,
    ) -> String {
        let stamp = json!(salesforce_datetime(at));
        let mut fields: BTreeMap<String, Value> = def
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.default.clone().unwrap_or(Value::Null)))
            .collect();
        for (k, v) in values {
            fields.insert(k, v);
        }
        fields.insert("Id".into(), json!(id));
        fields.insert("IsDeleted".into(), json!(false));
        for k in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            fields.insert(k.into(), stamp.clone());
        }
        for k in ["CreatedById", "LastModifiedById"] {
            fields.insert(k.into(), json!(self.user_id));
        }
        if def.field("OwnerId").is_some() && fields.get("OwnerId").is_none_or(Value::is_null) {
            fields.insert("OwnerId".into(), json!(self.user_id));
        }
        self.recalculate(def.name, &mut fields);
        let rec = SfRecord {
            id: id.clone(),
            fields,
            deleted_at: None,
        };
        self.reindex(def.name, &rec, true);
        self.types.insert(id.clone(), def.name);
        self.records
            .entry(def.name)
            .or_default()
            .insert(id.clone(), rec);
        id
    }

    /// Find a live record of type `t` (any type when `t` is None) or say why not.
    pub fn live(&self, t: Option<&str>, id: &str) -> Result<&SfRecord, Issue> {
        let id18 = ids::normalize(id)
            .ok_or_else(|| Issue::new("NOT_FOUND", "The requested resource does not exist"))?;
        let rec = self
            .get(&id18)
            .ok_or_else(|| Issue::new("NOT_FOUND", "The requested resource does not exist"))?;
        if t.is_some_and(|t| {
            !self
                .type_of(&id18)
                .is_some_and(|real| real.eq_ignore_ascii_case(t))
        }) {
            return Err(Issue::new(
                "NOT_FOUND",
                "The requested resource does not exist",
            ));
        }
        if rec.deleted_at.is_some() {
            return Err(Issue::new("ENTITY_IS_DELETED", "entity is deleted"));
        }
        Ok(rec)
    }

    pub fn update(
        &mut self,
        t: Option<&str>,
        id: &str,
        body: &Map<String, Value>,
        opts: WriteOptions,
    ) -> Result<String, Issue> {
        let old = self.live(t, id)?.clone();
        let otype = self.type_of(&old.id).unwrap_or("Account");
        let objects = Arc::clone(&self.objects);
        let def = &objects[self
            .object_index(otype)
            .ok_or_else(|| unsupported_type(otype))?];
        if !def.updateable {
            return Err(Issue::new(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                format!("insufficient access rights on object id {}", old.id),
            ));
        }
        if old.get("IsConverted") == &json!(true) {
            return Err(Issue::new(
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
            ));
        }
        let values = self.validate(def, body, false)?;
        self.check_unique(def, &values, Some(&old.id), opts)?;
        let now = self.clock.next();
        let mut rec = old.clone();
        for (k, v) in values {
            rec.fields.insert(k, v);
        }
        let stamp = json!(salesforce_datetime(now));
        rec.fields.insert("LastModifiedDate".into(), stamp.clone());
        rec.fields.insert("SystemModstamp".into(), stamp);
        rec.fields
            .insert("LastModifiedById".into(), json!(self.user_id));
        self.recalculate(def.name, &mut rec.fields);
        self.reindex(def.name, &old, false);
        self.reindex(def.name, &rec, true);
        self.records
            .entry(def.name)
            .or_default()
            .insert(rec.id.clone(), rec);
        Ok(old.id)
    }

    /// Move a record to the recycle bin (queryAll and getDeleted still see it).
    pub fn delete(&mut self, t: Option<&str>, id: &str) -> Result<String, Issue> {
        let rec = self.live(t, id)?.clone();
        let otype = self.type_of(&rec.id).unwrap_or("Account");
        if !self.object(otype).is_some_and(|d| d.deletable) {
            return Err(Issue::new(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                format!("insufficient access rights on object id {}", rec.id),
            ));
        }
        let now = self.clock.next();
        self.reindex(otype, &rec, false);
        if let Some(r) = self.records.get_mut(otype).and_then(|m| m.get_mut(&rec.id)) {
            r.deleted_at = Some(now);
            r.fields.insert("IsDeleted".into(), json!(true));
            r.fields
                .insert("SystemModstamp".into(), json!(salesforce_datetime(now)));
        }
        Ok(rec.id)
    }

    /// The matches of an upsert key: the record id itself, or an external-id value.
    pub fn upsert_matches(
        &self,
        def: &ObjectDef,
        field: &str,
        value: &str,
    ) -> Result<Vec<String>, Issue> {
        if field.eq_ignore_ascii_case("Id") {
            return Ok(ids::normalize(value)
                .filter(|id| self.get(id).is_some_and(|r| r.deleted_at.is_none()))
                .into_iter()
                .collect());
        }
        let f = def.field(field).filter(|f| f.external_id).ok_or_else(|| {
            Issue::new(
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            )
        })?;
        Ok(self.lookup(def.name, &f.name, value))
    }

    /// A record as `GET /sobjects/{Type}/{id}` returns it (all fields, or `fields`).
    pub fn render(&self, rec: &SfRecord, version: &str, only: Option<&[String]>) -> Value {
        let t = self.type_of(&rec.id).unwrap_or("Account");
        let mut m = Map::new();
        m.insert("attributes".into(), attributes(t, &rec.id, version));
        match (only, self.object(t)) {
            (Some(names), Some(def)) => {
                for n in names {
                    if let Some(f) = def.field(n) {
                        m.insert(f.name.clone(), rec.get(&f.name).clone());
                    }
                }
            }
            (_, Some(def)) => {
                for f in &def.fields {
                    m.insert(f.name.clone(), rec.get(&f.name).clone());
                }
            }
            _ => {}
        }
        Value::Object(m)
    }
}

pub fn attributes(t: &str, id: &str, version: &str) -> Value {
    json!({"type": t, "url": format!("/services/data/v{version}/sobjects/{t}/{id}")})
}

pub fn unsupported_type(t: &str) -> Issue {
    Issue::new(
        "NOT_FOUND",
        format!("The requested resource does not exist: sObject type '{t}' is not supported."),
    )
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        _ => "VALUE",
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

fn valid_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}
