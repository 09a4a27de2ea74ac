//! Answers the providers themselves published — their API docs' examples, bodies pasted from
//! live portals and orgs in public issues and Q&A — in `tests/fixtures/{hubspot,salesforce}`,
//! each file naming its source. Two readers, so a misreading must fool a third party too:
//! the client classifies and parses each as its provider meant it (class, code, what it
//! names), and the simulator, asked the same request, answers in the same shape (status,
//! keys and nesting, header names).

mod common;

use std::path::{Path, PathBuf};

use hubforce::api::classify::{Grant, classify, classify_oauth};
use hubforce::api::hubspot::{ItemResult, batch_results};
use hubforce::api::salesforce::collection_results;
use hubforce::error::{ApiError, Provider};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use common::{Fixture, small_config, start};

struct Recorded {
    name: String,
    provider: Provider,
    fixture: Value,
}

fn recorded() -> Vec<Recorded> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for (dir, provider) in [
        ("hubspot", Provider::Hubspot),
        ("salesforce", Provider::Salesforce),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("fixtures folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("readable");
            let fixture: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            out.push(Recorded {
                name: format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()),
                provider,
                fixture,
            });
        }
    }
    out
}

fn headers_of(answer: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in answer["headers"].as_object().into_iter().flatten() {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v.as_str().expect("header value")).expect("header value"),
        );
    }
    h
}

fn body_bytes(answer: &Value) -> Vec<u8> {
    match &answer["body"] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        v => serde_json::to_vec(v).expect("serialisable"),
    }
}

/// Does the classified error say what the fixture says it must?
fn check_error(name: &str, e: &ApiError, want: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    if let Some(class) = want["class"].as_str()
        && e.class.as_str() != class
    {
        wrong.push(format!("class {} (want {class})", e.class.as_str()));
    }
    if let Some(code) = want["code"].as_str()
        && e.code.as_deref() != Some(code)
    {
        wrong.push(format!("code {:?} (want {code})", e.code));
    }
    if let Some(names) = want["names"].as_array() {
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        if e.names != names {
            wrong.push(format!("names {:?} (want {names:?})", e.names));
        }
    }
    for key in ["hint", "message"] {
        for part in want[key].as_array().into_iter().flatten() {
            let part = part.as_str().unwrap_or_default();
            let text = if key == "hint" { &e.hint } else { &e.message };
            if !text.contains(part) {
                wrong.push(format!("{key} {text:?} does not say {part:?}"));
            }
        }
    }
    if let Some(secs) = want["retry_after_at_least"].as_f64()
        && e.retry_after.is_none_or(|d| d.as_secs_f64() < secs)
    {
        wrong.push(format!(
            "retry_after {:?} (want at least {secs} s)",
            e.retry_after
        ));
    }
    wrong.into_iter().map(|w| format!("{name}: {w}")).collect()
}

fn check_items(name: &str, got: &[ItemResult], want: &Value) -> Vec<String> {
    let want = want.as_array().expect("results");
    if got.len() != want.len() {
        return vec![format!(
            "{name}: {} results (want {})",
            got.len(),
            want.len()
        )];
    }
    let mut wrong = Vec::new();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w["ok"].as_bool()) {
            (ItemResult::Ok(v), Some(true)) => {
                if let Some(id) = w["id"].as_str()
                    && v["id"].as_str() != Some(id)
                {
                    wrong.push(format!("{name}: input {i} matched result {}", v["id"]));
                }
            }
            (ItemResult::Failed(e), None | Some(false)) => {
                wrong.extend(check_error(&format!("{name} input {i}"), e, w))
            }
            (ItemResult::Ok(_), _) => wrong.push(format!("{name}: input {i} ok, want failed")),
            (ItemResult::Failed(e), _) => {
                wrong.push(format!("{name}: input {i} failed ({e}), want ok"))
            }
        }
    }
    wrong
}

