//! Simulator capacity: small requests per second and records per second in batch reads,
//! limits off, client and server in one process on loopback (so the figures are a lower
//! bound: the load generator shares the two cores).
//!
//! `cargo bench --bench simulator` (or `-- --seconds N` for longer runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hubforce::sim::{SimConfig, Simulator};
use reqwest::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const WORKERS: usize = 16;

struct Session {
    http: Client,
    hs_base: String,
    hs_token: String,
    sf_base: String,
    sf_token: String,
}

fn param(url: &str, key: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default()
}

async fn connect(sim: &Simulator) -> Session {
    let info = sim.ready_info().clone();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let hs = &info.hubspot;
    let mut u = url::Url::parse(&hs.authorize_url).expect("url");
    u.query_pairs_mut()
        .append_pair("client_id", &hs.client_id)
        .append_pair("redirect_uri", &hs.redirect_uri)
        .append_pair("scope", &hs.scopes.join(" "))
        .append_pair("state", "b");
    let loc = http.get(u).send().await.expect("authorize").headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let code = param(&loc, "code");
    let t: Value = http
        .post(&hs.token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &hs.client_id),
            ("client_secret", &hs.client_secret),
            ("redirect_uri", &hs.redirect_uri),
            ("code", &code),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let sf = &info.salesforce;
    let verifier = "b".repeat(48);
    let mut u =
        url::Url::parse(&format!("{}/services/oauth2/authorize", sf.login_url)).expect("url");
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &sf.client_id)
        .append_pair("redirect_uri", &sf.redirect_uri)
        .append_pair(
            "code_challenge",
            &URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        );
    let loc = http.get(u).send().await.expect("authorize").headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let code = param(&loc, "code");
    let s: Value = http
        .post(format!("{}/services/oauth2/token", sf.login_url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &sf.client_id),
            ("client_secret", &sf.client_secret),
            ("redirect_uri", &sf.redirect_uri),
            ("code", &code),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    Session {
        http,
        hs_base: hs.api_base.clone(),
        hs_token: t["access_token"].as_str().unwrap_or_default().to_string(),
        sf_base: format!("{}/services/data/v{}", sf.instance_url, sf.api_version),
        sf_token: s["access_token"].as_str().unwrap_or_default().to_string(),
    }
}

/// Run `op` from WORKERS concurrent tasks for `secs`; returns (operations, units) per second.
async fn drive<F, Fut>(secs: f64, op: F) -> (f64, f64)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let op = Arc::new(op);
    let (ops, units) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (op, ops, units) = (op.clone(), ops.clone(), units.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    units.fetch_add(op(w, i).await, Ordering::Relaxed);
                    ops.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let el = start.elapsed().as_secs_f64();
    (
        ops.load(Ordering::Relaxed) as f64 / el,
        units.load(Ordering::Relaxed) as f64 / el,
    )
}

fn main() {
    let secs: f64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let mut c = SimConfig::new(1).without_limits();
        c.contacts = 20_000;
        c.companies = 500;
        c.deals = 200;
        c.leads = 20_000;
        let t0 = Instant::now();
        let sim = Simulator::start(c).await.expect("sim");
        let seed_time = t0.elapsed();
        let s = Arc::new(connect(&sim).await);
        let ids: Vec<String> = {
            let v: Value = s.http.get(format!("{}/crm/v3/objects/contacts?limit=100", s.hs_base)).bearer_auth(&s.hs_token).send().await.expect("list").json().await.expect("json");
            v["results"].as_array().map(|a| a.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect()).unwrap_or_default()
        };
        let ids = Arc::new(ids);
        println!("simulator capacity ({WORKERS} concurrent client tasks, {secs} s each, limits off)");
        println!("  seeded 20,000 contacts + 20,000 leads in {:.2} s", seed_time.as_secs_f64());

        let (rps, _) = {
            let (s, ids) = (s.clone(), ids.clone());
            drive(secs, move |w, i| {
                let (s, ids) = (s.clone(), ids.clone());
                async move {
                    let id = &ids[(w * 7 + i as usize) % ids.len()];
                    let r = s.http.get(format!("{}/crm/v3/objects/contacts/{id}", s.hs_base)).bearer_auth(&s.hs_token).send().await;
                    if let Ok(r) = r {
                        let _ = r.bytes().await;
                    }
                    1
                }
            })
            .await
        };
        println!("  HubSpot GET one contact            {rps:>9.0} requests/s");

        let (rps_sf, _) = {
            let s = s.clone();
            drive(secs, move |_, _| {
                let s = s.clone();
                async move {
                    let r = s.http.get(format!("{}/limits", s.sf_base)).bearer_auth(&s.sf_token).send().await;
                    if let Ok(r) = r {
                        let _ = r.bytes().await;
                    }
                    1
                }
            })
            .await
        };
        println!("  Salesforce GET /limits             {rps_sf:>9.0} requests/s");

        let (_, recs) = {
            let (s, ids) = (s.clone(), ids.clone());
            drive(secs, move |_, _| {
                let (s, ids) = (s.clone(), ids.clone());
                async move {
                    let inputs: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
                    let body = json!({"inputs": inputs, "properties": ["email", "firstname", "lastname", "lifecyclestage"]});
                    let r = s.http.post(format!("{}/crm/v3/objects/contacts/batch/read", s.hs_base)).bearer_auth(&s.hs_token).json(&body).send().await;
                    match r {
                        Ok(r) => r.json::<Value>().await.ok().and_then(|v| v["results"].as_array().map(|a| a.len() as u64)).unwrap_or(0),
                        Err(_) => 0,
                    }
                }
            })
            .await
        };
        println!("  HubSpot batch/read (100 per call)  {recs:>9.0} records/s");

        let (_, recs_sf) = {
            let s = s.clone();
            drive(secs, move |_, i| {
                let s = s.clone();
                async move {
                    let soql = format!("SELECT Id, Email, LastName, Company, Status FROM Lead ORDER BY Id LIMIT 2000 OFFSET {}", (i % 2) * 2000);
                    let r = s.http.get(format!("{}/query", s.sf_base)).query(&[("q", soql.as_str())]).bearer_auth(&s.sf_token).send().await;
                    match r {
                        Ok(r) => r.json::<Value>().await.ok().and_then(|v| v["records"].as_array().map(|a| a.len() as u64)).unwrap_or(0),
                        Err(_) => 0,
                    }
                }
            })
            .await
        };
        println!("  Salesforce SOQL (2,000 per page)   {recs_sf:>9.0} records/s");

        let targets = [(rps >= 3000.0 && rps_sf >= 3000.0, "≥ 3,000 small requests/s"), (recs >= 30_000.0 && recs_sf >= 30_000.0, "≥ 30,000 records/s in batch reads")];
        for (ok, what) in targets {
            println!("  target {what}: {}", if ok { "met" } else { "NOT met" });
        }
        sim.shutdown().await;
    });
}
