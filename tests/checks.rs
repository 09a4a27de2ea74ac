//! `hubforce check` against the simulator: a healthy pair passes; each fault makes the
//! matching check fail with its fix and nothing else fail.

mod common;

use hubforce::checks::{CheckOptions, CheckReport, Status};
use hubforce::config::Config;
use hubforce::plugins::PluginSet;
use hubforce::session::Session;
use hubforce::sync::ledger::Ledger;
use hubforce::sync::roundtrip::MARKER;
use hubforce::sync::settings::SyncSettings;
use serde_json::json;

type Env = common::Connected;

async fn env() -> Env {
    common::connected("check").await
}

fn plugin(e: &Env, name: &str, manifest_extra: &str, init: &str) -> PluginSet {
    let p = e.dir.join("plugins").join(name);
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("plugin.toml"),
        format!("name = \"{name}\"\nversion = \"1.0.0\"\napi = 1\n{manifest_extra}"),
    )
    .unwrap();
    std::fs::write(p.join("init.lua"), init).unwrap();
    let mut names = vec![name.to_string()];
    common::default_plugin::copy_default_plugin(&e.dir);
    names.insert(0, "default".into());
    PluginSet::load(&e.dir.join("plugins"), None, &names, &Default::default())
}

async fn check(session: &Session, plugins: &PluginSet, dir: &std::path::Path) -> CheckReport {
    check_with(session, plugins, dir, &CheckOptions::default()).await
}

async fn check_with(
    session: &Session,
    plugins: &PluginSet,
    dir: &std::path::Path,
    opts: &CheckOptions,
) -> CheckReport {
    let ledger = Ledger::open(&dir.join("ledger.sqlite")).unwrap();
    hubforce::checks::run(session, plugins, &ledger, &SyncSettings::default(), opts).await
}

/// Test contacts left on either side (HubSpot search, SOQL), by the round trip's marker.
async fn marked_records(session: &Session) -> (usize, usize) {
    let hs = session.hubspot().unwrap();
    let found = hs
        .request(
            reqwest::Method::POST,
            "/crm/v3/objects/contacts/search",
            Some(json!({"filterGroups": [{"filters": [
                {"propertyName": "company", "operator": "EQ", "value": MARKER}]}]})),
        )
        .await
        .unwrap();
    let sf = session.salesforce().unwrap();
    let soql = format!("SELECT Id FROM Lead WHERE Company = '{MARKER}'");
    let leads = sf.query(&soql).await.unwrap();
    (found["total"].as_u64().unwrap() as usize, leads.len())
}

fn errors(r: &CheckReport) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.status == Status::Error)
        .map(|f| format!("{}.{}: {}", f.group, f.check, f.message))
        .collect()
}

const GOOD: &str = r#"return { checks = function(report)
  report.ok("the org has Leads")
  report.warn("no territory set", "set config.territory")
end }"#;

