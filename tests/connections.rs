//! Connections against the simulator: connect, refresh, single-flight, revocation, retries,
//! budgets, classification, and that no token leaks into output.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, small_config, start};
use hubforce::config::Config;
use hubforce::error::ErrorClass;
use hubforce::session::Session;
use hubforce::sim::SimConfig;
use serde_json::json;

struct Env {
    f: Fixture,
    dir: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A simulator, and a hubforce.toml written for it by `init --from-sim`, with `edit`
/// applied to the file text.
async fn env(mut config: SimConfig, edit: impl Fn(String) -> String) -> Env {
    // Tests run in parallel: each app gets its own loopback redirect port, below the
    // ephemeral range so that another test's outgoing connection cannot take it meanwhile
    // (port 0 handed out an ephemeral port, and once CI met "Address already in use").
    config = config.with_free_redirect_port();
    let f = start(config).await;
    let dir = std::env::temp_dir().join(format!(
        "hubforce-conn-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ready = serde_json::to_value(&f.info).unwrap();
    hubforce::connect::init_from_sim(&dir, &ready, true).unwrap();
    let path = dir.join("hubforce.toml");
    let text = edit(std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, text).unwrap();
    Env { f, dir }
}

impl Env {
    fn session(&self) -> Session {
        Session::open(
            Config::load(&self.dir.join("hubforce.toml")).unwrap(),
            None,
            "test",
        )
        .unwrap()
    }

    async fn grants(&self, provider: &str, grant: &str) -> u64 {
        self.f.stats().await["token_grants"][provider][grant]
            .as_u64()
            .unwrap_or(0)
    }

    async fn requests(&self, provider: &str) -> u64 {
        self.f.stats().await["requests"][provider]["total"]
            .as_u64()
            .unwrap_or(0)
    }
}

/// A stand-in for the user's browser: follow the authorize URL and the redirect back.
fn browser(url: &url::Url) {
    let url = url.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap();
        let _ = http.get(url).send().await;
    });
}

async fn connected(e: &Env) -> Session {
    let s = e.session();
    hubforce::connect::hubspot(&s, Duration::from_secs(10), browser)
        .await
        .expect("hubspot connects");
    hubforce::connect::salesforce(&s, false, Duration::from_secs(10), browser)
        .await
        .expect("salesforce connects");
    s
}

/// A control call from inside a synchronous callback (the query's page handler).
fn blocking_post(addr: std::net::SocketAddr, path: &str, body: &str) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 204"), "{out}");
}

