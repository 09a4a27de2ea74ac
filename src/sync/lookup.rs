//! Batched look-ups on either side: records by id, and the candidates an unlinked record
//! may match (by the ids each side keeps of the other, email, website domain or name).
//! Each helper costs one call per chunk of records, never one per record.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::pair_decl::MatchDecl;
use super::pairs::PairSpec;
use super::pull::soql_string;
use super::records::{HsRecord, SfRecord};
use crate::api::hubspot::{HubspotApi, page};
use crate::api::salesforce::{SalesforceApi, query_answer};
use crate::error::ApiError;

/// The longest SOQL statement sent in a query's URL: a URI and its headers may hold 16 KB
/// (Salesforce advises 2,000 characters of URI). A longer one goes in a Composite body.
const SOQL_IN_URL: usize = 4_000;
/// The longest SOQL statement sent at all: Salesforce takes 100,000 characters, and in a
/// Composite request's body the URI limit does not apply (Salesforce's own advice for long
/// queries).
const SOQL_MAX: usize = 90_000;
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

/// Salesforce records by id: as many to a query as a statement holds, up to five queries
/// to a call.
pub async fn sf_by_ids(
    sf: &SalesforceApi,
    sobject: &str,
    fields: &[String],
    ids: &[String],
) -> Result<Vec<SfRecord>, ApiError> {
    let ids = unique(ids.iter().cloned());
    let soql = |chunk: &[String]| {
        format!(
            "SELECT {} FROM {sobject} WHERE Id IN ({})",
            fields.join(", "),
            in_list(chunk)
        )
    };
    let queries = fitted(&ids, usize::MAX, &soql)
        .into_iter()
        .map(|q| (sobject, q))
        .collect::<Vec<_>>();
    query_all(sf, &queries).await
}

/// The statements of `records` in chunks of at most `most`, a chunk halved until its
/// statement fits in `SOQL_MAX`.
fn fitted<R>(records: &[R], most: usize, soql: &impl Fn(&[R]) -> String) -> Vec<String> {
    fn fit<R>(chunk: &[R], soql: &impl Fn(&[R]) -> String, out: &mut Vec<String>) {
        let statement = soql(chunk);
        if statement.len() <= SOQL_MAX || chunk.len() < 2 {
            out.push(statement);
            return;
        }
        let (a, b) = chunk.split_at(chunk.len() / 2);
        fit(a, soql, out);
        fit(b, soql, out);
    }
    let mut out = Vec::new();
    for chunk in records.chunks(most.max(1)) {
        fit(chunk, soql, &mut out);
    }
    out
}

/// The records of `queries` (sObject, SOQL): up to five to a Composite call, the calls
/// sent together.
async fn query_all(
    sf: &SalesforceApi,
    queries: &[(&str, String)],
) -> Result<Vec<SfRecord>, ApiError> {
    let calls = queries
        .chunks(COMPOSITE_QUERIES)
        .map(|group| query_group(sf, group));
    crate::api::all_concat(calls).await
}