#[tokio::test]
async fn a_healthy_pair_passes_and_plugin_findings_show_with_their_hints() {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    let r = check(&e.session, &plugins, &e.dir).await;
    assert!(errors(&r).is_empty(), "{}", r.render(false));
    for (g, c) in [
        ("hubspot", "tokens"),
        ("hubspot", "scopes"),
        ("salesforce", "tokens"),
        ("salesforce", "permissions"),
    ] {
        assert_eq!(
            r.find(g, c)[0].status,
            Status::Ok,
            "{g}.{c}: {}",
            r.render(false)
        );
    }
    let text = r.render(false);
    assert!(
        text.contains("WARNING check 2: no territory set")
            && text.contains("fix: set config.territory"),
        "{text}"
    );
    // The round trip went through every state, arrived, and cleaned up after itself.
    assert_eq!(r.find("sync", "roundtrip")[0].status, Status::Ok, "{text}");
    assert_eq!(r.find("sync", "cleanup")[0].status, Status::Ok, "{text}");
    let trip = r.round_trip.as_ref().unwrap();
    let states: Vec<&str> = trip.steps.iter().map(|s| s.state).collect();
    assert_eq!(states, ["started", "scheduled", "processing", "completed"]);
    assert!(trip.steps.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(marked_records(&e.session).await, (0, 0));
    let ledger = Ledger::open(&e.dir.join("ledger.sqlite")).unwrap();
    assert_eq!(ledger.link_count("contact").unwrap(), 0);
    assert!(ledger.errors(None).unwrap().is_empty());
    let quick = check_with(
        &e.session,
        &plugins,
        &e.dir,
        &CheckOptions {
            no_roundtrip: true,
            ..CheckOptions::default()
        },
    )
    .await;
    assert_eq!(quick.find("sync", "roundtrip")[0].status, Status::Skipped);
    assert!(
        quick.seconds < 1.0,
        "{} s without the round trip",
        quick.seconds
    );
}

#[tokio::test]
async fn a_read_only_profile_never_runs_the_round_trip() {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    let toml = e.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let ro = text.replacen("[profiles.sim]\n", "[profiles.sim]\nread_only = true\n", 1);
    assert_ne!(ro, text);
    std::fs::write(&toml, ro).unwrap();
    let session = Session::open(Config::load(&toml).unwrap(), None, "test").unwrap();
    let r = check(&session, &plugins, &e.dir).await;
    let f = r.find("sync", "roundtrip")[0];
    assert_eq!(f.status, Status::Skipped, "{}", r.render(false));
    assert!(f.message.contains("read-only"));
    assert!(r.round_trip.is_none());
}

#[tokio::test]
async fn thirty_percent_timeouts_fail_the_request_health_check_with_the_network_fix_and_nothing_else()
 {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    for provider in ["hubspot", "salesforce"] {
        e.control(
            "/faults",
            json!({"provider": provider, "kind": "timeout", "probability": 0.3, "latency_ms": 20}),
        )
        .await;
    }
    // A day's work under the faults: the transport retries every call through.
    let (hs, sf) = (
        e.session.hubspot().unwrap(),
        e.session.salesforce().unwrap(),
    );
    for _ in 0..40 {
        hs.request(reqwest::Method::GET, "/crm/v3/owners", None)
            .await
            .unwrap();
        sf.query("SELECT Id FROM User").await.unwrap();
    }
    let r = check(&e.session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert_eq!(errs.len(), 2, "{}", r.render(false));
    for f in r.find("health", "requests") {
        assert_eq!(f.status, Status::Error, "{}", r.render(false));
        assert!(f.message.contains("timed out"), "{}", f.message);
        assert!(
            f.fix.as_deref().unwrap().contains("proxy, firewall or VPN"),
            "{:?}",
            f.fix
        );
    }
    assert_eq!(
        r.find("sync", "roundtrip")[0].status,
        Status::Ok,
        "{}",
        r.render(false)
    );
}

#[tokio::test]
async fn a_missing_scope_names_the_scope_and_the_plugin_that_needs_it() {
    let e = env().await;
    let plugins = plugin(
        &e,
        "acme",
        "scopes = { hubspot = [\"crm.objects.invoices.read\"] }\n",
        GOOD,
    );
    let r = check(&e.session, &plugins, &e.dir).await;
    assert_eq!(errors(&r).len(), 1, "{}", r.render(false));
    let f = r.find("hubspot", "scopes")[0];
    assert!(
        f.message
            .contains("crm.objects.invoices.read (for plugin acme)"),
        "{}",
        f.message
    );
    assert!(
        f.fix
            .as_deref()
            .unwrap()
            .contains("hubforce connect hubspot")
    );
}

#[tokio::test]
async fn a_plugin_check_that_throws_is_that_plugins_error_with_file_and_line() {
    let e = env().await;
    let plugins = plugin(
        &e,
        "shaky",
        "",
        "return { checks = function(report)\n  error(\"boom\")\nend }",
    );
    let r = check(&e.session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("plugin:shaky.checks")
            && errs[0].contains("init.lua:2")
            && errs[0].contains("boom"),
        "{errs:?}"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_fails_the_token_check_with_reconnect_and_an_expired_one_at_most_warns()
 {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    let control = |path: &str| format!("{}{path}", e.sim.ready_info().control);
    let http = reqwest::Client::new();
    http.post(control("/expire-tokens"))
        .json(&json!({"provider": "hubspot"}))
        .send()
        .await
        .unwrap();
    let r = check(&e.session, &plugins, &e.dir).await;
    assert!(errors(&r).is_empty(), "{}", r.render(false));
    http.post(control("/revoke-refresh-tokens"))
        .json(&json!({"provider": "salesforce"}))
        .send()
        .await
        .unwrap();
    let r = check(&e.session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert!(
        errs.iter().all(|x| x.starts_with("salesforce.")),
        "{errs:?}"
    );
    let f = r.find("salesforce", "tokens")[0];
    assert_eq!(f.status, Status::Error);
    assert!(
        f.fix
            .as_deref()
            .unwrap()
            .contains("hubforce connect salesforce"),
        "{:?}",
        f.fix
    );
}

#[tokio::test]
async fn a_wrong_client_secret_fails_the_token_check_with_the_app_settings_fix() {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    // The secret in the env file no longer matches the app's.
    let env_file = e.dir.join(".hubforce/sim.env");
    let text = std::fs::read_to_string(&env_file).unwrap();
    let wrong: String = text
        .lines()
        .map(|l| match l.split_once('=') {
            Some(("SIM_HUBSPOT_CLIENT_SECRET", _)) => {
                "SIM_HUBSPOT_CLIENT_SECRET=not-the-secret".to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&env_file, wrong).unwrap();
    let session = Session::open(
        Config::load(&e.dir.join("hubforce.toml")).unwrap(),
        None,
        "test",
    )
    .unwrap();
    let r = check(&session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert!(
        !errs.is_empty() && errs.iter().all(|x| x.starts_with("hubspot.")),
        "{}",
        r.render(false)
    );
    let f = r.find("hubspot", "tokens")[0];
    assert!(
        f.fix.as_deref().unwrap().contains("client secret"),
        "{:?}",
        f
    );
}

#[tokio::test]
async fn a_field_the_user_cannot_edit_fails_the_permissions_check_naming_it() {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    let url = format!("{}/settings", e.sim.ready_info().control);
    let s = reqwest::Client::new()
        .post(url)
        .json(&json!({"salesforce": {"read_only_fields": ["Lead.Title"]}}))
        .send()
        .await
        .unwrap()
        .status();
    assert!(s.is_success());
    let r = check(&e.session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("salesforce.permissions") && errs[0].contains("Lead.Title"),
        "{errs:?}"
    );
    let f = r.find("salesforce", "permissions")[0];
    assert!(f.fix.as_deref().unwrap().contains("field-level security"));
}

#[tokio::test]
async fn a_redirect_uri_the_app_does_not_know_fails_the_redirect_check_with_the_uri_to_register() {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    let healthy = check(&e.session, &plugins, &e.dir).await;
    assert_eq!(
        healthy.find("hubspot", "redirect")[0].status,
        Status::Ok,
        "{}",
        healthy.render(false)
    );
    assert_eq!(healthy.find("salesforce", "redirect")[0].status, Status::Ok);
    // hubforce.toml now names another loopback port than the one registered in the app.
    let toml = e.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let registered = e.sim.ready_info().hubspot.redirect_uri.clone();
    let other = "http://localhost:1/callback/hubspot";
    std::fs::write(&toml, text.replacen(&registered, other, 1)).unwrap();
    let session = Session::open(Config::load(&toml).unwrap(), None, "test").unwrap();
    let r = check(&session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let f = r.find("hubspot", "redirect")[0];
    assert_eq!(f.status, Status::Error);
    assert!(f.fix.as_deref().unwrap().contains(other), "{:?}", f.fix);
}

#[tokio::test]
async fn a_daily_quota_nearly_spent_warns_with_what_happens_and_what_to_do() {
    let e = env().await;
    let plugins = plugin(&e, "acme", "", GOOD);
    // Today's calls so far, in the request log.
    let hs = e.session.hubspot().unwrap();
    for _ in 0..30 {
        hs.request(reqwest::Method::GET, "/crm/v3/owners", None)
            .await
            .unwrap();
    }
    e.session.log.flush();
    let toml = e.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let tight = text.replacen(
        "[profiles.sim.hubspot]\n",
        "[profiles.sim.hubspot]\ndaily_limit = 34\n",
        1,
    );
    std::fs::write(&toml, tight).unwrap();
    let session = Session::open(Config::load(&toml).unwrap(), None, "test").unwrap();
    std::fs::write(&toml, text).unwrap();
    let r = check(&session, &plugins, &e.dir).await;
    let budget: Vec<_> = r.find("health", "budget");
    let hs = budget
        .iter()
        .find(|f| f.message.starts_with("HubSpot"))
        .unwrap();
    assert_eq!(hs.status, Status::Warn, "{}", r.render(false));
    assert!(
        hs.fix
            .as_deref()
            .unwrap()
            .contains("resume after the reset")
    );
    assert!(errors(&r).is_empty(), "{}", r.render(false));
}

#[tokio::test]
async fn a_profile_without_mappings_fails_the_mappings_check_and_skips_the_round_trip() {
    let e = env().await;
    let none = PluginSet::load(&e.dir.join("plugins"), None, &[], &Default::default());
    let r = check(&e.session, &none, &e.dir).await;
    let errs = errors(&r);
    assert_eq!(errs.len(), 1, "{}", r.render(false));
    let f = r.find("sync", "mappings")[0];
    assert!(
        f.message
            .contains("no field mapping for company, contact, deal, task"),
        "{}",
        f.message
    );
    assert!(f.fix.as_deref().unwrap().contains("`default` plugin"));
    assert_eq!(r.find("sync", "roundtrip")[0].status, Status::Skipped);
    assert_eq!(marked_records(&e.session).await, (0, 0));
}

#[tokio::test]
async fn a_failing_plugin_check_is_an_error_with_its_hint_and_the_cli_exits_1_with_json() {
    let e = env().await;
    let failing = r#"return { checks = function(report)
  report.error("the org has no territory field", "add Territory__c to Lead")
end }"#;
    let plugins = plugin(&e, "acme", "", failing);
    let r = check(&e.session, &plugins, &e.dir).await;
    let errs = errors(&r);
    assert_eq!(
        errs,
        ["plugin:acme.check 1: the org has no territory field"]
    );
    assert_eq!(
        r.find("plugin:acme", "check 1")[0].fix.as_deref(),
        Some("add Territory__c to Lead")
    );
    // The same through the command line, as a user runs it.
    let toml = e.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replacen("plugins = []", r#"plugins = ["default", "acme"]"#, 1),
    )
    .unwrap();
    let dir = e.dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hubforce"))
            .current_dir(&dir)
            .args(["--config", "hubforce.toml", "check", "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses = |group: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["group"] == group)
            .map(|f| f["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(statuses("plugin:acme"), ["error"]);
    assert_eq!(statuses("sync"), ["ok", "ok", "ok", "ok"], "{v:#}");
    assert_eq!(v["round_trip"]["outcome"], "completed");
    assert_eq!(v["round_trip"]["steps"].as_array().unwrap().len(), 4);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("access_token") && !text.contains("refresh_token"));
    // A subset: only the plugin's checks, still in error; the HubSpot tokens alone, fine.
    let dir = e.dir.clone();
    let (plugin_only, tokens_only) = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_hubforce"))
                .current_dir(&dir)
                .args(["--config", "hubforce.toml", "check"])
                .args(args)
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        };
        (run(&["acme"]), run(&["hubspot.tokens"]))
    })
    .await
    .unwrap();
    assert_eq!(plugin_only.status.code(), Some(1));
    let text = String::from_utf8_lossy(&tokens_only.stdout);
    assert_eq!(tokens_only.status.code(), Some(0), "{text}");
    assert!(
        text.contains("OK tokens") && !text.contains("roundtrip"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_sees_what_transforms_write_and_both_schemas() {
    use common::cli::{enable, hf, plugin};
    let c = common::connected("checks-writes").await;
    // A function transform that writes Lead.Rating, declared nowhere: found on a sample.
    plugin(
        &c,
        "rater",
        "",
        "return { transform = function(record, ctx)\n  if ctx.sobject == 'Lead' and ctx.direction == 'to_salesforce' then return { Rating = 'Hot' } end\nend }",
    );
    enable(&c, &["rater"], "");
    let r = hf(&c.dir, &["check", "--no-roundtrip"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    c.control(
        "/settings",
        serde_json::json!({"salesforce": {"read_only_fields": ["Lead.Rating"]}}),
    )
    .await;
    let r = hf(&c.dir, &["check", "--no-roundtrip"]).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout
            .contains("cannot write Lead.Rating (written by a transform)"),
        "{}",
        r.stdout
    );
    // Declared in plugin.toml, a field that does not exist; and a property HubSpot lacks.
    plugin(
        &c,
        "rater",
        "writes = { Lead = [\"Ratng\"], contacts = [\"hs_nonexistent_score\"] }",
        "return { transform = function() return nil end }",
    );
    let r = hf(&c.dir, &["check", "--no-roundtrip"]).await;
    assert!(
        r.stdout
            .contains("Lead.Ratng (written by a transform; no such field)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "a transform writes contacts.hs_nonexistent_score, which HubSpot does not have"
        ),
        "{}",
        r.stdout
    );
    // Mapped fields against both schemas: a misspelling, a type that does not fit, a value
    // a restricted picklist does not take.
    plugin(
        &c,
        "rater",
        "",
        r#"return { mappings = { contact = { hubspot = "contacts", salesforce = "Lead", fields = {
  { hubspot = "jobtitle", salesforce = "Titel" },
  { hubspot = "jobtitel", salesforce = "Title" },
  { hubspot = "company", salesforce = "NumberOfEmployees" },
  { hubspot = "hs_lead_status", salesforce = "Status", type = "picklist", values = { NEW = "Brand New" } },
} } } }"#,
    );
    let r = hf(&c.dir, &["check", "--no-roundtrip"]).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    for says in [
        "Lead has no field Titel (did you mean Title?)",
        "HubSpot has no property jobtitel (did you mean jobtitle?)",
        "company ⇄ Lead.NumberOfEmployees: declared text, but the Salesforce field is a int",
        "is a restricted picklist without \"Brand New\"",
    ] {
        assert!(r.stdout.contains(says), "{says}: {}", r.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_round_trips_test_contact_is_configurable_and_an_excluded_one_says_why() {
    use common::cli::{enable, hf, plugin};
    let c = common::connected("checks-test-contact").await;
    plugin(
        &c,
        "japan",
        "",
        "return { include = function(record, ctx)\n  if ctx.side ~= 'hubspot' then return nil end\n  local ok = record.properties.country == 'Japan'\n  return { include = ok, reason = ok and 'in Japan' or 'outside Japan' }\nend }",
    );
    let toml = c.dir.join("hubforce.toml");
    enable(&c, &["japan"], "");
    let plain = std::fs::read_to_string(&toml).expect("config");
    let r = hf(&c.dir, &["check", "sync"]).await;
    assert!(
        r.stdout.contains("the default test contact did not sync")
            && r.stdout.contains("plugin japan")
            && r.stdout.contains("[profiles.sim.check] test_contact = {"),
        "{}",
        r.stdout
    );
    std::fs::write(
        &toml,
        format!("{plain}\n[profiles.sim.check]\ntest_contact = {{ country = \"Japan\", email = \"check-{{tag}}@jp.example\" }}\n"),
    )
    .expect("config");
    let r = hf(&c.dir, &["check", "sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("OK roundtrip: test contact"),
        "{}",
        r.stdout
    );
    std::fs::write(
        &toml,
        format!("{plain}\n[profiles.sim.check]\ntest_contct = {{ country = \"Japan\" }}\n"),
    )
    .expect("config");
    let r = hf(&c.dir, &["check", "sync"]).await;
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("unknown field `test_contct`"),
        "{}",
        r.all()
    );
}
