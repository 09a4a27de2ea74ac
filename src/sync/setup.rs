//! Preparing the engine, once per sync: the declared pairs (checked against the schemas of
//! both sides), owners on both sides, the describes of the synced sObjects and their record
//! types, and the `hubforce_…` id properties a HubSpot object lacks.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;

use super::calls::CallMark;
use super::convert::OwnerMap;
use super::described::Described;
use super::engine::{Engine, SyncError, every_refused_grant};
use super::hooks::Hooks;
use super::ledger::Ledger;
use super::pair_decl::{self, MatchDecl, PairDeclError};
use super::pairs::{self, PairSpec};
use super::provider_cache;
use super::settings::SyncSettings;
use crate::api::hubspot::HubspotApi;
use crate::api::salesforce::SalesforceApi;
use crate::error::{ApiError, ErrorClass};

async fn owner_map(hs: &HubspotApi, sf: &SalesforceApi) -> Result<OwnerMap, ApiError> {
    let mut m = OwnerMap::default();
    // The two sides' reads are independent: Salesforce's users load while HubSpot pages.
    let users = sf.query("SELECT Id, Email FROM User WHERE IsActive = true");
    let hs_owners = async {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/crm/v3/owners?limit=100&after={a}"),
                None => "/crm/v3/owners?limit=100".to_string(),
            };
            let v = hs
                .call(Method::GET, &path, None, crate::api::hubspot::page)
                .await?;
            let next = v["paging"]["next"]["after"].as_str().map(String::from);
            pages.push(v);
            match next {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        Ok::<_, ApiError>(pages)
    };
    let (pages, users) = tokio::join!(hs_owners, users);
    for v in pages? {
        for o in v["results"].as_array().into_iter().flatten() {
            if let (Some(id), Some(email)) = (o["id"].as_str(), o["email"].as_str()) {
                m.hs_by_id.insert(id.to_string(), email.to_lowercase());
                m.hs_by_email.insert(email.to_lowercase(), id.to_string());
            }
        }
    }
    for u in users? {
        if let (Some(id), Some(email)) = (u["Id"].as_str(), u["Email"].as_str()) {
            m.sf_by_id.insert(id.to_string(), email.to_lowercase());
            m.sf_by_email
                .entry(email.to_lowercase())
                .or_insert_with(|| id.to_string());
        }
    }
    Ok(m)
}

/// The objects every portal has; any other is a custom object, checked when the sync starts.
const HUBSPOT_STANDARD: &[&str] = &[
    "contacts",
    "companies",
    "deals",
    "tickets",
    "tasks",
    "calls",
    "emails",
    "meetings",
    "notes",
    "products",
    "line_items",
    "quotes",
];

/// The pair's HubSpot id property, there when the sync starts: a `hubforce_…` one the object
/// lacks is created (hubforce's text property, so that a record created from Salesforce is
/// found again after a crash, as the connector's `salesforce…id` properties do), another is
/// a declaration error, as is an object HubSpot does not know.
async fn ensure_id_property(
    hs: &HubspotApi,
    ledger: &Ledger,
    (pair, object, name): (&str, &str, &str),
) -> Result<Option<PairDeclError>, ApiError> {
    if provider_cache::property_known(ledger, object, name) {
        return Ok(None);
    }
    let made = read_or_create_id_property(hs, (pair, object, name)).await?;
    if made.is_none() {
        provider_cache::property_seen(ledger, object, name);
    }
    Ok(made)
}