/// The SOQL that finds the Salesforce records of `sobject` that `hs` records may match:
/// by the HubSpot id the sObject keeps, and by the pair's declared match.
fn candidate_soql(
    spec: &PairSpec,
    sobject: &str,
    fields: &[String],
    chunk: &[&HsRecord],
) -> String {
    let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
    let mut ors = vec![format!("{} IN ({})", spec.sf_hubspot_id(), in_list(&ids))];
    let values = |prop: &str, f: fn(&str) -> Option<String>| {
        unique(chunk.iter().filter_map(|r| r.prop(prop)).filter_map(f))
    };
    let mut any_of = |field: &str, values: Vec<String>| {
        if !values.is_empty() {
            ors.push(format!("{field} IN ({})", in_list(&values)));
        }
    };
    match spec.matching() {
        MatchDecl::Email => any_of("Email", values("email", |v| Some(v.to_lowercase()))),
        MatchDecl::DomainThenName => {
            any_of("Name", values("name", |v| Some(v.to_string())));
            for d in values("domain", domain_of) {
                ors.push(format!("Website LIKE {}", soql_string(&format!("%{d}%"))));
            }
        }
        MatchDecl::ExternalId {
            salesforce,
            hubspot,
        } => match hubspot {
            None => any_of(salesforce, ids.clone()),
            Some(p) => any_of(salesforce, values(p, |v| Some(v.to_string()))),
        },
        MatchDecl::Fields { fields } => {
            for r in chunk {
                let all: Option<Vec<String>> = fields
                    .iter()
                    .map(|f| {
                        let v = r.prop(&f.hubspot)?;
                        Some(format!("{} = {}", f.salesforce, soql_string(v)))
                    })
                    .collect();
                if let Some(all) = all {
                    ors.push(format!("({})", all.join(" AND ")));
                }
            }
        }
        MatchDecl::Ids => {}
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
    // A match by fields or domain brings a clause per record; by ids or email, a value
    // in an IN list, as many as a statement holds.
    let most = if matches!(
        spec.matching(),
        MatchDecl::DomainThenName | MatchDecl::Fields { .. }
    ) {
        COMPANY_CHUNK
    } else {
        usize::MAX
    };
    // Each sObject's queries, in the order given; up to five queries share a Composite
    // call (Salesforce's cap on query subrequests), so a batch of 2,500 people costs one.
    let queries: Vec<(&str, String)> = targets
        .iter()
        .flat_map(|(sobject, fields)| {
            let soql = |chunk: &[&HsRecord]| candidate_soql(spec, sobject, fields, chunk);
            fitted(hs, most, &soql)
                .into_iter()
                .map(move |q| (*sobject, q))
        })
        .collect();
    query_all(sf, &queries).await
}

/// Query subrequests one Composite request may hold.
const COMPOSITE_QUERIES: usize = 5;

/// The records of a few queries: one query call, or one Composite call of them.
async fn query_group(
    sf: &SalesforceApi,
    queries: &[(&str, String)],
) -> Result<Vec<SfRecord>, ApiError> {
    let mut out = Vec::new();
    if let [(sobject, soql)] = queries
        && soql.len() <= SOQL_IN_URL
    {
        out.extend(soql_records(sf, sobject, soql).await?);
        return Ok(out);
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
            // Never read as "no candidates": a short query is asked again on its own (its
            // answer carries a classified error, or is retried as garbage); a long one's
            // failure is classified as it stands.
            if soql.len() <= SOQL_IN_URL {
                out.extend(soql_records(sf, sobject, soql).await?);
                continue;
            }
            let failed = r.map(|r| r.take()).unwrap_or_default();
            return Err(SalesforceApi::subrequest_error(&failed));
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
    Ok(out)
}

/// Do a HubSpot record and a Salesforce record agree on the pair's declared match?
/// `domain_then_name` is two rules: `by_domain` asks for the first.
fn same_key(spec: &PairSpec, hs: &HsRecord, sf: &SfRecord, by_domain: bool) -> bool {
    let eq = |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(a), Some(b)) if !a.is_empty() && a.trim().eq_ignore_ascii_case(b.trim()));
    match spec.matching() {
        MatchDecl::Email => eq(hs.prop("email"), sf.field("Email")),
        MatchDecl::DomainThenName if by_domain => {
            let d = hs.prop("domain").and_then(domain_of);
            d.is_some() && d == sf.field("Website").and_then(domain_of)
        }
        MatchDecl::DomainThenName => eq(hs.prop("name"), sf.field("Name")),
        MatchDecl::ExternalId {
            salesforce,
            hubspot,
        } => match hubspot {
            None => sf.field(salesforce) == Some(hs.id.as_str()),
            Some(p) => {
                matches!((hs.prop(p), sf.field(salesforce)), (Some(a), Some(b)) if !a.is_empty() && a == b)
            }
        },
        MatchDecl::Fields { fields } => fields
            .iter()
            .all(|f| eq(hs.prop(&f.hubspot), sf.field(&f.salesforce))),
        MatchDecl::Ids => false,
    }
}

