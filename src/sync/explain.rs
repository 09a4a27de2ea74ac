//! `hubforce explain OBJECT ID`: why a record did or did not sync — the inclusion decision
//! and its reason, the link or the match, each field's rule and winner (the dry-run plan of
//! that one record), whether its current state is our own echo, flips and the last error.

use std::fmt::Write as _;

use chrono::Duration;
use serde::Serialize;

use super::engine::{Engine, SyncError};
use super::ledger::{Checkpoint, RecordError};
use super::lookup;
use super::mapping::{self, Mappings};
use super::pairs::PairSpec;
use super::records::values_hash;
use super::report::RunReport;

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub pair: String,
    /// `hubspot` or `salesforce`: where the record lives.
    pub side: String,
    /// The HubSpot object or sObject.
    pub object: String,
    pub id: String,
    pub found: bool,
    pub included: Option<bool>,
    pub inclusion_reason: Option<String>,
    /// The current state is what we last wrote (a pull would skip it).
    pub echo: bool,
    /// The linked record on the other side: (id, type).
    pub linked: Option<(String, String)>,
    pub plan: RunReport,
    pub errors: Vec<RecordError>,
    /// Field → changes through sync within the flip window.
    pub flips: Vec<(String, u64)>,
    /// This record, or its counterpart, gone on one side: what became of them.
    pub tombstones: Vec<String>,
    /// Field writes through sync, newest first (the last `WRITES_SHOWN` within the ledger's
    /// history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<super::ledger::FieldWrite>,
    /// Its Salesforce create waits, gathered, for a Bulk import's job (the sObject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_as: Option<String>,
}

impl Engine<'_> {
    /// What `explain` and `sync --record` take as an object: a pair's name or its HubSpot
    /// object (`contact`, `companies`, `ticket`) → HubSpot; an sObject (`Lead`, `Case`, or in
    /// lower case `lead`) → Salesforce. The pair, the side and the object; another name is
    /// refused with the ones it could be.
    pub fn parse_object(
        &self,
        object: &str,
    ) -> Result<(&PairSpec, &'static str, String), SyncError> {
        self.find_object(object).ok_or_else(|| {
            SyncError::UnknownObject(format!(
                "unknown object `{object}`: {}",
                self.known_objects()
            ))
        })
    }

    fn find_object(&self, object: &str) -> Option<(&PairSpec, &'static str, String)> {
        let specs = || self.order.iter().filter_map(|n| self.pairs.get(n));
        let sf = |exact: bool| {
            specs().find_map(|s| {
                s.sobjects()
                    .iter()
                    .find(|o| {
                        if exact {
                            o.as_str() == object
                        } else {
                            o.eq_ignore_ascii_case(object)
                        }
                    })
                    .map(|o| (s, "salesforce", o.clone()))
            })
        };
        sf(true)
            .or_else(|| {
                specs()
                    .find(|s| s.name == object || s.hs_object == object)
                    .map(|s| (s, "hubspot", s.hs_object.clone()))
            })
            .or_else(|| sf(false))
    }

    /// The objects `parse_object` knows, for a message.
    fn known_objects(&self) -> String {
        let specs: Vec<&PairSpec> = self
            .order
            .iter()
            .filter_map(|n| self.pairs.get(n))
            .collect();
        let hs: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let sf: Vec<&str> = specs
            .iter()
            .flat_map(|s| s.sobjects().iter().map(String::as_str))
            .collect();
        format!(
            "use {} for a HubSpot id; {} for a Salesforce id",
            hs.join(", "),
            sf.join(", ")
        )
    }
}

/// What an explanation plans with: the mappings, a checkpoint never committed, the dry run.
struct Work<'w> {
    mappings: &'w Mappings,
    cp: &'w mut Checkpoint,
    plan: &'w mut RunReport,
}