async fn read_or_create_id_property(
    hs: &HubspotApi,
    (pair, object, name): (&str, &str, &str),
) -> Result<Option<PairDeclError>, ApiError> {
    let refused = |path: &str, message: String| Ok(Some(PairDeclError::new(pair, path, message)));
    match hs
        .request(Method::GET, &format!("/crm/v3/properties/{object}/{name}"), None)
        .await
    {
        Ok(_) => Ok(None),
        // HubSpot's answer for a type it does not have: "Unable to infer object type from: X".
        Err(e) if e.class == ErrorClass::Validation && e.message.contains("object type") => refused(
            ".hubspot.object",
            format!(
                "HubSpot has no object {object}: name a custom object by its fullyQualifiedName (p{{portalId}}_name) or objectTypeId (2-…), as `hubforce api hubspot GET /crm/v3/schemas` lists them"
            ),
        ),
        Err(e) if e.class == ErrorClass::NotFound && !name.starts_with("hubforce_") => refused(
            ".hubspot.salesforce_id",
            format!("HubSpot's {object} have no property {name}: create it, or leave salesforce_id out for hubforce's own"),
        ),
        Err(e) if e.class == ErrorClass::NotFound => hs
            .request(
                Method::POST,
                &format!("/crm/v3/properties/{object}"),
                Some(json!({
                    "name": name, "label": "Salesforce Id (hubforce)", "type": "string",
                    "fieldType": "text", "groupName": group_of(object),
                    "description": "The Salesforce record this record syncs with; written by hubforce",
                })),
            )
            .await
            .map(|_| None),
        Err(e) => Err(e),
    }
}

/// The property group every portal has for the object.
fn group_of(object: &str) -> String {
    match object {
        "tasks" => "taskinformation".into(),
        "tickets" => "ticketinformation".into(),
        "contacts" => "contactinformation".into(),
        "companies" => "companyinformation".into(),
        "deals" => "dealinformation".into(),
        // A custom object's own group is `{name}_information` (`p123_my_object` →
        // `my_object_information`).
        custom => format!(
            "{}_information",
            custom.split_once('_').map(|(_, n)| n).unwrap_or(custom)
        ),
    }
}

/// The id properties to check when the sync starts: (pair, object, property) for a
/// `hubforce_…` property (created when missing) and for every custom object's.
fn id_properties<'s>(enabled: &[&'s PairSpec]) -> Vec<(&'s str, &'s str, &'s str)> {
    let mut out: Vec<(&str, &str, &str)> = Vec::new();
    for spec in enabled {
        let custom = !HUBSPOT_STANDARD.contains(&spec.hs_object.as_str());
        for p in spec.decl.hubspot.salesforce_id.values() {
            let want = (spec.name.as_str(), spec.hs_object.as_str(), p);
            if (custom || p.starts_with("hubforce_"))
                && !out.iter().any(|(_, o, n)| (*o, *n) == (want.1, want.2))
            {
                out.push(want);
            }
        }
    }
    out
}

/// Every sObject of the enabled pairs, once.
fn sobjects_of<'s>(enabled: &[&'s PairSpec]) -> Vec<&'s str> {
    let mut out: Vec<&str> = Vec::new();
    for o in enabled.iter().flat_map(|p| p.sobjects()) {
        if !out.contains(&o.as_str()) {
            out.push(o);
        }
    }
    out
}

/// A declared sObject whose describe Salesforce answers NOT_FOUND: the org does not have
/// it, or the integration user cannot see it.
fn unknown_sobject(enabled: &[&PairSpec], sobject: &str) -> PairDeclError {
    let (pair, i) = enabled
        .iter()
        .find_map(|s| {
            let i = s.sobjects().iter().position(|o| o == sobject)?;
            Some((s.name.clone(), i))
        })
        .unwrap_or_default();
    PairDeclError::new(
        &pair,
        format!(".salesforce.objects[{}]", i + 1),
        format!(
            "Salesforce has no sObject {sobject} the integration user can see (a custom object's name ends in __c; `hubforce api salesforce GET sobjects` lists them)"
        ),
    )
}

/// Does describe give `sobject` the field?
fn has(described: &HashMap<String, Described>, sobject: &str, field: &str) -> bool {
    described
        .get(sobject)
        .is_some_and(|d| d.fields.contains(field))
}