/// A match key as text, for the claims of gathered creates (`gather.rs`): the values
/// [`same_key`] compares, normalised the way it compares them.
fn claim(kind: &str, value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    (!v.is_empty()).then(|| format!("{kind}:{}", v.to_ascii_lowercase()))
}

/// The match keys of a HubSpot record: what a Salesforce record it would match has.
pub fn hs_claim_keys(spec: &PairSpec, hs: &HsRecord) -> Vec<String> {
    claim_keys(spec, |p| hs.prop(p), true)
}

/// The match keys of a Salesforce record to be created with `fields`.
pub fn sf_claim_keys(spec: &PairSpec, fields: &serde_json::Map<String, Value>) -> Vec<String> {
    claim_keys(spec, |f| fields.get(f).and_then(Value::as_str), false)
}

/// [`same_key`]'s values on one side (`hubspot`: the HubSpot side's names) as keys.
fn claim_keys<'r>(
    spec: &PairSpec,
    value: impl Fn(&str) -> Option<&'r str>,
    hubspot: bool,
) -> Vec<String> {
    let side = |hs: &str, sf: &str| if hubspot { value(hs) } else { value(sf) };
    let keys = match spec.matching() {
        MatchDecl::Email => vec![claim("email", side("email", "Email"))],
        MatchDecl::DomainThenName => {
            let domain = side("domain", "Website").and_then(domain_of);
            vec![
                claim("domain", domain.as_deref()),
                claim("name", side("name", "Name")),
            ]
        }
        MatchDecl::ExternalId {
            salesforce,
            hubspot: Some(p),
        } => vec![claim("external", side(p, salesforce))],
        MatchDecl::Fields { fields } => {
            let values: Option<Vec<&str>> = fields
                .iter()
                .map(|f| side(&f.hubspot, &f.salesforce).filter(|v| !v.trim().is_empty()))
                .collect();
            vec![values.and_then(|v| claim("fields", Some(&v.join("\u{1f}"))))]
        }
        MatchDecl::ExternalId { hubspot: None, .. } | MatchDecl::Ids => Vec::new(),
    };
    keys.into_iter().flatten().collect()
}

/// The match rules in order: a domain before a name; one rule for the others.
fn match_rules(spec: &PairSpec) -> &'static [bool] {
    match spec.matching() {
        MatchDecl::DomainThenName => &[true, false],
        MatchDecl::Ids => &[],
        _ => &[false],
    }
}

