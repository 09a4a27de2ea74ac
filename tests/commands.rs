//! Commands that behave as a user at a shell expects: in a pipe, without a config, on one
//! record.

mod common;

use common::cli::{enable, hf, hf_closed_stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_command_survives_a_closed_pipe() {
    let c = common::connected("commands-pipe").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    for args in [
        &["--help"][..],
        &["status"],
        &["errors"],
        &["errors", "--json"],
        &["plugin", "list"],
        &["explain", "company", "1"],
        &["sync", "--dry-run"],
        &["sync", "--json"],
        &["api", "hubspot", "GET", "/crm/v3/objects/contacts?limit=5"],
        &["check", "--no-roundtrip"],
        &["repl", "-e", "1 + 1"],
    ] {
        let normal = hf(&c.dir, args).await;
        let closed = hf_closed_stdout(&c.dir, args).await;
        assert!(
            !closed.stderr.contains("panicked") && !closed.stderr.contains("Broken pipe"),
            "{args:?}: {}",
            closed.stderr
        );
        assert_eq!(
            closed.code, normal.code,
            "{args:?} ends as it would have: {}",
            closed.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_repl_need_no_config_until_an_api_is_used() {
    let dir = std::env::temp_dir().join(format!(
        "hubforce-commands-noconfig-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("plain.lua"), "print(6 * 7)").expect("script");
    std::fs::write(
        dir.join("api.lua"),
        "print('before')\nreturn hubspot.request('GET', '/crm/v3/objects/contacts')",
    )
    .expect("script");
    let check = |what: &str, r: &common::cli::Run, code: i32, says: &[&str]| {
        assert_eq!(r.code, Some(code), "{what}: {}", r.all());
        for s in says {
            assert!(r.all().contains(s), "{what} says {s}: {}", r.all());
        }
    };
    // No hubforce.toml at all.
    check("run", &hf(&dir, &["run", "plain.lua"]).await, 0, &["42"]);
    check(
        "repl -e",
        &hf(&dir, &["repl", "-e", "6 * 7"]).await,
        0,
        &["42"],
    );
    let r = hf(&dir, &["run", "api.lua"]).await;
    check(
        "run api",
        &r,
        8,
        &[
            "before",
            "auth.client",
            "no hubforce.toml",
            "run `hubforce init`",
        ],
    );
    let r = hf(&dir, &["repl", "-e", "salesforce.limits()"]).await;
    check(
        "repl api",
        &r,
        1,
        &["auth.client", "`hubforce connect salesforce`"],
    );
    assert!(
        !dir.join(".hubforce").exists(),
        "nothing written without a profile"
    );
    // The starter config: secrets it names are not set, and plain Lua does not need them.
    let r = hf(&dir, &["init"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    check(
        "run, starter",
        &hf(&dir, &["run", "plain.lua"]).await,
        0,
        &["42"],
    );
    check(
        "repl, starter",
        &hf(&dir, &["repl", "-e", "6 * 7"]).await,
        0,
        &["42"],
    );
    let r = hf(&dir, &["run", "api.lua"]).await;
    check(
        "run api, starter",
        &r,
        8,
        &["auth.client", "is not set", "`hubforce connect hubspot`"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_sim_enables_the_default_plugin_so_the_first_check_passes() {
    // Connected first (the browser flows), then `init --from-sim` as a user runs it.
    let c = common::connected("commands-init").await;
    let _ = std::fs::remove_dir_all(c.dir.join("plugins"));
    let ready = c.dir.join("ready.json");
    std::fs::write(
        &ready,
        serde_json::to_string(&c.sim.ready_info()).expect("ready"),
    )
    .expect("ready file");
    let r = hf(&c.dir, &["init", "--from-sim", "ready.json", "--force"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("enabled plugins/default"), "{}", r.all());
    assert!(c.dir.join("plugins/default/init.lua").is_file());
    let toml = std::fs::read_to_string(c.dir.join("hubforce.toml")).expect("config");
    assert!(toml.contains("plugins = [\"default\"]"), "{toml}");
    let r = hf(&c.dir, &["check"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("OK roundtrip"), "{}", r.all());
    // A folder the user has edited is theirs: init leaves it.
    std::fs::write(c.dir.join("plugins/default/init.lua"), "return {}").expect("edit");
    let r = hf(&c.dir, &["init", "--from-sim", "ready.json", "--force"]).await;
    assert!(r.stdout.contains("left as it is"), "{}", r.all());
    assert_eq!(
        std::fs::read_to_string(c.dir.join("plugins/default/init.lua")).expect("kept"),
        "return {}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_grouped_like_sync_health_and_all_lists_each() {
    let c = common::connected("commands-errors").await;
    enable(&c, &[], "");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    // Three Leads Salesforce refuses for the same reason (no last name, no company).
    for i in 0..3 {
        hs.create(
            "contacts",
            serde_json::json!({"email": format!("nameless{i}@errors.example"), "lifecyclestage": "lead"}),
        )
        .await
        .expect("contact");
    }
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let json = hf(&c.dir, &["errors", "--json"]).await;
    let list: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("json");
    let missing = list
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("Required fields are missing"))
        })
        .count();
    assert!(missing >= 3, "{}", json.stdout);
    let grouped = hf(&c.dir, &["errors"]).await;
    assert_eq!(grouped.code, Some(0), "{}", grouped.all());
    let lines: Vec<&str> = grouped
        .stdout
        .lines()
        .filter(|l| l.contains("Required fields are missing") && l.contains(" × "))
        .collect();
    assert_eq!(lines.len(), 1, "one line for the kind: {}", grouped.stdout);
    assert!(
        lines[0].contains(&format!("{missing} × ")),
        "{}",
        grouped.stdout
    );
    assert!(
        grouped.stdout.contains("e.g. contacts "),
        "{}",
        grouped.stdout
    );
    // Human times: to the second, no fraction, no `T`.
    let example = grouped
        .stdout
        .lines()
        .find(|l| l.contains("e.g.") && l.contains("last "))
        .expect("an example line");
    let when: Vec<char> = example
        .rsplit("last ")
        .next()
        .unwrap_or_default()
        .chars()
        .take(20)
        .collect();
    let shape: String = when
        .iter()
        .map(|c| if c.is_ascii_digit() { '9' } else { *c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99 ", "{example}");
    let all = hf(&c.dir, &["errors", "--all"]).await;
    let each = all
        .stdout
        .lines()
        .filter(|l| l.contains("Required fields are missing"))
        .count();
    assert_eq!(each, missing, "{}", all.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_not_found_and_a_dry_run_shows_why_records_would_fail() {
    let c = common::connected("commands-explain").await;
    common::cli::plugin(
        &c,
        "picky",
        "",
        "return { transform = function(record, ctx)\n  if ctx.direction == 'to_salesforce' and record.properties.email == 'picky@explain.example' then\n    error('no picky people')\n  end\nend }",
    );
    enable(&c, &["picky"], "");
    let r = hf(&c.dir, &["explain", "contact", "99999999"]).await;
    assert_eq!(r.code, Some(7), "{}", r.all());
    assert!(r.stderr.contains("exists on neither side"), "{}", r.all());
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let id = hs
        .create(
            "contacts",
            serde_json::json!({"email": "picky@explain.example", "lastname": "Picky", "company": "P Co", "lifecyclestage": "lead"}),
        )
        .await
        .expect("contact")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let dry = hf(&c.dir, &["sync", "--dry-run", "--objects", "contact"]).await;
    assert_eq!(dry.code, Some(0), "{}", dry.all());
    assert!(
        dry.stdout.contains(&format!("would fail: contacts {id}:"))
            && dry
                .stdout
                .contains("plugins/picky/init.lua:3: no picky people"),
        "{}",
        dry.stdout
    );
    let e = hf(&c.dir, &["explain", "contact", &id]).await;
    assert_eq!(e.code, Some(0), "{}", e.all());
    assert!(
        e.stdout.contains("planning it now would fail:")
            && e.stdout.contains("init.lua:3: no picky people"),
        "{}",
        e.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_log_lines_show_at_info_under_the_plugins_name() {
    let c = common::connected("commands-log").await;
    common::cli::plugin(
        &c,
        "chatty",
        "",
        "return { on_sync_start = function()\n  log.info('starting the pass')\n  log.debug('the details')\nend }",
    );
    enable(&c, &["chatty"], "");
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stderr.contains("[chatty] starting the pass"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("the details"), "{}", r.stderr);
    let r = hf(&c.dir, &["sync", "--objects", "company", "-v"]).await;
    assert!(r.stderr.contains("[chatty] the details"), "{}", r.stderr);
    let r = hf(&c.dir, &["sync", "--objects", "company", "-q"]).await;
    assert!(!r.stderr.contains("starting the pass"), "{}", r.stderr);
    let help = hf(&c.dir, &["--help"]).await;
    assert!(
        help.stdout.contains("--verbose") && help.stdout.contains("HUBFORCE_LOG"),
        "{}",
        help.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_record_syncs_just_the_named_records() {
    let c = common::connected("commands-record").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let mut ids = Vec::new();
    for who in ["named", "other"] {
        let v = hs
            .create(
                "contacts",
                serde_json::json!({"email": format!("{who}@record.example"), "lastname": who, "company": "R Co", "lifecyclestage": "lead"}),
            )
            .await
            .expect("contact");
        ids.push(v["id"].as_str().expect("id").to_string());
    }
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let leads = |email: &'static str| async move {
        sf.query(&format!("SELECT Id FROM Lead WHERE Email = '{email}'"))
            .await
            .expect("query")
            .len()
    };
    let record = format!("contact:{}", ids[0]);
    let dry = hf(&c.dir, &["sync", "--record", &record, "--dry-run"]).await;
    assert_eq!(dry.code, Some(0), "{}", dry.all());
    assert!(
        dry.stdout.contains(&format!(
            "contact {} — HubSpot {} ⇄ Lead (new): create in Salesforce as a Lead",
            ids[0], ids[0]
        )),
        "{}",
        dry.stdout
    );
    assert_eq!(
        leads("named@record.example").await,
        0,
        "a dry run writes nothing"
    );
    let r = hf(&c.dir, &["sync", "--record", &record]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(leads("named@record.example").await, 1);
    assert_eq!(
        leads("other@record.example").await,
        0,
        "only the named record"
    );
    let r = hf(&c.dir, &["sync", "--record", "contact:987654321"]).await;
    assert_eq!(r.code, Some(7), "{}", r.all());
    let r = hf(&c.dir, &["sync", "--record", "widget:1"]).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_ids_are_written_back_to_hubspot() {
    let c = common::connected("commands-ids").await;
    enable(&c, &[], "");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let created = hs
        .create(
            "contacts",
            serde_json::json!({"email": "ids@record.example", "lastname": "Ids", "company": "I Co", "lifecyclestage": "lead"}),
        )
        .await
        .expect("contact")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let ledger = hubforce::sync::ledger::Ledger::open(&c.dir.join(".hubforce/sim/ledger.sqlite"))
        .expect("ledger");
    // Every linked record of every pair carries its Salesforce id in HubSpot.
    for (pair, object, props) in [
        (
            "contact",
            "contacts",
            ["salesforceleadid", "salesforcecontactid"],
        ),
        (
            "company",
            "companies",
            ["salesforceaccountid", "salesforceaccountid"],
        ),
        (
            "deal",
            "deals",
            ["salesforceopportunityid", "salesforceopportunityid"],
        ),
    ] {
        let records = hs.list_all(object, &props).await.expect("list");
        let mut checked = 0;
        for rec in &records {
            let id = rec["id"].as_str().unwrap_or_default();
            let Some((sf, ty)) = ledger.linked_sf(pair, id).expect("ledger") else {
                continue;
            };
            let prop = match ty.as_str() {
                "Lead" => "salesforceleadid",
                "Contact" => "salesforcecontactid",
                "Account" => "salesforceaccountid",
                _ => "salesforceopportunityid",
            };
            assert_eq!(
                rec["properties"][prop].as_str(),
                Some(sf.as_str()),
                "{pair} {id} linked to {ty} {sf}"
            );
            checked += 1;
        }
        assert!(checked > 0, "{pair}: some linked records");
    }
    let lead = ledger.linked_sf("contact", &created).expect("ledger");
    assert!(lead.is_some(), "the new contact made a Lead");
    // The write-back is our own echo: the next pass writes nothing.
    let r = hf(&c.dir, &["sync", "--json"]).await;
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let written: u64 = report["directions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, d)| d["created"].as_u64().unwrap_or(0) + d["updated"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(written, 0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_input_hubspot_refuses_is_that_records_error_and_names_the_property() {
    let c = common::connected("commands-207").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    // The client maps Title to a property the portal does not have.
    let init = c.dir.join("plugins/default/init.lua");
    let text = std::fs::read_to_string(&init).expect("init.lua");
    assert!(text.contains(r#"field("jobtitle", "Title"),"#));
    std::fs::write(
        &init,
        text.replace(
            r#"field("jobtitle", "Title"),"#,
            r#"field("favorite_colour", "Title"),"#,
        ),
    )
    .expect("init.lua");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    for (i, title) in [Some("Buyer"), None, Some("Chief Tester")]
        .iter()
        .enumerate()
    {
        let mut lead = serde_json::json!({"LastName": format!("Batch{i}"), "Company": "Multi Status Ltd", "Email": format!("batch{i}@multistatus.example")});
        if let Some(t) = title {
            lead["Title"] = serde_json::json!(t);
        }
        sf.create("Lead", lead).await.expect("lead");
    }
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let json = hf(&c.dir, &["errors", "--json"]).await;
    let list: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("json");
    let refused: Vec<&serde_json::Value> = list
        .iter()
        .filter(|e| e["code"] == "PROPERTY_DOESNT_EXIST")
        .collect();
    assert!(refused.len() >= 2, "{}", json.stdout);
    assert!(
        refused.iter().all(|e| e["class"] == "validation"
            && e["hint"]
                .as_str()
                .is_some_and(|h| h.contains("no property favorite_colour"))
            && e["message"] == "Property \"favorite_colour\" does not exist"),
        "{}",
        json.stdout
    );
    assert!(!json.stdout.contains("did not mention"), "{}", json.stdout);
    // The input HubSpot accepted in the same batch was written.
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let (found, _) = hs
        .search_page(
            "contacts",
            serde_json::json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "batch1@multistatus.example"}]}]}),
        )
        .await
        .expect("search");
    assert_eq!(found.len(), 1, "the lead without a title reached HubSpot");
    let grouped = hf(&c.dir, &["errors"]).await;
    assert!(
        grouped
            .stdout
            .contains("HubSpot has no property favorite_colour"),
        "{}",
        grouped.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_scopes_names_the_scopes_hubspot_asks_for_when_it_refuses() {
    let c = common::connected("commands-scopes").await;
    enable(&c, &[], "");
    let ok = hf(&c.dir, &["check", "hubspot.scopes"]).await;
    assert_eq!(ok.code, Some(0), "{}", ok.all());
    // The token still lists the deal scopes, but HubSpot refuses the calls that need them.
    c.control(
        "/settings",
        serde_json::json!({"hubspot": {"withheld_scopes": ["crm.objects.deals.read", "crm.objects.deals.write"]}}),
    )
    .await;
    let r = hf(&c.dir, &["check", "hubspot.scopes"]).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(
        r.stdout.contains("HubSpot refuses to read deals")
            && r.stdout
                .contains("one of crm.objects.deals.read, crm.objects.deals.write"),
        "{}",
        r.all()
    );
}

/// Token refreshes the simulator's Salesforce side has granted.
async fn salesforce_refreshes(c: &common::Connected) -> u64 {
    c.control_get("/stats").await["token_grants"]["salesforce"]["refresh_token"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_answers_no_refresh_can_mend_stop_at_once_and_say_what_to_check() {
    let c = common::connected("commands-sf-answers").await;
    enable(&c, &[], "");
    let limits = ["api", "salesforce", "GET", "/services/data/v62.0/limits"];
    assert_eq!(hf(&c.dir, &limits).await.code, Some(0));

    // A session the REST API refuses: the connected app lacks the api scope. Refreshing
    // would give a token refused the same way, so there is no refresh.
    c.control(
        "/settings",
        serde_json::json!({"salesforce": {"rest_api_enabled": false}}),
    )
    .await;
    let before = salesforce_refreshes(&c).await;
    let r = hf(&c.dir, &limits).await;
    assert_eq!(r.code, Some(3), "auth.client: {}", r.all());
    assert!(
        r.stderr.contains("not valid for use with the REST API")
            && r.stderr.contains("API Enabled"),
        "{}",
        r.all()
    );
    assert_eq!(
        salesforce_refreshes(&c).await,
        before,
        "no refresh was tried"
    );
    c.control(
        "/settings",
        serde_json::json!({"salesforce": {"rest_api_enabled": true}}),
    )
    .await;

    // A retired instance answers an HTML 404: not an outage to retry; the URL is named.
    c.control(
        "/faults",
        serde_json::json!({"provider": "salesforce", "kind": "html_error", "status": 404, "count": 1}),
    )
    .await;
    let r = hf(&c.dir, &limits).await;
    assert_eq!(r.code, Some(3), "{}", r.all());
    let instance = c.sim.ready_info().salesforce.instance_url.clone();
    assert!(
        r.stderr
            .contains(&format!("from {instance}/services/data/v62.0/limits"))
            && r.stderr.contains("instance URL"),
        "{}",
        r.all()
    );
    let stats = c.control_get("/stats").await;
    let served = stats["requests"]["salesforce"]["by_route"]["GET /services/data/{version}/limits"]
        ["404"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(served, 1, "asked once, not retried: {stats}");

    // The connected app not approved for the user: the fix is approving it, not a password.
    c.control(
        "/settings",
        serde_json::json!({"salesforce": {"consumer_approved": false}}),
    )
    .await;
    c.control(
        "/expire-tokens",
        serde_json::json!({"provider": "salesforce"}),
    )
    .await;
    let r = hf(&c.dir, &limits).await;
    assert_eq!(r.code, Some(3), "{}", r.all());
    assert!(
        r.stderr.contains("hasn't approved this consumer") && r.stderr.contains("pre-authorise"),
        "{}",
        r.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hubspot_423_is_waited_out_for_two_seconds_and_retried() {
    let c = common::connected("commands-423").await;
    enable(&c, &[], "");
    c.control(
        "/faults",
        serde_json::json!({"provider": "hubspot", "kind": "lock", "count": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    let r = hf(&c.dir, &["api", "hubspot", "GET", "/crm/v3/owners"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let stats = c.control_get("/stats").await;
    assert_eq!(
        stats["requests"]["hubspot"]["by_route"]["GET /crm/v3/owners"],
        serde_json::json!({"200": 1, "423": 1}),
        "{stats}"
    );
}

/// What the providers served, per provider: every API route, not the OAuth ones.
fn served(stats: &serde_json::Value, provider: &str) -> u64 {
    stats["requests"][provider]["by_route"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(route, _)| !route.contains("/oauth"))
        .flat_map(|(_, by_status)| by_status.as_object().into_iter().flatten())
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_reports_every_call_the_providers_served() {
    let c = common::connected("commands-calls").await;
    enable(&c, &[], "");
    let at_start = c.control_get("/stats").await;
    for pass in ["import", "idle"] {
        let before = c.control_get("/stats").await;
        let r = hf(&c.dir, &["sync", "--once", "--json"]).await;
        assert_eq!(r.code, Some(0), "{pass}: {}", r.all());
        let after = c.control_get("/stats").await;
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
        for provider in ["hubspot", "salesforce"] {
            let made = served(&after, provider) - served(&before, provider);
            assert_eq!(
                v["calls"][provider].as_u64(),
                Some(made),
                "{pass}, {provider}: reported {} but the simulator served {made}",
                v["calls"]
            );
            // The describes, owners and id properties are part of it, and said so; the
            // next command has them from the ledger.
            let setup = v["setup_calls"][provider].as_u64().unwrap_or(0);
            assert_eq!(setup > 0, pass == "import", "{pass}: {v}");
        }
        // Each call has its place: the pairs and stages add up to the total.
        for provider in ["hubspot", "salesforce"] {
            let by: Vec<&serde_json::Value> = v["calls_by"]
                .as_array()
                .expect("calls_by")
                .iter()
                .filter(|p| p["provider"] == provider)
                .collect();
            let sum: u64 = by.iter().filter_map(|p| p["calls"].as_u64()).sum();
            assert_eq!(Some(sum), v["calls"][provider].as_u64(), "{pass}: {by:?}");
            let setup: u64 = by
                .iter()
                .filter(|p| p["stage"] == "setup" && p["pair"].is_null())
                .filter_map(|p| p["calls"].as_u64())
                .sum();
            assert_eq!(
                setup,
                v["setup_calls"][provider].as_u64().unwrap_or(0),
                "{pass}"
            );
        }
        let pulls = |provider: &str| -> u64 {
            v["calls_by"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["provider"] == provider && p["stage"] == "pull")
                .filter_map(|p| p["calls"].as_u64())
                .sum()
        };
        if pass == "import" {
            assert!(pulls("salesforce") > 0 && pulls("hubspot") > 0, "{v}");
        } else {
            // One Salesforce call per pair: the Contact and Lead pulls share a Composite call.
            let calls = v["calls"]["salesforce"].as_u64().unwrap_or(0)
                - v["setup_calls"]["salesforce"].as_u64().unwrap_or(0);
            assert!(
                calls <= 4 && pulls("salesforce") == calls,
                "an idle pass made {calls} Salesforce calls for 4 pairs: {v}"
            );
        }
    }
    // `status` reads the request log, which agrees with the simulator too (taken first:
    // status itself asks for the connections' state).
    let stats = c.control_get("/stats").await;
    let r = hf(&c.dir, &["status", "--json"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("status json");
    for provider in ["hubspot", "salesforce"] {
        let logged: u64 = v["calls_24h_by_place"]
            .as_array()
            .expect("by place")
            .iter()
            .filter(|p| p["provider"] == provider && p["caller"] == "sync")
            .filter_map(|p| p["calls"].as_u64())
            .sum();
        let made = served(&stats, provider) - served(&at_start, provider);
        assert_eq!(logged, made, "{provider}: {v}");
    }
}

/// Calls to a Salesforce route the simulator served, by status.
fn served_route(stats: &serde_json::Value, route: &str, status: &str) -> u64 {
    stats["requests"]["salesforce"]["by_route"][route][status]
        .as_u64()
        .unwrap_or(0)
}

const DESCRIBE: &str = "GET /services/data/{version}/sobjects/{sobject}/describe";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describes_and_owners_are_kept_until_old_or_until_the_schema_moves() {
    let c = common::connected("commands-cache").await;
    enable(&c, &[], "");
    let sync = || async {
        let r = hf(&c.dir, &["sync", "--once"]).await;
        assert_eq!(r.code, Some(0), "{}", r.all());
        (r, c.control_get("/stats").await)
    };
    let (first, stats) = sync().await;
    assert!(
        first.stdout.contains("of them setting up"),
        "{}",
        first.stdout
    );
    let described = served_route(&stats, DESCRIBE, "200");
    assert!(described >= 4, "{described}");

    // A second command asks for none of it: no describe, no owners, no property.
    let (second, after) = sync().await;
    assert!(!second.stdout.contains("setting up"), "{}", second.stdout);
    assert_eq!(served_route(&after, DESCRIBE, "200"), described);
    assert_eq!(
        served(&after, "hubspot") - served(&stats, "hubspot"),
        second_hubspot_calls(&second.stdout),
        "only the pulls: {}",
        second.stdout
    );

    // A day on, each describe is asked again "if modified since": 304, nothing re-read.
    let ledger = c.dir.join(".hubforce/sim/ledger.sqlite");
    let db = rusqlite::Connection::open(&ledger).expect("ledger");
    db.execute(
        "UPDATE provider_cache SET fetched_at = '2026-01-01T00:00:00+00:00'",
        [],
    )
    .expect("age the cache");
    drop(db);
    let (_, aged) = sync().await;
    assert_eq!(served_route(&aged, DESCRIBE, "200"), described);
    assert_eq!(served_route(&aged, DESCRIBE, "304"), described);

    // An admin deletes a mapped field: the pass that meets INVALID_FIELD forgets what was
    // kept, reads the describes again and runs again at once, without the field.
    c.control(
        "/settings",
        serde_json::json!({"salesforce": {"deleted_fields": ["Lead.Title"]}}),
    )
    .await;
    let (moved, after_move) = sync().await;
    assert!(
        moved.stdout.contains("the schema changed (") && moved.stdout.contains("INVALID_FIELD"),
        "{}",
        moved.stdout
    );
    assert!(served_route(&after_move, DESCRIBE, "200") > described);
    let (calm, _) = sync().await;
    assert!(!calm.stdout.contains("stopped early"), "{}", calm.stdout);
    assert!(!calm.stdout.contains("schema changed"), "{}", calm.stdout);
}

/// The HubSpot figure of a pass summary's "API calls: hubspot N, …" line.
fn second_hubspot_calls(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("API calls: hubspot "))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_health_budget_predicts_a_day_of_watching_from_the_passes_and_warns_past_the_share() {
    let c = common::connected("commands-budget").await;
    enable(&c, &[], "");
    for _ in 0..4 {
        let r = hf(&c.dir, &["sync", "--once"]).await;
        assert_eq!(r.code, Some(0), "{}", r.all());
    }
    // Every 5 s, on a tenth of a 50-seat Enterprise org (15,000 calls): 4 calls a pass are
    // 69,120 a day.
    let toml = c.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml)
        .expect("config")
        .replacen(
            "[profiles.sim.hubspot]\n",
            "[profiles.sim.sync]\nwatch_interval_secs = 5\n\n[profiles.sim.hubspot]\n",
            1,
        )
        .replacen("share = 0.5", "share = 0.1", 1);
    std::fs::write(&toml, text).expect("config");
    let r = hf(&c.dir, &["check", "health.budget"]).await;
    let sf = r
        .stdout
        .lines()
        .find(|l| l.contains("budget: Salesforce"))
        .unwrap_or_else(|| panic!("{}", r.all()));
    assert!(sf.contains("WARN"), "{sf}");
    assert!(
        sf.contains("costs 4 calls: about 69120 a day") && sf.contains("of the 15000"),
        "{sf}"
    );
    // The interval that fits: 86,400 × 4 / 15,000, rounded up.
    assert!(
        r.stdout.contains("watch_interval_secs = 24"),
        "{}",
        r.stdout
    );
}

/// One import through the binary with `max_in_flight` calls at once on each side: its
/// report, and the links the ledger holds.
async fn import_with_in_flight(name: &str, in_flight: usize) -> (serde_json::Value, u64) {
    let mut config = common::small_config();
    (
        config.contacts,
        config.leads,
        config.companies,
        config.deals,
    ) = (700, 300, 120, 150);
    let c = common::connected_with(name, config).await;
    enable(&c, &[], "");
    let toml = c.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml)
        .expect("config")
        .replacen(
            "[profiles.sim.hubspot]\n",
            &format!(
                "[profiles.sim.sync]\nbatch_size = 250\n\n[profiles.sim.hubspot]\nmax_in_flight = {in_flight}\n"
            ),
            1,
        )
        .replacen(
            "share = 0.5",
            &format!("share = 0.5\nmax_in_flight = {in_flight}"),
            1,
        );
    std::fs::write(&toml, text).expect("config");
    let r = hf(&c.dir, &["sync", "--once", "--json"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let ledger = hubforce::sync::ledger::Ledger::open(&c.dir.join(".hubforce/sim/ledger.sqlite"))
        .expect("ledger");
    let links = ledger
        .link_counts()
        .expect("links")
        .iter()
        .map(|(_, _, n)| *n)
        .sum();
    (report, links)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_sent_together_sync_the_same_records_with_the_same_calls_as_one_at_a_time() {
    let (one, one_links) = import_with_in_flight("commands-serial", 1).await;
    let (many, many_links) = import_with_in_flight("commands-parallel", 8).await;
    assert_eq!(one["directions"], many["directions"], "{one}\n{many}");
    assert_eq!(one["calls"], many["calls"]);
    assert_eq!(one["errors_by_class"], many["errors_by_class"]);
    assert!(one_links > 1000, "{one_links}");
    assert_eq!(one_links, many_links);
}

/// An import with `bulk_threshold` set, and the pass after it: both reports, and the calls
/// the simulator served per route.
/// `[profiles.sim.sync] bulk_threshold` in the profile at `dir`.
fn set_bulk_threshold(dir: &std::path::Path, threshold: u64) {
    let toml = dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).expect("config").replacen(
        "[profiles.sim.hubspot]\n",
        &format!("[profiles.sim.sync]\nbulk_threshold = {threshold}\n\n[profiles.sim.hubspot]\n"),
        1,
    );
    std::fs::write(&toml, text).expect("config");
}

async fn import_with_bulk_threshold(
    name: &str,
    threshold: u64,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let mut config = common::small_config();
    // More Leads than a REST page (2,000): the first page comes by REST, the rest by Bulk.
    (config.contacts, config.leads) = (200, 2600);
    let c = common::connected_with(name, config).await;
    enable(&c, &[], "");
    set_bulk_threshold(&c.dir, threshold);
    let mut reports = Vec::new();
    for _ in 0..2 {
        let r = hf(&c.dir, &["sync", "--once", "--json"]).await;
        assert_eq!(r.code, Some(0), "{}", r.all());
        reports.push(serde_json::from_str::<serde_json::Value>(&r.stdout).expect("json"));
    }
    let stats = c.control_get("/stats").await;
    let second = reports.pop().expect("second");
    let first = reports.pop().expect("first");
    (
        first,
        second,
        stats["requests"]["salesforce"]["by_route"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_reads_salesforce_through_a_bulk_query_job_with_the_same_outcome() {
    let (bulk, bulk_after, bulk_routes) = import_with_bulk_threshold("commands-bulk", 1000).await;
    let (rest, rest_after, rest_routes) = import_with_bulk_threshold("commands-rest", 0).await;
    let jobs = |routes: &serde_json::Value| {
        routes["POST /services/data/{version}/jobs/query"]["200"]
            .as_u64()
            .unwrap_or(0)
    };
    // The Leads (over the threshold) came through one job; nothing else did.
    assert_eq!(jobs(&bulk_routes), 1, "{bulk_routes}");
    assert_eq!(jobs(&rest_routes), 0);
    assert_eq!(bulk["directions"], rest["directions"], "{bulk}\n{rest}");
    // Each report prices the large pull both ways, and says which it took.
    let lead = |r: &serde_json::Value| -> serde_json::Value {
        r["pulls_priced"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["sobject"] == "Lead")
            .cloned()
            .unwrap_or_else(|| panic!("no Lead price in {r}"))
    };
    let (b, r) = (lead(&bulk), lead(&rest));
    assert_eq!(
        (b["bulk"].as_bool(), r["bulk"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(b["records"], r["records"]);
    assert!(b["records"].as_u64().unwrap_or(0) > 2000, "{b}");
    assert_eq!(
        (b["rest_calls"].as_u64(), b["bulk_calls"].as_u64()),
        (Some(2), Some(5))
    );
    // What was read through Bulk is the same record as REST reads it: the pass after writes
    // nothing either way.
    for after in [&bulk_after, &rest_after] {
        for (direction, counts) in after["directions"].as_object().expect("directions") {
            assert_eq!(counts["created"], 0, "{direction}: {after}");
            assert_eq!(counts["updated"], 0, "{direction}: {after}");
        }
    }
}

/// An import of 2,400 HubSpot contacts (two of them with a first name too long for a Lead),
/// at a Bulk threshold: a dry run, the import, and the pass after, each `--json`; the
/// simulator's requests by provider and route; `hubforce errors --json`; the links.
async fn write_import_with_bulk_threshold(name: &str, threshold: u64) -> [serde_json::Value; 6] {
    let mut config = common::small_config();
    (config.contacts, config.leads, config.deals) = (2400, 0, 0);
    let c = common::connected_with(name, config).await;
    enable(&c, &[], "");
    set_bulk_threshold(&c.dir, threshold);
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    for i in 0..2 {
        let long = format!("Bartholomew-Maximilian-Alexander-Fitzgerald-{i}");
        hs.create(
            "contacts",
            serde_json::json!({"firstname": long, "lastname": "Toolong", "lifecyclestage": "lead", "email": format!("toolong{i}@bulk.example")}),
        )
        .await
        .expect("contact");
    }
    let mut reports = Vec::new();
    for args in [
        &["sync", "--once", "--dry-run", "--json"][..],
        &["sync", "--once", "--json"],
        &["sync", "--once", "--json"],
    ] {
        let r = hf(&c.dir, args).await;
        assert_eq!(r.code, Some(0), "{}", r.all());
        reports.push(serde_json::from_str::<serde_json::Value>(&r.stdout).expect("json"));
    }
    let errors = hf(&c.dir, &["errors", "--json"]).await;
    let errors: serde_json::Value = serde_json::from_str(&errors.stdout).expect("errors");
    let links = hf(&c.dir, &["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(&links.stdout).expect("status");
    let stats = c.control_get("/stats").await;
    let [dry, first, second]: [serde_json::Value; 3] = reports.try_into().expect("three");
    [
        dry,
        first,
        second,
        stats["requests"].clone(),
        errors,
        status["sync"]["linked"].clone(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_writes_through_ingest_jobs_and_hubspot_imports_with_the_same_outcome() {
    let [b_dry, bulk, b_after, b_routes, b_errors, b_links] =
        write_import_with_bulk_threshold("commands-bulk-write", 1000).await;
    let [r_dry, rest, r_after, r_routes, r_errors, r_links] =
        write_import_with_bulk_threshold("commands-rest-write", 0).await;
    let jobs = |requests: &serde_json::Value| {
        requests["salesforce"]["by_route"]["POST /services/data/{version}/jobs/ingest"]["200"]
            .as_u64()
            .unwrap_or(0)
    };
    let imports = |requests: &serde_json::Value| {
        requests["hubspot"]["by_route"]["POST /crm/v3/imports"]["200"]
            .as_u64()
            .unwrap_or(0)
    };
    // The Lead creates and the activity Tasks went through an ingest job each, in one batch
    // of the import, and the write-backs of the Leads' ids to HubSpot through an import.
    assert_eq!(jobs(&b_routes), 2, "{b_routes}");
    assert_eq!(jobs(&r_routes), 0);
    assert!(imports(&b_routes) >= 1, "{b_routes}");
    assert_eq!(imports(&r_routes), 0);
    // The same records were created, updated and refused, with the same errors and links.
    assert_eq!(bulk["directions"], rest["directions"], "{bulk}\n{rest}");
    assert_eq!(b_links, r_links);
    let codes = |errors: &serde_json::Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = errors
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["code"].to_string(), e["class"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(codes(&b_errors), codes(&r_errors));
    assert_eq!(
        codes(&b_errors),
        vec![
            (
                "\"STRING_TOO_LONG\"".to_string(),
                "\"validation\"".to_string()
            );
            2
        ],
        "{b_errors}"
    );
    // Each report, the dry run's too, prices the Lead creates both ways.
    let lead = |r: &serde_json::Value| -> serde_json::Value {
        r["writes_priced"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["sobject"] == "Lead" && p["operation"] == "create")
            .cloned()
            .unwrap_or_else(|| panic!("no Lead create price in {r}"))
    };
    for (r, took_bulk) in [
        (&b_dry, true),
        (&bulk, true),
        (&r_dry, false),
        (&rest, false),
    ] {
        let p = lead(r);
        assert_eq!(p["bulk"].as_bool(), Some(took_bulk), "{p}");
        assert!(p["records"].as_u64().unwrap_or(0) > 1400, "{p}");
    }
    let task = bulk["writes_priced"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["sobject"] == "Task")
        .cloned()
        .unwrap_or_default();
    assert_eq!(task["bulk"].as_bool(), Some(true), "{bulk}");
    let (b, r) = (lead(&bulk), lead(&rest));
    assert_eq!(b["records"], r["records"]);
    assert_eq!(b["bulk_calls"].as_u64(), Some(7), "one job: {b}");
    assert!(r["rest_calls"].as_u64().unwrap_or(0) >= 8, "{r}");
    // The dry run's planned Salesforce writes are the path it would take.
    let planned = |r: &serde_json::Value| r["write_calls_planned"]["salesforce"].as_u64();
    assert!(planned(&b_dry) < planned(&r_dry), "{b_dry}\n{r_dry}");
    // What the job wrote reads back as written: the pass after writes nothing either way.
    for after in [&b_after, &r_after] {
        for (direction, counts) in after["directions"].as_object().expect("directions") {
            assert_eq!(counts["created"], 0, "{direction}: {after}");
            assert_eq!(counts["updated"], 0, "{direction}: {after}");
        }
    }
}

/// An import of contacts into an org without Leads, through the binary, and what the
/// Leads' way back to HubSpot found.
async fn import_contacts_as_leads(name: &str, extra: &str) -> (serde_json::Value, Vec<String>) {
    let mut config = common::small_config();
    (config.contacts, config.leads, config.deals) = (300, 0, 0);
    let c = common::connected_with(name, config).await;
    enable(&c, &[], extra);
    let r = hf(
        &c.dir,
        &["sync", "--once", "--objects", "contact", "--json"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let statuses = hs
        .list_all("contacts", &["hs_lead_status", "salesforceleadid"])
        .await
        .expect("contacts")
        .iter()
        .filter(|c| c["properties"]["salesforceleadid"].is_string())
        .map(|c| {
            c["properties"]["hs_lead_status"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    (report, statuses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_created_from_a_contact_comes_back_as_our_echo_with_its_default_status() {
    let (report, statuses) = import_contacts_as_leads("commands-defaults", "").await;
    let created = report["directions"]["contact → Salesforce"]["created"]
        .as_u64()
        .unwrap_or(0);
    assert!(created > 100, "{report:#}");
    // Salesforce gave each new Lead its default Status; HubSpot was told with the Lead's id,
    // so the Leads come back as our echoes: nothing read or written for them.
    let back = &report["directions"]["Lead → HubSpot"];
    assert_eq!(back["updated"], 0, "{report:#}");
    assert_eq!(back["echoes"], back["pulled"], "{report:#}");
    assert!(
        back["pulled"].as_u64().unwrap_or(0) >= created,
        "{report:#}"
    );
    assert!(statuses.len() as u64 >= created);
    assert!(
        statuses.iter().all(|s| !s.is_empty()),
        "every linked contact has a lead status: {statuses:?}"
    );
    assert!(statuses.iter().any(|s| s == "NEW"), "{statuses:?}");
    let hubspot_match: u64 = report["calls_by"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["provider"] == "hubspot" && p["stage"] == "match")
        .map(|p| p["calls"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(hubspot_match, 0, "no counterpart reads: {report:#}");
    // Without the id write-back nothing carries the default to HubSpot: the way back does.
    let (report, statuses) = import_contacts_as_leads(
        "commands-defaults-no-ids",
        "\n[profiles.sim.sync]\nwrite_ids_to_hubspot = false\n",
    )
    .await;
    assert!(statuses.is_empty());
    let back = &report["directions"]["Lead → HubSpot"];
    assert!(back["updated"].as_u64().unwrap_or(0) > 100, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gathered_creates_wait_in_the_ledger_and_the_next_pass_writes_them_first() {
    let mut config = common::small_config();
    (config.contacts, config.leads, config.deals) = (2400, 0, 0);
    let c = common::connected_with("commands-gathered", config).await;
    enable(&c, &[], "");
    set_bulk_threshold(&c.dir, 1000);
    // The Bulk import's jobs are refused as over the allocation: the pass stops with its
    // creates planned and gathered, not written.
    c.control(
        "/faults",
        serde_json::json!({"provider": "salesforce", "kind": "daily_limit", "route": "/jobs/ingest"}),
    )
    .await;
    let r = hf(
        &c.dir,
        &["sync", "--once", "--objects", "contact", "--json"],
    )
    .await;
    let stopped: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(stopped["stopped_class"], "rate.daily", "{}", r.all());
    // The batch's 2,400 people were looked up in one statement per sObject, both in one
    // Composite call (chunks of 200 cost six).
    let matched: u64 = stopped["calls_by"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["provider"] == "salesforce" && p["stage"] == "match")
        .map(|p| p["calls"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(matched, 1, "{stopped:#}");
    let ledger_path = c.dir.join(".hubforce/sim/ledger.sqlite");
    let leads = |ledger: &hubforce::sync::ledger::Ledger| {
        ledger
            .link_counts()
            .expect("links")
            .into_iter()
            .filter(|(_, ty, _)| ty == "Lead")
            .map(|(_, _, n)| n)
            .sum::<u64>()
    };
    {
        let ledger = hubforce::sync::ledger::Ledger::open(&ledger_path).expect("ledger");
        assert_eq!(leads(&ledger), 0, "nothing was created");
        assert!(ledger.pending_count("contact").expect("pending") > 1500);
    }
    let status = hf(&c.dir, &["status"]).await;
    assert!(
        status.stdout.contains("waiting for a Bulk job: "),
        "{}",
        status.all()
    );
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let waiting = {
        let ledger = hubforce::sync::ledger::Ledger::open(&ledger_path).expect("ledger");
        hs.list_all("contacts", &[])
            .await
            .expect("contacts")
            .iter()
            .filter_map(|c| c["id"].as_str().map(String::from))
            .find(|id| {
                ledger
                    .pending_sobject("contact", id)
                    .expect("ledger")
                    .is_some()
            })
            .expect("a contact whose Lead waits")
    };
    let explain = hf(&c.dir, &["explain", "contact", &waiting]).await;
    assert!(
        explain
            .stdout
            .contains("its Lead waits, gathered, for a Bulk import's job"),
        "{}",
        explain.all()
    );
    // The allocation is back: the next pass, with nothing new to read, writes them first.
    c.control_delete("/faults").await;
    let r = hf(
        &c.dir,
        &["sync", "--once", "--objects", "contact", "--json"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let to_sf = &report["directions"]["contact → Salesforce"];
    assert_eq!(to_sf["pulled"], 0, "{report:#}");
    let created = to_sf["created"].as_u64().unwrap_or(0);
    assert!(created > 1500, "{report:#}");
    let ledger = hubforce::sync::ledger::Ledger::open(&ledger_path).expect("ledger");
    assert_eq!(ledger.pending_count("contact").expect("pending"), 0);
    assert_eq!(leads(&ledger), created);
    // One Lead per contact: the org has exactly the Leads the ledger links.
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let in_org = sf.query("SELECT Id FROM Lead").await.expect("leads").len() as u64;
    assert_eq!(in_org, created);
    let stats = c.control_get("/stats").await;
    let jobs = stats["requests"]["salesforce"]["by_route"]
        ["POST /services/data/{version}/jobs/ingest"]["200"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        jobs, 2,
        "one job of Leads, one of their activity Tasks: {stats:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gathered_create_claims_its_match_key_across_batches_as_a_written_one_would() {
    let mut outcomes = Vec::new();
    for (name, threshold) in [("commands-claims-bulk", 1000), ("commands-claims-rest", 0)] {
        let mut config = common::small_config();
        (
            config.contacts,
            config.companies,
            config.leads,
            config.deals,
        ) = (0, 2600, 0, 0);
        let c = common::connected_with(name, config).await;
        enable(&c, &[], "");
        set_bulk_threshold(&c.dir, threshold);
        let hs = c.session.hubspot.as_ref().expect("hubspot");
        // An early company no Account matches (read in the first batch, so created) and a
        // new one (read in a later batch) share a domain no Account has.
        let sf = c.session.salesforce.as_ref().expect("salesforce");
        let accounts: std::collections::HashSet<String> = sf
            .query("SELECT Name FROM Account")
            .await
            .expect("accounts")
            .iter()
            .filter_map(|a| a["Name"].as_str().map(str::to_lowercase))
            .collect();
        let first = hs
            .list_all("companies", &["name"])
            .await
            .expect("companies")
            .iter()
            .find(|c| {
                let name = c["properties"]["name"].as_str().unwrap_or_default();
                !accounts.contains(&name.to_lowercase())
            })
            .and_then(|c| c["id"].as_str())
            .expect("a company without an Account")
            .to_string();
        let same =
            serde_json::json!({"domain": "claims.example", "website": "https://claims.example"});
        hs.update("companies", &first, same.clone())
            .await
            .expect("update");
        let mut second = same;
        second["name"] = serde_json::json!("Claims Two");
        let second = hs.create("companies", second).await.expect("create")["id"]
            .as_str()
            .expect("id")
            .to_string();
        let r = hf(
            &c.dir,
            &["sync", "--once", "--objects", "company", "--json"],
        )
        .await;
        assert_eq!(r.code, Some(0), "{}", r.all());
        let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
        let errors = hf(&c.dir, &["errors", "--json"]).await;
        let errors: serde_json::Value = serde_json::from_str(&errors.stdout).expect("errors");
        let refused: Vec<(String, String)> = errors
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["id"].to_string(), e["code"].to_string()))
            .collect();
        assert_eq!(
            refused,
            [(format!("\"{second}\""), "\"DUPLICATE_MATCH\"".to_string())],
            "{name}: {errors:#}"
        );
        outcomes.push(report["directions"]["company → Salesforce"].clone());
    }
    assert_eq!(outcomes[0], outcomes[1]);
}