/// How the client reads one recorded answer, and what it got wrong.
fn client_reading(r: &Recorded) -> Vec<String> {
    let answer = &r.fixture["answer"];
    let want = &r.fixture["client"];
    let status = answer["status"].as_u64().expect("status") as u16;
    let body = body_bytes(answer);
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let how = want["as"].as_str().expect("client.as");
    match how {
        "error" => check_error(
            &r.name,
            &classify(r.provider, status, &headers_of(answer), &body),
            want,
        ),
        "token:refresh" | "token:code" | "token:password" => {
            let grant = match how {
                "token:refresh" => Grant::Refresh,
                "token:code" => Grant::AuthorizationCode,
                _ => Grant::Password,
            };
            check_error(
                &r.name,
                &classify_oauth(r.provider, grant, status, &body),
                want,
            )
        }
        op if op.starts_with("batch:") => {
            let op = &op["batch:".len()..];
            let inputs = want["inputs"].as_array().expect("inputs").clone();
            check_items(
                &r.name,
                &batch_results(op, &inputs, json_body),
                &want["results"],
            )
        }
        "collection" => {
            let items = json_body.as_array().cloned().unwrap_or_default();
            let n = want["results"].as_array().map_or(0, Vec::len);
            check_items(&r.name, &collection_results(n, items), &want["results"])
        }
        "page" => hubforce::api::hubspot::page(&json_body)
            .err()
            .map(|e| format!("{}: not read as a page: {e}", r.name))
            .into_iter()
            .collect(),
        "query" => hubforce::api::salesforce::query_answer(&json_body)
            .err()
            .map(|e| format!("{}: not read as a query answer: {e}", r.name))
            .into_iter()
            .collect(),
        "describe" => {
            let got = hubforce::sync::described::Described::of(&json_body).defaults;
            let want: std::collections::HashMap<String, Value> =
                serde_json::from_value(want["defaults"].clone()).expect("client.defaults");
            (got != want)
                .then(|| format!("{}: defaults on create {got:?}, want {want:?}", r.name))
                .into_iter()
                .collect()
        }
        "object" => (!json_body.is_object())
            .then(|| format!("{}: not an object", r.name))
            .into_iter()
            .collect(),
        other => vec![format!("{}: unknown client.as {other}", r.name)],
    }
}

#[test]
fn every_recorded_answer_names_its_source_and_there_are_enough() {
    let all = recorded();
    for r in &all {
        let source = r.fixture["source"].as_str().unwrap_or_default();
        assert!(
            source.starts_with("https://") && source.len() > 20,
            "{}: a fixture names where its answer comes from",
            r.name
        );
        assert!(r.fixture["answer"]["status"].is_u64(), "{}: status", r.name);
        assert!(r.fixture["client"]["as"].is_string(), "{}: client", r.name);
    }
    let hubspot = all
        .iter()
        .filter(|r| r.provider == Provider::Hubspot)
        .count();
    assert!(
        all.len() >= 40 && hubspot >= 15 && all.len() - hubspot >= 15,
        "{} fixtures",
        all.len()
    );
}

#[test]
fn the_client_reads_every_recorded_answer_as_its_provider_meant() {
    let wrong: Vec<String> = recorded().iter().flat_map(client_reading).collect();
    assert!(wrong.is_empty(), "misread:\n{}", wrong.join("\n"));
}

// ---- the simulator, asked the same ----

