//! The simulator's HubSpot side against the documented behaviour (reference/hubspot-api.md).

mod common;

use common::{Fixture, json, small_config, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn connected() -> (Fixture, String) {
    let f = start(small_config()).await;
    let (t, _) = f.hs_connect().await;
    (f, t)
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_bad_redirects_and_missing_scopes() {
    let f = start(small_config()).await;
    let hs = &f.info.hubspot;
    let base = &hs.authorize_url;
    let r = f
        .http
        .get(format!("{base}?client_id=nope&redirect_uri=x&scope=oauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("client_id"));
    let url = f
        .hs_authorize_url(&hs.scopes.join(" "), "s")
        .replace("localhost%3A8976", "localhost%3A9999");
    let r = f.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("redirect URL doesn't match")
    );
    let r = f
        .http
        .get(f.hs_authorize_url("oauth", "s"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("crm.objects.contacts.read")
    );
}

#[tokio::test]
async fn denied_consent_redirects_with_access_denied_and_the_state() {
    let f = start(small_config()).await;
    f.control_post("/settings", json!({"hubspot": {"deny_consent": true}}))
        .await;
    let r = f
        .http
        .get(f.hs_authorize_url(&f.info.hubspot.scopes.join(" "), "st8"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap();
    assert_eq!(
        common::param(loc, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(common::param(loc, "state").as_deref(), Some("st8"));
    assert!(common::param(loc, "code").is_none());
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_the_redirect_uri() {
    let f = start(small_config()).await;
    let hs = f.info.hubspot.clone();
    let code = f.hs_code().await;
    let form = |redirect: &'static str, code: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", hs.client_id.clone()),
            ("client_secret", hs.client_secret.clone()),
            ("redirect_uri", redirect.to_string()),
            ("code", code.to_string()),
        ]
    };
    let bad = form("http://localhost:1/other", &code);
    let as_ref: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, v) = f.hs_token(&as_ref).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REDIRECT_URI"))
    );
    // The failed exchange consumed the code, as a real single-use code is.
    let good = form("http://localhost:8976/callback/hubspot", &code);
    let as_ref: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, v) = f.hs_token(&as_ref).await;
    assert_eq!(
        (s, v["status"].as_str(), v["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("BAD_AUTH_CODE"),
            Some("invalid_grant")
        )
    );
    let (s, v) = f
        .hs_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "x"),
            ("client_secret", "y"),
            ("code", "z"),
        ])
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_CLIENT_ID"))
    );
}

#[tokio::test]
async fn refresh_keeps_the_refresh_token_and_revocation_is_bad_refresh_token() {
    let f = start(small_config()).await;
    let hs = f.info.hubspot.clone();
    let (access, refresh) = f.hs_connect().await;
    let grant = [
        ("grant_type", "refresh_token"),
        ("client_id", hs.client_id.as_str()),
        ("client_secret", hs.client_secret.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let (s, v) = f.hs_token(&grant).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["refresh_token"].as_str(), Some(refresh.as_str()));
    assert_eq!(v["expires_in"], 1800);
    assert_ne!(v["access_token"].as_str(), Some(access.as_str()));
    // Introspection of both tokens.
    let (s, info) = f
        .hs_get("", &format!("/oauth/v1/access-tokens/{access}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["hub_id"], json!(hs.portal_id));
    assert!(
        info["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("crm.objects.contacts.read"))
    );
    assert!(info["expires_in"].as_i64().unwrap() > 1700);
    let (s, info) = f
        .hs_get("", &format!("/oauth/v1/refresh-tokens/{refresh}"))
        .await;
    assert_eq!(
        (s, info["client_id"].as_str()),
        (StatusCode::OK, Some(hs.client_id.as_str()))
    );
    // Delete the refresh token: refresh now fails, the access token still works.
    let r = f
        .http
        .delete(f.hs_url(&format!("/oauth/v1/refresh-tokens/{refresh}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, v) = f.hs_token(&grant).await;
    assert_eq!(
        (s, v["status"].as_str(), v["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("BAD_REFRESH_TOKEN"),
            Some("invalid_grant")
        )
    );
    assert_eq!(
        f.hs_get(&access, "/crm/v3/objects/contacts?limit=1")
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_garbage_and_underscoped_tokens_fail_like_hubspot() {
    let f = start(small_config()).await;
    let (access, _) = f.hs_connect().await;
    let (s, v) = f.hs_get("garbage", "/crm/v3/objects/contacts").await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("INVALID_AUTHENTICATION"))
    );
    f.control_post("/expire-tokens", json!({"provider": "hubspot"}))
        .await;
    let r = f
        .http
        .get(f.hs_url("/crm/v3/objects/contacts"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-hubspot-auth-failure"], "401 Unauthorized");
    let (s, v) = json(r).await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("EXPIRED_AUTHENTICATION"))
    );
    assert!(v["message"].as_str().unwrap().contains("expired"));
    assert!(v["context"]["expire time"][0].is_string());

    // A token granted only the required subset lacks the optional schema scope? Build one
    // with an app whose required scopes exclude lists.
    let mut c = small_config();
    c.hubspot
        .required_scopes
        .retain(|s| !s.starts_with("crm.lists"));
    let f = start(c).await;
    let (access, _) = f.hs_connect().await;
    let (s, v) = f.hs_get(&access, "/crm/v3/lists/1").await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::FORBIDDEN, Some("MISSING_SCOPES"))
    );
    // Current answers list every scope that would do, as `requiredGranularScopes`.
    assert!(
        v["errors"][0]["context"]["requiredGranularScopes"]
            .as_array()
            .unwrap()
            .contains(&json!("crm.lists.read")),
        "{v}"
    );
    let r = reqwest::Client::new()
        .get(f.hs_url("/crm/v3/lists/1"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    let header = r.headers()["x-hubspot-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["correlationId"].as_str(),
        Some(header.as_str()),
        "the header and the body carry one correlation id"
    );
}

#[tokio::test]
async fn list_pages_with_after_and_no_paging_on_the_last_page() {
    let (f, t) = connected().await;
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let path = match &after {
            Some(a) => format!("/crm/v3/objects/contacts?limit=25&after={a}"),
            None => "/crm/v3/objects/contacts?limit=25".into(),
        };
        let (s, v) = f.hs_get(&t, &path).await;
        assert_eq!(s, StatusCode::OK);
        for r in v["results"].as_array().unwrap() {
            assert!(r["properties"]["email"].is_string());
            assert!(r["properties"]["lastmodifieddate"].is_string());
            assert_eq!(r["archived"], false);
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        match v["paging"]["next"]["after"].as_str() {
            Some(a) => {
                // The link is the next page's absolute URL, as HubSpot answers it.
                let link = v["paging"]["next"]["link"].as_str().expect("link");
                assert_eq!(
                    link,
                    f.hs_url(&format!("/crm/v3/objects/contacts?limit=25&after={a}"))
                );
                after = Some(a.into())
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), 60);
}

#[tokio::test]
async fn written_values_read_back_exactly() {
    let (f, t) = connected().await;
    let props = json!({
        "email": "exact@readback.example", "firstname": "Ex", "lastname": "Act",
        "product_interest": "analytics;support", "newsletter_opt_in": "true",
        "numemployees": "42", "date_of_birth": "1990-05-17", "lifecyclestage": "lead",
    });
    let (s, created) = f
        .hs_post(&t, "/crm/v3/objects/contacts", json!({"properties": props}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let names = "email,firstname,lastname,product_interest,newsletter_opt_in,numemployees,date_of_birth,lifecyclestage,phone";
    let (_, got) = f
        .hs_get(
            &t,
            &format!("/crm/v3/objects/contacts/{id}?properties={names}"),
        )
        .await;
    for (k, v) in props.as_object().unwrap() {
        assert_eq!(&got["properties"][k], v, "{k}");
    }
    assert_eq!(got["properties"]["phone"], Value::Null);
    // Clearing with an empty string.
    let (s, _) = f
        .hs_send(
            &t,
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": ""}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, got) = f
        .hs_get(
            &t,
            "/crm/v3/objects/contacts/exact@readback.example?idProperty=email&properties=firstname",
        )
        .await;
    assert_eq!(got["properties"]["firstname"], Value::Null);
    assert_ne!(
        got["updatedAt"], created["updatedAt"],
        "updatedAt moves on every write"
    );
}

#[tokio::test]
async fn validation_errors_name_the_property_and_conflicts_name_the_existing_id() {
    let (f, t) = connected().await;
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "x@y.example", "lifecyclestage": "nope", "bogus": "1"}}),
        )
        .await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"))
    );
    let msg = v["message"].as_str().unwrap();
    assert!(msg.starts_with("Property values were not valid:"), "{msg}");
    assert!(
        msg.contains("INVALID_OPTION") && msg.contains("PROPERTY_DOESNT_EXIST"),
        "{msg}"
    );
    // Each property's problem is an `errors[]` entry; there is no top-level context.
    assert!(v.get("context").is_none(), "{v}");
    let bogus = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["context"]["propertyName"] == json!(["bogus"]))
        .expect("an entry for the unknown property");
    assert_eq!(bogus["code"], "PROPERTY_DOESNT_EXIST");
    let (_, first) = f
        .hs_get(&t, "/crm/v3/objects/contacts?limit=1&properties=email")
        .await;
    let email = first["results"][0]["properties"]["email"].as_str().unwrap();
    let id = first["results"][0]["id"].as_str().unwrap();
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": email.to_uppercase()}}),
        )
        .await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::CONFLICT, Some("CONFLICT"))
    );
    assert_eq!(
        v["message"],
        format!("Contact already exists. Existing ID: {id}")
    );
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"amount": "10"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("dealname"));
    let r = f
        .http
        .post(f.hs_url("/crm/v3/objects/contacts"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"))
    );
}

#[tokio::test]
async fn batches_cap_at_100_report_207_and_flag_new_upserts() {
    let (f, t) = connected().await;
    let too_many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": too_many}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("maximum number of inputs supported in a batch is 100")
    );
    let (_, page) = f.hs_get(&t, "/crm/v3/objects/contacts?limit=3").await;
    let mut inputs: Vec<Value> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"id": r["id"]}))
        .collect();
    inputs.push(json!({"id": "999999999"}));
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": inputs, "properties": ["email"]}),
        )
        .await;
    assert_eq!(s, StatusCode::MULTI_STATUS);
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    assert_eq!(v["numErrors"], 1);
    assert_eq!(v["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(v["errors"][0]["context"]["ids"][0], "999999999");
    let (s, v) = f
        .hs_post(&t, "/crm/v3/objects/contacts/batch/upsert", json!({"inputs": [
            {"id": "new.one@upsert.example", "idProperty": "email", "properties": {"firstname": "New"}},
            {"id": page["results"][0]["properties"]["email"], "idProperty": "email", "properties": {"firstname": "Old"}},
        ]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let news: Vec<bool> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["new"].as_bool().unwrap())
        .collect();
    assert_eq!(news, [true, false]);
    let (s, v) = f
        .hs_post(&t, "/crm/v3/objects/companies/batch/create", json!({"inputs": [
            {"properties": {"name": "Batch A", "domain": "a.example"}, "objectWriteTraceId": "t1"},
            {"properties": {"name": "Batch B", "domain": "b.example"}},
        ]}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["status"], "COMPLETE");
    assert_eq!(v["results"][0]["objectWriteTraceId"], "t1");
    let ids: Vec<Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"id": r["id"], "properties": {"city": "Kyoto"}}))
        .collect();
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/companies/batch/update",
            json!({"inputs": ids}),
        )
        .await;
    assert_eq!(
        (s, v["results"][1]["properties"]["city"].as_str()),
        (StatusCode::OK, Some("Kyoto"))
    );
    let archive: Vec<Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"id": r["id"]}))
        .collect();
    let (s, _) = f
        .hs_post(
            &t,
            "/crm/v3/objects/companies/batch/archive",
            json!({"inputs": archive}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn search_filters_sorts_pages_and_caps_at_ten_thousand() {
    let (f, t) = connected().await;
    let body = json!({
        "filterGroups": [
            {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}]},
            {"filters": [{"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer", "opportunity"]}]},
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["email", "lifecyclestage", "lastmodifieddate"],
        "limit": 5,
    });
    let (s, v) = f
        .hs_post(&t, "/crm/v3/objects/contacts/search", body.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let total = v["total"].as_u64().unwrap();
    assert!(total > 5);
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut b = body.clone();
        if let Some(a) = &after {
            b["after"] = json!(a);
        }
        let (_, v) = f.hs_post(&t, "/crm/v3/objects/contacts/search", b).await;
        for r in v["results"].as_array().unwrap() {
            let stage = r["properties"]["lifecyclestage"].as_str().unwrap();
            assert!(["lead", "customer", "opportunity"].contains(&stage));
            all.push(
                r["properties"]["lastmodifieddate"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        match v["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
        tokio::time::sleep(std::time::Duration::from_millis(260)).await; // the 5/s search limit
    }
    assert_eq!(all.len() as u64, total);
    assert!(all.windows(2).all(|w| w[0] <= w[1]), "sorted ascending");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts/search",
            json!({"after": "10000", "limit": 10}),
        )
        .await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"))
    );
    let (s, _) = f
        .hs_post(&t, "/crm/v3/objects/contacts/search", json!({"limit": 201}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, v) = f
        .hs_post(&t, "/crm/v3/objects/contacts/search", json!({"filterGroups": [{"filters": [
            {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*.example"},
            {"propertyName": "phone", "operator": "HAS_PROPERTY"},
            {"propertyName": "createdate", "operator": "BETWEEN", "value": "2024-01-01T00:00:00Z", "highValue": "1900000000000"},
        ]}], "limit": 1}))
        .await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(60)));
}

#[tokio::test]
async fn search_has_its_own_per_second_limit_without_rate_limit_headers() {
    let (f, t) = connected().await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = f
            .http
            .post(f.hs_url("/crm/v3/objects/deals/search"))
            .bearer_auth(&t)
            .json(&json!({"limit": 1}))
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("x-hubspot-ratelimit-max").is_none());
        let status = r.status();
        let (_, v) = json(r).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(v["policyName"], "SECONDLY");
            assert_eq!(v["errorType"], "RATE_LIMIT");
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_ten_second_window_sends_headers_and_429s_with_the_policy() {
    let mut c = small_config();
    c.hubspot.burst_per_10s = 4;
    let f = start(c).await;
    let (t, _) = f.hs_connect().await;
    let mut remaining = Vec::new();
    for _ in 0..4 {
        let r = f
            .http
            .get(f.hs_url("/crm/v3/owners"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()["x-hubspot-ratelimit-interval-milliseconds"],
            "10000"
        );
        assert_eq!(r.headers()["x-hubspot-ratelimit-max"], "4");
        assert!(
            r.headers().get("x-hubspot-ratelimit-daily").is_none(),
            "OAuth apps get no daily headers"
        );
        remaining.push(
            r.headers()["x-hubspot-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["3", "2", "1", "0"]);
    let (s, v) = f.hs_get(&t, "/crm/v3/owners").await;
    assert_eq!(
        (s, v["policyName"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("TEN_SECONDLY_ROLLING"))
    );
    assert!(v.get("category").is_none());
}

#[tokio::test]
async fn associations_v3_and_v4_agree() {
    let (f, t) = connected().await;
    let (_, c) = f
        .hs_get(
            &t,
            "/crm/v3/objects/contacts?limit=1&associations=companies",
        )
        .await;
    let contact = &c["results"][0];
    let company = contact["associations"]["companies"]["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        contact["associations"]["companies"]["results"][0]["type"],
        "contact_to_company"
    );
    let id = contact["id"].as_str().unwrap();
    let (s, v) = f
        .hs_get(
            &t,
            &format!("/crm/v4/objects/contacts/{id}/associations/companies"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["results"][0]["toObjectId"].to_string(), company);
    assert_eq!(v["results"][0]["associationTypes"][0]["typeId"], 279);
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v4/associations/companies/contacts/batch/read",
            json!({"inputs": [{"id": company}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["results"][0]["to"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["toObjectId"].as_u64().map(|n| n.to_string()).as_deref() == Some(id))
    );
    let (_, deal) = f.hs_post(&t, "/crm/v3/objects/deals", json!({"properties": {"dealname": "Assoc", "dealstage": "closedwon", "pipeline": "default"},
        "associations": [{"to": {"id": company}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]}]})).await;
    let did = deal["id"].as_str().unwrap();
    let (_, v) = f
        .hs_get(
            &t,
            &format!("/crm/v4/objects/deals/{did}/associations/companies"),
        )
        .await;
    assert_eq!(v["results"][0]["toObjectId"].to_string(), company);
    let (s, _) = f
        .hs_send(
            &t,
            Method::PUT,
            &format!("/crm/v4/objects/deals/{did}/associations/default/contacts/{id}"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = f
        .http
        .delete(f.hs_url(&format!(
            "/crm/v4/objects/deals/{did}/associations/contacts/{id}"
        )))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, v) = f
        .hs_get(
            &t,
            &format!("/crm/v4/objects/deals/{did}/associations/contacts"),
        )
        .await;
    assert!(v["results"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn lists_serve_manual_and_dynamic_memberships() {
    let (f, t) = connected().await;
    let (s, v) = f
        .hs_post(&t, "/crm/v3/lists/search", json!({"query": ""}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let lists = v["lists"].as_array().unwrap();
    let manual = lists
        .iter()
        .find(|l| l["processingType"] == "MANUAL")
        .unwrap()["listId"]
        .as_str()
        .unwrap()
        .to_string();
    let dynamic = lists
        .iter()
        .find(|l| l["processingType"] == "DYNAMIC")
        .unwrap()["listId"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, m) = f
        .hs_get(&t, &format!("/crm/v3/lists/{manual}/memberships?limit=250"))
        .await;
    assert_eq!(m["total"], 20);
    let (_, page) = f.hs_get(&t, "/crm/v3/objects/contacts?limit=2").await;
    let (a, b) = (
        page["results"][0]["id"].clone(),
        page["results"][1]["id"].clone(),
    );
    let (s, v) = f
        .hs_send(
            &t,
            Method::PUT,
            &format!("/crm/v3/lists/{manual}/memberships/add"),
            json!([a, b, "424242"]),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["recordIdsMissing"], json!(["424242"]));
    assert_eq!(
        v["recordsIdsAdded"].as_array().unwrap().len(),
        1,
        "one of the two was a member already: {v}"
    );
    let (s, _) = f
        .hs_send(
            &t,
            Method::PUT,
            &format!("/crm/v3/lists/{dynamic}/memberships/add"),
            json!([a]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, d) = f
        .hs_get(
            &t,
            &format!("/crm/v3/lists/{dynamic}/memberships?limit=250"),
        )
        .await;
    let before = d["total"].as_u64().unwrap();
    let id = a.as_str().unwrap();
    f.hs_send(
        &t,
        Method::PATCH,
        &format!("/crm/v3/objects/contacts/{id}"),
        json!({"properties": {"lifecyclestage": "customer"}}),
    )
    .await;
    let (_, d) = f
        .hs_get(
            &t,
            &format!("/crm/v3/lists/{dynamic}/memberships?limit=250"),
        )
        .await;
    assert!(d["total"].as_u64().unwrap() >= before);
    let (_, r) = f
        .hs_get(&t, &format!("/crm/v3/lists/records/0-1/{id}/memberships"))
        .await;
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["listId"].as_str() == Some(dynamic.as_str()))
    );
    let (s, v) = f
        .hs_get(
            &t,
            "/crm/v3/lists/object-type-id/0-1/name/salesforce%20INCLUSION%20list",
        )
        .await;
    assert_eq!(
        (s, v["list"]["listId"].as_str()),
        (StatusCode::OK, Some(manual.as_str()))
    );
}

#[tokio::test]
async fn properties_owners_and_pipelines_describe_the_portal() {
    let (f, t) = connected().await;
    let (s, v) = f.hs_get(&t, "/crm/v3/properties/contacts").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in [
        "email",
        "firstname",
        "lastname",
        "company",
        "phone",
        "jobtitle",
        "country",
        "lifecyclestage",
        "hs_lead_status",
        "hubspot_owner_id",
        "recent_conversion_event_name",
        "recent_conversion_date",
        "hs_email_last_open_date",
        "hs_email_last_email_name",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    let (s, p) = f.hs_post(&t, "/crm/v3/properties/contacts", json!({"name": "sf_rating", "label": "SF rating", "type": "enumeration", "fieldType": "select",
        "groupName": "contactinformation", "options": [{"label": "Hot", "value": "hot"}]})).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (StatusCode::CREATED, Some("enumeration"))
    );
    let (_, owners) = f.hs_get(&t, "/crm/v3/owners?limit=100").await;
    let owner = &owners["results"][0];
    assert!(owner["email"].as_str().unwrap().contains('@'));
    let (_, one) = f
        .hs_get(
            &t,
            &format!("/crm/v3/owners?email={}", owner["email"].as_str().unwrap()),
        )
        .await;
    assert_eq!(one["results"][0]["id"], owner["id"]);
    let (_, pipes) = f.hs_get(&t, "/crm/v3/pipelines/deals").await;
    let stages: Vec<&str> = pipes["results"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"closedwon") && stages.contains(&"appointmentscheduled"));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_records() {
    let read = |f: Fixture| async move {
        let (t, _) = f.hs_connect().await;
        f.hs_get(&t, "/crm/v3/objects/contacts?limit=100&properties=email,lifecyclestage,hs_lead_status,product_interest").await.1["results"].clone()
    };
    let (a, b) = (
        read(start(small_config()).await).await,
        read(start(small_config()).await).await,
    );
    assert_eq!(a, b);
    let mut other = small_config();
    other.seed = 8;
    assert_ne!(a, read(start(other).await).await);
}

#[tokio::test]
async fn activity_lands_in_calculated_properties_that_the_api_cannot_write() {
    let (f, t) = connected().await;
    let (_, page) = f.hs_get(&t, "/crm/v3/objects/contacts?limit=1").await;
    let id = page["results"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = f
        .hs_send(
            &t,
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"recent_conversion_event_name": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("READ_ONLY_VALUE"));
    let s = f
        .control_post(
            "/activity",
            json!({"contact_id": id, "kind": "form_submission", "name": "Contact us"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = f.hs_get(&t, &format!("/crm/v3/objects/contacts/{id}?properties=recent_conversion_event_name,recent_conversion_date")).await;
    assert_eq!(
        v["properties"]["recent_conversion_event_name"],
        "Contact us"
    );
    assert!(v["properties"]["recent_conversion_date"].is_string());
}

#[tokio::test]
async fn a_merge_makes_a_new_record_and_the_old_ids_read_through_to_it() {
    let (f, t) = connected().await;
    let mut ids = Vec::new();
    for (email, first, phone) in [
        ("primary@merge.example", "Pri", ""),
        ("other@merge.example", "Oth", "+1 555 0100"),
    ] {
        let mut props = json!({"email": email, "firstname": first, "lastname": "Merge"});
        if !phone.is_empty() {
            props["phone"] = json!(phone);
        }
        let (s, v) = f
            .hs_post(&t, "/crm/v3/objects/contacts", json!({"properties": props}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, merged) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": ids[0], "objectIdToMerge": ids[1]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    let new_id = merged["id"].as_str().unwrap().to_string();
    assert!(!ids.contains(&new_id), "a merge gives a new id");
    for old in &ids {
        let (s, v) = f
            .hs_get(
                &t,
                &format!(
                    "/crm/v3/objects/contacts/{old}?properties=email,phone,hs_merged_object_ids"
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["id"], json!(new_id), "{old} reads through to the merge");
        assert_eq!(
            v["properties"]["email"], "primary@merge.example",
            "the primary's values"
        );
        assert_eq!(
            v["properties"]["phone"], "+1 555 0100",
            "the other's where the primary has none"
        );
        let merged_ids = v["properties"]["hs_merged_object_ids"].as_str().unwrap();
        assert!(
            ids.iter().all(|i| merged_ids.split(';').any(|m| m == i)),
            "{merged_ids}"
        );
    }
    let (_, archived) = f
        .hs_get(&t, "/crm/v3/objects/contacts?archived=true&limit=100")
        .await;
    let archived_ids: Vec<&str> = archived["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(
        ids.iter().all(|i| archived_ids.contains(&i.as_str())),
        "{archived}"
    );
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": new_id, "objectIdToMerge": new_id}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn custom_objects_are_defined_by_schema_and_addressed_by_type_id_or_name() {
    let mut c = small_config();
    c.subscriptions = 4;
    let f = start(c).await;
    let (plain, _) = f.hs_connect().await;
    let (s, v) = f.hs_get(&plain, "/crm/v3/schemas").await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::FORBIDDEN, Some("MISSING_SCOPES"))
    );
    let (t, _) = f
        .hs_connect_with_optional(Some(
            "crm.schemas.custom.read crm.schemas.custom.write crm.objects.custom.read crm.objects.custom.write",
        ))
        .await;
    let (s, schemas) = f.hs_get(&t, "/crm/v3/schemas").await;
    assert_eq!(s, StatusCode::OK, "{schemas}");
    let schema = &schemas["results"][0];
    let type_id = schema["objectTypeId"].as_str().unwrap().to_string();
    let fqn = schema["fullyQualifiedName"].as_str().unwrap().to_string();
    assert!(type_id.starts_with("2-"), "{type_id}");
    assert_eq!(fqn, format!("p{}_subscriptions", f.info.hubspot.portal_id));
    let to: Vec<&str> = schema["associations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["toObjectTypeId"].as_str())
        .collect();
    assert_eq!(to, ["0-2", "0-1"]);
    let (_, one) = f.hs_get(&t, &format!("/crm/v3/schemas/{fqn}")).await;
    assert_eq!(one["objectTypeId"], type_id.as_str());

    // Records by type id and by fully qualified name; not by the bare name.
    let (s, v) = f
        .hs_get(&t, &format!("/crm/v3/objects/{type_id}?limit=10&properties=subscription_key,plan&associations=companies"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let records = v["results"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0]["properties"]["subscription_key"], "SUB-00001");
    assert!(
        records[0]["associations"]["companies"]["results"][0]["id"].is_string(),
        "{}",
        records[0]
    );
    let (s, _) = f
        .hs_get(&t, &format!("/crm/v3/objects/{fqn}?limit=1"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = f.hs_get(&t, "/crm/v3/objects/subscriptions?limit=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = f
        .hs_get(&plain, &format!("/crm/v3/objects/{type_id}?limit=1"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["errors"][0]["context"]["requiredGranularScopes"]
            .as_array()
            .unwrap()
            .contains(&json!("crm.objects.custom.read"))
    );

    // Upsert by the unique key; the required properties are enforced.
    let (s, v) = f
        .hs_post(
            &t,
            &format!("/crm/v3/objects/{type_id}/batch/upsert"),
            json!({"inputs": [{"id": "SUB-00001", "idProperty": "subscription_key", "properties": {"plan": "enterprise"}, "objectWriteTraceId": "0"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["new"], false);
    let (s, v) = f
        .hs_post(
            &t,
            &format!("/crm/v3/objects/{type_id}"),
            json!({"properties": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR")),
        "{v}"
    );

    // A new schema through the API; the same name again is a conflict.
    let shipments = json!({
        "name": "shipments", "labels": {"singular": "Shipment", "plural": "Shipments"},
        "primaryDisplayProperty": "tracking", "requiredProperties": ["tracking"],
        "properties": [{"name": "tracking", "label": "Tracking number", "type": "string", "fieldType": "text"}],
        "associatedObjects": ["CONTACT"],
    });
    let (s, made) = f.hs_post(&t, "/crm/v3/schemas", shipments.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let (s, _) = f.hs_post(&t, "/crm/v3/schemas", shipments).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, rec) = f
        .hs_post(
            &t,
            &format!("/crm/v3/objects/{}", made["objectTypeId"].as_str().unwrap()),
            json!({"properties": {"tracking": "1Z999"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
}

#[tokio::test]
async fn tickets_live_in_two_pipelines_behind_the_tickets_scope() {
    let mut c = small_config();
    c.tickets = 6;
    let f = start(c).await;
    let (without, _) = f.hs_connect().await;
    let (s, v) = f.hs_get(&without, "/crm/v3/objects/tickets?limit=5").await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::FORBIDDEN, Some("MISSING_SCOPES"))
    );
    assert_eq!(
        v["errors"][0]["context"]["requiredGranularScopes"],
        json!(["tickets"])
    );
    // The app lists `tickets` as optional: asked for, it is granted.
    let (t, _) = f.hs_connect_with_optional(Some("tickets")).await;
    let (s, v) = f
        .hs_get(&t, "/crm/v3/objects/tickets?limit=10&associations=contacts")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tickets = v["results"].as_array().unwrap();
    assert_eq!(tickets.len(), 6);
    assert!(tickets[0]["properties"]["hs_pipeline_stage"].is_string());
    assert!(
        tickets[0]["associations"]["contacts"]["results"][0]["id"].is_string(),
        "{}",
        tickets[0]
    );
    let (_, pipes) = f.hs_get(&t, "/crm/v3/pipelines/tickets").await;
    let ids: Vec<&str> = pipes["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["0", "billing"]);
    assert_eq!(
        pipes["results"][0]["stages"][3]["metadata"]["ticketState"],
        "CLOSED"
    );
    // Required properties are enforced; a created ticket reads back.
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "No pipeline"}}),
        )
        .await;
    assert_eq!(
        (s, v["category"].as_str()),
        (StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR")),
        "{v}"
    );
    let (s, v) = f
        .hs_post(
            &t,
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "Printer on fire", "hs_pipeline": "billing", "hs_pipeline_stage": "billing_new", "hs_ticket_priority": "URGENT"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, search) = f
        .hs_post(
            &t,
            "/crm/v3/objects/tickets/search",
            json!({"query": "printer", "properties": ["subject"]}),
        )
        .await;
    assert_eq!(search["total"], 1, "{search}");
}

/// A multipart/form-data body of an import request and its CSV, as the imports guide sends.
fn import_form(request: &Value, csv: &str) -> (String, Vec<u8>) {
    let b = "sim-test-boundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"importRequest\"\r\n\r\n{request}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"rows.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={b}"),
        body.into_bytes(),
    )
}

#[tokio::test]
async fn an_import_updates_rows_by_record_id_and_lists_the_rows_it_could_not() {
    let f = start(small_config()).await;
    let (token, _) = f.hs_connect_with_optional(Some("crm.import")).await;
    let (_, page) = f.hs_get(&token, "/crm/v3/objects/contacts?limit=1").await;
    let id = page["results"][0]["id"]
        .as_str()
        .expect("a contact")
        .to_string();
    let (s, _) = f
        .hs_send(
            &token,
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"phone": "+1 555 0100"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let request = json!({"name": "t", "importOperations": {"0-1": "UPDATE"},
        "files": [{"fileName": "rows.csv", "fileFormat": "CSV", "fileImportPage": {"hasHeader": true,
            "columnMappings": [
                {"columnObjectTypeId": "0-1", "columnName": "Record ID", "propertyName": "hs_object_id", "columnType": "HUBSPOT_OBJECT_ID"},
                {"columnObjectTypeId": "0-1", "columnName": "jobtitle", "propertyName": "jobtitle"},
                {"columnObjectTypeId": "0-1", "columnName": "phone", "propertyName": "phone"}]}}]});
    let (content_type, body) = import_form(
        &request,
        &format!("Record ID,jobtitle,phone\n{id},Imported Buyer,\n999999999,Nobody,\n"),
    );
    let started = f
        .http
        .post(f.hs_url("/crm/v3/imports"))
        .bearer_auth(&token)
        .header("content-type", content_type.clone())
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    let (status, started) = json(started).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // The answer has the documented shape.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/hubspot/import_started.json").expect("fixture"),
    )
    .expect("json");
    for key in fixture["answer"]["body"].as_object().expect("body").keys() {
        assert!(started.get(key).is_some(), "{key} missing from {started}");
    }
    assert_eq!(started["state"], "STARTED");
    let import = started["id"].as_str().expect("id");
    let path = format!("/crm/v3/imports/{import}");
    assert_eq!(f.hs_get(&token, &path).await.1["state"], "PROCESSING");
    assert_eq!(f.hs_get(&token, &path).await.1["state"], "DONE");
    // The known record took the value; the empty phone cell left its phone alone.
    let (_, after) = f
        .hs_get(
            &token,
            &format!("/crm/v3/objects/contacts/{id}?properties=jobtitle,phone"),
        )
        .await;
    assert_eq!(after["properties"]["jobtitle"], "Imported Buyer");
    assert_eq!(after["properties"]["phone"], "+1 555 0100");
    // The unknown record id is a row error on line 3, with its row.
    let (_, errors) = f
        .hs_get(
            &token,
            &format!("/crm/v3/imports/{import}/errors?includeRowData=true"),
        )
        .await;
    let rows = errors["results"].as_array().expect("results");
    assert_eq!(rows.len(), 1, "{errors}");
    assert_eq!(rows[0]["errorType"], "INVALID_OBJECT_ID");
    assert_eq!(rows[0]["sourceData"]["lineNumber"], 3);
    assert_eq!(rows[0]["sourceData"]["rowData"][0], "999999999");
    // Without the crm.import scope, no import.
    let (plain, _) = f.hs_connect().await;
    let refused = f
        .http
        .post(f.hs_url("/crm/v3/imports"))
        .bearer_auth(&plain)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
