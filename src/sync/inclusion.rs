//! The inclusion list, kept current: its members are read again every pass (a `--watch`
//! never works from a stale list), compared with the members the last pass saw (kept in the
//! ledger), and the contacts that joined since are synced on this pass — joining a list
//! changes nothing a pull would see. A contact that left stops syncing, and `explain` says
//! it is not a member.

use std::collections::HashSet;

use rusqlite::params;

use super::engine::{Engine, SyncError, SyncOptions};
use super::ledger::{Checkpoint, Ledger, LedgerError};
use super::pairs::PairSpec;
use super::report::RunReport;

impl Ledger {
    /// The members of `list` the last pass saw; None before the first.
    pub fn inclusion_members(&self, list: &str) -> Result<Option<HashSet<String>>, LedgerError> {
        let conn = self.lock();
        let seen: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM inclusion_lists WHERE list_id = ?1)",
                params![list],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !seen {
            return Ok(None);
        }
        let mut st = conn
            .prepare("SELECT hs_id FROM inclusion_members WHERE list_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![list], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<HashSet<String>>>()
            .map(Some)
            .map_err(|e| self.err(e))
    }

    /// Remember `members` as the list's membership (replacing what was kept).
    pub fn set_inclusion_members(
        &self,
        list: &str,
        members: &HashSet<String>,
    ) -> Result<(), LedgerError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let run = || -> rusqlite::Result<()> {
            tx.execute(
                "DELETE FROM inclusion_members WHERE list_id = ?1",
                params![list],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO inclusion_lists (list_id, read_at) VALUES (?1, ?2)",
                params![list, chrono::Utc::now().to_rfc3339()],
            )?;
            let mut st =
                tx.prepare("INSERT INTO inclusion_members (list_id, hs_id) VALUES (?1, ?2)")?;
            for m in members {
                st.execute(params![list, m])?;
            }
            Ok(())
        };
        run().map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }
}

impl Engine<'_> {
    /// Read the inclusion list's members for this pass; the contacts that joined since the
    /// last pass, to sync now.
    pub(super) async fn refresh_inclusion(
        &self,
        opts: &SyncOptions,
    ) -> Result<Vec<String>, SyncError> {
        let Some(list) = &self.settings.inclusion_list else {
            return Ok(Vec::new());
        };
        let current: HashSet<String> = self.hs.list_members(list).await?.into_iter().collect();
        let before = self.ledger.inclusion_members(list)?;
        let fresh_import = opts.full || self.ledger.cursor("hubspot", "contacts")?.is_none();
        let joined: Vec<String> = match &before {
            Some(before) => current.difference(before).cloned().collect(),
            // A list newly set on a profile that syncs already: its members may never have
            // been pulled (a full import reads them anyway).
            None if !fresh_import => current.iter().cloned().collect(),
            None => Vec::new(),
        };
        if !opts.dry_run {
            self.ledger.set_inclusion_members(list, &current)?;
        }
        *self.members.write().unwrap_or_else(|e| e.into_inner()) = Some(current);
        Ok(joined)
    }

    /// Read the inclusion list's members, for work outside a pass (explain, the round trip).
    pub(super) async fn read_inclusion(&self) -> Result<(), SyncError> {
        if let Some(list) = &self.settings.inclusion_list {
            let current = self.hs.list_members(list).await?.into_iter().collect();
            *self.members.write().unwrap_or_else(|e| e.into_inner()) = Some(current);
        }
        Ok(())
    }

    /// Contacts that joined the inclusion list since the last pass: read and synced now.
    pub(super) async fn sync_joined(
        &self,
        spec: &PairSpec,
        joined: &[String],
        opts: &SyncOptions,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if spec.name != "contact" || joined.is_empty() {
            return Ok(());
        }
        let mappings = self.mappings()?;
        let props = self.hs_properties(&mappings, spec);
        let found = super::lookup::hs_by_ids(self.hs, spec, &props, joined, None).await?;
        for chunk in found.chunks(self.settings.batch_size) {
            let mut cp = Checkpoint::default();
            self.sync_hubspot_batch(spec, &mappings, chunk.to_vec(), &mut cp, report)
                .await?;
            self.commit(opts, cp)?;
        }
        Ok(())
    }

    /// Whether the contact is a member of the inclusion list (None: no list is set).
    pub(super) fn is_member(&self, id: &str) -> Option<bool> {
        self.members
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|m| m.contains(id))
    }

    /// Count `id` as a member for this pass (the round trip's test contact).
    pub(super) fn add_member(&self, id: &str) {
        if let Some(m) = self
            .members
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            m.insert(id.to_string());
        }
    }
}
