//! Batched look-ups on either side: records by id, and the candidates an unlinked record
//! may match (by the ids each side keeps of the other, email, website domain or name).
//! Each helper costs one call per chunk of records, never one per record.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::pairs::{PairSpec, SF_EXTERNAL_ID};
use super::pull::soql_string;
use super::records::{HsRecord, SfRecord};
use crate::api::hubspot::{HubspotApi, page};
use crate::api::salesforce::{SalesforceApi, query_answer};
use crate::error::ApiError;

/// Ids per SOQL `IN (…)`, keeping the URL well under Salesforce's 16 KB.
const SOQL_IN_CHUNK: usize = 200;
/// Companies per domain/name query (each brings a LIKE clause).
const COMPANY_CHUNK: usize = 50;
/// Values per HubSpot search `IN` filter.
const HS_IN_CHUNK: usize = 100;

/// `example.com` from `https://www.example.com/path` or `example.com`.
pub fn domain_of(url: &str) -> Option<String> {
    let s = url.trim().to_lowercase();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    let host = s.split(['/', '?', '#']).next()?.trim_start_matches("www.");
    (!host.is_empty()).then(|| host.to_string())
}

fn unique(values: impl Iterator<Item = String>) -> Vec<String> {
    values.collect::<BTreeSet<_>>().into_iter().collect()
}

async fn soql_records(
    sf: &SalesforceApi,
    sobject: &str,
    soql: &str,
) -> Result<Vec<SfRecord>, ApiError> {
    Ok(sf
        .query(soql)
        .await?
        .into_iter()
        .filter_map(|r| SfRecord::from_json(r, sobject))
        .collect())
}

