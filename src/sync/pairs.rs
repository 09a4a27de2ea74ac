//! What the engine knows about each object pair: the HubSpot object and its modification
//! property, the Salesforce sObjects, how unlinked records are matched, and the HubSpot
//! property that keeps the Salesforce id (as the incumbent's `salesforce…id` properties do).

use std::collections::BTreeMap;

use super::mapping::{FieldMapping, Mappings, PairMapping};
use super::pair_decl::{MatchDecl, PairDecl, ParentDecl, RecordTypeDecl};

/// A declared pair as the engine runs it: its name and declaration, with what follows from
/// the providers' own objects (which property dates a HubSpot record's last change).
#[derive(Debug, Clone, PartialEq)]
pub struct PairSpec {
    pub name: String,
    pub hs_object: String,
    pub hs_modified: &'static str,
    pub decl: PairDecl,
}

/// Every declared pair by name.
pub type Pairs = BTreeMap<String, PairSpec>;

/// The declared pairs as the engine runs them.
pub fn specs(declared: &BTreeMap<String, PairDecl>) -> Pairs {
    declared
        .iter()
        .map(|(name, d)| (name.clone(), PairSpec::new(name, d.clone())))
        .collect()
}

/// The pairs the profile syncs, parents first, as the plugins declare them (none when a
/// declaration does not load: the sync itself says why).
pub fn enabled(
    hooks: &dyn super::hooks::Hooks,
    settings: &super::settings::SyncSettings,
) -> Vec<PairSpec> {
    let Ok(declared) = hooks.pairs() else {
        return Vec::new();
    };
    let all = specs(&declared);
    super::pair_decl::run_order(&declared)
        .into_iter()
        .filter(|n| settings.enabled(n))
        .filter_map(|n| all.get(&n).cloned())
        .collect()
}

/// An object pair no plugin declares, with the ones they do.
pub fn unknown_pair(name: &str, pairs: &Pairs) -> String {
    if pairs.is_empty() {
        return format!(
            "unknown object pair `{name}`: no enabled plugin declares a pair (enable `default` in `plugins = [...]`, or a plugin whose `pairs` hook declares `{name}`)"
        );
    }
    format!(
        "unknown object pair `{name}`: the enabled plugins declare {} (a plugin's `pairs` hook declares more)",
        pairs.keys().cloned().collect::<Vec<_>>().join(", ")
    )
}

impl PairSpec {
    /// The HubSpot scopes reading and writing the pair's object need (tasks live under
    /// the contacts scopes; custom objects under `crm.objects.custom`).
    pub fn hubspot_scopes(&self) -> [String; 2] {
        let noun = match self.hs_object.as_str() {
            "tickets" => return ["tickets".into(), "tickets".into()],
            "tasks" | "contacts" => "contacts",
            "companies" | "deals" => self.hs_object.as_str(),
            _ => "custom",
        };
        [
            format!("crm.objects.{noun}.read"),
            format!("crm.objects.{noun}.write"),
        ]
    }

    pub fn new(name: &str, decl: PairDecl) -> PairSpec {
        // HubSpot contacts date their changes by `lastmodifieddate`; every other object by
        // `hs_lastmodifieddate`.
        let hs_modified = if decl.hubspot.object == "contacts" {
            "lastmodifieddate"
        } else {
            "hs_lastmodifieddate"
        };
        PairSpec {
            name: name.to_string(),
            hs_object: decl.hubspot.object.clone(),
            hs_modified,
            decl,
        }
    }

    /// HubSpot contacts are the records the inclusion list and lifecycle stages are about.
    pub fn is_hubspot_contacts(&self) -> bool {
        self.hs_object == "contacts"
    }

    /// The sObjects of this pair, in match order: for contacts a Salesforce Contact with the
    /// same email wins over a Lead.
    pub fn sobjects(&self) -> &[String] {
        &self.decl.salesforce.objects
    }

    pub fn has_sobject(&self, sobject: &str) -> bool {
        self.sobjects().iter().any(|o| o == sobject)
    }

    /// The HubSpot property that holds the linked Salesforce id.
    pub fn hs_id_property(&self, sobject: &str) -> &str {
        self.decl
            .hubspot
            .salesforce_id
            .get(sobject)
            .unwrap_or(super::pair_decl::HUBFORCE_SALESFORCE_ID)
    }

    /// The Salesforce field that holds the HubSpot id.
    pub fn sf_hubspot_id(&self) -> &str {
        &self.decl.salesforce.hubspot_id
    }

    /// Records of this sObject that never sync (converted Leads live on as Contacts).
    pub fn sf_filter(&self, sobject: &str) -> Option<&str> {
        self.decl.salesforce.filter.as_ref()?.get(sobject)
    }

    pub fn matching(&self) -> &MatchDecl {
        &self.decl.matching
    }

    pub fn parents(&self) -> &[ParentDecl] {
        &self.decl.parents
    }

    pub fn record_types(&self) -> &[RecordTypeDecl] {
        &self.decl.record_types
    }

