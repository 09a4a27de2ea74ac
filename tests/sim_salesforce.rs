//! The simulator's Salesforce side against the documented behaviour (reference/salesforce-api.md).

mod common;

use common::{Fixture, error_code, json, small_config, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn connected() -> (Fixture, String) {
    let f = start(small_config()).await;
    let (t, _, _) = f.sf_connect().await;
    (f, t)
}

#[tokio::test]
async fn the_code_flow_returns_salesforce_token_fields_and_no_expires_in() {
    let f = start(small_config()).await;
    let (access, refresh, instance) = f.sf_connect().await;
    assert_eq!(instance, f.info.salesforce.instance_url);
    assert_ne!(
        instance, f.info.salesforce.login_url,
        "data calls go to instance_url, not the login host"
    );
    assert!(access.starts_with("00D") && access.contains('!'));
    assert!(!refresh.is_empty());
    // Refresh: new access token, no refresh token unless rotation is on, still no expires_in.
    let sf = &f.info.salesforce;
    let (s, v) = f
        .sf_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &sf.client_id),
            ("client_secret", &sf.client_secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for k in [
        "access_token",
        "instance_url",
        "id",
        "issued_at",
        "signature",
        "token_type",
        "scope",
    ] {
        assert!(v[k].is_string(), "{k} in {v}");
    }
    assert!(v.get("expires_in").is_none());
    assert!(v.get("refresh_token").is_none());
    assert!(
        v["issued_at"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000_000,
        "epoch milliseconds"
    );
    // The identity URL and userinfo answer with the session.
    let t = v["access_token"].as_str().unwrap();
    let r = f
        .http
        .get(v["id"].as_str().unwrap())
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    let (s, id) = json(r).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(id["username"], sf.username);
    let r = f
        .http
        .get(format!("{}/services/oauth2/userinfo", sf.login_url))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await.1["preferred_username"], sf.username);
}

#[tokio::test]
async fn pkce_and_client_errors_use_the_oauth_error_codes() {
    let f = start(small_config()).await;
    let sf = f.info.salesforce.clone();
    let authorize = |challenge: &str| {
        let mut u =
            url::Url::parse(&format!("{}/services/oauth2/authorize", sf.login_url)).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &sf.client_id)
            .append_pair("redirect_uri", &sf.redirect_uri)
            .append_pair("code_challenge", challenge);
        u
    };
    let r = f.http.get(authorize("abc")).send().await.unwrap();
    let code = common::param(r.headers()["location"].to_str().unwrap(), "code").unwrap();
    let (s, v) = f
        .sf_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &sf.client_id),
            ("client_secret", &sf.client_secret),
            ("redirect_uri", &sf.redirect_uri),
            ("code", &code),
            ("code_verifier", "wrong"),
        ])
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (_, v) = f
        .sf_token(&[
            ("grant_type", "password"),
            ("client_id", "nope"),
            ("client_secret", "x"),
        ])
        .await;
    assert_eq!(
        (v["error"].as_str(), v["error_description"].as_str()),
        (Some("invalid_client_id"), Some("client identifier invalid"))
    );
    let (_, v) = f
        .sf_token(&[
            ("grant_type", "password"),
            ("client_id", &sf.client_id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(v["error"], "invalid_client");
    let r = f
        .http
        .get(authorize("abc").as_str().replace("8976", "1234"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("redirect_uri_mismatch"));
    f.control_post("/settings", json!({"salesforce": {"deny_consent": true}}))
        .await;
    let r = f.http.get(authorize("abc")).send().await.unwrap();
    assert_eq!(
        common::param(r.headers()["location"].to_str().unwrap(), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn the_password_grant_needs_the_security_token_and_gives_no_refresh_token() {
    let f = start(small_config()).await;
    let sf = f.info.salesforce.clone();
    let (s, v) = f
        .sf_token(&[
            ("grant_type", "password"),
            ("client_id", &sf.client_id),
            ("client_secret", &sf.client_secret),
            ("username", &sf.username),
            ("password", &sf.password),
        ])
        .await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authentication failure"))
    );
    let full = format!("{}{}", sf.password, sf.security_token);
    let (s, v) = f
        .sf_token(&[
            ("grant_type", "password"),
            ("client_id", &sf.client_id),
            ("client_secret", &sf.client_secret),
            ("username", &sf.username),
            ("password", &full),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("refresh_token").is_none());
    let (s, stats) = (StatusCode::OK, f.stats().await);
    assert_eq!(s, StatusCode::OK);
    assert_eq!(stats["token_grants"]["salesforce"]["password"], 1);
}

#[tokio::test]
async fn a_sandbox_org_wants_its_sandbox_username_and_says_it_is_a_sandbox() {
    let mut c = small_config();
    c.salesforce.sandbox = true;
    let f = start(c).await;
    let sf = f.info.salesforce.clone();
    assert!(sf.username.ends_with(".uat"));
    let full = format!("{}{}", sf.password, sf.security_token);
    let prod_user = sf.username.trim_end_matches(".uat").to_string();
    let (s, _) = f
        .sf_token(&[
            ("grant_type", "password"),
            ("client_id", &sf.client_id),
            ("client_secret", &sf.client_secret),
            ("username", &prod_user),
            ("password", &full),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (t, _, _) = f.sf_connect().await;
    let (_, v) = f
        .sf_query(&t, "SELECT IsSandbox, OrganizationType FROM Organization")
        .await;
    assert_eq!(v["records"][0]["IsSandbox"], true);
}

#[tokio::test]
async fn rotation_replaces_refresh_tokens_and_replay_kills_the_family() {
    let mut c = small_config();
    c.salesforce.rotate_refresh_tokens = true;
    let f = start(c).await;
    let sf = f.info.salesforce.clone();
    let (_, r1, _) = f.sf_connect().await;
    let grant = |r: String| {
        let sf = sf.clone();
        let f = &f;
        async move {
            f.sf_token(&[
                ("grant_type", "refresh_token"),
                ("client_id", &sf.client_id),
                ("client_secret", &sf.client_secret),
                ("refresh_token", &r),
            ])
            .await
        }
    };
    let (s, v) = grant(r1.clone()).await;
    assert_eq!(s, StatusCode::OK);
    let r2 = v["refresh_token"]
        .as_str()
        .expect("rotated token")
        .to_string();
    assert_ne!(r1, r2);
    let (s, v) = grant(r1).await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("expired access/refresh token")
        )
    );
    let (s, _) = grant(r2).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "replaying a rotated-out token revokes the current one too"
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_are_refused_while_one_is_processed() {
    let mut c = small_config();
    c.salesforce.refresh_processing_ms = 300;
    let f = start(c).await;
    let sf = f.info.salesforce.clone();
    let (_, r, _) = f.sf_connect().await;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", sf.client_id.as_str()),
        ("client_secret", sf.client_secret.as_str()),
        ("refresh_token", r.as_str()),
    ];
    let (a, b) = tokio::join!(f.sf_token(&form), f.sf_token(&form));
    let mut results = [a, b];
    results.sort_by_key(|(s, _)| s.as_u16());
    assert_eq!(results[0].0, StatusCode::OK);
    assert_eq!(
        results[1].1["error_description"],
        "token request is already being processed"
    );
}

#[tokio::test]
async fn sessions_expire_into_invalid_session_id_and_revoke_ends_them() {
    let (f, t) = connected().await;
    assert_eq!(f.sf_get(&t, "/limits").await.0, StatusCode::OK);
    f.control_post("/expire-tokens", json!({"provider": "salesforce"}))
        .await;
    let (s, v) = f.sf_get(&t, "/limits").await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID".into())
    );
    assert_eq!(v[0]["message"], "Session expired or invalid");
    let (t, r, _) = f.sf_connect().await;
    let revoke = f
        .http
        .post(format!(
            "{}/services/oauth2/revoke",
            f.info.salesforce.login_url
        ))
        .form(&[("token", r.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(
        f.sf_get(&t, "/limits").await.0,
        StatusCode::UNAUTHORIZED,
        "revoking the refresh token ends its sessions"
    );
}

#[tokio::test]
async fn versions_need_no_auth_and_carry_no_limit_header_but_calls_do() {
    let (f, t) = connected().await;
    let r = f
        .http
        .get(format!("{}/services/data/", f.info.salesforce.instance_url))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("sforce-limit-info").is_none());
    let versions = json(r).await.1;
    assert!(
        versions
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["version"] == "62.0" && v["label"] == "Winter '25")
    );
    let r = f
        .http
        .get(f.sf_url("/sobjects/Lead/describe"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let info = r.headers()["sforce-limit-info"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        info.starts_with("api-usage=") && info.ends_with("/150000"),
        "{info}"
    );
    let d = json(r).await.1;
    let field = |n: &str| {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(field("LastName")["nillable"], false);
    assert_eq!(field("HubSpot_Id__c")["externalId"], true);
    assert_eq!(field("Status")["restrictedPicklist"], true);
    // A picklist's default is its entry marked defaultValue, as Salesforce describes it.
    assert_eq!(field("Status")["defaultValue"], serde_json::Value::Null);
    assert_eq!(field("Status")["defaultedOnCreate"], true);
    let status = field("Status");
    let defaults: Vec<&serde_json::Value> = status["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["defaultValue"] == true)
        .map(|e| &e["value"])
        .collect();
    assert_eq!(defaults, ["Open - Not Contacted"]);
    assert_eq!(field("IsConverted")["createable"], false);
    assert_eq!(field("Product_Interest__c")["type"], "multipicklist");
    let r = f
        .http
        .get(f.sf_url("/sobjects/Lead/describe"))
        .bearer_auth(&t)
        .header("If-Modified-Since", "Mon, 01 Jun 2026 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn crud_follows_the_documented_status_codes_and_errors() {
    let (f, t) = connected().await;
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Lead/",
            json!({"LastName": "Solo"}),
        )
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING".into())
    );
    assert_eq!(v[0]["fields"], json!(["Company"]));
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Lead/",
            json!({"LastName": "X", "Company": "Y", "Nope__c": 1}),
        )
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "INVALID_FIELD".into())
    );
    let (_, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Lead/",
            json!({"LastName": "X", "Company": "Y", "Status": "Bogus"}),
        )
        .await;
    assert_eq!(error_code(&v), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let (_, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Lead/",
            json!({"LastName": "X", "Company": "Y", "IsConverted": true}),
        )
        .await;
    assert_eq!(error_code(&v), "INVALID_FIELD_FOR_INSERT_UPDATE");
    let (_, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Lead/",
            json!({"LastName": "X", "Company": "Y", "Email": "nope"}),
        )
        .await;
    assert_eq!(error_code(&v), "INVALID_EMAIL_ADDRESS");
    let (_, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Opportunity/",
            json!({"Name": "O", "StageName": "Prospecting", "CloseDate": "2026/01/01"}),
        )
        .await;
    assert_eq!(error_code(&v), "JSON_PARSER_ERROR");
    let (s, v) = f
        .sf_send(&t, Method::POST, "/sobjects/Lead/", json!({"LastName": "Round", "FirstName": "Trip", "Company": "RT", "NumberOfEmployees": 12,
            "AnnualRevenue": 1234.5, "HasOptedOutOfEmail": true, "Product_Interest__c": "Analytics;Support", "Email": "rt@trip.example"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["success"].as_bool(), v["errors"].clone()),
        (Some(true), json!([]))
    );
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 18);
    let (s, rec) = f.sf_get(&t, &format!("/sobjects/Lead/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rec["attributes"]["type"], "Lead");
    assert_eq!(rec["Name"], "Trip Round");
    assert_eq!(rec["NumberOfEmployees"], 12);
    assert_eq!(rec["AnnualRevenue"], 1234.5);
    assert_eq!(rec["HasOptedOutOfEmail"], true);
    assert_eq!(rec["Product_Interest__c"], "Analytics;Support");
    assert_eq!(rec["Phone"], Value::Null);
    assert_eq!(rec["Status"], "Open - Not Contacted", "defaulted on create");
    assert!(rec["SystemModstamp"].as_str().unwrap().ends_with("+0000"));
    let (s, _) = f
        .sf_send(
            &t,
            Method::PATCH,
            &format!("/sobjects/Lead/{id}"),
            json!({"Title": "CTO"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, after) = f
        .sf_get(
            &t,
            &format!("/sobjects/Lead/{id}?fields=Title,SystemModstamp"),
        )
        .await;
    assert_eq!(after["Title"], "CTO");
    assert!(
        after["SystemModstamp"].as_str() > rec["SystemModstamp"].as_str(),
        "SystemModstamp moves on every write"
    );
    assert!(after.get("Company").is_none());
    let r = f
        .http
        .delete(f.sf_url(&format!("/sobjects/Lead/{id}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, v) = f.sf_get(&t, &format!("/sobjects/Lead/{id}")).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::NOT_FOUND, "ENTITY_IS_DELETED".into())
    );
    let (s, v) = f.sf_get(&t, "/sobjects/Lead/00Q5g00000ZZZZZZZZ").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let r = f
        .http
        .post(f.sf_url("/sobjects/Lead/"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR".into())
    );
}

#[tokio::test]
async fn upsert_by_external_id_answers_201_200_204_and_300() {
    let (f, t) = connected().await;
    let path = "/sobjects/Account/HubSpot_Id__c/hs-1";
    let (s, v) = f
        .sf_send(&t, Method::PATCH, path, json!({"Name": "Upserted"}))
        .await;
    assert_eq!(
        (s, v["created"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = f
        .sf_send(&t, Method::PATCH, path, json!({"Name": "Upserted again"}))
        .await;
    assert_eq!(
        (s, v["created"].as_bool(), v["id"].as_str()),
        (StatusCode::OK, Some(false), Some(id.as_str()))
    );
    let old = format!(
        "{}/services/data/v45.0{path}",
        f.info.salesforce.instance_url
    );
    let r = f
        .http
        .patch(old)
        .bearer_auth(&t)
        .json(&json!({"Name": "v45"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Account/",
            json!({"Name": "Dup", "HubSpot_Id__c": "hs-1"}),
        )
        .await;
    assert_eq!(error_code(&v), "DUPLICATE_VALUE");
    // Task's external id is not unique: two matches → 300.
    for _ in 0..2 {
        let (s, _) = f
            .sf_send(
                &t,
                Method::POST,
                "/sobjects/Task/",
                json!({"Subject": "Call", "HubSpot_Id__c": "task-7"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = f
        .sf_send(
            &t,
            Method::PATCH,
            "/sobjects/Task/HubSpot_Id__c/task-7",
            json!({"Subject": "Other"}),
        )
        .await;
    assert_eq!(s, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(v.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn soql_filters_orders_pages_and_counts() {
    let (f, t) = connected().await;
    let (s, v) = f.sf_query(&t, "SELECT COUNT() FROM Lead").await;
    assert_eq!((s, v["totalSize"].as_u64()), (StatusCode::OK, Some(40)));
    let (_, v) = f.sf_query(&t, "SELECT Id, Email, Status FROM Lead WHERE Status IN ('Open - Not Contacted', 'Working - Contacted') AND Email LIKE '%.example' ORDER BY Email DESC LIMIT 5").await;
    let emails: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 5);
    assert!(
        emails
            .windows(2)
            .all(|w| w[0].to_lowercase() >= w[1].to_lowercase())
    );
    let (_, v) = f
        .sf_query(
            &t,
            "SELECT Name, Account.Name, Owner.Email FROM Contact WHERE AccountId != null LIMIT 1",
        )
        .await;
    let rec = &v["records"][0];
    assert_eq!(rec["Account"]["attributes"]["type"], "Account");
    assert!(rec["Account"]["Name"].is_string());
    assert!(rec["Owner"]["Email"].as_str().unwrap().contains('@'));
    let (_, v) = f.sf_query(&t, "SELECT Id FROM Account WHERE CreatedDate < TODAY AND (NOT Name LIKE 'zzz%') AND NumberOfEmployees >= 0").await;
    assert_eq!(v["totalSize"], 10);
    let (_, v) = f
        .sf_query(
            &t,
            "SELECT COUNT(Id) n FROM Opportunity WHERE CloseDate > 2020-01-01",
        )
        .await;
    assert_eq!(v["records"][0]["n"], 10);
    let (_, v) = f
        .sf_query(
            &t,
            "SELECT Id FROM Lead WHERE Product_Interest__c INCLUDES ('Analytics;Integrations')",
        )
        .await;
    assert!(v["totalSize"].as_u64().unwrap() > 0);
    let (_, v) = f
        .sf_query(
            &t,
            "SELECT Id FROM Lead ORDER BY CreatedDate LIMIT 3 OFFSET 2",
        )
        .await;
    assert_eq!(v["records"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_soql_answers_with_the_salesforce_error_codes() {
    let (f, t) = connected().await;
    let (s, v) = f.sf_query(&t, "SELECT Id FRM Lead").await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "MALFORMED_QUERY".into())
    );
    assert!(
        v[0]["message"]
            .as_str()
            .unwrap()
            .contains("ERROR at Row:1:Column:11")
    );
    let (_, v) = f.sf_query(&t, "SELECT Foo FROM Lead").await;
    assert_eq!(error_code(&v), "INVALID_FIELD");
    assert!(
        v[0]["message"]
            .as_str()
            .unwrap()
            .contains("No such column 'Foo' on entity 'Lead'")
    );
    let (_, v) = f.sf_query(&t, "SELECT Id FROM Nope").await;
    assert_eq!(error_code(&v), "INVALID_TYPE");
    let (_, v) = f
        .sf_query(&t, "SELECT Id FROM Lead WHERE CreatedDate > '2020-01-01'")
        .await;
    assert_eq!(error_code(&v), "INVALID_QUERY_FILTER_OPERATOR");
    let (_, v) = f.sf_query(&t, "SELECT Id FROM Lead OFFSET 2001").await;
    assert_eq!(error_code(&v), "NUMBER_OUTSIDE_VALID_RANGE");
}

#[tokio::test]
async fn query_pages_through_next_records_url_and_query_all_sees_deleted_rows() {
    let mut c = small_config();
    c.leads = 450;
    c.contacts = 600;
    let f = start(c).await;
    let (t, _, _) = f.sf_connect().await;
    let r = f
        .http
        .get(f.sf_url("/query"))
        .query(&[("q", "SELECT Id FROM Lead")])
        .header("Sforce-Query-Options", "batchSize=200")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let (_, mut page) = json(r).await;
    let mut ids = Vec::new();
    loop {
        assert_eq!(page["totalSize"], 450);
        ids.extend(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_string()),
        );
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_string();
        let r = f
            .http
            .get(format!("{}{next}", f.info.salesforce.instance_url))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        page = json(r).await.1;
    }
    assert_eq!(ids.len(), 450);
    let id = &ids[0];
    f.http
        .delete(f.sf_url(&format!("/sobjects/Lead/{id}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let q = format!("SELECT Id, IsDeleted FROM Lead WHERE Id = '{id}'");
    assert_eq!(f.sf_query(&t, &q).await.1["totalSize"], 0);
    let r = f
        .http
        .get(f.sf_url("/queryAll"))
        .query(&[("q", q.as_str())])
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let v = json(r).await.1;
    assert_eq!(v["records"][0]["IsDeleted"], true);
    let r = f
        .http
        .get(f.sf_url("/query/01g5g0000000000AAA-200"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(&json(r).await.1), "INVALID_QUERY_LOCATOR");
}

#[tokio::test]
async fn collections_report_per_record_and_all_or_none_rolls_back() {
    let (f, t) = connected().await;
    let records: Vec<Value> = (0..3)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("Coll {i}")}))
        .collect();
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/composite/sobjects",
            json!({"allOrNone": false, "records": records}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.as_array().unwrap().iter().all(|r| r["success"] == true));
    let ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let mixed = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "Ok"},
        {"attributes": {"type": "Contact"}, "FirstName": "NoLast"},
    ]});
    let (_, v) = f
        .sf_send(&t, Method::POST, "/composite/sobjects", mixed.clone())
        .await;
    assert_eq!(v[0]["success"], true);
    assert_eq!(
        v[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING",
        "collections use statusCode: {v}"
    );
    let mut strict = mixed;
    strict["allOrNone"] = json!(true);
    let before = f.sf_query(&t, "SELECT COUNT() FROM Contact").await.1["totalSize"].clone();
    let (_, v) = f
        .sf_send(&t, Method::POST, "/composite/sobjects", strict)
        .await;
    assert_eq!(
        v[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        f.sf_query(&t, "SELECT COUNT() FROM Contact").await.1["totalSize"],
        before,
        "nothing written"
    );
    let updates: Vec<Value> = ids
        .iter()
        .map(|id| json!({"attributes": {"type": "Account"}, "id": id, "Phone": "+1"}))
        .collect();
    let (_, v) = f
        .sf_send(
            &t,
            Method::PATCH,
            "/composite/sobjects",
            json!({"records": updates}),
        )
        .await;
    assert!(
        v.as_array().unwrap().iter().all(|r| r["success"] == true),
        "{v}"
    );
    let r = f
        .http
        .get(f.sf_url(&format!(
            "/composite/sobjects/Account?ids={},001000000000000AAA&fields=Name,Phone",
            ids[0]
        )))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let v = json(r).await.1;
    assert_eq!(
        (v[0]["Phone"].as_str(), v[1].clone()),
        (Some("+1"), Value::Null)
    );
    let ups = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Account"}, "HubSpot_Id__c": "c-1", "Name": "New via upsert"},
        {"attributes": {"type": "Account"}, "HubSpot_Id__c": "c-1", "Name": "Same key again"},
    ]});
    let (s, v) = f
        .sf_send(
            &t,
            Method::PATCH,
            "/composite/sobjects/Account/HubSpot_Id__c",
            ups,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v[0]["created"].as_bool(), v[1]["created"].as_bool()),
        (Some(true), Some(false))
    );
    let r = f
        .http
        .delete(f.sf_url(&format!(
            "/composite/sobjects?ids={}&allOrNone=false",
            ids.join(",")
        )))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert!(
        json(r)
            .await
            .1
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == true)
    );
    let too_many: Vec<Value> = (0..201)
        .map(|_| json!({"attributes": {"type": "Account"}, "Name": "x"}))
        .collect();
    let (s, _) = f
        .sf_send(
            &t,
            Method::POST,
            "/composite/sobjects",
            json!({"records": too_many}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn composite_chains_references_and_counts_as_one_call() {
    let (f, t) = connected().await;
    let before = f.stats().await["api_usage"]["salesforce"]["used"]
        .as_u64()
        .unwrap();
    let v = format!("/services/data/v{}", f.info.salesforce.api_version);
    let body = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("{v}/sobjects/Account"), "referenceId": "acct", "body": {"Name": "Composite Co"}},
        {"method": "POST", "url": format!("{v}/sobjects/Contact"), "referenceId": "ct", "body": {"LastName": "Linked", "AccountId": "@{acct.id}"}},
        {"method": "GET", "url": format!("{v}/sobjects/Contact/@{{ct.id}}?fields=AccountId"), "referenceId": "read"},
    ]});
    let (s, out) = f.sf_send(&t, Method::POST, "/composite", body).await;
    assert_eq!(s, StatusCode::OK);
    let r = out["compositeResponse"].as_array().unwrap();
    assert_eq!(r[0]["httpStatusCode"], 201);
    assert_eq!(r[2]["body"]["AccountId"], r[0]["body"]["id"]);
    let after = f.stats().await["api_usage"]["salesforce"]["used"]
        .as_u64()
        .unwrap();
    assert_eq!(after - before, 1);
    let failing = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("{v}/sobjects/Account"), "referenceId": "a", "body": {"Name": "Rolled back"}},
        {"method": "POST", "url": format!("{v}/sobjects/Account"), "referenceId": "b", "body": {"Nope": 1}},
    ]});
    let (_, out) = f.sf_send(&t, Method::POST, "/composite", failing).await;
    assert_eq!(out["compositeResponse"][0]["httpStatusCode"], 400);
    assert_eq!(
        f.sf_query(&t, "SELECT COUNT() FROM Account WHERE Name = 'Rolled back'")
            .await
            .1["totalSize"],
        0
    );
}

#[tokio::test]
async fn the_duplicate_rule_blocks_same_email_unless_the_header_allows_it() {
    let (f, t) = connected().await;
    let (_, v) = f
        .sf_query(&t, "SELECT Email FROM Lead WHERE Email != null LIMIT 1")
        .await;
    let email = v["records"][0]["Email"].as_str().unwrap().to_string();
    let body = json!({"LastName": "Twin", "Company": "Twin Co", "Email": email});
    let (s, v) = f
        .sf_send(&t, Method::POST, "/sobjects/Lead/", body.clone())
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "DUPLICATES_DETECTED".into())
    );
    assert_eq!(v[0]["duplicateResult"]["allowSave"], false);
    let r = f
        .http
        .post(f.sf_url("/sobjects/Lead/"))
        .bearer_auth(&t)
        .header("Sforce-Duplicate-Rule-Header", "allowSave=true")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    f.control_post(
        "/settings",
        json!({"salesforce": {"duplicate_rule": false}}),
    )
    .await;
    let (s, _) = f.sf_send(&t, Method::POST, "/sobjects/Lead/", body).await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn the_daily_allocation_runs_out_with_403_request_limit_exceeded() {
    let mut c = small_config();
    c.salesforce.daily_api_limit = Some(3);
    let f = start(c).await;
    let (t, _, _) = f.sf_connect().await;
    for i in 1..=3 {
        let r = f
            .http
            .get(f.sf_url("/limits"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["sforce-limit-info"],
            format!("api-usage={i}/3").as_str()
        );
    }
    let (s, v) = f.sf_get(&t, "/limits").await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED".into())
    );
    assert_eq!(v[0]["message"], "TotalRequests Limit exceeded.");
}

#[tokio::test]
async fn get_updated_and_get_deleted_cover_the_window() {
    let (f, t) = connected().await;
    let start_at = chrono::Utc::now() - chrono::Duration::seconds(5);
    let (_, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Account/",
            json!({"Name": "Window"}),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    f.http
        .delete(f.sf_url(&format!("/sobjects/Account/{id}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let (_, v2) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Account/",
            json!({"Name": "Window 2"}),
        )
        .await;
    let end = chrono::Utc::now() + chrono::Duration::seconds(5);
    let q = [("start", start_at.to_rfc3339()), ("end", end.to_rfc3339())];
    let r = f
        .http
        .get(f.sf_url("/sobjects/Account/updated/"))
        .query(&q)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let v = json(r).await.1;
    assert_eq!(v["ids"], json!([v2["id"]]));
    assert!(v["latestDateCovered"].is_string());
    let r = f
        .http
        .get(f.sf_url("/sobjects/Account/deleted/"))
        .query(&q)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let v = json(r).await.1;
    assert_eq!(v["deletedRecords"][0]["id"], id);
}

#[tokio::test]
async fn long_running_requests_beyond_the_concurrency_limit_are_refused() {
    let mut c = small_config();
    c.salesforce.long_request_secs = 0; // every request in flight counts as long-running
    c.salesforce.max_long_requests = 1;
    let f = start(c).await;
    let (t, _, _) = f.sf_connect().await;
    f.control_post("/faults", json!({"provider": "salesforce", "kind": "latency", "route": "/limits", "latency_ms": 500, "count": 1})).await;
    let slow = f.sf_get(&t, "/limits");
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        f.sf_query(&t, "SELECT Id FROM Lead LIMIT 1").await
    };
    let ((s1, _), (s2, v2)) = tokio::join!(slow, second);
    assert_eq!(s1, StatusCode::OK);
    assert_eq!(
        (s2, error_code(&v2)),
        (StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED".into())
    );
    assert!(
        v2[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("ConcurrentPerOrgLongTxn")
    );
    assert_eq!(
        f.sf_query(&t, "SELECT Id FROM Lead LIMIT 1").await.0,
        StatusCode::OK,
        "free again once the slow one ended"
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_org() {
    let read = |f: Fixture| async move {
        let (t, _, _) = f.sf_connect().await;
        f.sf_query(&t, "SELECT Id, Email, Company, Status, Product_Interest__c, CreatedDate FROM Lead ORDER BY Id").await.1["records"].clone()
    };
    let (a, b) = (
        read(start(small_config()).await).await,
        read(start(small_config()).await).await,
    );
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_merge_deletes_the_losers_with_their_master_and_queryall_shows_them() {
    let (f, t) = connected().await;
    let mut ids = Vec::new();
    for (email, phone) in [
        ("master@merge.example", ""),
        ("loser@merge.example", "+1 555 0199"),
    ] {
        let mut body = json!({"LastName": "Merge", "Company": "Merge Co", "Email": email});
        if !phone.is_empty() {
            body["Phone"] = json!(phone);
        }
        let (s, v) = f.sf_send(&t, Method::POST, "/sobjects/Lead", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let s = f
        .control_post("/merge", json!({"master": ids[0], "losers": [ids[1]]}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, live) = f
        .sf_query(
            &t,
            &format!(
                "SELECT Id, Phone FROM Lead WHERE Id IN ('{}', '{}')",
                ids[0], ids[1]
            ),
        )
        .await;
    assert_eq!(live["totalSize"], 1, "{live}");
    assert_eq!(
        live["records"][0]["Phone"], "+1 555 0199",
        "a blank of the master is filled"
    );
    let q = format!(
        "SELECT Id, IsDeleted, MasterRecordId FROM Lead WHERE Id = '{}'",
        ids[1]
    );
    let (s, all) = json(
        f.http
            .get(f.sf_url("/queryAll"))
            .query(&[("q", q.as_str())])
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all["records"][0]["IsDeleted"], true, "{all}");
    assert_eq!(all["records"][0]["MasterRecordId"], json!(ids[0]), "{all}");
    let s = f
        .control_post("/merge", json!({"master": ids[0], "losers": [ids[0]]}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// Rows of a query that must succeed.
async fn rows(f: &Fixture, token: &str, soql: &str) -> (usize, Vec<Value>) {
    let (s, v) = f.sf_query(token, soql).await;
    assert_eq!(s, StatusCode::OK, "{soql}: {v}");
    (
        v["totalSize"].as_u64().unwrap() as usize,
        v["records"].as_array().cloned().unwrap_or_default(),
    )
}

// Queries as open-source integrations write them (the forms of the SOQL reference's
// examples), which a real org answers and the simulator once refused as MALFORMED_QUERY.
#[tokio::test]
async fn soql_answers_subqueries_aggregates_joins_and_date_functions() {
    let (f, t) = connected().await;
    // Parent-to-child: the nested answer, or null for a parent without children.
    let (_, accounts) = rows(
        &f,
        &t,
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account",
    )
    .await;
    let with: Vec<&Value> = accounts
        .iter()
        .filter(|a| !a["Contacts"].is_null())
        .collect();
    assert!(
        !with.is_empty() && with.len() < accounts.len(),
        "some accounts have contacts, some not"
    );
    let nested = &with[0]["Contacts"];
    assert_eq!(nested["done"], true);
    assert_eq!(
        nested["totalSize"].as_u64().unwrap() as usize,
        nested["records"].as_array().unwrap().len()
    );
    assert_eq!(nested["records"][0]["attributes"]["type"], "Contact");
    assert!(
        accounts
            .iter()
            .any(|a| a.get("Contacts") == Some(&Value::Null))
    );

    // Semi-join and anti-join partition the accounts.
    let (all, _) = rows(&f, &t, "SELECT COUNT() FROM Account").await;
    let (inside, _) = rows(
        &f,
        &t,
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
    )
    .await;
    let (outside, _) = rows(
        &f,
        &t,
        "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)",
    )
    .await;
    assert_eq!((inside, inside + outside), (with.len(), all));

    // GROUP BY with unaliased aggregates named expr0…; the groups add up.
    let (_, by_source) = rows(
        &f,
        &t,
        "SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource",
    )
    .await;
    let (leads, _) = rows(&f, &t, "SELECT COUNT() FROM Lead").await;
    assert_eq!(by_source[0]["attributes"]["type"], "AggregateResult");
    let summed: u64 = by_source.iter().map(|g| g["expr0"].as_u64().unwrap()).sum();
    assert_eq!(summed as usize, leads);
    // HAVING and ORDER BY an aggregate, with aliases.
    let (_, big) = rows(
        &f,
        &t,
        "SELECT LeadSource, COUNT(Id) n FROM Lead GROUP BY LeadSource HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    )
    .await;
    let counts: Vec<u64> = big.iter().map(|g| g["n"].as_u64().unwrap()).collect();
    assert!(
        counts.iter().all(|n| *n > 1) && counts.windows(2).all(|w| w[0] >= w[1]),
        "{counts:?}"
    );
    // Aggregates without GROUP BY: one row.
    let (n, one) = rows(
        &f,
        &t,
        "SELECT COUNT(Id) total, COUNT_DISTINCT(LeadSource), MIN(CreatedDate) first, MAX(CreatedDate), SUM(AnnualRevenue), AVG(NumberOfEmployees) FROM Lead",
    )
    .await;
    assert_eq!(n, 1);
    assert_eq!(one[0]["total"].as_u64().unwrap() as usize, leads);
    for key in ["expr0", "first", "expr1", "expr2", "expr3"] {
        assert!(one[0].get(key).is_some(), "{key} in {}", one[0]);
    }
    // Date functions, grouped and in WHERE; every date literal parses and runs.
    let (_, years) = rows(
        &f,
        &t,
        "SELECT CALENDAR_YEAR(CreatedDate), COUNT(Id) FROM Lead GROUP BY CALENDAR_YEAR(CreatedDate) ORDER BY CALENDAR_YEAR(CreatedDate)",
    )
    .await;
    let first_year = years[0]["expr0"].as_i64().unwrap();
    let (in_year, _) = rows(
        &f,
        &t,
        &format!("SELECT COUNT() FROM Lead WHERE CALENDAR_YEAR(CreatedDate) = {first_year}"),
    )
    .await;
    assert_eq!(in_year as u64, years[0]["expr1"].as_u64().unwrap());
    for kw in [
        "THIS_QUARTER",
        "LAST_N_QUARTERS:2",
        "NEXT_FISCAL_YEAR",
        "N_DAYS_AGO:3",
        "LAST_N_YEARS:5",
    ] {
        rows(
            &f,
            &t,
            &format!(
                "SELECT Id FROM Lead WHERE CreatedDate = {kw} WITH SECURITY_ENFORCED FOR VIEW"
            ),
        )
        .await;
    }
    // FIELDS(): ALL and CUSTOM need LIMIT 200 at most, as documented.
    let (s, v) = f.sf_query(&t, "SELECT FIELDS(ALL) FROM Lead").await;
    assert_eq!(
        (s, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "MALFORMED_QUERY")
    );
    assert!(
        v[0]["message"]
            .as_str()
            .unwrap()
            .contains("LIMIT of at most 200"),
        "{v}"
    );
    let (_, all_fields) = rows(&f, &t, "SELECT FIELDS(ALL) FROM Lead LIMIT 2").await;
    assert!(all_fields[0].get("HubSpot_Id__c").is_some() && all_fields[0].get("Company").is_some());
    let (_, standard) = rows(&f, &t, "SELECT FIELDS(STANDARD) FROM Lead").await;
    assert!(standard[0].get("HubSpot_Id__c").is_none() && standard[0].get("Company").is_some());
    let (_, labelled) = rows(&f, &t, "SELECT toLabel(Status) FROM Lead LIMIT 1").await;
    assert!(labelled[0]["Status"].is_string());

    // Unsupported syntax answers Salesforce's error, never a panic.
    for bad in [
        "SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY ROLLUP(LeadSource)",
        "SELECT Name FROM Lead GROUP BY LeadSource",
        "SELECT Id FROM Lead WHERE COUNT(Id) > 1",
        "SELECT SUM(Company) FROM Lead",
        "SELECT Id, (SELECT Id FROM Nopes) FROM Account",
        "SELECT Id FROM Account WHERE Name IN (SELECT Id FROM Contact)",
    ] {
        let (s, v) = f.sf_query(&t, bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(!error_code(&v).is_empty(), "{bad}: {v}");
    }
}

#[tokio::test]
async fn case_campaign_and_campaign_member_exist_with_their_required_fields() {
    let (f, t) = connected().await;
    let (_, cases) = rows(
        &f,
        &t,
        "SELECT Id, CaseNumber, Status, IsClosed, Contact.Email, Account.Name FROM Case",
    )
    .await;
    assert!(!cases.is_empty());
    assert!(
        cases[0]["CaseNumber"]
            .as_str()
            .is_some_and(|n| n.len() == 8)
    );
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Case",
            json!({"Subject": "Printer on fire"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, made) = f
        .sf_get(&t, &format!("/sobjects/Case/{}", v["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (made["Status"].as_str(), made["Priority"].as_str()),
        (Some("New"), Some("Medium"))
    );
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Campaign",
            json!({"Type": "Webinar"}),
        )
        .await;
    assert_eq!(
        (s, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING")
    );
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/CampaignMember",
            json!({"Status": "Sent"}),
        )
        .await;
    assert_eq!(
        (s, v[0]["fields"].clone()),
        (StatusCode::BAD_REQUEST, json!(["CampaignId"]))
    );
    let (_, members) = rows(
        &f,
        &t,
        "SELECT Name, (SELECT Status, Campaign.Name FROM CampaignMembers) FROM Lead WHERE Id IN (SELECT LeadId FROM CampaignMember)",
    )
    .await;
    assert!(!members.is_empty() && members[0]["CampaignMembers"]["totalSize"].as_u64() > Some(0));
    let (_, d) = f.sf_get(&t, "/sobjects/Account/describe").await;
    let rels: Vec<&str> = d["childRelationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["relationshipName"].as_str())
        .collect();
    assert!(
        rels.contains(&"Contacts") && rels.contains(&"Cases"),
        "{rels:?}"
    );
}

/// The number in a simulator id (its seven base-62 digits).
fn serial(id: &str) -> u64 {
    const B62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    id[8..15]
        .chars()
        .fold(0, |n, c| n * 62 + B62.find(c).unwrap() as u64)
}

#[tokio::test]
async fn a_record_rolled_back_by_all_or_none_does_not_hand_its_id_on() {
    let (f, t) = connected().await;
    let make = |email: &str| json!({"attributes": {"type": "Contact"}, "LastName": "Roll", "Email": email});
    let (_, first) = f
        .sf_send(
            &t,
            Method::POST,
            "/composite/sobjects",
            json!({"records": [make("r1@example.com")]}),
        )
        .await;
    let (_, rolled) = f
        .sf_send(
            &t,
            Method::POST,
            "/composite/sobjects",
            json!({"allOrNone": true, "records": [make("r2@example.com"), {"attributes": {"type": "Contact"}}]}),
        )
        .await;
    assert!(
        rolled[0]["id"].is_null(),
        "a rolled-back create has no id: {rolled}"
    );
    assert_eq!(
        rolled[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    let (_, next) = f
        .sf_send(
            &t,
            Method::POST,
            "/composite/sobjects",
            json!({"records": [make("r3@example.com")]}),
        )
        .await;
    let (a, b) = (
        first[0]["id"].as_str().unwrap(),
        next[0]["id"].as_str().unwrap(),
    );
    assert_eq!(
        serial(b),
        serial(a) + 2,
        "{a} then {b}: the rolled-back id is spent"
    );
}

#[tokio::test]
async fn record_types_are_queryable_described_and_enforced() {
    let (f, t) = connected().await;
    let (_, d) = f.sf_get(&t, "/sobjects/Opportunity/describe").await;
    let infos = d["recordTypeInfos"].as_array().unwrap();
    let names: Vec<&str> = infos
        .iter()
        .filter_map(|i| i["developerName"].as_str())
        .collect();
    assert_eq!(names, ["New_Business", "Renewal", "Master"]);
    assert_eq!(infos[0]["defaultRecordTypeMapping"], true);
    assert_eq!(
        (infos[2]["master"].clone(), infos[2]["available"].clone()),
        (json!(true), json!(false))
    );
    let (_, plain) = f.sf_get(&t, "/sobjects/Lead/describe").await;
    assert_eq!(
        plain["recordTypeInfos"][0]["master"], true,
        "an object without record types has Master only"
    );

    let (n, types) = rows(
        &f,
        &t,
        "SELECT Id, DeveloperName, SobjectType FROM RecordType WHERE IsActive = true",
    )
    .await;
    assert_eq!(n, 4);
    let case_type = types
        .iter()
        .find(|r| r["DeveloperName"] == "Support")
        .and_then(|r| r["Id"].as_str())
        .unwrap()
        .to_string();
    let opp_type = infos[0]["recordTypeId"].as_str().unwrap();
    let (_, by_type) = rows(
        &f,
        &t,
        "SELECT RecordType.DeveloperName, COUNT(Id) FROM Opportunity GROUP BY RecordType.DeveloperName",
    )
    .await;
    assert_eq!(by_type.len(), 2, "{by_type:?}");
    // A record type of another object is refused, as Salesforce refuses it.
    let (s, v) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Case",
            json!({"Subject": "x", "RecordTypeId": opp_type}),
        )
        .await;
    assert_eq!(
        (s, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_CROSS_REFERENCE_KEY")
    );
    let (s, _) = f
        .sf_send(
            &t,
            Method::POST,
            "/sobjects/Case",
            json!({"Subject": "x", "RecordTypeId": case_type}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn the_custom_object_exists_only_when_asked_and_looks_custom() {
    let (f, t) = connected().await;
    let (s, v) = f.sf_query(&t, "SELECT Id FROM Subscription__c").await;
    assert_eq!(
        (s, error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_TYPE")
    );

    let mut c = small_config();
    c.subscriptions = 5;
    c.tickets = 4;
    let f = start(c).await;
    let (t, _, _) = f.sf_connect().await;
    let (_, d) = f.sf_get(&t, "/sobjects/Subscription__c/describe").await;
    assert_eq!(
        (d["custom"].clone(), d["keyPrefix"].clone()),
        (json!(true), json!("a01"))
    );
    let lookup = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Account__c")
        .unwrap();
    assert_eq!(
        (
            lookup["custom"].clone(),
            lookup["relationshipName"].clone(),
            lookup["referenceTo"].clone()
        ),
        (json!(true), json!("Account__r"), json!(["Account"]))
    );
    let (n, subs) = rows(&f, &t, "SELECT Name, Account__r.Name, Subscription_Key__c, Plan__c FROM Subscription__c ORDER BY Subscription_Key__c").await;
    assert_eq!(n, 5);
    assert_eq!(subs[0]["Subscription_Key__c"], "SUB-00001");
    assert!(subs[0]["Account__r"]["Name"].is_string(), "{}", subs[0]);
    let (_, parents) = rows(
        &f,
        &t,
        "SELECT Name, (SELECT Name FROM Subscriptions__r) FROM Account WHERE Id IN (SELECT Account__c FROM Subscription__c)",
    )
    .await;
    let children: u64 = parents
        .iter()
        .map(|p| p["Subscriptions__r"]["totalSize"].as_u64().unwrap())
        .sum();
    assert_eq!(children, 5);
    let (s, _) = f
        .sf_send(
            &t,
            Method::PATCH,
            "/sobjects/Subscription__c/Subscription_Key__c/SUB-00001",
            json!({"Plan__c": "Enterprise"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "upsert by the external id updates");
    let (cases, _) = rows(&f, &t, "SELECT COUNT() FROM Case").await;
    let (base, _) = {
        let g = start(small_config()).await;
        let (t, _, _) = g.sf_connect().await;
        rows(&g, &t, "SELECT COUNT() FROM Case").await
    };
    assert_eq!(cases, base + 4, "--tickets 4 adds four Cases");
}

/// A Bulk API 2.0 call: status, body text and the `Sforce-Locator` header.
async fn bulk(
    f: &Fixture,
    t: &str,
    method: Method,
    path: &str,
    body: Option<(&str, String)>,
) -> (StatusCode, String, Option<String>) {
    let mut req = f.http.request(method, f.sf_url(path)).bearer_auth(t);
    if let Some((content_type, text)) = body {
        req = req.header("content-type", content_type).body(text);
    }
    let r = req.send().await.expect("answer");
    let status = r.status();
    let locator = r
        .headers()
        .get("sforce-locator")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (status, r.text().await.unwrap_or_default(), locator)
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split("\",\"")
                .map(|c| c.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_bulk_upsert_job_runs_from_open_to_complete_with_each_row_in_its_results() {
    let (f, t) = connected().await;
    let json_body = |v: Value| Some(("application/json", v.to_string()));
    let (s, body, _) = bulk(
        &f,
        &t,
        Method::POST,
        "/jobs/ingest",
        json_body(json!({"object": "Lead", "operation": "upsert",
            "externalIdFieldName": "HubSpot_Id__c", "contentType": "CSV", "lineEnding": "LF"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let job: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["state"], "Open");
    let id = job["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("750"));
    assert_eq!(
        job["contentUrl"].as_str().unwrap(),
        format!(
            "services/data/v{}/jobs/ingest/{id}/batches",
            f.info.salesforce.api_version
        )
    );
    // Two good rows (one a quoted comma) and one without the required LastName.
    let csv = "HubSpot_Id__c,LastName,Company,Email\n\
               hs-1,\"Rivera, Ana\",Acme,ana@example.com\n\
               hs-2,Okafor,Acme,obi@example.com\n\
               hs-3,,Acme,nobody@example.com\n";
    let upload = format!("/jobs/ingest/{id}/batches");
    let (s, _, _) = bulk(&f, &t, Method::PUT, &upload, Some(("text/csv", csv.into()))).await;
    assert_eq!(s, StatusCode::CREATED);
    // Results are refused until the job is complete.
    let successes = format!("/jobs/ingest/{id}/successfulResults/");
    let (s, body, _) = bulk(&f, &t, Method::GET, &successes, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let state_of = |body: &str| -> String {
        serde_json::from_str::<Value>(body).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let close = json_body(json!({"state": "UploadComplete"}));
    let (s, body, _) = bulk(&f, &t, Method::PATCH, &format!("/jobs/ingest/{id}"), close).await;
    assert_eq!(
        (s, state_of(&body)),
        (StatusCode::OK, "UploadComplete".into())
    );
    // No more data once closed.
    let (s, body, _) = bulk(&f, &t, Method::PUT, &upload, Some(("text/csv", csv.into()))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("INVALIDJOBSTATE"), "{body}");
    // Polled: in progress, then complete with its counts.
    let info = format!("/jobs/ingest/{id}");
    let (_, body, _) = bulk(&f, &t, Method::GET, &info, None).await;
    assert_eq!(state_of(&body), "InProgress");
    let (_, body, _) = bulk(&f, &t, Method::GET, &info, None).await;
    let done: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(done["state"], "JobComplete");
    assert_eq!(
        (
            done["numberRecordsProcessed"].as_u64(),
            done["numberRecordsFailed"].as_u64()
        ),
        (Some(3), Some(1))
    );
    let (s, body, _) = bulk(&f, &t, Method::GET, &successes, None).await;
    assert_eq!(s, StatusCode::OK);
    let rows = csv_rows(&body);
    assert_eq!(
        rows[0][..2],
        ["sf__Id".to_string(), "sf__Created".to_string()]
    );
    assert_eq!(rows.len(), 3, "{body}");
    assert!(
        rows[1][0].starts_with("00Q") && rows[1][1] == "true",
        "{body}"
    );
    assert_eq!(rows[1][3], "Rivera, Ana");
    let failures = format!("/jobs/ingest/{id}/failedResults/");
    let (_, body, _) = bulk(&f, &t, Method::GET, &failures, None).await;
    let rows = csv_rows(&body);
    assert_eq!(
        rows[0][..2],
        ["sf__Id".to_string(), "sf__Error".to_string()]
    );
    assert!(rows[1][1].starts_with("REQUIRED_FIELD_MISSING:"), "{body}");
    assert_eq!(rows[1][2], "hs-3");
    // The same rows again update what the first job created.
    let (_, body, _) = bulk(
        &f,
        &t,
        Method::POST,
        "/jobs/ingest",
        json_body(json!({"object": "Lead", "operation": "upsert", "externalIdFieldName": "HubSpot_Id__c"})),
    )
    .await;
    let again: Value = serde_json::from_str(&body).unwrap();
    let id2 = again["id"].as_str().unwrap();
    let csv2 = "HubSpot_Id__c,Title\nhs-1,CFO\n";
    bulk(
        &f,
        &t,
        Method::PUT,
        &format!("/jobs/ingest/{id2}/batches"),
        Some(("text/csv", csv2.into())),
    )
    .await;
    bulk(
        &f,
        &t,
        Method::PATCH,
        &format!("/jobs/ingest/{id2}"),
        json_body(json!({"state": "UploadComplete"})),
    )
    .await;
    bulk(&f, &t, Method::GET, &format!("/jobs/ingest/{id2}"), None).await;
    let (_, body, _) = bulk(
        &f,
        &t,
        Method::GET,
        &format!("/jobs/ingest/{id2}/successfulResults/"),
        None,
    )
    .await;
    assert_eq!(
        csv_rows(&body)[1][1],
        "false",
        "updated, not created: {body}"
    );
    // A job for an object the org lacks, or an upsert without its key, is refused.
    let (s, body, _) = bulk(
        &f,
        &t,
        Method::POST,
        "/jobs/ingest",
        json_body(json!({"object": "Widget", "operation": "insert"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("INVALIDENTITY"), "{body}");
    let (s, body, _) = bulk(
        &f,
        &t,
        Method::POST,
        "/jobs/ingest",
        json_body(json!({"object": "Lead", "operation": "upsert"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("INVALIDJOB"), "{body}");
}

#[tokio::test]
async fn a_bulk_query_job_pages_its_csv_under_sforce_locator() {
    let mut config = small_config();
    config.leads = 250;
    let f = start(config).await;
    let (t, _, _) = f.sf_connect().await;
    let (s, body, _) = bulk(
        &f,
        &t,
        Method::POST,
        "/jobs/query",
        Some((
            "application/json",
            json!({"operation": "query", "query": "SELECT Id, Email FROM Lead"}).to_string(),
        )),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let job: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (job["state"].as_str(), job["object"].as_str()),
        (Some("UploadComplete"), Some("Lead"))
    );
    let id = job["id"].as_str().unwrap();
    let results = format!("/jobs/query/{id}/results?maxRecords=100");
    let (s, body, _) = bulk(&f, &t, Method::GET, &results, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not complete yet: {body}");
    bulk(&f, &t, Method::GET, &format!("/jobs/query/{id}"), None).await;
    let mut rows = 0;
    let mut pages = 0;
    let mut locator: Option<String> = None;
    loop {
        let path = match &locator {
            Some(l) => format!("{results}&locator={l}"),
            None => results.clone(),
        };
        let (s, body, next) = bulk(&f, &t, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let page = csv_rows(&body);
        assert_eq!(page[0], ["Id".to_string(), "Email".to_string()]);
        rows += page.len() - 1;
        pages += 1;
        match next.as_deref() {
            Some("null") | None => break,
            Some(l) => locator = Some(l.to_string()),
        }
    }
    assert!(rows >= 250, "{rows}");
    assert_eq!(pages, rows.div_ceil(100));
    // A bad query is refused when the job is created.
    let (s, body, _) = bulk(
        &f,
        &t,
        Method::POST,
        "/jobs/query",
        Some((
            "application/json",
            json!({"operation": "query", "query": "SELECT Nope FROM Lead"}).to_string(),
        )),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("INVALID_FIELD"), "{body}");
}