impl Engine<'_> {
    /// A HubSpot record: its inclusion, echo and link, and what a sync would do to it.
    async fn explain_hubspot(
        &self,
        spec: &PairSpec,
        id: &str,
        out: &mut Explanation,
        w: &mut Work<'_>,
    ) -> Result<(), SyncError> {
        let props = self.hs_properties(w.mappings, spec);
        let records = lookup::hs_by_ids(self.hs, spec, &props, &[id.to_string()], None).await?;
        let Some(r) = records.into_iter().next() else {
            return Ok(());
        };
        out.found = true;
        let target = spec.create_as(&self.settings.new_contacts_as).to_string();
        match self.include_hs(spec, &r, &target).await {
            Ok(i) => {
                out.included = Some(i.included);
                out.inclusion_reason = Some(i.reason);
            }
            Err(e) => out.inclusion_reason = Some(format!("the include hook failed: {e}")),
        }
        if let Some(base) = w.mappings.get(&spec.name) {
            let keys = self.hs_state_properties(base, spec);
            let h = mapping::hubspot_state_hash(base, &r.props, &keys, &self.owners);
            out.echo = self.ledger.is_echo("hubspot", &spec.hs_object, &r.id, &h)?;
        }
        out.linked = self.ledger.linked_sf(&spec.name, id)?;
        self.sync_hubspot_batch(spec, w.mappings, vec![r], w.cp, w.plan)
            .await
    }

    /// A Salesforce record, likewise; the HubSpot record it is linked to.
    async fn explain_salesforce(
        &self,
        spec: &PairSpec,
        object: &str,
        id: &str,
        out: &mut Explanation,
        w: &mut Work<'_>,
    ) -> Result<Option<String>, SyncError> {
        let fields = self.sf_field_list(w.mappings, spec, object);
        let records = lookup::sf_by_ids(self.sf, object, &fields, &[id.to_string()]).await?;
        let linked = self.ledger.linked_hs(&spec.name, id)?;
        out.linked = linked.clone().map(|h| (h, spec.hs_object.to_string()));
        let Some(r) = records.into_iter().next() else {
            return Ok(linked);
        };
        out.found = true;
        let (record, ctx) = (r.to_json(), Engine::hook_ctx(spec, "salesforce", object));
        let decided = match self.sf_record_type_inclusion(spec, &r) {
            Some(excluded) => Ok(Some(excluded)),
            None => self.hooks.include(&record, &ctx).await,
        };
        match decided {
            Ok(Some(i)) => {
                out.included = Some(i.included);
                out.inclusion_reason = Some(i.reason);
            }
            Ok(None) => {
                out.included = Some(true);
                out.inclusion_reason = Some(
                    "every Salesforce record syncs unless a plugin's include says otherwise".into(),
                );
            }
            Err(e) => out.inclusion_reason = Some(format!("the include hook failed: {e}")),
        }
        if let Some(m) = self.mapping(w.mappings, spec, object) {
            let keys = self.sf_state_fields(&m, object);
            let h = values_hash(&r.fields, keys.iter().map(String::as_str));
            out.echo = self.ledger.is_echo("salesforce", object, &r.id, &h)?;
        }
        self.sync_salesforce_batch(spec, w.mappings, object, vec![r], w.cp, w.plan)
            .await?;
        Ok(linked)
    }

    pub async fn explain(&self, object: &str, id: &str) -> Result<Explanation, SyncError> {
        let (spec, side, object) = self.parse_object(object)?;
        let object = object.as_str();
        let mappings = self.hooks.mappings().map_err(SyncError::Mappings)?;
        self.read_inclusion().await?;
        let mut plan = RunReport {
            dry_run: true,
            plan_echoes: true,
            ..RunReport::default()
        };
        let mut cp = Checkpoint::default(); // never committed
        let mut out = Explanation {
            pair: spec.name.clone(),
            side: side.into(),
            object: object.into(),
            id: id.into(),
            found: false,
            included: None,
            inclusion_reason: None,
            echo: false,
            linked: None,
            plan: RunReport::default(),
            errors: self
                .ledger
                .errors(None)?
                .into_iter()
                .filter(|e| e.side == side && e.object == object && e.id == id)
                .collect(),
            flips: Vec::new(),
            writes: Vec::new(),
            tombstones: self
                .ledger
                .tombstones_naming(&spec.name, id)?
                .iter()
                .map(super::tombstones::Tombstone::describe)
                .collect(),
            waiting_as: match side {
                "hubspot" => self.ledger.pending_sobject(&spec.name, id)?,
                _ => None,
            },
        };
        let mut work = Work {
            mappings: &mappings,
            cp: &mut cp,
            plan: &mut plan,
        };
        let hs_id = if side == "hubspot" {
            self.explain_hubspot(spec, id, &mut out, &mut work).await?;
            Some(id.to_string())
        } else {
            self.explain_salesforce(spec, object, id, &mut out, &mut work)
                .await?
        };
        if let Some(h) = &hs_id {
            out.writes = self.ledger.field_writes_of(&spec.name, h, WRITES_SHOWN)?;
        }
        if let (Some(h), Some(m)) = (hs_id, mappings.get(&spec.name)) {
            let window = Duration::hours(self.settings.flip_window_hours);
            let history = self
                .ledger
                .field_history(&spec.name, &[h.as_str()], window)?;
            for f in &m.fields {
                let n = history.get(&h).map_or(0, |past| past.flips(&f.hubspot));
                if n > 0 {
                    out.flips.push((f.hubspot.clone(), n));
                }
            }
        }
        plan.calls.clear();
        out.plan = plan;
        Ok(out)
    }
}

