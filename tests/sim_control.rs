//! The control API: fault injection in each provider's format, stats, token control, reset,
//! and the `hubforce sim` command with its ready file.

mod common;

use std::time::Duration;

use common::{error_code, json, small_config, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn faults_render_in_each_providers_own_format() {
    let f = start(small_config()).await;
    let (hs, _) = f.hs_connect().await;
    let (sf, _, _) = f.sf_connect().await;
    let install = |spec: Value| f.control_post("/faults", spec);

    assert_eq!(
        install(json!({"provider": "hubspot", "kind": "rate_limit", "count": 1})).await,
        StatusCode::OK
    );
    let (s, v) = f.hs_get(&hs, "/crm/v3/objects/contacts").await;
    assert_eq!(
        (s, v["policyName"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("TEN_SECONDLY_ROLLING"))
    );
    assert_eq!(
        f.hs_get(&hs, "/crm/v3/objects/contacts").await.0,
        StatusCode::OK,
        "count 1 fires once"
    );

    install(json!({"provider": "hubspot", "kind": "html_error", "status": 502, "count": 1})).await;
    let r = f
        .http
        .get(f.hs_url("/crm/v3/objects/contacts"))
        .bearer_auth(&hs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    install(json!({"provider": "salesforce", "kind": "rate_limit", "count": 1})).await;
    let (s, v) = f.sf_get(&sf, "/limits").await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED".into())
    );
    assert!(
        v[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("ConcurrentPerOrgLongTxn")
    );

    install(json!({"provider": "salesforce", "kind": "server_error", "count": 1})).await;
    let (s, v) = f.sf_get(&sf, "/limits").await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE".into())
    );

    install(
        json!({"provider": "salesforce", "kind": "lock", "route": "/sobjects/Account", "count": 1}),
    )
    .await;
    let (s, v) = f
        .sf_send(
            &sf,
            Method::POST,
            "/sobjects/Account/",
            json!({"Name": "Locked"}),
        )
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "UNABLE_TO_LOCK_ROW".into())
    );

    install(json!({"provider": "hubspot", "kind": "daily_limit", "count": 1})).await;
    let (_, v) = f.hs_get(&hs, "/crm/v3/owners").await;
    assert_eq!(
        (v["policyName"].as_str(), v["message"].as_str()),
        (Some("DAILY"), Some("You have reached your daily limit."))
    );

    // HubSpot's lock is 423 Locked: "a delay of at least 2 seconds".
    install(json!({"provider": "hubspot", "kind": "lock", "count": 1})).await;
    let (s, v) = f.hs_get(&hs, "/crm/v3/owners").await;
    assert_eq!(s, StatusCode::LOCKED, "{v}");
    assert!(v["correlationId"].is_string(), "{v}");
    assert_eq!(
        install(json!({"provider": "hubspot", "kind": "nonsense"})).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        install(json!({"provider": "hubspot", "kind": "rate_limit", "typo": 1})).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn partial_batch_failures_fail_only_some_inputs() {
    let f = start(small_config()).await;
    let (hs, _) = f.hs_connect().await;
    let (sf, _, _) = f.sf_connect().await;
    f.control_post("/faults", json!({"provider": "hubspot", "kind": "partial_batch", "route": "/batch/create", "fraction": 0.5, "count": 1})).await;
    let inputs: Vec<Value> = (0..40)
        .map(|i| json!({"properties": {"name": format!("P{i}")}, "objectWriteTraceId": format!("t{i}")}))
        .collect();
    let (s, v) = f
        .hs_post(
            &hs,
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": inputs}),
        )
        .await;
    assert_eq!(s, StatusCode::MULTI_STATUS);
    let (ok, failed) = (
        v["results"].as_array().unwrap().len(),
        v["numErrors"].as_u64().unwrap() as usize,
    );
    assert_eq!(ok + failed, 40);
    assert!(failed > 5 && ok > 5, "{ok} ok, {failed} failed");
    // Injected failures look like real ones: keyed by each input's trace id, which the
    // results echo too.
    let mut traces: Vec<String> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["context"]["objectWriteTraceId"][0]
                .as_str()
                .expect("keyed by trace id")
                .to_string()
        })
        .chain(v["results"].as_array().unwrap().iter().map(|r| {
            r["objectWriteTraceId"]
                .as_str()
                .expect("echoed")
                .to_string()
        }))
        .collect();
    traces.sort();
    traces.dedup();
    assert_eq!(traces.len(), 40, "every input accounted for once");
    assert!(v["errors"][0].get("correlationId").is_none(), "{v}");

    f.control_post("/faults", json!({"provider": "salesforce", "kind": "lock", "route": "/composite/sobjects", "fraction": 0.5, "count": 1})).await;
    let records: Vec<Value> = (0..40)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("L{i}")}))
        .collect();
    let (s, v) = f
        .sf_send(
            &sf,
            Method::POST,
            "/composite/sobjects",
            json!({"records": records}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let locked = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW")
        .count();
    assert!(locked > 5 && locked < 35, "{locked}");
}

#[tokio::test]
async fn resets_and_timeouts_break_the_connection_as_clients_see_them() {
    let f = start(small_config()).await;
    let (hs, _) = f.hs_connect().await;
    f.control_post(
        "/faults",
        json!({"provider": "hubspot", "kind": "reset", "count": 1}),
    )
    .await;
    let r = f
        .http
        .get(f.hs_url("/crm/v3/objects/contacts"))
        .bearer_auth(&hs)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "a reset must not look like a complete answer");
    f.control_post(
        "/faults",
        json!({"provider": "hubspot", "kind": "timeout", "latency_ms": 5000, "count": 1}),
    )
    .await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let r = quick
        .get(f.hs_url("/crm/v3/objects/contacts"))
        .bearer_auth(&hs)
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    f.control_post(
        "/faults",
        json!({"provider": "hubspot", "kind": "latency", "latency_ms": 150, "count": 1}),
    )
    .await;
    let t0 = std::time::Instant::now();
    assert_eq!(f.hs_get(&hs, "/crm/v3/owners").await.0, StatusCode::OK);
    assert!(t0.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn stats_count_requests_by_route_and_grants_by_type() {
    let f = start(small_config()).await;
    let (hs, _) = f.hs_connect().await;
    let (sf, _, _) = f.sf_connect().await;
    f.hs_get(&hs, "/crm/v3/objects/contacts?limit=2").await;
    f.hs_get(&hs, "/crm/v3/objects/contacts?limit=2").await;
    f.sf_query(&sf, "SELECT Id FROM Lead LIMIT 1").await;
    let s = f.stats().await;
    assert_eq!(
        s["requests"]["hubspot"]["by_route"]["GET /crm/v3/objects/{object_type}"]["200"],
        2
    );
    assert_eq!(
        s["requests"]["salesforce"]["by_route"]["GET /services/data/{version}/query"]["200"],
        1
    );
    assert_eq!(s["token_grants"]["hubspot"]["authorization_code"], 1);
    assert_eq!(s["token_grants"]["salesforce"]["authorization_code"], 1);
    assert_eq!(s["records"]["hubspot"]["contacts"], 60);
    assert_eq!(s["records"]["salesforce"]["Lead"], 40);
}

#[tokio::test]
async fn revoking_refresh_tokens_and_reset_restore_a_clean_world() {
    let f = start(small_config()).await;
    let hsinfo = f.info.hubspot.clone();
    let (hs, refresh) = f.hs_connect().await;
    f.control_post("/revoke-refresh-tokens", json!({})).await;
    let (s, v) = f
        .hs_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &hsinfo.client_id),
            ("client_secret", &hsinfo.client_secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REFRESH_TOKEN"))
    );
    let (_, created) = f
        .hs_post(
            &hs,
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Gone after reset"}}),
        )
        .await;
    assert_eq!(
        f.control_post("/reset", json!({})).await,
        StatusCode::NO_CONTENT
    );
    let (hs, _) = f.hs_connect().await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        f.hs_get(&hs, &format!("/crm/v3/objects/companies/{id}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(f.stats().await["records"]["hubspot"]["companies"], 20);
}

#[test]
fn the_sim_command_writes_the_ready_file_and_serves_until_stopped() {
    let dir = std::env::temp_dir().join(format!("hubforce-ready-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ready = dir.join("ready.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hubforce"))
        .args([
            "sim",
            "--seed",
            "3",
            "--contacts",
            "10",
            "--leads",
            "5",
            "--ready-file",
        ])
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("hubforce sim starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ready.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&ready).expect("ready file written");
    let _ = child.kill();
    let _ = child.wait();
    let v: Value = serde_json::from_str(&text).unwrap();
    for k in [
        "api_base",
        "authorize_url",
        "token_url",
        "client_id",
        "client_secret",
        "redirect_uri",
        "scopes",
        "portal_id",
    ] {
        assert!(!v["hubspot"][k].is_null(), "hubspot.{k}");
    }
    for k in [
        "login_url",
        "instance_url",
        "api_version",
        "client_id",
        "client_secret",
        "redirect_uri",
        "username",
        "password",
        "security_token",
    ] {
        assert!(v["salesforce"][k].is_string(), "salesforce.{k}");
    }
    assert!(
        v["control"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn errors_never_echo_tokens() {
    let f = start(small_config()).await;
    let (hs, _) = f.hs_connect().await;
    f.control_post("/expire-tokens", json!({})).await;
    let r = f
        .http
        .get(f.hs_url("/crm/v3/objects/contacts"))
        .bearer_auth(&hs)
        .send()
        .await
        .unwrap();
    let (_, v) = json(r).await;
    assert!(!v.to_string().contains(&hs));
}
