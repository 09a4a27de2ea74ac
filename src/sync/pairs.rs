//! What the engine knows about each object pair: the HubSpot object and its modification
//! property, the Salesforce sObjects, how unlinked records are matched, and the HubSpot
//! property that keeps the Salesforce id (as the incumbent's `salesforce…id` properties do).

use super::mapping::{FieldMapping, Mappings, PairMapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchBy {
    /// People: the email address.
    Email,
    /// Companies: the website domain, then the name.
    DomainThenName,
    /// Deals: only the ids each side keeps of the other.
    IdsOnly,
}

#[derive(Debug)]
pub struct PairSpec {
    pub name: &'static str,
    pub hs_object: &'static str,
    pub hs_modified: &'static str,
    pub match_by: MatchBy,
}

pub const SPECS: &[PairSpec] = &[
    PairSpec {
        name: "company",
        hs_object: "companies",
        hs_modified: "hs_lastmodifieddate",
        match_by: MatchBy::DomainThenName,
    },
    PairSpec {
        name: "contact",
        hs_object: "contacts",
        hs_modified: "lastmodifieddate",
        match_by: MatchBy::Email,
    },
    PairSpec {
        name: "deal",
        hs_object: "deals",
        hs_modified: "hs_lastmodifieddate",
        match_by: MatchBy::IdsOnly,
    },
    PairSpec {
        name: "task",
        hs_object: "tasks",
        hs_modified: "hs_lastmodifieddate",
        match_by: MatchBy::IdsOnly,
    },
];

/// HubSpot tasks have no Salesforce id property of their own; hubforce adds this one.
pub const HS_TASK_SF_ID: &str = "hubforce_salesforce_id";

/// The external id field every synced sObject carries.
pub const SF_EXTERNAL_ID: &str = "HubSpot_Id__c";

impl PairSpec {
    pub fn get(name: &str) -> Option<&'static PairSpec> {
        SPECS.iter().find(|s| s.name == name)
    }

    /// The sObjects of this pair, in match order: for contacts a Salesforce Contact with the
    /// same email wins over a Lead.
    pub fn sobjects(&self) -> &'static [&'static str] {
        match self.name {
            "company" => &["Account"],
            "contact" => &["Contact", "Lead"],
            "task" => &["Task"],
            _ => &["Opportunity"],
        }
    }

    /// The HubSpot property that holds the linked Salesforce id.
    pub fn hs_id_property(&self, sobject: &str) -> &'static str {
        match sobject {
            "Lead" => "salesforceleadid",
            "Contact" => "salesforcecontactid",
            "Account" => "salesforceaccountid",
            "Task" => HS_TASK_SF_ID,
            _ => "salesforceopportunityid",
        }
    }

    /// Records of this sObject that never sync (converted Leads live on as Contacts).
    pub fn sf_filter(&self, sobject: &str) -> Option<&'static str> {
        match sobject {
            "Lead" => Some("IsConverted = false"),
            // Tasks hubforce writes for HubSpot activities (`contact:kind:time`) stay in
            // Salesforce; they are not HubSpot tasks.
            "Task" => Some("(NOT HubSpot_Id__c LIKE '%:%')"),
            _ => None,
        }
    }

    /// The HubSpot property and Salesforce field compared when matching by key.
    pub fn match_keys(&self) -> Option<(&'static str, &'static str)> {
        match self.match_by {
            MatchBy::Email => Some(("email", "Email")),
            MatchBy::DomainThenName => Some(("name", "Name")),
            MatchBy::IdsOnly => None,
        }
    }

    /// Extra HubSpot properties a pull needs besides the mapped ones.
    pub fn hs_extra_properties(&self) -> Vec<&'static str> {
        // hs_merged_object_ids: a merge's survivor says which linked records it replaces.
        let mut v = vec![self.hs_modified, "hs_object_id", "hs_merged_object_ids"];
        match self.name {
            "contact" => v.extend([
                "email",
                "lifecyclestage",
                "salesforceleadid",
                "salesforcecontactid",
                "associatedcompanyid",
                "recent_conversion_event_name",
                "recent_conversion_date",
                "hs_email_last_open_date",
                "hs_email_last_email_name",
            ]),
            "company" => v.extend(["domain", "name", "salesforceaccountid"]),
            "task" => v.extend(["hs_task_subject", "hs_timestamp", HS_TASK_SF_ID]),
            _ => v.extend(["dealname", "pipeline", "salesforceopportunityid"]),
        }
        v
    }

    /// Extra Salesforce fields a pull needs besides the mapped ones.
    pub fn sf_extra_fields(&self, sobject: &str) -> Vec<&'static str> {
        // IsDeleted and MasterRecordId: the pull reads with queryAll, so deletions and
        // merges come with the changes.
        let mut v = vec![
            "Id",
            "SystemModstamp",
            "LastModifiedDate",
            SF_EXTERNAL_ID,
            "IsDeleted",
        ];
        match sobject {
            "Lead" => v.extend([
                "Email",
                "IsConverted",
                "ConvertedContactId",
                "MasterRecordId",
            ]),
            "Contact" => v.extend(["Email", "AccountId", "MasterRecordId"]),
            "Account" => v.extend(["Name", "Website", "MasterRecordId"]),
            "Task" => v.extend(["Subject", "WhoId"]),
            _ => v.extend(["Name", "AccountId"]),
        }
        v
    }
}