/// How many of a record's field writes `explain` shows.
pub const WRITES_SHOWN: usize = 20;

impl Explanation {
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{} {} ({} {})",
            self.object, self.id, self.side, self.pair
        );
        if !self.found {
            let _ = writeln!(o, "  not found on {} (deleted, or a wrong id)", self.side);
        }
        match (self.included, &self.inclusion_reason) {
            (Some(true), Some(r)) => {
                let _ = writeln!(o, "  included: {r}");
            }
            (Some(false), Some(r)) => {
                let _ = writeln!(o, "  NOT included: {r}");
            }
            (_, Some(r)) => {
                let _ = writeln!(o, "  inclusion: {r}");
            }
            _ => {}
        }
        match &self.linked {
            Some((id, ty)) => {
                let _ = writeln!(o, "  linked to {ty} {id}");
            }
            None if !self.tombstones.is_empty() => {}
            None => match &self.waiting_as {
                Some(sobject) => {
                    let _ = writeln!(
                        o,
                        "  not linked yet: its {sobject} waits, gathered, for a Bulk import's job (the next `hubforce sync` writes it)"
                    );
                }
                None => {
                    let _ = writeln!(o, "  not linked yet");
                }
            },
        }
        for t in &self.tombstones {
            let _ = writeln!(o, "  {t}");
        }
        if self.echo {
            let _ = writeln!(
                o,
                "  its current values are the ones hubforce last wrote: a pull skips it as an echo"
            );
        }
        self.render_plans(&mut o);
        for f in &self.plan.failures {
            let _ = writeln!(o, "  planning it now would fail: {}", f.error);
        }
        if self.plan.failures.is_empty() {
            for (k, v) in &self.plan.errors_by_class {
                let _ = writeln!(o, "  planning it now would fail: {k} ({v})");
            }
        }
        for (field, n) in &self.flips {
            let _ = writeln!(
                o,
                "  {field} changed {n} times through sync recently (flip detector)"
            );
        }
        if !self.writes.is_empty() {
            let _ = writeln!(o, "  writes through sync, newest first:");
            for w in &self.writes {
                let _ = writeln!(
                    o,
                    "    {}  {}{}",
                    super::error_groups::human_time(&w.at),
                    w.field,
                    if w.reverted {
                        " (back to an earlier value)"
                    } else {
                        ""
                    }
                );
            }
        }
        for e in &self.errors {
            let _ = writeln!(
                o,
                "  last error ({}, {} attempt(s), last {}): {}{}\n    what to do: {}",
                e.class,
                e.attempts,
                e.last_at,
                e.code
                    .as_ref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                e.message,
                e.hint
            );
        }
        o
    }

    /// What a sync would do to the record, field by field.
    fn render_plans(&self, o: &mut String) {
        for p in &self.plan.plans {
            let _ = writeln!(
                o,
                "  plan: {} (HubSpot {} ⇄ {} {})",
                p.action,
                p.hubspot_id.as_deref().unwrap_or("new"),
                p.sobject,
                p.salesforce_id.as_deref().unwrap_or("new")
            );
            for f in &p.fields {
                let winner = match f.decision.winner {
                    Some(super::rules::Side::Hubspot) => "HubSpot wins",
                    Some(super::rules::Side::Salesforce) => "Salesforce wins",
                    None => "—",
                };
                let _ = writeln!(
                    o,
                    "    {:<20} {:<30} {:<16} {}{}",
                    format!("{} ⇄ {}", f.hubspot, f.salesforce),
                    f.rule,
                    winner,
                    f.decision.reason,
                    f.error
                        .as_ref()
                        .map(|e| format!(" — {e}"))
                        .unwrap_or_default()
                );
            }
        }
    }
}
