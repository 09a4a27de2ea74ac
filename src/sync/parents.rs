//! Parent links, as a pair declares them: a HubSpot association ⇄ a Salesforce lookup to a
//! record of another pair (a contact's company and `AccountId`, a task's contact and
//! `WhoId`, a ticket's contact and `ContactId`, a subscription's company and `Account__c`).
//! Once the parent is linked, the link follows both ways; a record keeps its parent on the
//! other side when its own side has no linked one.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::engine::{Engine, SyncError};
use super::ledger::Checkpoint;
use super::pair_decl::ParentDecl;
use super::pairs::PairSpec;
use super::write::Item;

/// A record's parent on the Salesforce side, for the association it should have in HubSpot.
pub(super) struct SfParent {
    pub sf_id: String,
    /// The lookup's value: the parent's Salesforce id.
    pub parent: String,
    /// The parent HubSpot has now, when the record says (a contact's primary company).
    pub current: Option<String>,
}

/// HubSpot contacts name their primary company in a property: no associations read needed.
fn primary_company(spec: &PairSpec, parent: &ParentDecl) -> bool {
    spec.is_hubspot_contacts() && parent.association == "companies"
}

impl Engine<'_> {
    /// HubSpot → Salesforce: each parent's linked Salesforce id becomes the lookup, for
    /// the items whose sObject has that lookup (a Lead has no `AccountId`). One batched
    /// associations read per parent, none for a contact's company.
    pub(super) async fn link_parents(
        &self,
        spec: &PairSpec,
        items: &mut [Item],
    ) -> Result<(), SyncError> {
        for parent in spec.parents() {
            let wants = |it: &Item| self.has_field(&it.sobject, &parent.lookup);
            let mut parent_of: HashMap<String, String> = HashMap::new();
            if primary_company(spec, parent) {
                for it in items.iter().filter(|it| wants(it)) {
                    if let Some(h) = &it.hs
                        && let Some(c) = h.prop("associatedcompanyid")
                    {
                        parent_of.insert(h.id.clone(), c.to_string());
                    }
                }
            } else {
                let ids: Vec<String> = items
                    .iter()
                    .filter(|it| wants(it))
                    .filter_map(|it| it.hs.as_ref().map(|h| h.id.clone()))
                    .collect();
                if !ids.is_empty() {
                    for (from, to) in self
                        .hs
                        .associations(&spec.hs_object, &parent.association, &ids)
                        .await?
                    {
                        if let Some(first) = to.into_iter().next() {
                            parent_of.insert(from, first);
                        }
                    }
                }
            }
            let hs_parents: Vec<&str> = parent_of.values().map(String::as_str).collect();
            let sf_parents = self.ledger.linked_sf_many(&parent.pair, &hs_parents)?;
            for it in items.iter_mut().filter(|it| wants(it)) {
                let Some(h) = &it.hs else { continue };
                let Some((sf_parent, ty)) = parent_of.get(&h.id).and_then(|p| sf_parents.get(p))
                else {
                    continue;
                };
                // A contact linked to a Lead is no `ContactId`: the lookup takes only the
                // sObjects its describe names.
                if !self.lookup_takes(&it.sobject, &parent.lookup, ty) {
                    continue;
                }
                let current = it.sf.as_ref().and_then(|s| s.field(&parent.lookup));
                if current != Some(sf_parent.as_str()) {
                    it.plan
                        .salesforce_writes
                        .insert(parent.lookup.clone(), json!(sf_parent));
                }
            }
        }
        Ok(())
    }

    /// Can `sobject.lookup` point at a record of `target`? (Yes when describe does not say.)
    fn lookup_takes(&self, sobject: &str, lookup: &str, target: &str) -> bool {
        self.described
            .get(sobject)
            .and_then(|d| d.references.get(lookup))
            .is_none_or(|to| to.iter().any(|t| t == target))
    }

    /// The Salesforce parents of a written batch, per declared parent, before its items are
    /// settled.
    pub(super) fn sf_parents(&self, spec: &PairSpec, items: &[Item]) -> Vec<Vec<SfParent>> {
        spec.parents()
            .iter()
            .map(|parent| {
                items
                    .iter()
                    .filter_map(|it| {
                        let sf = it.sf.as_ref()?;
                        let current = it
                            .hs
                            .as_ref()
                            .filter(|_| primary_company(spec, parent))
                            .and_then(|h| h.prop("associatedcompanyid"))
                            .map(String::from);
                        Some(SfParent {
                            sf_id: sf.id.clone(),
                            parent: sf.field(&parent.lookup)?.to_string(),
                            current,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// Salesforce → HubSpot: a lookup whose parent is linked becomes the association (one
    /// batched call per 100). A contact that already has that company is left alone; other
    /// records are associated only when they have no record of the parent's object yet.
    pub(super) async fn associate_parents(
        &self,
        spec: &PairSpec,
        found: Vec<Vec<SfParent>>,
        cp: &mut Checkpoint,
    ) -> Result<(), SyncError> {
        for (parent, records) in spec.parents().iter().zip(found) {
            if records.is_empty() {
                continue;
            }
            let pairs = self.associations_wanted(spec, parent, &records, cp)?;
            let pairs = if primary_company(spec, parent) || pairs.is_empty() {
                pairs
            } else {
                let ids: Vec<String> = pairs.iter().map(|(d, _)| d.clone()).collect();
                let has: HashSet<String> = self
                    .hs
                    .associations(&spec.hs_object, &parent.association, &ids)
                    .await?
                    .into_iter()
                    .filter(|(_, to)| !to.is_empty())
                    .map(|(from, _)| from)
                    .collect();
                pairs
                    .into_iter()
                    .filter(|(d, _)| !has.contains(d))
                    .collect()
            };
            self.associate(spec, parent, &pairs).await?;
        }
        Ok(())
    }

    /// (HubSpot record, HubSpot parent) for every record whose Salesforce parent is linked
    /// and is not the parent HubSpot has now.
    fn associations_wanted(
        &self,
        spec: &PairSpec,
        parent: &ParentDecl,
        records: &[SfParent],
        cp: &Checkpoint,
    ) -> Result<Vec<(String, String)>, SyncError> {
        let parent_ids: Vec<&str> = records.iter().map(|r| r.parent.as_str()).collect();
        let hs_parents = self.ledger.linked_hs_many(&parent.pair, &parent_ids)?;
        let sf_ids: Vec<&str> = records.iter().map(|r| r.sf_id.as_str()).collect();
        let linked = self.ledger.linked_hs_many(&spec.name, &sf_ids)?;
        let mut out = Vec::new();
        for r in records {
            let Some(hs_parent) = hs_parents.get(&r.parent).cloned() else {
                continue;
            };
            let hs_id = match cp.hs_linked_in_batch(&spec.name, &r.sf_id) {
                Some(h) => Some(h.to_string()),
                None => linked.get(&r.sf_id).cloned(),
            };
            let Some(hs_id) = hs_id else { continue };
            if r.current.as_deref() != Some(hs_parent.as_str()) {
                out.push((hs_id, hs_parent));
            }
        }
        Ok(out)
    }

    async fn associate(
        &self,
        spec: &PairSpec,
        parent: &ParentDecl,
        pairs: &[(String, String)],
    ) -> Result<(), SyncError> {
        let path = format!(
            "/crm/v4/associations/{}/{}/batch/associate/default",
            spec.hs_object, parent.association
        );
        let calls = pairs.chunks(crate::api::hubspot::BATCH_MAX).map(|chunk| {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(from, to)| json!({"from": {"id": from}, "to": {"id": to}}))
                .collect();
            self.hs.call(
                reqwest::Method::POST,
                &path,
                Some(json!({"inputs": inputs})),
                crate::api::hubspot::page,
            )
        });
        crate::api::all(calls).await?;
        Ok(())
    }
}