/// The names a pair declares on the Salesforce side, each checked against the describes:
/// a misspelt field is a load error, not a query Salesforce refuses mid-sync.
fn check_schema(
    spec: &PairSpec,
    described: &HashMap<String, Described>,
) -> Result<(), PairDeclError> {
    let err = |path: String, message: String| PairDeclError::new(&spec.name, path, message);
    let has = |o: &str, f: &str| has(described, o, f);
    let any_has = |f: &str| spec.sobjects().iter().any(|o| has(o, f));
    let objects = spec.sobjects().join(", ");
    for (i, f) in spec.decl.salesforce.pull.iter().enumerate() {
        if !any_has(f) {
            return Err(err(
                format!(".salesforce.pull[{}]", i + 1),
                format!("no field {f} on {objects}"),
            ));
        }
    }
    if !spec.sobjects().iter().all(|o| has(o, spec.sf_hubspot_id())) {
        let missing: Vec<&str> = spec
            .sobjects()
            .iter()
            .filter(|o| !has(o, spec.sf_hubspot_id()))
            .map(String::as_str)
            .collect();
        return Err(err(
            ".salesforce.hubspot_id".into(),
            format!(
                "{} has no field {}: create it as a text external id field (Setup → Object Manager → {} → Fields & Relationships), or name the field that keeps the HubSpot id",
                missing.join(", "),
                spec.sf_hubspot_id(),
                missing[0]
            ),
        ));
    }
    let match_fields: Vec<&str> = match spec.matching() {
        MatchDecl::ExternalId { salesforce, .. } => vec![salesforce.as_str()],
        MatchDecl::Fields { fields } => fields.iter().map(|f| f.salesforce.as_str()).collect(),
        _ => Vec::new(),
    };
    if let Some(f) = match_fields.iter().find(|f| !any_has(f)) {
        return Err(err(".match".into(), format!("no field {f} on {objects}")));
    }
    for (i, p) in spec.parents().iter().enumerate() {
        if !any_has(&p.lookup) {
            return Err(err(
                format!(".parents[{}].lookup", i + 1),
                format!("no lookup field {} on {objects}", p.lookup),
            ));
        }
    }
    check_record_types(spec, described)
}