fn in_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| soql_string(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Salesforce records by id.
pub async fn sf_by_ids(
    sf: &SalesforceApi,
    sobject: &str,
    fields: &[String],
    ids: &[String],
) -> Result<Vec<SfRecord>, ApiError> {
    let mut out = Vec::new();
    for chunk in unique(ids.iter().cloned()).chunks(SOQL_IN_CHUNK) {
        let soql = format!(
            "SELECT {} FROM {sobject} WHERE Id IN ({})",
            fields.join(", "),
            in_list(chunk)
        );
        out.extend(soql_records(sf, sobject, &soql).await?);
    }
    Ok(out)
}

/// The SOQL that finds the Salesforce records of `sobject` that `hs` records may match.
fn candidate_soql(
    spec: &PairSpec,
    sobject: &str,
    fields: &[String],
    chunk: &[&HsRecord],
) -> String {
    let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
    let mut ors = vec![format!("{SF_EXTERNAL_ID} IN ({})", in_list(&ids))];
    match spec.name {
        "contact" => {
            let emails = unique(
                chunk
                    .iter()
                    .filter_map(|r| r.prop("email"))
                    .map(str::to_lowercase),
            );
            if !emails.is_empty() {
                ors.push(format!("Email IN ({})", in_list(&emails)));
            }
        }
        "company" => {
            let names = unique(
                chunk
                    .iter()
                    .filter_map(|r| r.prop("name"))
                    .map(String::from),
            );
            if !names.is_empty() {
                ors.push(format!("Name IN ({})", in_list(&names)));
            }
            for d in unique(
                chunk
                    .iter()
                    .filter_map(|r| r.prop("domain"))
                    .filter_map(domain_of),
            ) {
                ors.push(format!("Website LIKE {}", soql_string(&format!("%{d}%"))));
            }
        }
        _ => {}
    }
    let mut cond = format!("({})", ors.join(" OR "));
    if let Some(f) = spec.sf_filter(sobject) {
        cond = format!("{cond} AND {f}");
    }
    format!("SELECT {} FROM {sobject} WHERE {cond}", fields.join(", "))
}

/// Salesforce records of each `(sObject, fields)` that unlinked HubSpot records may match,
/// in the order given (a Contact before a Lead). Several sObjects go in one Composite
/// request, which Salesforce counts as one API call.
pub async fn sf_candidates(
    sf: &SalesforceApi,
    spec: &PairSpec,
    targets: &[(&str, Vec<String>)],
    hs: &[&HsRecord],
) -> Result<Vec<SfRecord>, ApiError> {
    let mut out = Vec::new();
    let chunk_size = if spec.name == "company" {
        COMPANY_CHUNK
    } else {
        SOQL_IN_CHUNK
    };
    for chunk in hs.chunks(chunk_size) {
        let queries: Vec<(&str, String)> = targets
            .iter()
            .map(|(sobject, fields)| (*sobject, candidate_soql(spec, sobject, fields, chunk)))
            .collect();
        if queries.len() == 1 {
            out.extend(soql_records(sf, queries[0].0, &queries[0].1).await?);
            continue;
        }
        let subrequests: Vec<Value> = queries
            .iter()
            .enumerate()
            .map(|(i, (_, soql))| {
                let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
                json!({"method": "GET", "referenceId": format!("q{i}"), "url": format!("/services/data/v{}/query?q={q}", sf.version)})
            })
            .collect();
        let mut answer = sf.composite(false, subrequests).await?;
        let mut responses = match answer["compositeResponse"].take() {
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        for (i, (sobject, soql)) in queries.iter().enumerate() {
            let r = responses.get_mut(i);
            // A subrequest that failed, or answered something that is not a query page.
            let ok = r.as_ref().is_some_and(|r| {
                r["httpStatusCode"].as_u64().is_some_and(|s| s < 300)
                    && query_answer(&r["body"]).is_ok()
            });
            if !ok {
                // Ask again on its own: the answer then carries a classified error (or is
                // retried as garbage), never read as "no candidates".
                out.extend(soql_records(sf, sobject, soql).await?);
                continue;
            }
            let mut body = r.map(|r| r["body"].take()).unwrap_or_default();
            if let Value::Array(records) = body["records"].take() {
                out.extend(
                    records
                        .into_iter()
                        .filter_map(|v| SfRecord::from_json(v, sobject)),
                );
            }
            let mut next = (body["done"] == json!(false))
                .then(|| body["nextRecordsUrl"].as_str().map(String::from))
                .flatten();
            while let Some(url) = next {
                let (page, more) = sf.query_page(None, Some(&url), false).await?;
                out.extend(
                    page.into_iter()
                        .filter_map(|v| SfRecord::from_json(v, sobject)),
                );
                next = more;
            }
        }
    }
    Ok(out)
}

/// The best candidate for a HubSpot record among Salesforce records, by rule order: the
/// external id, then the pair's key (email; domain, then name).
pub fn best_sf_match<'a>(
    spec: &PairSpec,
    hs: &HsRecord,
    candidates: &'a [SfRecord],
) -> Vec<&'a SfRecord> {
    let mut out: Vec<&SfRecord> = candidates
        .iter()
        .filter(|c| c.field(SF_EXTERNAL_ID) == Some(hs.id.as_str()))
        .collect();
    let push = |out: &mut Vec<&'a SfRecord>, c: &'a SfRecord| {
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    };
    match spec.name {
        "contact" => {
            if let Some(email) = hs.prop("email").map(str::to_lowercase) {
                for c in candidates {
                    if c.field("Email").map(str::to_lowercase).as_deref() == Some(email.as_str()) {
                        push(&mut out, c);
                    }
                }
            }
        }
        "company" => {
            if let Some(d) = hs.prop("domain").and_then(domain_of) {
                for c in candidates {
                    if c.field("Website").and_then(domain_of).as_deref() == Some(d.as_str()) {
                        push(&mut out, c);
                    }
                }
            }
            if let Some(name) = hs.prop("name").map(str::to_lowercase) {
                for c in candidates {
                    if c.field("Name").map(str::to_lowercase).as_deref() == Some(name.as_str()) {
                        push(&mut out, c);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

fn hs_records(mut v: Value, modified: &str) -> Vec<HsRecord> {
    match v["results"].take() {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|r| HsRecord::from_json(r, modified))
            .collect(),
        _ => Vec::new(),
    }
}

/// HubSpot records by id (or by a unique property such as `email`).
pub async fn hs_by_ids(
    hs: &HubspotApi,
    spec: &PairSpec,
    properties: &[String],
    ids: &[String],
    id_property: Option<&str>,
) -> Result<Vec<HsRecord>, ApiError> {
    let mut out = Vec::new();
    for chunk in unique(ids.iter().cloned()).chunks(crate::api::hubspot::BATCH_MAX) {
        let mut body = json!({
            "properties": properties,
            "inputs": chunk.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        });
        if let Some(p) = id_property {
            body["idProperty"] = json!(p);
        }
        let path = format!("/crm/v3/objects/{}/batch/read", spec.hs_object);
        let v = hs.call(Method::POST, &path, Some(body), page).await?;
        out.extend(hs_records(v, spec.hs_modified));
    }
    Ok(out)
}

/// HubSpot records where any of `(property, values)` matches (one search per chunk).
pub async fn hs_search_any(
    hs: &HubspotApi,
    spec: &PairSpec,
    properties: &[String],
    groups: &[(&str, Vec<String>)],
) -> Result<Vec<HsRecord>, ApiError> {
    let mut out = Vec::new();
    for (prop, values) in groups {
        for chunk in unique(values.iter().cloned()).chunks(HS_IN_CHUNK) {
            let body = json!({
                "filterGroups": [{"filters": [{"propertyName": prop, "operator": "IN", "values": chunk}]}],
                "properties": properties,
                "limit": 200,
            });
            let path = format!("/crm/v3/objects/{}/search", spec.hs_object);
            let v = hs.call(Method::POST, &path, Some(body), page).await?;
            out.extend(hs_records(v, spec.hs_modified));
        }
    }
    Ok(out)
}

/// HubSpot candidates for unlinked Salesforce records.
pub async fn hs_candidates(
    hs: &HubspotApi,
    spec: &PairSpec,
    sobject: &str,
    properties: &[String],
    sf: &[&SfRecord],
) -> Result<Vec<HsRecord>, ApiError> {
    let mut out = Vec::new();
    let ext: Vec<String> = sf
        .iter()
        .filter_map(|r| r.field(SF_EXTERNAL_ID))
        .filter(|id| id.chars().all(|c| c.is_ascii_digit()))
        .map(String::from)
        .collect();
    if !ext.is_empty() {
        out.extend(hs_by_ids(hs, spec, properties, &ext, None).await?);
    }
    let id_prop = spec.hs_id_property(sobject);
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    match spec.name {
        "contact" => {
            let emails: Vec<String> = sf
                .iter()
                .filter_map(|r| r.field("Email"))
                .map(str::to_lowercase)
                .collect();
            if !emails.is_empty() {
                out.extend(hs_by_ids(hs, spec, properties, &emails, Some("email")).await?);
            }
            // Records without an email can only be found by the id we stamped on create.
            let no_email: Vec<String> = sf
                .iter()
                .filter(|r| r.field("Email").is_none())
                .map(|r| r.id.clone())
                .collect();
            if !no_email.is_empty() {
                groups.push((id_prop, no_email));
            }
        }
        "company" => {
            groups.push((id_prop, sf.iter().map(|r| r.id.clone()).collect()));
            let domains: Vec<String> = sf
                .iter()
                .filter_map(|r| r.field("Website").and_then(domain_of))
                .collect();
            if !domains.is_empty() {
                groups.push(("domain", domains));
            }
            let names: Vec<String> = sf
                .iter()
                .filter_map(|r| r.field("Name"))
                .map(String::from)
                .collect();
            if !names.is_empty() {
                groups.push(("name", names));
            }
        }
        _ => groups.push((id_prop, sf.iter().map(|r| r.id.clone()).collect())),
    }
    out.extend(hs_search_any(hs, spec, properties, &groups).await?);
    let mut seen = BTreeSet::new();
    out.retain(|r| seen.insert(r.id.clone()));
    Ok(out)
}

/// The best HubSpot candidates for a Salesforce record, best first.
pub fn best_hs_match<'a>(
    spec: &PairSpec,
    sf: &SfRecord,
    candidates: &'a [HsRecord],
) -> Vec<&'a HsRecord> {
    let id_prop = spec.hs_id_property(&sf.sobject);
    let mut out: Vec<&HsRecord> = candidates
        .iter()
        .filter(|c| {
            sf.field(SF_EXTERNAL_ID) == Some(c.id.as_str())
                || c.prop(id_prop) == Some(sf.id.as_str())
        })
        .collect();
    let mut push = |c: &'a HsRecord| {
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    };
    match spec.name {
        "contact" => {
            if let Some(email) = sf.field("Email").map(str::to_lowercase) {
                candidates
                    .iter()
                    .filter(|c| {
                        c.prop("email").map(str::to_lowercase).as_deref() == Some(email.as_str())
                    })
                    .for_each(&mut push);
            }
        }
        "company" => {
            if let Some(d) = sf.field("Website").and_then(domain_of) {
                candidates
                    .iter()
                    .filter(|c| c.prop("domain").and_then(domain_of).as_deref() == Some(d.as_str()))
                    .for_each(&mut push);
            }
            if let Some(n) = sf.field("Name").map(str::to_lowercase) {
                candidates
                    .iter()
                    .filter(|c| {
                        c.prop("name").map(str::to_lowercase).as_deref() == Some(n.as_str())
                    })
                    .for_each(&mut push);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_come_from_urls_and_bare_hosts() {
        assert_eq!(
            domain_of("https://www.Example.com/about").as_deref(),
            Some("example.com")
        );
        assert_eq!(domain_of("example.com").as_deref(), Some("example.com"));
        assert_eq!(domain_of("http://"), None);
    }

    #[test]
    fn the_external_id_beats_the_email_and_each_candidate_appears_once() {
        let spec = PairSpec::get("contact").unwrap();
        let hs = HsRecord::from_json(
            json!({"id": "5", "properties": {"email": "A@x.example"}}),
            "x",
        )
        .unwrap();
        let by_email =
            SfRecord::from_json(json!({"Id": "003A", "Email": "a@x.example"}), "Contact").unwrap();
        let by_ext = SfRecord::from_json(
            json!({"Id": "00QB", "Email": "a@x.example", "HubSpot_Id__c": "5"}),
            "Lead",
        )
        .unwrap();
        let cands = vec![by_email, by_ext];
        let best = best_sf_match(spec, &hs, &cands);
        let ids: Vec<&str> = best.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["00QB", "003A"]);
    }
}