/// The best candidate for a HubSpot record among Salesforce records, by rule order: the
/// HubSpot id the Salesforce record keeps, then the pair's declared match.
pub fn best_sf_match<'a>(
    spec: &PairSpec,
    hs: &HsRecord,
    candidates: &'a [SfRecord],
) -> Vec<&'a SfRecord> {
    let mut out: Vec<&SfRecord> = candidates
        .iter()
        .filter(|c| c.field(spec.sf_hubspot_id()) == Some(hs.id.as_str()))
        .collect();
    for &by_domain in match_rules(spec) {
        for c in candidates {
            if same_key(spec, hs, c, by_domain) && !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
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

/// A batch read's failure for some inputs other than "not found" (a 207 with an error in
/// the answer): those records were not read, which says nothing of whether they exist. The
/// read fails as a whole, to be retried; left out, they would be taken for deleted.
fn unread(v: &Value) -> Option<ApiError> {
    let e = v["errors"]
        .as_array()?
        .iter()
        .find(|e| e["category"].as_str() != Some("OBJECT_NOT_FOUND"))?;
    let code = e["category"].as_str().unwrap_or("UNKNOWN");
    let message = e["message"].as_str().unwrap_or("some inputs were not read");
    Some(
        ApiError::new(
            crate::error::Provider::Hubspot,
            crate::error::ErrorClass::Transient,
            format!("a batch read left some records unread: {message}"),
        )
        .with_code(code),
    )
}

/// HubSpot records by id (or by a unique property such as `email`).
pub async fn hs_by_ids(
    hs: &HubspotApi,
    spec: &PairSpec,
    properties: &[String],
    ids: &[String],
    id_property: Option<&str>,
) -> Result<Vec<HsRecord>, ApiError> {
    let ids = unique(ids.iter().cloned());
    let calls = ids
        .chunks(crate::api::hubspot::BATCH_MAX)
        .map(|chunk| async move {
            let mut body = json!({
                "properties": properties,
                "inputs": chunk.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            });
            if let Some(p) = id_property {
                body["idProperty"] = json!(p);
            }
            let path = format!("/crm/v3/objects/{}/batch/read", spec.hs_object);
            let v = hs.call(Method::POST, &path, Some(body), page).await?;
            if let Some(e) = unread(&v) {
                return Err(e);
            }
            Ok(hs_records(v, spec.hs_modified))
        });
    crate::api::all_concat(calls).await
}

/// HubSpot records where any of `(property, values)` matches (one search per chunk).
pub async fn hs_search_any(
    hs: &HubspotApi,
    spec: &PairSpec,
    properties: &[String],
    groups: &[(&str, Vec<String>)],
) -> Result<Vec<HsRecord>, ApiError> {
    let searches: Vec<(&str, Vec<String>)> = groups
        .iter()
        .flat_map(|(prop, values)| {
            let values = unique(values.iter().cloned());
            let chunks: Vec<Vec<String>> = values.chunks(HS_IN_CHUNK).map(<[_]>::to_vec).collect();
            chunks.into_iter().map(move |c| (*prop, c))
        })
        .collect();
    let calls = searches.iter().map(|(prop, chunk)| async move {
        let body = json!({
            "filterGroups": [{"filters": [{"propertyName": prop, "operator": "IN", "values": chunk}]}],
            "properties": properties,
            "limit": 200,
        });
        let path = format!("/crm/v3/objects/{}/search", spec.hs_object);
        let v = hs.call(Method::POST, &path, Some(body), page).await?;
        Ok(hs_records(v, spec.hs_modified))
    });
    crate::api::all_concat(calls).await
}

/// What to look HubSpot records up by, for unlinked Salesforce records.
struct HsLookups<'s> {
    /// HubSpot ids (kept by the Salesforce records).
    by_id: Vec<String>,
    /// Emails, read by `idProperty=email` (HubSpot contacts).
    by_email: Vec<String>,
    /// (property, values) searches.
    groups: Vec<(&'s str, Vec<String>)>,
}

fn hs_lookups<'s>(spec: &'s PairSpec, sobject: &str, sf: &[&SfRecord]) -> HsLookups<'s> {
    let numeric = |id: &str| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
    let values = |field: &str| -> Vec<String> {
        sf.iter()
            .filter_map(|r| r.field(field))
            .map(String::from)
            .collect()
    };
    let mut out = HsLookups {
        by_id: values(spec.sf_hubspot_id())
            .into_iter()
            .filter(|v| numeric(v))
            .collect(),
        by_email: Vec::new(),
        groups: Vec::new(),
    };
    let id_prop = spec.hs_id_property(sobject);
    let all_ids: Vec<String> = sf.iter().map(|r| r.id.clone()).collect();
    match spec.matching() {
        MatchDecl::Email if spec.is_hubspot_contacts() => {
            out.by_email = values("Email").iter().map(|e| e.to_lowercase()).collect();
            // Records without an email can only be found by the id we stamped on create.
            let no_email: Vec<String> = sf
                .iter()
                .filter(|r| r.field("Email").is_none())
                .map(|r| r.id.clone())
                .collect();
            out.groups.push((id_prop, no_email));
        }
        MatchDecl::Email => out
            .groups
            .extend([(id_prop, all_ids), ("email", values("Email"))]),
        MatchDecl::DomainThenName => {
            let domains = sf
                .iter()
                .filter_map(|r| r.field("Website").and_then(domain_of))
                .collect();
            out.groups.extend([
                (id_prop, all_ids),
                ("domain", domains),
                ("name", values("Name")),
            ]);
        }
        MatchDecl::ExternalId {
            salesforce,
            hubspot,
        } => {
            out.groups.push((id_prop, all_ids));
            match hubspot {
                None => out
                    .by_id
                    .extend(values(salesforce).into_iter().filter(|v| numeric(v))),
                Some(p) => out.groups.push((p.as_str(), values(salesforce))),
            }
        }
        // Searched by the first field; the others are compared when choosing.
        MatchDecl::Fields { fields } => {
            out.groups.push((id_prop, all_ids));
            if let Some(f) = fields.first() {
                out.groups.push((f.hubspot.as_str(), values(&f.salesforce)));
            }
        }
        MatchDecl::Ids => out.groups.push((id_prop, all_ids)),
    }
    out.groups.retain(|(_, v)| !v.is_empty());
    out
}