/// Lead field → Contact field, for mappings written for Leads.
const LEAD_TO_CONTACT: &[(&str, &str)] = &[
    ("Street", "MailingStreet"),
    ("City", "MailingCity"),
    ("State", "MailingState"),
    ("PostalCode", "MailingPostalCode"),
    ("Country", "MailingCountry"),
];

/// The mapping for one sObject of a pair: a pair may be given per sObject
/// (`["contact.Contact"]`); otherwise the pair's own mapping, with Lead fields renamed for a
/// Contact. Fields the sObject does not have (per its describe) are left out.
pub fn mapping_for(
    mappings: &Mappings,
    pair: &str,
    sobject: &str,
    has_field: impl Fn(&str) -> bool,
) -> Option<PairMapping> {
    if let Some(m) = mappings.get(&format!("{pair}.{sobject}")) {
        return Some(m.clone());
    }
    let base = mappings.get(pair)?;
    let rename = |f: &str| -> String {
        if base.salesforce == "Lead" && sobject == "Contact" {
            LEAD_TO_CONTACT
                .iter()
                .find(|(l, _)| *l == f)
                .map(|(_, c)| c.to_string())
                .unwrap_or_else(|| f.to_string())
        } else {
            f.to_string()
        }
    };
    let fields: Vec<FieldMapping> = base
        .fields
        .iter()
        .map(|f| {
            let mut f: FieldMapping = f.clone();
            f.salesforce = rename(&f.salesforce);
            f
        })
        .filter(|f| has_field(&f.salesforce))
        .collect();
    Some(PairMapping {
        hubspot: base.hubspot.clone(),
        salesforce: sobject.to_string(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lead_mapping_serves_contacts_with_renamed_and_dropped_fields() {
        let m = super::super::mapping::parse(
            &json!({"contact": {"hubspot": "contacts", "salesforce": "Lead", "fields": [
            {"hubspot": "email", "salesforce": "Email"},
            {"hubspot": "city", "salesforce": "City"},
            {"hubspot": "company", "salesforce": "Company"}]}}),
        )
        .unwrap();
        let contact_fields = ["Email", "MailingCity"];
        let c = mapping_for(&m, "contact", "Contact", |f| contact_fields.contains(&f)).unwrap();
        let names: Vec<&str> = c.fields.iter().map(|f| f.salesforce.as_str()).collect();
        assert_eq!(names, vec!["Email", "MailingCity"]);
        assert_eq!(c.salesforce, "Contact");
        let l = mapping_for(&m, "contact", "Lead", |_| true).unwrap();
        assert_eq!(l.fields.len(), 3);
        assert!(mapping_for(&m, "deal", "Opportunity", |_| true).is_none());
    }
}