/// Values the simulator's request needs, from a fresh connection to it.
struct Live {
    values: Vec<(&'static str, String)>,
}

impl Live {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    fn fill_json(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.fill(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.fill_json(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.fill_json(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

async fn live(f: &Fixture, setup: &Value) -> Live {
    f.control_post("/reset", json!({})).await;
    let (hs_access, hs_refresh) = f.hs_connect().await;
    let (sf_access, sf_refresh, _) = f.sf_connect().await;
    let (_, first) = f
        .hs_get(
            &hs_access,
            "/crm/v3/objects/contacts?limit=1&properties=email",
        )
        .await;
    let contact_id = first["results"][0]["id"].as_str().unwrap_or_default();
    let contact_email = first["results"][0]["properties"]["email"]
        .as_str()
        .unwrap_or_default();
    let token = match setup["token"].as_str().unwrap_or("none") {
        "hubspot" => hs_access.clone(),
        "salesforce" => sf_access.clone(),
        // The app is registered without the lists scopes (see the test), so its token lacks them.
        "hubspot:without-lists" => hs_access.clone(),
        "hubspot:expired" => {
            f.control_post("/expire-tokens", json!({"provider": "hubspot"}))
                .await;
            hs_access.clone()
        }
        "bogus" => "00D000000000001!AQ4AQbogus".to_string(),
        _ => String::new(),
    };
    let hs = &f.info.hubspot;
    let sf = &f.info.salesforce;
    Live {
        values: vec![
            ("token", token),
            ("hubspot_access", hs_access.clone()),
            ("hubspot_refresh", hs_refresh),
            ("salesforce_refresh", sf_refresh),
            ("contact_id", contact_id.to_string()),
            ("contact_email", contact_email.to_string()),
            ("hubspot_client_id", hs.client_id.clone()),
            ("hubspot_client_secret", hs.client_secret.clone()),
            ("hubspot_redirect_uri", hs.redirect_uri.clone()),
            ("salesforce_client_id", sf.client_id.clone()),
            ("salesforce_client_secret", sf.client_secret.clone()),
            ("salesforce_username", sf.username.clone()),
            ("unique", fastrand::u64(..).to_string()),
        ],
    }
}

fn url_of(f: &Fixture, base: &str, path: &str) -> String {
    match base {
        "hubspot" => f.hs_url(path),
        "hubspot_token" => f.info.hubspot.token_url.clone(),
        "salesforce" => f.sf_url(path),
        "salesforce_login" => format!("{}{path}", f.info.salesforce.login_url),
        "salesforce_instance" => format!("{}{path}", f.info.salesforce.instance_url),
        other => panic!("unknown base {other}"),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where the simulator's answer differs in shape from the provider's: keys missing or
/// extra, a different JSON type, nesting. `optional` key paths may be on either side only.
fn shape_diff(want: &Value, got: &Value, at: &str, optional: &[&str], out: &mut Vec<String>) {
    let skip = |p: &str| optional.contains(&p);
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{at}.{k}");
                match b.get(k) {
                    Some(w) => shape_diff(v, w, &p, optional, out),
                    None if !skip(&p) => {
                        out.push(format!("{p}: missing in the simulator's answer"))
                    }
                    None => {}
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                let p = format!("{at}.{k}");
                if !skip(&p) {
                    out.push(format!("{p}: only in the simulator's answer"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let p = format!("{at}[]");
            if !a.is_empty() && b.is_empty() {
                out.push(format!("{p}: empty in the simulator's answer"));
            }
            // Item by item where both have one (results of different kinds), else the first.
            let pairs = a.len().min(b.len()).max(1);
            for i in 0..pairs {
                if let (Some(x), Some(y)) = (a.get(i).or(a.first()), b.get(i).or(b.first())) {
                    shape_diff(x, y, &p, optional, out);
                }
            }
        }
        (a, b) if a.is_null() || b.is_null() => {}
        (a, b) if kind(a) != kind(b) => out.push(format!(
            "{at}: {} in the provider's answer, {} in the simulator's",
            kind(a),
            kind(b)
        )),
        _ => {}
    }
}

/// Headers whose presence says nothing about the API (the edge and transport add them).
const INCIDENTAL_HEADERS: &[&str] = &[
    "date",
    "content-length",
    "connection",
    "server",
    "vary",
    "cf-ray",
    "cf-cache-status",
    "strict-transport-security",
    "set-cookie",
    "access-control-allow-credentials",
    "x-content-type-options",
    "x-envoy-upstream-service-time",
    "x-robots-tag",
    "report-to",
    "nel",
    "expect-ct",
    "transfer-encoding",
];

async fn simulator_differences(f: &Fixture, r: &Recorded) -> Vec<String> {
    let sim = &r.fixture["sim"];
    let live = live(f, sim).await;
    if let Some(fault) = sim.get("fault") {
        assert!(
            f.control_post("/faults", fault.clone()).await.is_success(),
            "{}: fault installs",
            r.name
        );
    }
    let method = reqwest::Method::from_bytes(sim["method"].as_str().unwrap_or("GET").as_bytes())
        .expect("method");
    let url = url_of(
        f,
        sim["base"].as_str().expect("sim.base"),
        &live.fill(sim["path"].as_str().unwrap_or_default()),
    );
    let mut req = f.http.request(method, url);
    let token = live.fill("{token}");
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    for (k, v) in sim["headers"].as_object().into_iter().flatten() {
        req = req.header(k.as_str(), live.fill(v.as_str().unwrap_or_default()));
    }
    if let Some(form) = sim["form"].as_object() {
        let pairs: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.clone(), live.fill(v.as_str().unwrap_or_default())))
            .collect();
        req = req.form(&pairs);
    }
    if let Some(body) = sim.get("body") {
        req = req.json(&live.fill_json(body));
    }
    let resp = req.send().await.expect("the simulator answers");
    let mut wrong = Vec::new();
    let want = &r.fixture["answer"];
    let status = resp.status().as_u16();
    if Some(status as u64) != want["status"].as_u64() {
        wrong.push(format!("status {status} (want {})", want["status"]));
    }
    for (k, v) in want["headers"].as_object().into_iter().flatten() {
        let k = k.to_ascii_lowercase();
        if INCIDENTAL_HEADERS.contains(&k.as_str()) {
            continue;
        }
        match resp.headers().get(&k) {
            None => wrong.push(format!("header {k} missing")),
            Some(got) if k == "content-type" => {
                let mime = |s: &str| s.split(';').next().unwrap_or_default().trim().to_string();
                let got = got.to_str().unwrap_or_default();
                if mime(got) != mime(v.as_str().unwrap_or_default()) {
                    wrong.push(format!("content-type {got} (want {v})"));
                }
            }
            Some(_) => {}
        }
    }
    let text = resp.text().await.unwrap_or_default();
    if want["body"].is_string() {
        // An HTML page or plain text: the same kind of document.
        let html = |s: &str| s.trim_start().starts_with('<');
        if html(&text) != html(want["body"].as_str().unwrap_or_default()) {
            wrong.push("the body is not the same kind of document".into());
        }
    } else {
        let got: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let optional: Vec<&str> = sim["optional"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        shape_diff(&want["body"], &got, "", &optional, &mut wrong);
        if wrong
            .iter()
            .any(|w| w.starts_with('.') || w.starts_with('['))
        {
            wrong.push(format!("the simulator answered {got}"));
        }
    }
    wrong
        .into_iter()
        .map(|w| format!("{}: {w}", r.name))
        .collect()
}

#[tokio::test]
async fn the_simulator_answers_each_recorded_request_in_the_same_shape() {
    let mut config = small_config();
    // More leads than a 200-row query batch, so an answer pages.
    config.leads = 250;
    config
        .hubspot
        .required_scopes
        .retain(|s| !s.starts_with("crm.lists"));
    let f = start(config).await;
    let mut wrong = Vec::new();
    let mut compared = 0;
    for r in recorded().iter().filter(|r| r.fixture.get("sim").is_some()) {
        compared += 1;
        wrong.extend(simulator_differences(&f, r).await);
    }
    assert!(
        compared >= 30,
        "{compared} fixtures compared with the simulator"
    );
    assert!(
        wrong.is_empty(),
        "the simulator differs:\n{}",
        wrong.join("\n")
    );
}