/// HubSpot candidates for unlinked Salesforce records: by the HubSpot id a record keeps,
/// the Salesforce id a HubSpot record keeps, and the pair's declared match.
pub async fn hs_candidates(
    hs: &HubspotApi,
    spec: &PairSpec,
    sobject: &str,
    properties: &[String],
    sf: &[&SfRecord],
) -> Result<Vec<HsRecord>, ApiError> {
    let keys = hs_lookups(spec, sobject, sf);
    let mut out = Vec::new();
    if !keys.by_id.is_empty() {
        out.extend(hs_by_ids(hs, spec, properties, &keys.by_id, None).await?);
    }
    if !keys.by_email.is_empty() {
        out.extend(hs_by_ids(hs, spec, properties, &keys.by_email, Some("email")).await?);
    }
    out.extend(hs_search_any(hs, spec, properties, &keys.groups).await?);
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
            sf.field(spec.sf_hubspot_id()) == Some(c.id.as_str())
                || c.prop(id_prop) == Some(sf.id.as_str())
        })
        .collect();
    for &by_domain in match_rules(spec) {
        for c in candidates {
            if same_key(spec, c, sf, by_domain) && !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_read_that_left_records_unread_fails_but_not_found_is_an_answer() {
        let gone = json!({"results": [], "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some CONTACT objects", "context": {"ids": ["7"]}}]});
        assert!(unread(&gone).is_none());
        let locked = json!({"results": [], "errors": [{"status": "error", "category": "INTERNAL_ERROR",
            "message": "An error occurred while processing this input", "context": {"ids": ["8"]}}]});
        let e = unread(&locked).expect("an error");
        assert_eq!(e.class, crate::error::ErrorClass::Transient);
        assert_eq!(e.code.as_deref(), Some("INTERNAL_ERROR"));
        assert!(unread(&json!({"results": []})).is_none());
    }

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
        let spec = &PairSpec::test("contact");
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

    #[test]
    fn statements_hold_as_many_values_as_fit_and_no_more() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("00Q{i:015}")).collect();
        let soql =
            |chunk: &[String]| format!("SELECT Id FROM Lead WHERE Id IN ({})", in_list(chunk));
        let statements = fitted(&ids, usize::MAX, &soql);
        assert!(statements.iter().all(|s| s.len() <= SOQL_MAX));
        // 10,000 ids of 22 characters each: halved twice to fit, four statements where
        // chunks of 200 made fifty.
        assert_eq!(statements.len(), 4);
        let joined = statements.join(" ");
        assert!(ids.iter().all(|id| joined.contains(id.as_str())));
        assert_eq!(
            fitted(&ids[..120], 50, &soql).len(),
            3,
            "at most 50 a chunk"
        );
    }

    #[test]
    fn a_record_and_the_create_it_would_match_claim_the_same_keys() {
        let contact = PairSpec::test("contact");
        let h = hs("5", json!({"email": " Ann@X.example"}));
        let lead = json!({"Email": "ann@x.example", "LastName": "Ng"});
        assert_eq!(hs_claim_keys(&contact, &h), ["email:ann@x.example"]);
        assert_eq!(
            sf_claim_keys(&contact, lead.as_object().unwrap()),
            ["email:ann@x.example"]
        );
        assert!(hs_claim_keys(&contact, &hs("6", json!({}))).is_empty());
        let company = PairSpec::test("company");
        let c = hs("9", json!({"domain": "acme.example", "name": "Acme"}));
        let account = json!({"Website": "https://www.acme.example/", "Name": "ACME"});
        assert_eq!(
            hs_claim_keys(&company, &c),
            sf_claim_keys(&company, account.as_object().unwrap())
        );
    }

    fn declared(decl: serde_json::Value) -> PairSpec {
        let parsed =
            crate::sync::pair_decl::parse(&json!({ "sub": decl })).expect("the declaration parses");
        PairSpec::new("sub", parsed["sub"].clone())
    }

    fn hs(id: &str, props: serde_json::Value) -> HsRecord {
        HsRecord::from_json(json!({"id": id, "properties": props}), "x").unwrap()
    }

    fn sf(id: &str, fields: serde_json::Value) -> SfRecord {
        let mut v = fields;
        v["Id"] = json!(id);
        SfRecord::from_json(v, "Subscription__c").unwrap()
    }

    #[test]
    fn a_shared_key_matches_both_ways_and_asks_for_its_values() {
        let spec = declared(json!({
            "hubspot": {"object": "p1_subscriptions"},
            "salesforce": {"objects": ["Subscription__c"]},
            "match": {"by": "external_id", "salesforce": "Key__c", "hubspot": "key"},
        }));
        let h = hs("7", json!({"key": "SUB-1"}));
        let other = sf("a01A", json!({"Key__c": "SUB-2"}));
        let same = sf("a01B", json!({"Key__c": "SUB-1"}));
        let cands = vec![other.clone(), same.clone()];
        let best: Vec<&str> = best_sf_match(&spec, &h, &cands)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(best, ["a01B"]);
        let hs_cands = vec![hs("8", json!({"key": "SUB-2"})), h.clone()];
        let back: Vec<&str> = best_hs_match(&spec, &same, &hs_cands)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(back, ["7"]);
        let soql = candidate_soql(&spec, "Subscription__c", &["Id".into()], &[&h]);
        assert!(soql.contains("Key__c IN ('SUB-1')"), "{soql}");
        let keys = hs_lookups(&spec, "Subscription__c", &[&same]);
        assert!(
            keys.groups
                .iter()
                .any(|(p, v)| *p == "key" && v == &["SUB-1".to_string()])
        );
        assert!(keys.by_email.is_empty());
    }

    #[test]
    fn a_match_by_fields_needs_every_field_equal() {
        let spec = declared(json!({
            "hubspot": {"object": "p1_subscriptions"},
            "salesforce": {"objects": ["Subscription__c"]},
            "match": {"by": "fields", "fields": [
                {"hubspot": "name", "salesforce": "Name"}, {"hubspot": "plan", "salesforce": "Plan__c"}]},
        }));
        let h = hs("7", json!({"name": "Acme", "plan": "Pro"}));
        let cands = vec![
            sf("a01A", json!({"Name": "acme", "Plan__c": "Basic"})),
            sf("a01B", json!({"Name": "ACME ", "Plan__c": "pro"})),
        ];
        let best: Vec<&str> = best_sf_match(&spec, &h, &cands)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(best, ["a01B"]);
        let soql = candidate_soql(&spec, "Subscription__c", &["Id".into()], &[&h]);
        assert!(
            soql.contains("(Name = 'Acme' AND Plan__c = 'Pro')"),
            "{soql}"
        );
    }

    #[test]
    fn a_pair_matched_only_by_ids_has_no_other_candidates() {
        let spec = declared(json!({
            "hubspot": {"object": "tickets"},
            "salesforce": {"objects": ["Case"], "where": "IsClosed = false"},
            "match": {"by": "ids"},
        }));
        let h = hs("7", json!({"subject": "Broken"}));
        let soql = candidate_soql(&spec, "Case", &["Id".into()], &[&h]);
        assert_eq!(
            soql,
            "SELECT Id FROM Case WHERE (HubSpot_Id__c IN ('7')) AND IsClosed = false"
        );
    }
}
