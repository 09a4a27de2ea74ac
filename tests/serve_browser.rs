//! The sync health page in a real browser (issue 20): headless Chromium driven through
//! ChromeDriver (WebDriver, fantoccini) against `hubforce sync --watch --serve` on a seeded
//! simulator. The overview shows the right counts, Export gives the card's CSV, a card's
//! Resync fixes its records once the cause is fixed, and the record view shows a tombstone.
//! Screenshots of the three main pages go to `target/screenshots/` (and to the folder
//! `HUBFORCE_SCREENSHOTS` names: `docs/screenshots` for the README).
//!
//! `.ci/run` installs Debian's `chromium` and `chromium-driver` and sets
//! HUBFORCE_BROWSER_TESTS=1, which makes a missing browser a failure; elsewhere the test says
//! it has no browser and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use common::cli::{enable, hf, plugin};
use common::page::Page;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// ChromeDriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let d = Driver { child, url };
    let t0 = Instant::now();
    while reqwest::get(format!("{}/status", d.url)).await.is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "chromedriver did not answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d
}

async fn browser(d: &Driver) -> Client {
    let profile = std::env::temp_dir().join(format!("hubforce-chromium-{}", std::process::id()));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            // As root in a container: no sandbox; and nothing fetched from the network.
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1100",
                     format!("--user-data-dir={}", profile.display())],
        }
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("a Chromium session")
}

fn screenshot_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")];
    if let Ok(d) = std::env::var("HUBFORCE_SCREENSHOTS") {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    for dir in screenshot_dirs() {
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(name), &png).expect("screenshot written");
    }
}

async fn errors_of(dir: &Path) -> Vec<Value> {
    let r = hf(dir, &["errors", "--json"]).await;
    serde_json::from_str(&r.stdout).unwrap_or_default()
}

async fn text(b: &Client, css: &str) -> String {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// A plugin that refuses contacts whose email starts with a to f: their Leads are not made.
const REFUSING: &str = "return { transform = { Lead = { Description = function(record)\n  local p = record.properties or {}\n  if (p.email or ''):find('^[a-f]') then error('the client says no to ' .. tostring(p.email)) end\nend } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_health_page_in_a_browser_counts_exports_resyncs_and_shows_a_tombstone() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var("HUBFORCE_BROWSER_TESTS").is_err(),
            "HUBFORCE_BROWSER_TESTS is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "no Chromium here (apt install chromium chromium-driver): the browser test did not run"
        );
        return;
    }
    let c = common::connected("serve-browser").await;
    plugin(&c, "refusing", "", REFUSING);
    enable(
        &c,
        &["refusing"],
        "\n[profiles.sim.sync]\nobjects = [\"contact\"]\nwatch_interval_secs = 3600\n",
    );
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    // A tombstone: a linked contact archived in HubSpot, seen when its Lead changes.
    let ledger = hubforce::sync::ledger::Ledger::open(&c.dir.join(".hubforce/sim/ledger.sqlite"))
        .expect("ledger");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let mut gone = None;
    for r in hs.list_all("contacts", &[]).await.expect("contacts") {
        let id = r["id"].as_str().unwrap_or_default().to_string();
        if let Some((lead, ty)) = ledger.linked_sf("contact", &id).expect("ledger")
            && ty == "Lead"
        {
            gone = Some((id, lead));
            break;
        }
    }
    let (gone, lead) = gone.expect("a contact linked to a Lead");
    hs.archive("contacts", &gone).await.expect("archive");
    sf.update("Lead", &lead, json!({"Title": "Edited after the deletion"}))
        .await
        .expect("edit");
    let r = hf(&c.dir, &["sync", "--once"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let refused: Vec<String> = errors_of(&c.dir)
        .await
        .iter()
        .filter(|e| e["class"] == "plugin")
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect();
    assert!(!refused.is_empty(), "the plugin refused some contacts");
    let all_errors = errors_of(&c.dir).await.len();

    let page = Page::start(&c.dir, &["sync", "--watch", "--serve", "127.0.0.1:0"], &[]);
    let d = driver().await;
    let b = browser(&d).await;

    // The overview: the count of record errors is the ledger's.
    b.goto(&page.url("/")).await.expect("overview");
    assert_eq!(text(&b, "#error-count").await, all_errors.to_string());
    assert!(text(&b, "body").await.contains("connected to portal"));
    screenshot(&b, "overview.png").await;

    // Sync health: the plugin's card, its CSV through the browser's own fetch.
    b.goto(&page.url("/health")).await.expect("health");
    let card = b
        .find(Locator::XPath(
            "//div[@data-card][.//span[contains(@class,'plugin')]]",
        ))
        .await
        .expect("the plugin's card");
    let card_id = card.attr("data-card").await.expect("attr").expect("id");
    let card_text = card.text().await.expect("text");
    assert!(
        card_text.contains(&refused.len().to_string()),
        "{card_text}"
    );
    screenshot(&b, "sync-health.png").await;
    let export = card
        .find(Locator::LinkText("Export CSV"))
        .await
        .expect("an Export link");
    let href = export.attr("href").await.expect("href").expect("href");
    let csv = b
        .execute_async(
            "const [href, done] = arguments; fetch(href).then(r => r.text()).then(done);",
            vec![json!(href)],
        )
        .await
        .expect("the CSV");
    let csv = csv.as_str().unwrap_or_default().to_string();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let mut ids: Vec<String> = rows
        .records()
        .map(|r| r.expect("a row")[2].to_string())
        .collect();
    let mut expected = refused.clone();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "{csv}");

    // The cause is fixed (the plugin hot-reloads), then Resync on the card.
    plugin(&c, "refusing", "", "return {}");
    let t0 = Instant::now();
    loop {
        let m = reqwest::get(page.url("/metrics")).await.expect("metrics");
        let m = m.text().await.unwrap_or_default();
        if m.contains("hubforce_plugin_generation{profile=\"sim\",plugin=\"refusing\"} 2") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the plugin did not reload: {m}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let button = b
        .find(Locator::Css(&format!(
            "div[data-card='{card_id}'] button[type=submit]"
        )))
        .await
        .expect("Resync");
    assert_eq!(button.text().await.expect("label"), "Resync");
    button.click().await.expect("click");
    // The watcher, woken, retries them at once (its interval is an hour).
    let t0 = Instant::now();
    loop {
        b.goto(&page.url("/health")).await.expect("health");
        let body = text(&b, "body").await;
        if !body.contains("the client says no") && !body.contains("queued for resync") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the card did not clear: {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let left = errors_of(&c.dir).await;
    assert!(left.iter().all(|e| e["class"] != "plugin"), "{left:#?}");
    for id in &refused {
        assert!(
            ledger.linked_sf("contact", id).expect("ledger").is_some(),
            "contact {id} is linked after the resync"
        );
    }

    // The record view of the archived contact: its tombstone.
    b.goto(&page.url(&format!("/record?q={gone}")))
        .await
        .expect("record");
    let tomb = text(&b, ".tombstone").await;
    assert!(tomb.contains(&lead) || tomb.contains("deleted"), "{tomb}");
    screenshot(&b, "record.png").await;
    b.close().await.expect("closed");
}
