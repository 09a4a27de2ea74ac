//! What the sync health page's search box takes — a HubSpot id, a Salesforce id or an email
//! — turned into the (object, id) that `explain` takes. The ledger answers first (links,
//! tombstones, record errors: no API call); an email costs one HubSpot search.

use serde_json::json;

use super::engine::{Engine, SyncError};

/// Salesforce key prefixes of the standard objects, for an id the ledger does not know.
const PREFIXES: [(&str, &str); 5] = [
    ("00Q", "Lead"),
    ("003", "Contact"),
    ("001", "Account"),
    ("006", "Opportunity"),
    ("00T", "Task"),
];

fn looks_like_salesforce_id(q: &str) -> bool {
    (q.len() == 15 || q.len() == 18)
        && q.chars().all(|c| c.is_ascii_alphanumeric())
        && q.chars().any(|c| c.is_ascii_alphabetic())
        && q.chars().take(3).any(|c| c.is_ascii_digit())
}

impl Engine<'_> {
    /// The record a search names, as (object, id) for `explain`; None when nothing is known.
    pub async fn find_record(&self, q: &str) -> Result<Option<(String, String)>, SyncError> {
        let q = q.trim();
        if q.contains('@') {
            return self.find_by_email(q).await;
        }
        if q.chars().all(|c| c.is_ascii_digit()) && !q.is_empty() {
            return Ok(self.find_hubspot_id(q)?.map(|pair| (pair, q.to_string())));
        }
        if looks_like_salesforce_id(q) {
            return Ok(self.find_salesforce_id(q)?.map(|o| (o, q.to_string())));
        }
        Ok(None)
    }

    /// The pair whose HubSpot side the ledger knows `id` on; else the first pair of
    /// contacts (a bare number is most often a contact).
    fn find_hubspot_id(&self, id: &str) -> Result<Option<String>, SyncError> {
        let errors = self.ledger.errors(None)?;
        for name in &self.order {
            let Some(spec) = self.pairs.get(name) else {
                continue;
            };
            let known = self.ledger.linked_sf(name, id)?.is_some()
                || self
                    .ledger
                    .tombstones_naming(name, id)?
                    .iter()
                    .any(|t| t.side == "hubspot" && t.id == id)
                || errors
                    .iter()
                    .any(|e| e.side == "hubspot" && e.object == spec.hs_object && e.id == id);
            if known {
                return Ok(Some(name.clone()));
            }
        }
        Ok(self
            .order
            .iter()
            .find(|n| {
                self.pairs
                    .get(*n)
                    .is_some_and(|s| s.hs_object == "contacts")
            })
            .cloned())
    }

    /// The sObject the ledger knows a Salesforce id as; else its key prefix's.
    fn find_salesforce_id(&self, id: &str) -> Result<Option<String>, SyncError> {
        for name in &self.order {
            if let Some(hs) = self.ledger.linked_hs(name, id)?
                && let Some((_, sobject)) = self.ledger.linked_sf(name, &hs)?
            {
                return Ok(Some(sobject));
            }
            if let Some(t) = self
                .ledger
                .tombstones_naming(name, id)?
                .into_iter()
                .find(|t| t.side == "salesforce" && t.id == id)
            {
                return Ok(Some(t.sobject));
            }
        }
        if let Some(e) = self
            .ledger
            .errors(None)?
            .into_iter()
            .find(|e| e.side == "salesforce" && e.id == id)
        {
            return Ok(Some(e.object));
        }
        Ok(PREFIXES
            .iter()
            .find(|(p, _)| id.starts_with(p))
            .map(|(_, o)| o.to_string()))
    }

    /// The HubSpot contact with this email (one search call).
    async fn find_by_email(&self, email: &str) -> Result<Option<(String, String)>, SyncError> {
        let Some(pair) = self.order.iter().find(|n| {
            self.pairs
                .get(*n)
                .is_some_and(|s| s.hs_object == "contacts")
        }) else {
            return Ok(None);
        };
        let body = json!({
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
            "properties": ["email"],
            "limit": 1,
        });
        let (found, _) = self.hs.search_page("contacts", body).await?;
        Ok(found
            .first()
            .and_then(|r| r["id"].as_str())
            .map(|id| (pair.clone(), id.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_ids_are_told_from_hubspot_ids_and_words() {
        assert!(looks_like_salesforce_id("00Q5g00000AbCdE"));
        assert!(looks_like_salesforce_id("0035g00000AbCdEAAX"));
        assert!(!looks_like_salesforce_id("123456789012345"));
        assert!(!looks_like_salesforce_id("SomethingElseXY"));
    }
}
