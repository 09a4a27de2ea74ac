//! The sync health page over HTTP (issue 20), started as a user starts it: what the CRMs
//! hold is escaped, a non-loopback address needs the token, a change needs POST with the
//! page's CSRF token, the CSV is the card's records, /metrics is Prometheus' format.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::cli::{enable, hf, plugin};
use common::page::{Page, csrf};

/// A client that does not follow redirects (the token and the POSTs answer with one).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(url: &str) -> (StatusCode, String) {
    let r = http().get(url).send().await.expect("page answers");
    (r.status(), r.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_crms_hold_is_text_on_every_page_and_no_secret_is_shown() {
    let c = common::connected("serve-escape").await;
    // Errors echo the CRMs' values (as Salesforce's validation messages do): this one
    // carries the contact's first name to the cards, the card and the record.
    plugin(
        &c,
        "echoing",
        "",
        "return { transform = { Lead = { Description = function(record)\n  local p = record.properties or {}\n  if p.email == 'xss@example.com' then error('refused: ' .. tostring(p.firstname)) end\nend } } }",
    );
    enable(&c, &["echoing"], "");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let evil = "<script>alert(1)</script>";
    let created = hs
        .create(
            "contacts",
            json!({"email": "xss@example.com", "firstname": evil, "lastname": "\"><img src=x onerror=alert(2)>", "company": "ACME", "lifecyclestage": "lead"}),
        )
        .await
        .expect("contact");
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let page = Page::start(&c.dir, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let tokens = std::fs::read_to_string(c.dir.join(".hubforce/sim/hubspot.tokens.json"))
        .unwrap_or_default();
    let tokens: Value = serde_json::from_str(&tokens).unwrap_or_default();
    let secrets: Vec<String> = ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| tokens[k].as_str().map(String::from))
        .collect();
    assert!(
        !secrets.is_empty(),
        "the test reads the stored tokens: {tokens}"
    );
    let env = std::fs::read_to_string(c.dir.join(".hubforce/sim.env")).unwrap_or_default();
    let env_secrets: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(_, v)| v)
        .collect();
    let (_, health) = get(&page.url("/health")).await;
    let card = health
        .split("data-card=\"")
        .skip(1)
        .find(|c| c.contains(">plugin</span>"))
        .and_then(|r| r.split('"').next())
        .expect("the plugin's card")
        .to_string();
    let card = format!("/health/{card}");
    let record = format!("/record?q={id}");
    for path in [
        "/",
        "/health",
        &card,
        "/plugins",
        &record,
        "/record?q=xss@example.com",
        "/metrics",
    ] {
        let (status, body) = get(&page.url(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            !body.contains("<script>alert"),
            "{path} runs the CRM's script: {body}"
        );
        assert!(
            !body.contains("<img src=x"),
            "{path} renders the CRM's markup"
        );
        for s in secrets
            .iter()
            .map(String::as_str)
            .chain(env_secrets.iter().copied())
        {
            assert!(!body.contains(s), "{path} shows a secret");
        }
        // The cards show a message's kind (ids and numbers out); a card's records and the
        // record's page show it whole.
        if path.starts_with("/record") || path == card {
            assert!(
                body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{path}: {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_address_needs_the_token_and_changes_need_the_csrf_token() {
    let c = common::connected("serve-guard").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync", "--once", "--objects", "contact"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let first = hs.list_all("contacts", &[]).await.expect("contacts");
    let contact = first[0]["id"].as_str().unwrap_or_default().to_string();
    // A token too short to guard anything is refused before it listens.
    let r = common::cli::hf_env(
        &c.dir,
        &["serve", "--listen", "0.0.0.0:0"],
        &[("HUBFORCE_SERVE_TOKEN", "short")],
    )
    .await;
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("at least 16"), "{}", r.stderr);
    let page = Page::start(&c.dir, &["serve", "--listen", "0.0.0.0:0"], &[]);
    let token = page.token.clone().expect("a generated token, printed once");
    let base = page.base.replace("0.0.0.0", "127.0.0.1");
    let (status, body) = get(&format!("{base}/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // ?token= once: a cookie, and the same page without the token in its address.
    let r = http()
        .get(format!("{base}/health?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/health");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_cookie = http()
        .get(format!("{base}/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), StatusCode::OK);
    let html = with_cookie.text().await.unwrap();
    assert!(
        !html.contains(&token),
        "the page shows its own access token"
    );
    let bearer = http()
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let (status, _) = get(&format!("{base}/?token=wrong{token}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A POST without the page's CSRF token changes nothing.
    let health = http()
        .get(format!("{base}/record?q={contact}"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let good = csrf(&health);
    let post = |form: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut req = http()
            .post(format!("{base}/record/sync"))
            .header("cookie", &pair)
            .form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let record = |csrf: String| {
        vec![
            ("csrf", csrf),
            ("object", "contacts".to_string()),
            ("id", "1".to_string()),
        ]
    };
    let r = post(record("forged".into()), None).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(record(good.clone()), Some("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let ledger = hubforce::sync::ledger::Ledger::open(&c.dir.join(".hubforce/sim/ledger.sqlite"))
        .expect("ledger");
    use hubforce::sync::ledger_asks::AskKind;
    assert!(ledger.asked(AskKind::Sync).unwrap().is_empty());
    let r = post(record(good), None).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(ledger.asked(AskKind::Sync).unwrap().len(), 1);
    // Changing things takes POST: a GET of a form's address is not a way in.
    let (status, _) = get(&format!("{base}/record/sync?token={token}")).await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cards_csv_is_its_records_and_metrics_parse_as_prometheus_text() {
    let c = common::connected("serve-csv").await;
    plugin(
        &c,
        "strict",
        "",
        "return { transform = { Lead = { Description = function(record)\n  error('=cmd| refused ' .. tostring(record.email))\nend } } }",
    );
    enable(&c, &["strict"], "");
    let r = hf(&c.dir, &["sync", "--once", "--objects", "contact"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let errors = hf(&c.dir, &["errors", "--json"]).await;
    let errors: Vec<Value> = serde_json::from_str(&errors.stdout).expect("errors");
    assert!(!errors.is_empty());
    let page = Page::start(&c.dir, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let (_, health) = get(&page.url("/health")).await;
    let card = health
        .split("data-card=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a card")
        .to_string();
    let r = http()
        .get(page.url(&format!("/health/{card}/export.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = r.text().await.unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let ids: std::collections::BTreeSet<String> = rows
        .records()
        .map(|r| r.expect("a CSV row")[2].to_string())
        .collect();
    let expected: std::collections::BTreeSet<String> = errors
        .iter()
        .filter(|e| e["class"] == "plugin")
        .map(|e| e["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids, expected);
    // A message that would be a formula in a spreadsheet is text.
    assert!(
        !text.contains(",=cmd|") && !text.contains(",\"=cmd|"),
        "{text}"
    );
    let (status, metrics) = get(&page.url("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let mut families = std::collections::BTreeSet::new();
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_string();
            assert!(families.insert(name.clone()), "{name} declared twice");
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name value");
        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        let name = series.split('{').next().unwrap();
        assert!(families.iter().any(|f| f == name), "{name} before its TYPE");
    }
    let plugin_errors = format!(
        "hubforce_record_errors{{profile=\"sim\",class=\"plugin\"}} {}",
        expected.len()
    );
    assert!(metrics.contains(&plugin_errors), "{metrics}");
    assert!(
        metrics.contains("hubforce_plugin_generation{profile=\"sim\",plugin=\"strict\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hubforce_budget_left{profile=\"sim\",provider=\"salesforce\"}"),
        "{metrics}"
    );
}
