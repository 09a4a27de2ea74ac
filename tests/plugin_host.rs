//! The host API from Lua against the simulator: natural calls, error values with pcall,
//! caller tags, per-plugin budgets, the store, and the time limit pausing during I/O.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{small_config, start};
use hubforce::config::Config;
use hubforce::lua::host::HostContext;
use hubforce::plugins::Plugin;
use hubforce::session::Session;
use hubforce::store::PluginStore;
use serde_json::json;

struct Env {
    _f: common::Fixture,
    dir: PathBuf,
    session: Session,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn browser(url: &url::Url) {
    let url = url.clone();
    tokio::spawn(async move {
        let _ = reqwest::Client::new().get(url).send().await;
    });
}

async fn env() -> Env {
    // A redirect port of its own, below the ephemeral range (see SimConfig).
    let mut c = small_config().with_free_redirect_port();
    c.leads = 2_300;
    let f = start(c).await;
    let dir = std::env::temp_dir().join(format!(
        "hubforce-host-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    hubforce::connect::init_from_sim(&dir, &serde_json::to_value(&f.info).unwrap(), true).unwrap();
    let session = Session::open(
        Config::load(&dir.join("hubforce.toml")).unwrap(),
        None,
        "test",
    )
    .unwrap();
    hubforce::connect::hubspot(&session, Duration::from_secs(10), browser)
        .await
        .unwrap();
    hubforce::connect::salesforce_password(&session, false)
        .await
        .unwrap();
    Env {
        _f: f,
        dir,
        session,
    }
}

fn plugin(
    e: &Env,
    name: &str,
    manifest_extra: &str,
    init: &str,
    store: Arc<PluginStore>,
) -> Plugin {
    let dir = e.dir.join("plugins").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        format!("name = \"{name}\"\nversion = \"1.0.0\"\napi = 1\n{manifest_extra}"),
    )
    .unwrap();
    std::fs::write(dir.join("init.lua"), init).unwrap();
    let host = HostContext::for_caller(
        e.session.hubspot.as_ref(),
        e.session.salesforce.as_ref(),
        "host",
        Some(store),
        String::new(),
    );
    Plugin::load_with_host(&dir, &toml::Table::new(), 1, None, Some(&host)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_reads_both_crms_naturally_and_calls_are_tagged() {
    let e = env().await;
    let store = Arc::new(PluginStore::in_memory());
    let p = plugin(
        &e,
        "explorer",
        "",
        r#"
return {
  checks = function()
    local leads = 0
    for lead in salesforce.query("SELECT Id, Email FROM Lead") do leads = leads + 1 end
    local contacts = hubspot.contacts.search{ filters = {{ propertyName = "lifecyclestage", operator = "EQ", value = "lead" }}, properties = {"email"}, limit = 5 }
    local owner = hubspot.request("GET", "/crm/v3/owners").results[1]
    local acct = salesforce.sobject("Account"):create({ Name = "From Lua" })
    local up = salesforce.sobject("Account"):upsert("HubSpot_Id__c", "lua-1", { Name = "Upserted from Lua" })
    local again = salesforce.sobject("Account"):get(acct, {"Name"})
    return { leads = leads, contacts = #contacts, owner_email = owner.email ~= nil, name = again.Name, created = up.created }
  end,
}
"#,
        store,
    );
    let out = p.call_async("checks", &[]).await.unwrap();
    assert_eq!(
        out,
        json!({"leads": 2300, "contacts": 5, "owner_email": true, "name": "From Lua", "created": true})
    );
    let calls = e.session.log.summary(24);
    assert!(
        calls
            .iter()
            .any(|c| c.caller == "plugin:explorer" && c.provider == "salesforce" && c.calls >= 4),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.caller == "plugin:explorer" && c.provider == "hubspot"),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_failures_are_error_values_for_pcall_with_one_line_tostring() {
    let e = env().await;
    let p = plugin(
        &e,
        "careful",
        "",
        r#"
return {
  checks = function()
    local ok, err = pcall(salesforce.sobject("Lead").create, salesforce.sobject("Lead"), { LastName = "NoCompany" })
    local ok2, err2 = pcall(function() for r in salesforce.query("SELECT Nope FROM Lead") do end end)
    return { ok = ok, class = err.class, code = err.code, retryable = err.retryable, hint = err.hint ~= nil,
             line = tostring(err), ok2 = ok2, class2 = err2.class, code2 = err2.code }
  end,
  on_sync_start = function() salesforce.sobject("Lead"):create({ LastName = "X" }) end,
}
"#,
        Arc::new(PluginStore::in_memory()),
    );
    let out = p.call_async("checks", &[]).await.unwrap();
    assert_eq!(out["ok"], false);
    assert_eq!(
        (
            out["class"].as_str(),
            out["code"].as_str(),
            out["retryable"].as_bool()
        ),
        (
            Some("validation"),
            Some("REQUIRED_FIELD_MISSING"),
            Some(false)
        )
    );
    let line = out["line"].as_str().unwrap();
    assert!(
        line.starts_with("salesforce 400 REQUIRED_FIELD_MISSING (validation)")
            && !line.contains('\n'),
        "{line}"
    );
    assert_eq!(
        (out["class2"].as_str(), out["code2"].as_str()),
        (Some("validation"), Some("INVALID_FIELD"))
    );
    let err = p
        .call_async("on_sync_start", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("REQUIRED_FIELD_MISSING") && err.contains("hook on_sync_start"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_budget_caps_its_own_calls_and_the_store_survives_reloads() {
    let e = env().await;
    let store = Arc::new(PluginStore::in_memory());
    let init = r#"
return {
  checks = function()
    local n = (store.get("runs") or 0) + 1
    store.set("runs", n)
    local ok, err = pcall(function() for i = 1, 5 do hubspot.request("GET", "/crm/v3/owners") end end)
    return { runs = n, ok = ok, class = (not ok) and err.class or nil }
  end,
}
"#;
    let p1 = plugin(
        &e,
        "frugal",
        "budget = { hubspot = 3 }",
        init,
        store.clone(),
    );
    let out = p1.call_async("checks", &[]).await.unwrap();
    assert_eq!(out, json!({"runs": 1, "ok": false, "class": "rate.daily"}));
    // A fresh state (a reload) sees what the last one stored.
    let p2 = plugin(
        &e,
        "frugal",
        "budget = { hubspot = 3 }",
        init,
        store.clone(),
    );
    assert_eq!(p2.call_async("checks", &[]).await.unwrap()["runs"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_counts_lua_work_not_waiting_for_the_network() {
    let e = env().await;
    e._f.control_post(
        "/faults",
        json!({"provider": "hubspot", "kind": "latency", "latency_ms": 400, "count": 1}),
    )
    .await;
    let p = plugin(
        &e,
        "patient",
        "limits = { call_ms = 200 }",
        "return { checks = function() return #hubspot.request('GET', '/crm/v3/owners').results > 0 end, on_sync_end = function() while true do end end }",
        Arc::new(PluginStore::in_memory()),
    );
    assert_eq!(
        p.call_async("checks", &[]).await.unwrap(),
        json!(true),
        "400 ms of network under a 200 ms limit"
    );
    let err = p
        .call_async("on_sync_end", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("time limit of 200 ms exceeded"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_with_the_host_api_and_arguments_inside_the_sandbox() {
    let e = env().await;
    let file = e.dir.join("job.lua");
    std::fs::write(&file, "local n = 0\nfor _ in salesforce.query('SELECT Id FROM Lead LIMIT ' .. arg[1]) do n = n + 1 end\nreturn { n = n, io = io == nil }\n").unwrap();
    let host = HostContext::for_caller(
        e.session.hubspot.as_ref(),
        e.session.salesforce.as_ref(),
        "script:job",
        None,
        "script:job",
    );
    let out = hubforce::lua::script::run(
        &file,
        &["7".to_string()],
        host.clone(),
        None,
        false,
        hubforce::lua::script::SCRIPT_LIMITS,
    )
    .await
    .unwrap();
    assert_eq!(out, json!({"n": 7, "io": true}));
    std::fs::write(&file, "local x = nil\nreturn x.field\n").unwrap();
    let err = hubforce::lua::script::run(
        &file,
        &[],
        host,
        None,
        false,
        hubforce::lua::script::SCRIPT_LIMITS,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("job.lua:2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plugins_store_is_invisible_to_another() {
    let e = env().await;
    let store = Arc::new(PluginStore::in_memory());
    let a = plugin(
        &e,
        "alpha",
        "",
        "return { checks = function() store.set('secret', { v = 42 }) return store.keys() end }",
        store.clone(),
    );
    let b = plugin(
        &e,
        "beta",
        "",
        "return { checks = function() return { seen = store.get('secret') == nil, keys = #store.keys() } end }",
        store.clone(),
    );
    assert_eq!(
        a.call_async("checks", &[]).await.unwrap(),
        json!(["secret"])
    );
    assert_eq!(
        b.call_async("checks", &[]).await.unwrap(),
        json!({"seen": true, "keys": 0})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_value_a_plugin_can_reach_holds_a_token() {
    let e = env().await;
    let p = plugin(
        &e,
        "snoop",
        "",
        r#"
return { checks = function()
  local seen, out = {}, {}
  local function walk(v, depth)
    if depth > 6 or seen[v] then return end
    if type(v) == "table" then
      seen[v] = true
      for k, x in pairs(v) do walk(k, depth + 1) walk(x, depth + 1) end
      local mt = getmetatable(v)
      if type(mt) == "table" then walk(mt, depth + 1) end
    elseif type(v) == "string" and utf8.len(v) then
      out[#out + 1] = v
    end
  end
  walk(_G, 0)
  local ok, info = pcall(hubspot.request, "GET", "/crm/v3/owners")
  walk(info, 0)
  return out
end }
"#,
        Arc::new(PluginStore::in_memory()),
    );
    let strings = p.call_async("checks", &[]).await.unwrap().to_string();
    let hs = e
        .session
        .hubspot
        .as_ref()
        .unwrap()
        .auth
        .tokens()
        .await
        .unwrap();
    let sf = e
        .session
        .salesforce
        .as_ref()
        .unwrap()
        .auth
        .tokens()
        .await
        .unwrap();
    for secret in [
        hs.access_token.expose(),
        hs.refresh_token.expose(),
        sf.access_token.expose(),
    ] {
        assert!(!strings.contains(secret));
    }
}

/// Later plugins win in the profile's order, not the names' alphabetical one: a client's
/// "acme" after "default" sets the rule of a field default maps.
#[test]
fn a_later_plugin_wins_in_the_profiles_order() {
    use hubforce::sync::hooks::Hooks;
    let root = std::env::temp_dir().join(format!("hubforce-order-{}", fastrand::u64(..)));
    let plugins = root.join("plugins");
    let copy = |name: &str| {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plugins")
            .join(name);
        std::fs::create_dir_all(plugins.join(name)).unwrap();
        for f in ["plugin.toml", "init.lua"] {
            std::fs::copy(from.join(f), plugins.join(name).join(f)).unwrap();
        }
    };
    copy("default");
    std::fs::create_dir_all(plugins.join("acme")).unwrap();
    std::fs::write(
        plugins.join("acme/plugin.toml"),
        "name = \"acme\"\nversion = \"1.0.0\"\napi = 1\n",
    )
    .unwrap();
    std::fs::write(
        plugins.join("acme/init.lua"),
        r#"return { mappings = { contact = { hubspot = "contacts", salesforce = "Lead", fields = {
  { hubspot = "jobtitle", salesforce = "Title", rule = "dont_sync" } } } } }"#,
    )
    .unwrap();
    let set = hubforce::plugins::PluginSet::load(
        &plugins,
        None,
        &["default".to_string(), "acme".to_string()],
        &Default::default(),
    );
    assert_eq!(set.names(), ["default", "acme"]);
    let m = set.mappings().unwrap();
    let title = m["contact"]
        .fields
        .iter()
        .find(|f| f.hubspot == "jobtitle")
        .unwrap();
    assert_eq!(title.rule, hubforce::sync::rules::Rule::DontSync);
    let _ = std::fs::remove_dir_all(&root);
}