/// Each declared record type exists on the pair's sObject, with its stage field.
fn check_record_types(
    spec: &PairSpec,
    described: &HashMap<String, Described>,
) -> Result<(), PairDeclError> {
    let err = |path: String, message: String| PairDeclError::new(&spec.name, path, message);
    let has = |o: &str, f: &str| has(described, o, f);
    let Some(sobject) = spec.sobjects().first() else {
        return Ok(());
    };
    for (i, rt) in spec.record_types().iter().enumerate() {
        let d = described.get(sobject);
        if !d.is_some_and(|d| d.record_types.contains_key(&rt.record_type)) {
            let known: Vec<String> = d
                .map(|d| d.record_types.keys().cloned().collect())
                .unwrap_or_default();
            return Err(err(
                format!(".record_types[{}].record_type", i + 1),
                format!(
                    "{sobject} has no record type {} (it has: {})",
                    rt.record_type,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        if !has(sobject, &rt.stage_field) {
            return Err(err(
                format!(".record_types[{}].stage_field", i + 1),
                format!("no field {} on {sobject}", rt.stage_field),
            ));
        }
    }
    Ok(())
}

impl<'a> Engine<'a> {
    /// Read what every pass needs once: the declared pairs, owners on both sides and the
    /// describes of the synced sObjects (the inclusion list is read by each pass).
    pub async fn prepare(
        hs: &'a HubspotApi,
        sf: &'a SalesforceApi,
        ledger: &'a Ledger,
        hooks: &'a dyn Hooks,
        settings: SyncSettings,
    ) -> Result<Engine<'a>, SyncError> {
        let before_setup = CallMark::now(hs, sf);
        let mut engine = crate::budget::within(
            None,
            crate::budget::Stage::Setup,
            Self::set_up(hs, sf, ledger, hooks, settings),
        )
        .await?;
        // The calls made from here on are the first pass's too (its "setup"): a pass's count
        // is what the providers served, describes and owners included.
        let setup = CallMark::now(hs, sf).since(&before_setup);
        engine.counted = std::sync::Mutex::new((before_setup, Some(setup)));
        Ok(engine)
    }

    async fn set_up(
        hs: &'a HubspotApi,
        sf: &'a SalesforceApi,
        ledger: &'a Ledger,
        hooks: &'a dyn Hooks,
        settings: SyncSettings,
    ) -> Result<Engine<'a>, SyncError> {
        let declared = hooks.pairs().map_err(SyncError::Mappings)?;
        let all = pairs::specs(&declared);
        let order = pair_decl::run_order(&declared);
        // With no pair declared at all, the pass says which plugin to enable.
        if let Some(o) = settings
            .objects
            .iter()
            .find(|o| !all.is_empty() && !all.contains_key(*o))
        {
            return Err(SyncError::Usage(pairs::unknown_pair(o, &all)));
        }
        let enabled: Vec<&PairSpec> = order
            .iter()
            .filter(|n| settings.enabled(n))
            .filter_map(|n| all.get(n))
            .collect();
        let sobjects = sobjects_of(&enabled);
        // Everything here is independent: one wait for all of it, not one per call.
        // A describe Salesforce answers NOT_FOUND is a declared sObject the org lacks.
        let describes = futures_util::future::try_join_all(sobjects.iter().map(|o| async move {
            match provider_cache::describe(sf, ledger, o).await {
                Ok(d) => Ok(Some(d)),
                Err(e) if e.class == ErrorClass::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }));
        let properties = id_properties(&enabled);
        let id_props = futures_util::future::try_join_all(
            properties
                .iter()
                .map(|p| ensure_id_property(hs, ledger, *p)),
        );
        let (owners, described, refused) = match tokio::try_join!(
            provider_cache::owners(ledger, owner_map(hs, sf)),
            describes,
            id_props
        ) {
            Ok(r) => r,
            Err(e) => return Err(SyncError::Api(every_refused_grant(hs, sf, e).await)),
        };
        if let Some(o) = sobjects.iter().zip(&described).find(|(_, d)| d.is_none()) {
            return Err(SyncError::Mappings(
                hooks.pair_error(unknown_sobject(&enabled, o.0)),
            ));
        }
        if let Some(e) = refused.into_iter().flatten().next() {
            return Err(SyncError::Mappings(hooks.pair_error(e)));
        }
        let described: HashMap<String, Described> = sobjects
            .iter()
            .zip(described)
            .filter_map(|(o, d)| Some((o.to_string(), Described::of(&d?))))
            .collect();
        for spec in &enabled {
            check_schema(spec, &described).map_err(|e| SyncError::Mappings(hooks.pair_error(e)))?;
        }
        Ok(Engine {
            hs,
            sf,
            ledger,
            hooks,
            settings,
            owners,
            described,
            pairs: all,
            order,
            members: std::sync::RwLock::new(None),
            progress: None,
            counted: std::sync::Mutex::default(),
            stop: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_field_the_schema_lacks_is_named() {
        let spec = PairSpec::test("contact");
        let mut described = HashMap::new();
        for o in ["Contact", "Lead"] {
            let fields = ["Id", "Email", "HubSpot_Id__c", "AccountId"];
            described.insert(
                o.to_string(),
                Described {
                    fields: fields.iter().map(|f| f.to_string()).collect(),
                    ..Default::default()
                },
            );
        }
        assert_eq!(check_schema(&spec, &described), Ok(()));
        described
            .get_mut("Lead")
            .unwrap()
            .fields
            .remove("HubSpot_Id__c");
        let e = check_schema(&spec, &described).unwrap_err();
        assert_eq!(e.path, ".salesforce.hubspot_id");
        assert!(
            e.message.starts_with("Lead has no field HubSpot_Id__c"),
            "{e}"
        );
    }

    #[test]
    fn custom_objects_group_their_properties_under_their_name() {
        assert_eq!(group_of("p123_subscriptions"), "subscriptions_information");
        assert_eq!(group_of("p123_my_object"), "my_object_information");
        assert_eq!(group_of("tickets"), "ticketinformation");
    }
}