    /// The HubSpot property that names a record's pipeline: deals' `pipeline`, and
    /// `hs_pipeline` for tickets and custom objects.
    pub fn hs_pipeline_property(&self) -> &'static str {
        if self.hs_object == "deals" {
            "pipeline"
        } else {
            "hs_pipeline"
        }
    }

    /// The HubSpot property a pipeline's stages are in.
    pub fn hs_stage_property(&self) -> &'static str {
        if self.hs_object == "deals" {
            "dealstage"
        } else {
            "hs_pipeline_stage"
        }
    }

    /// The sObject a new record from HubSpot becomes; for HubSpot contacts the profile's
    /// `sync.new_contacts_as` decides when it is one of the pair's sObjects.
    pub fn create_as<'s>(&'s self, new_contacts_as: &'s str) -> &'s str {
        if self.is_hubspot_contacts() && self.has_sobject(new_contacts_as) {
            return new_contacts_as;
        }
        self.decl.create_as()
    }

    /// The HubSpot properties the match compares.
    fn hs_match_properties(&self) -> Vec<&str> {
        match self.matching() {
            MatchDecl::Email => vec!["email"],
            MatchDecl::DomainThenName => vec!["domain", "name"],
            MatchDecl::ExternalId { hubspot, .. } => hubspot.iter().map(String::as_str).collect(),
            MatchDecl::Fields { fields } => fields.iter().map(|f| f.hubspot.as_str()).collect(),
            MatchDecl::Ids => Vec::new(),
        }
    }

    /// The Salesforce fields the match compares.
    pub fn sf_match_fields(&self) -> Vec<&str> {
        match self.matching() {
            MatchDecl::Email => vec!["Email"],
            MatchDecl::DomainThenName => vec!["Name", "Website"],
            MatchDecl::ExternalId { salesforce, .. } => vec![salesforce.as_str()],
            MatchDecl::Fields { fields } => fields.iter().map(|f| f.salesforce.as_str()).collect(),
            MatchDecl::Ids => Vec::new(),
        }
    }

    /// Extra HubSpot properties a pull needs besides the mapped ones.
    pub fn hs_extra_properties(&self) -> Vec<String> {
        // hs_merged_object_ids: a merge's survivor says which linked records it replaces.
        let mut v: Vec<&str> = vec![self.hs_modified, "hs_object_id", "hs_merged_object_ids"];
        v.extend(self.decl.hubspot.salesforce_id.values());
        v.extend(self.hs_match_properties());
        if self.is_hubspot_contacts() {
            // The default inclusion reads the lifecycle stage; a contact's primary company
            // is a property; form submissions and email opens become Salesforce Tasks.
            v.extend([
                "lifecyclestage",
                "associatedcompanyid",
                "recent_conversion_event_name",
                "recent_conversion_date",
                "hs_email_last_open_date",
                "hs_email_last_email_name",
            ]);
        }
        if !self.record_types().is_empty() {
            v.extend([self.hs_pipeline_property(), self.hs_stage_property()]);
        }
        v.extend(self.decl.hubspot.pull.iter().map(String::as_str));
        unique_in_order(v)
    }

    /// Extra Salesforce fields a pull needs besides the mapped ones (the caller keeps those
    /// the sObject has).
    pub fn sf_extra_fields(&self, sobject: &str) -> Vec<String> {
        // IsDeleted and MasterRecordId: the pull reads with queryAll, so deletions and
        // merges come with the changes.
        let mut v: Vec<&str> = vec![
            "Id",
            "SystemModstamp",
            "LastModifiedDate",
            self.sf_hubspot_id(),
            "IsDeleted",
        ];
        v.extend(self.sf_match_fields());
        if sobject == "Lead" {
            v.extend(["IsConverted", "ConvertedContactId"]);
        }
        v.push("MasterRecordId");
        v.extend(self.parents().iter().map(|p| p.lookup.as_str()));
        if let Some(rt) = self.record_types().first() {
            v.extend(["RecordTypeId", rt.stage_field.as_str()]);
        }
        v.extend(self.decl.salesforce.pull.iter().map(String::as_str));
        unique_in_order(v)
    }
}

/// Each name once, in the order first given.
fn unique_in_order(names: Vec<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
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
impl PairSpec {
    /// A pair as the default plugin declares it, for tests that need no Lua.
    pub fn test(name: &str) -> PairSpec {
        let declared = super::pair_decl::parse(&serde_json::json!({
            "company": {"hubspot": {"object": "companies", "salesforce_id": "salesforceaccountid"},
                        "salesforce": {"objects": ["Account"]}, "match": {"by": "domain_then_name"}},
            "contact": {"hubspot": {"object": "contacts",
                                    "salesforce_id": {"Lead": "salesforceleadid", "Contact": "salesforcecontactid"}},
                        "salesforce": {"objects": ["Contact", "Lead"], "create_as": "Lead",
                                       "where": {"Lead": "IsConverted = false"}},
                        "match": {"by": "email"},
                        "parents": [{"pair": "company", "association": "companies", "lookup": "AccountId"}]},
        }))
        .expect("the test pairs parse");
        PairSpec::new(name, declared[name].clone())
    }
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
