//! hubforce's Bulk API 2.0 client against the simulator: an upsert job's rows come back as
//! links and classified errors, a query job's pages as records, every request one call.

mod common;

use hubforce::api::hubspot::ItemResult;
use hubforce::api::salesforce_bulk::BulkOperation;
use hubforce::error::ErrorClass;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_job_links_each_row_by_its_key_and_classifies_the_failures() {
    let c = common::connected("bulk-ingest").await;
    let sf = c.session.salesforce().expect("salesforce");
    let header = s(&["HubSpot_Id__c", "LastName", "Company", "Email"]);
    let rows = vec![
        s(&["901", "Rivera, Ana", "Acme", "ana@bulk.example"]),
        s(&["902", "Okafor", "Acme", "obi@bulk.example"]),
        s(&["903", "", "Acme", "nobody@bulk.example"]),
    ];
    let before = c.control_get("/stats").await["requests"]["salesforce"]["total"]
        .as_u64()
        .unwrap_or(0);
    let out = sf
        .bulk_ingest(
            BulkOperation::Upsert,
            "Lead",
            "HubSpot_Id__c",
            (&header, &rows),
        )
        .await
        .expect("the job runs");
    let calls = c.control_get("/stats").await["requests"]["salesforce"]["total"]
        .as_u64()
        .unwrap_or(0)
        - before;
    assert_eq!(out.len(), 3);
    for key in ["901", "902"] {
        match &out[key] {
            ItemResult::Ok(v) => {
                assert!(v["id"].as_str().unwrap().starts_with("00Q"), "{v}");
                assert_eq!(v["created"], true);
            }
            ItemResult::Failed(e) => panic!("{key}: {e}"),
        }
    }
    match &out["903"] {
        ItemResult::Failed(e) => {
            assert_eq!(e.class, ErrorClass::Validation, "{e}");
            assert_eq!(e.code.as_deref(), Some("REQUIRED_FIELD_MISSING"));
        }
        ItemResult::Ok(v) => panic!("903 should fail: {v}"),
    }
    // Create, upload, close, two polls, two result files.
    assert_eq!(calls, 7, "{calls} calls for one job");
    // The same keys again update.
    let again = sf
        .bulk_ingest(
            BulkOperation::Upsert,
            "Lead",
            "HubSpot_Id__c",
            (&s(&["HubSpot_Id__c", "Title"]), &[s(&["901", "CFO"])]),
        )
        .await
        .expect("the job runs");
    assert!(matches!(&again["901"], ItemResult::Ok(v) if v["created"] == false));
    // A query job brings them back.
    let mut got = Vec::new();
    let n = sf
        .bulk_query(
            "SELECT Id, HubSpot_Id__c, Title FROM Lead WHERE HubSpot_Id__c != null",
            false,
            |page| got.extend(page),
        )
        .await
        .expect("the query runs");
    assert_eq!(n, 2);
    let ana = got
        .iter()
        .find(|r| r["HubSpot_Id__c"] == "901")
        .expect("901 is there");
    assert_eq!(ana["Title"], "CFO");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_org_refuses_is_an_error_with_salesforces_code() {
    let c = common::connected("bulk-refused").await;
    let sf = c.session.salesforce().expect("salesforce");
    let e = sf
        .bulk_ingest(
            BulkOperation::Insert,
            "Widget",
            "Id",
            (&s(&["Name"]), &[s(&["x"])]),
        )
        .await
        .expect_err("no such object");
    assert_eq!(e.code.as_deref(), Some("INVALIDENTITY"), "{e}");
    let e = sf
        .bulk_query("SELECT Nope FROM Lead", false, |_| {})
        .await
        .expect_err("no such field");
    assert_eq!(e.code.as_deref(), Some("INVALID_FIELD"), "{e}");
}