fn no_edit(s: String) -> String {
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_stores_tokens_and_status_shows_them_without_tokens() {
    let e = env(small_config(), no_edit).await;
    let s = connected(&e).await;
    let st = hubforce::connect::status(&s).await;
    assert!(st[0].connected && st[1].connected);
    assert_eq!(st[0].hub_id, Some(e.f.info.hubspot.portal_id));
    assert!(st[0].expires_in_secs.unwrap() > 1700);
    assert!(
        st[0]
            .scopes
            .contains(&"crm.objects.contacts.read".to_string())
    );
    assert_eq!(st[1].sandbox, Some(false));
    let text = hubforce::connect::render_status(&s.profile, &st, &s.log.summary(24));
    let hs_token = s.hubspot.as_ref().unwrap().auth.tokens().await.unwrap();
    let sf_token = s.salesforce.as_ref().unwrap().auth.tokens().await.unwrap();
    for secret in [
        hs_token.access_token.expose(),
        hs_token.refresh_token.expose(),
        sf_token.access_token.expose(),
    ] {
        assert!(!text.contains(secret));
        assert!(!format!("{st:?}").contains(secret));
        assert!(
            !format!("{hs_token:?}{sf_token:?}").contains(secret),
            "Debug of stored tokens is redacted"
        );
        assert!(
            !s.log.paths().concat().contains(secret),
            "request log paths"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let f = e.dir.join(".hubforce/sim/hubspot.tokens.json");
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_in_the_middle_of_a_paged_read_costs_one_refresh() {
    let mut c = small_config();
    c.contacts = 450;
    c.leads = 2_300;
    let e = env(c, no_edit).await;
    let s = connected(&e).await;
    let hs = s.hubspot().unwrap();
    let mut after = None;
    let mut n = 0;
    let mut pages = 0;
    loop {
        let (page, next) = hs
            .list_page("contacts", &["email"], after.as_deref(), 100)
            .await
            .unwrap();
        n += page.len();
        pages += 1;
        if pages == 2 {
            e.f.control_post("/expire-tokens", json!({"provider": "hubspot"}))
                .await;
        }
        match next {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(n, 450);
    assert_eq!(e.grants("hubspot", "refresh_token").await, 1);
    let sf = s.salesforce().unwrap();
    let mut rows = 0;
    let mut first = true;
    let total = sf
        .query_pages("SELECT Id FROM Lead", false, |page| {
            rows += page.len();
            if first {
                first = false;
                blocking_post(
                    e.f.sim.control_addr(),
                    "/expire-tokens",
                    r#"{"provider":"salesforce"}"#,
                );
            }
            true
        })
        .await
        .unwrap();
    assert_eq!((rows as u64, total), (2_300, 2_300));
    assert_eq!(e.grants("salesforce", "refresh_token").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_on_an_expired_token_make_one_refresh() {
    let e = env(small_config(), no_edit).await;
    let s = Arc::new(connected(&e).await);
    e.f.control_post("/expire-tokens", json!({})).await;
    // HubSpot: the stored expiry says "expired", so the first caller refreshes ahead.
    let hs = s.hubspot().unwrap();
    let mut t = hs.auth.tokens().await.unwrap();
    t.expires_at = chrono::Utc::now() - chrono::Duration::seconds(5);
    hs.auth.install(t).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                s.hubspot()
                    .unwrap()
                    .request(reqwest::Method::GET, "/crm/v3/owners", None)
                    .await
                    .map(|_| ())
            } else {
                s.salesforce().unwrap().limits().await.map(|_| ())
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every call succeeds");
    }
    assert_eq!(e.grants("hubspot", "refresh_token").await, 1);
    assert_eq!(e.grants("salesforce", "refresh_token").await, 1);
    assert_eq!(
        (
            s.hubspot().unwrap().auth.refresh_count(),
            s.salesforce().unwrap().auth.refresh_count()
        ),
        (1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_is_auth_revoked_once_without_a_retry_storm() {
    let e = env(small_config(), no_edit).await;
    let s = connected(&e).await;
    e.f.control_post("/revoke-refresh-tokens", json!({})).await;
    e.f.control_post("/expire-tokens", json!({})).await;
    let sf = s.salesforce().unwrap();
    let before = e.requests("salesforce").await;
    let err = sf.limits().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::AuthRevoked, "{err}");
    assert!(
        err.hint.contains("hubforce connect salesforce"),
        "{}",
        err.hint
    );
    for _ in 0..5 {
        assert_eq!(
            sf.limits().await.unwrap_err().class,
            ErrorClass::AuthRevoked
        );
    }
    assert_eq!(sf.auth.refresh_count(), 1, "the refusal is remembered");
    // One data call (401) and one refresh: nothing more reached the simulator.
    assert_eq!(e.requests("salesforce").await - before, 2);
    let hs = s.hubspot().unwrap();
    let err = hs
        .request(reqwest::Method::GET, "/crm/v3/owners", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.class, err.code.as_deref()),
        (ErrorClass::AuthRevoked, Some("BAD_REFRESH_TOKEN"))
    );
    assert!(err.hint.contains("hubforce connect hubspot"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_429s_and_thirty_percent_5xx_still_complete_with_bounded_retries() {
    let mut c = small_config();
    c.contacts = 400;
    let e = env(c, no_edit).await;
    let mut s = connected(&e).await;
    let hs = Arc::get_mut(&mut s.hubspot.as_mut().unwrap().transport).expect("sole owner");
    let fast = |api: &mut hubforce::api::transport::RetryPolicy| {
        api.base = Duration::from_millis(5);
        api.cap = Duration::from_millis(40);
        api.max_attempts = 12;
    };
    fast(&mut hs.retry);
    fast(
        &mut Arc::get_mut(&mut s.salesforce.as_mut().unwrap().transport)
            .expect("sole owner")
            .retry,
    );
    e.f.control_post(
        "/faults",
        json!([
            {"provider": "hubspot", "kind": "server_error", "probability": 0.3, "route": "/crm/v3/objects"},
            {"provider": "hubspot", "kind": "html_error", "count": 2, "route": "/crm/v3/objects"},
            {"provider": "hubspot", "kind": "rate_limit", "count": 3, "route": "/crm/v3/objects"},
            {"provider": "salesforce", "kind": "server_error", "probability": 0.3, "route": "/query"},
            {"provider": "salesforce", "kind": "lock", "count": 2, "route": "/sobjects/Account"},
        ]),
    )
    .await;
    let before = e.requests("hubspot").await;
    let all = s
        .hubspot()
        .unwrap()
        .list_all("contacts", &["email"])
        .await
        .expect("completes");
    assert_eq!(all.len(), 400);
    let calls = e.requests("hubspot").await - before;
    assert!((4..40).contains(&calls), "4 pages took {calls} calls");
    let sf = s.salesforce().unwrap();
    for _ in 0..5 {
        sf.query("SELECT Id FROM Lead LIMIT 5")
            .await
            .expect("query completes");
    }
    let id = sf
        .create("Account", json!({"Name": "Locked twice"}))
        .await
        .expect("lock errors are retried");
    assert!(!id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_daily_budget_pauses_with_a_message_and_sends_nothing_more() {
    let e = env(small_config(), |t| {
        t.replace(
            "[profiles.sim.hubspot]\n",
            "[profiles.sim.hubspot]\ndaily_limit = 3\n",
        )
    })
    .await;
    let s = connected(&e).await;
    let hs = s.hubspot().unwrap();
    let mut ok = 0;
    let err = loop {
        match hs
            .request(reqwest::Method::GET, "/crm/v3/owners", None)
            .await
        {
            Ok(_) => ok += 1,
            Err(err) => break err,
        }
    };
    // connect made one call (introspection) of the three.
    assert_eq!(ok, 2);
    assert_eq!(err.class, ErrorClass::RateDaily);
    assert!(
        err.hint.contains("pauses until the quota resets"),
        "{}",
        err.hint
    );
    let before = e.requests("hubspot").await;
    let _ = hs
        .request(reqwest::Method::GET, "/crm/v3/owners", None)
        .await;
    assert_eq!(
        e.requests("hubspot").await,
        before,
        "no call reaches HubSpot once the budget is spent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_daily_quota_and_salesforce_allocation_are_classified_rate_daily() {
    let mut c = small_config();
    c.salesforce.daily_api_limit = Some(4);
    let e = env(c, no_edit).await;
    let s = connected(&e).await;
    let sf = s.salesforce().unwrap();
    let err = loop {
        if let Err(err) = sf.limits().await {
            break err;
        }
    };
    // Either the org refused (403 REQUEST_LIMIT_EXCEEDED) or hubforce stopped first, having
    // learned from Sforce-Limit-Info that the allocation is spent.
    assert_eq!(err.class, ErrorClass::RateDaily, "{err}");
    assert!(
        err.message.contains("4/4") || err.code.as_deref() == Some("REQUEST_LIMIT_EXCEEDED"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_secret_redirect_and_access_failures_are_classified_and_hinted() {
    // A grant without the lists scopes (the app does not ask for them).
    let mut c = small_config();
    c.hubspot
        .required_scopes
        .retain(|s| !s.starts_with("crm.lists"));
    let e = env(c, |t| {
        t.replace("\"crm.lists.read\", \"crm.lists.write\", ", "")
    })
    .await;
    let s = connected(&e).await;
    let err = s
        .hubspot()
        .unwrap()
        .request(reqwest::Method::GET, "/crm/v3/lists/1", None)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::AuthScope, "{err}");
    assert!(err.hint.contains("crm.lists.read"), "{}", err.hint);
    let sf = s.salesforce().unwrap();
    let err = sf
        .create(
            "User",
            json!({"Username": "x@y.example", "Email": "x@y.example", "LastName": "X"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Permission, "{err}");
    let err = sf.query("SELECT Bogus FROM Lead").await.unwrap_err();
    assert_eq!(
        (err.class, err.code.as_deref()),
        (ErrorClass::Validation, Some("INVALID_FIELD"))
    );
    assert_eq!(err.to_string().lines().count(), 1);

    // The profile asks for fewer scopes than the app requires: HubSpot refuses the install.
    let e = env(small_config(), |t| {
        t.replace("\"crm.lists.read\", \"crm.lists.write\", ", "")
    })
    .await;
    let err = hubforce::connect::hubspot(&e.session(), Duration::from_secs(2), browser)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    // Wrong secret.
    let e = env(small_config(), no_edit).await;
    let envfile = e.dir.join(".hubforce/sim.env");
    let text = std::fs::read_to_string(&envfile).unwrap();
    let bad: String = text
        .lines()
        .map(|l| {
            if l.starts_with("SIM_HUBSPOT_CLIENT_SECRET=") {
                "SIM_HUBSPOT_CLIENT_SECRET=wrong".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&envfile, bad).unwrap();
    let err = hubforce::connect::hubspot(&e.session(), Duration::from_secs(5), browser)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("auth.client") && msg.contains("client secret"),
        "{msg}"
    );

    // Redirect URI not registered: the provider never redirects back.
    let e = env(small_config(), |t| {
        t.replace("/callback/hubspot", "/elsewhere")
    })
    .await;
    let err = hubforce::connect::hubspot(&e.session(), Duration::from_secs(2), browser)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redirect URI"), "{err}");

    // Denied consent.
    let e = env(small_config(), no_edit).await;
    e.f.control_post("/settings", json!({"salesforce": {"deny_consent": true}}))
        .await;
    let err = hubforce::connect::salesforce(&e.session(), false, Duration::from_secs(5), browser)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("access_denied") && err.to_string().contains("Allow"),
        "{err}"
    );
}

#[test]
fn hubforce_api_prints_json_and_exits_per_error_class() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt.block_on(async {
        let e = env(small_config(), no_edit).await;
        let s = e.session();
        hubforce::connect::salesforce_password(&s, false)
            .await
            .unwrap();
        e
    });
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hubforce"))
            .arg("--config")
            .arg(e.dir.join("hubforce.toml"))
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&[
        "api",
        "salesforce",
        "GET",
        "query?q=SELECT+Id+FROM+Lead+LIMIT+1",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["totalSize"], 1);
    let bad = run(&["api", "salesforce", "GET", "query?q=SELECT+Nope+FROM+Lead"]);
    assert_eq!(bad.status.code(), Some(7));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("INVALID_FIELD") && err.contains("(validation)"),
        "{err}"
    );
    let unconnected = run(&["api", "hubspot", "GET", "/crm/v3/owners"]);
    assert_eq!(unconnected.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&unconnected.stderr).contains("hubforce connect hubspot"));
    let status = run(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("password login"), "{text}");
    let token: serde_json::Value = serde_json::from_slice(
        &std::fs::read(e.dir.join(".hubforce/sim/salesforce.tokens.json")).unwrap(),
    )
    .unwrap();
    let secret = token["access_token"].as_str().unwrap();
    for out in [&ok, &bad, &unconnected, &status] {
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(secret)
                && !String::from_utf8_lossy(&out.stderr).contains(secret)
        );
    }
    drop(rt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_windows_past_the_ten_thousand_result_cap() {
    let mut c = small_config();
    c.contacts = 10_450;
    c.leads = 10;
    c.hubspot.search_per_second = 1000;
    let e = env(c, |t| {
        t.replace(
            "[profiles.sim.hubspot]\n",
            "[profiles.sim.hubspot]\nsearch_per_second = 1000\n",
        )
    })
    .await;
    let s = connected(&e).await;
    let mut ids = Vec::new();
    let seen = s
        .hubspot()
        .unwrap()
        .search_all("contacts", vec![], &["email"], |page| {
            ids.extend(
                page.iter()
                    .map(|r| r["id"].as_str().unwrap().parse::<u64>().unwrap()),
            );
            true
        })
        .await
        .expect("search completes");
    assert_eq!(seen, 10_450);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 10_450, "no record twice, none lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_chunk_and_report_per_record() {
    let e = env(small_config(), no_edit).await;
    let s = connected(&e).await;
    let hs = s.hubspot().unwrap();
    let inputs: Vec<serde_json::Value> = (0..250)
        .map(|i| json!({"properties": {"name": format!("Chunk {i}")}}))
        .collect();
    let before = e.requests("hubspot").await;
    let out = hs
        .batch("companies", "create", inputs, json!({}))
        .await
        .unwrap();
    assert_eq!(
        e.requests("hubspot").await - before,
        3,
        "250 inputs in 3 calls"
    );
    assert_eq!(out.len(), 250);
    let ok: Vec<&serde_json::Value> = out
        .iter()
        .filter_map(|r| {
            if let hubforce::api::hubspot::ItemResult::Ok(v) = r {
                Some(v)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(ok.len(), 250);
    assert_eq!(
        ok[7]["properties"]["name"], "Chunk 7",
        "results line up with inputs"
    );
    e.f.control_post("/faults", json!({"provider": "hubspot", "kind": "partial_batch", "route": "/batch/update", "fraction": 0.3, "count": 1})).await;
    let updates: Vec<serde_json::Value> = ok
        .iter()
        .take(100)
        .map(|r| json!({"id": r["id"], "properties": {"city": "Osaka"}}))
        .collect();
    let out = hs
        .batch("companies", "update", updates, json!({}))
        .await
        .unwrap();
    let failed = out
        .iter()
        .filter(|r| matches!(r, hubforce::api::hubspot::ItemResult::Failed(_)))
        .count();
    assert!(failed > 10 && failed < 60, "{failed}");

    let sf = s.salesforce().unwrap();
    let mut records: Vec<serde_json::Value> = (0..450)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("SF chunk {i}")}))
        .collect();
    records[3] = json!({"attributes": {"type": "Account"}, "Nope__c": 1});
    let before = e.requests("salesforce").await;
    let out = sf
        .collection(
            hubforce::api::salesforce::CollectionOp::Create,
            records,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        e.requests("salesforce").await - before,
        3,
        "450 records in 3 calls"
    );
    match &out[3] {
        hubforce::api::hubspot::ItemResult::Failed(err) => {
            assert_eq!(err.class, ErrorClass::Validation)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        out.iter()
            .filter(|r| matches!(r, hubforce::api::hubspot::ItemResult::Ok(_)))
            .count(),
        449
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_refresh_tokens_are_saved() {
    let mut c = small_config();
    c.salesforce.rotate_refresh_tokens = true;
    let e = env(c, no_edit).await;
    let s = connected(&e).await;
    let file = e.dir.join(".hubforce/sim/salesforce.tokens.json");
    let read = || {
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&file).unwrap()).unwrap()["refresh_token"].clone()
    };
    let first = read();
    e.f.control_post("/expire-tokens", json!({})).await;
    s.salesforce().unwrap().limits().await.unwrap();
    let second = read();
    assert_ne!(
        first, second,
        "the rotated token replaced the old one on disk"
    );
    // A new process (a new session) keeps working with the saved token.
    e.f.control_post("/expire-tokens", json!({})).await;
    e.session()
        .salesforce()
        .unwrap()
        .limits()
        .await
        .expect("the saved refresh token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_with_the_wrong_state_is_refused() {
    let e = env(small_config(), no_edit).await;
    let redirect = e.f.info.hubspot.redirect_uri.clone();
    let target = format!("{redirect}?code=abc&state=forged");
    let err = hubforce::auth::flow::receive_code(
        hubforce::error::Provider::Hubspot,
        &redirect,
        "expected-state",
        &url::Url::parse("http://127.0.0.1:1/authorize").unwrap(),
        Duration::from_secs(5),
        move |_| {
            tokio::spawn(async move {
                let _ = reqwest::get(target).await;
            });
        },
    )
    .await
    .unwrap_err();
    assert!(err.message.contains("state does not match"), "{err}");
    assert!(err.hint.contains("newest browser tab"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_refreshes_at_the_login_host_the_session_came_from() {
    let e = env(small_config(), no_edit).await;
    let s = connected(&e).await;
    let tokens = s.salesforce().unwrap().auth.tokens().await.unwrap();
    // The profile now names another login host (as after `connect salesforce --sandbox`,
    // where the session's host differs from the profile's).
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let path = e.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(&e.f.info.salesforce.login_url, &format!("http://{dead}"));
    std::fs::write(&path, text).unwrap();
    let s2 = e.session();
    assert_eq!(
        s2.salesforce()
            .unwrap()
            .auth
            .tokens()
            .await
            .unwrap()
            .login_url,
        tokens.login_url
    );
    e.f.control_post("/expire-tokens", json!({})).await;
    s2.salesforce()
        .unwrap()
        .limits()
        .await
        .expect("refreshed at the session's own login host");
}
