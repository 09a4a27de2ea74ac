//! Sync engine benchmarks against the in-process simulator (limits off), release build:
//! 1. contacts → Leads import with the default plugin (Lua mappings): records/s end to end
//!    and API calls per synced record;
//! 2. the same with the same mappings built in (no Lua at all): the Lua cost is the
//!    difference;
//! 3. the same with a plugin that runs Lua per record (include + transform): the cost of
//!    per-record rules;
//! 4. the default plugin with activities (form submissions, email opens) logged as Tasks;
//! 5. the default plugin with `sync.write_ids_to_hubspot = false`: what writing the
//!    Salesforce ids back to HubSpot costs (one call per 100 new links).
//!
//! Rows 1–3 sync contacts only (`sync.activities = []`). A synced record is one created,
//! updated or confirmed unchanged on either side (Tasks included in row 4).
//!
//! `cargo bench --bench sync` (HUBFORCE_BENCH_CONTACTS sets the size, default 20000).
//! The 1,000,000-contact memory figure comes from `scripts/bench-memory` (the simulator in
//! its own process, so only hubforce's memory is measured).

use std::path::PathBuf;
use std::time::Instant;

use hubforce::plugins::PluginSet;
use hubforce::sim::{SimConfig, Simulator};
use hubforce::sync::engine::{Engine, SyncOptions};
use hubforce::sync::hooks::{HookResult, Hooks, StaticHooks};
use hubforce::sync::ledger::Ledger;
use hubforce::sync::report::RunReport;
use hubforce::sync::settings::SyncSettings;

#[derive(Clone, Copy, PartialEq)]
enum Rules {
    Lua,
    BuiltIn,
    LuaPerRecord,
    /// The default plugin with HubSpot activities logged as Tasks too.
    LuaWithActivities,
    /// The default plugin without the Salesforce ids written back to HubSpot.
    LuaNoIdWriteBack,
}

const PER_RECORD: &str = r#"
local M = {}
function M.include(record, ctx)
  if ctx.pair ~= "contact" or ctx.side ~= "hubspot" then return nil end
  local stage = record.properties.lifecyclestage
  return stage ~= nil and stage ~= json.null
end
function M.transform(record, ctx)
  if ctx.direction ~= "to_salesforce" or ctx.sobject ~= "Lead" then return nil end
  local p = record.properties
  return { LeadSource = (p.country == "Japan") and "Partner Referral" or "Web" }
end
return M
"#;

async fn run(contacts: usize, rules: Rules) -> (RunReport, f64) {
    let mut c = SimConfig::new(11);
    c.contacts = contacts;
    c.leads = 0;
    c.companies = 50;
    c.deals = 0;
    c.limits = false;
    let sim = Simulator::start(c.with_free_redirect_port())
        .await
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!(
        "hubforce-sync-bench-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins");
    std::fs::create_dir_all(dir.join("plugins/perrecord")).expect("dir");
    std::fs::write(
        dir.join("plugins/perrecord/plugin.toml"),
        "name = \"perrecord\"\nversion = \"1.0.0\"\napi = 1\n",
    )
    .expect("manifest");
    std::fs::write(dir.join("plugins/perrecord/init.lua"), PER_RECORD).expect("init");
    hubforce::connect::sim_session(&sim, &dir)
        .await
        .expect("connected");
    // The simulator's limits are off; lift the client's pacing to match.
    let toml = dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).expect("config").replacen(
        "[profiles.sim.hubspot]\n",
        "[profiles.sim.hubspot]\nburst_per_10s = 1000000\nsearch_per_second = 1000\ndaily_limit = 100000000\n",
        1,
    );
    std::fs::write(&toml, text).expect("config");
    let config = hubforce::config::Config::load(&toml).expect("config");
    let session = hubforce::session::Session::open(config, None, "bench").expect("session");
    let names: Vec<String> = match rules {
        Rules::LuaPerRecord => vec!["default".into(), "perrecord".into()],
        _ => vec!["default".into()],
    };
    let mut set_names = names.clone();
    set_names.retain(|n| n == "default");
    let lua_default = PluginSet::load(&repo, None, &set_names, &Default::default());
    let extra = PluginSet::load(
        &dir.join("plugins"),
        None,
        &["perrecord".to_string()],
        &Default::default(),
    );
    let built_in = StaticHooks {
        mappings: lua_default.mappings().expect("mappings"),
        pairs: lua_default.pairs().expect("pairs"),
    };
    struct Both<'a>(&'a PluginSet, &'a PluginSet);
    impl Hooks for Both<'_> {
        fn mappings(
            &self,
        ) -> Result<hubforce::sync::mapping::Mappings, hubforce::sync::hooks::HookError> {
            self.0.mappings()
        }
        fn pairs(
            &self,
        ) -> Result<
            std::collections::BTreeMap<String, hubforce::sync::pair_decl::PairDecl>,
            hubforce::sync::hooks::HookError,
        > {
            self.0.pairs()
        }
        fn include<'a>(
            &'a self,
            r: &'a serde_json::Value,
            c: &'a serde_json::Value,
        ) -> HookResult<'a, Option<hubforce::sync::hooks::Inclusion>> {
            self.1.include(r, c)
        }
        fn transform<'a>(
            &'a self,
            r: &'a serde_json::Value,
            c: &'a serde_json::Value,
        ) -> HookResult<'a, Option<serde_json::Map<String, serde_json::Value>>> {
            self.1.transform(r, c)
        }
        fn resolve<'a>(
            &'a self,
            r: &'a serde_json::Value,
            c: &'a serde_json::Value,
            x: &'a serde_json::Value,
        ) -> HookResult<'a, hubforce::sync::hooks::Resolution> {
            self.1.resolve(r, c, x)
        }
    }
    let both = Both(&lua_default, &extra);
    let hooks: &dyn Hooks = match rules {
        Rules::Lua | Rules::LuaWithActivities | Rules::LuaNoIdWriteBack => &lua_default,
        Rules::BuiltIn => &built_in,
        Rules::LuaPerRecord => &both,
    };
    let ledger = Ledger::open(&dir.join("ledger.sqlite")).expect("ledger");
    let settings = SyncSettings {
        objects: vec!["contact".into()],
        activities: if rules == Rules::LuaWithActivities {
            SyncSettings::default().activities
        } else {
            Vec::new()
        },
        write_ids_to_hubspot: rules != Rules::LuaNoIdWriteBack,
        ..SyncSettings::default()
    };
    let engine = Engine::prepare(
        session.hubspot().expect("hs"),
        session.salesforce().expect("sf"),
        &ledger,
        hooks,
        settings,
    )
    .await
    .expect("prepare");
    let t0 = Instant::now();
    let report = engine
        .run(&SyncOptions {
            full: true,
            ..Default::default()
        })
        .await
        .expect("sync");
    let secs = t0.elapsed().as_secs_f64();
    if std::env::var("HUBFORCE_BENCH_STATS").is_ok() {
        let url = format!("{}/stats", sim.ready_info().control);
        let stats: serde_json::Value = reqwest::get(url)
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&stats).unwrap_or_default()
        );
        eprintln!("{}", report.render());
    }
    drop(engine);
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
    sim.shutdown().await;
    (report, secs)
}

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!("sync bench: {contacts} HubSpot contacts → Salesforce Leads, full import, limits off");
    println!(
        "  {:<40} {:>8} {:>10} {:>11} {:>7} {:>13} {:>12}",
        "rules", "seconds", "records/s", "contacts/s", "calls", "calls/record", "calls/contact"
    );
    let mut times = Vec::new();
    for (label, rules) in [
        ("built-in mappings (no Lua)", Rules::BuiltIn),
        ("plugins/default (Lua mappings)", Rules::Lua),
        (
            "default + per-record include/transform",
            Rules::LuaPerRecord,
        ),
        (
            "default, activities logged as Tasks too",
            Rules::LuaWithActivities,
        ),
        (
            "default, ids not written back to HubSpot",
            Rules::LuaNoIdWriteBack,
        ),
    ] {
        let (r, secs) = rt.block_on(run(contacts, rules));
        let synced = r.synced();
        assert!(r.stopped.is_none(), "{:?}", r.stopped);
        assert!(synced as usize >= contacts, "{}", r.render());
        println!(
            "  {:<40} {:>8.2} {:>10.0} {:>11.0} {:>7} {:>13.4} {:>12.4}",
            label,
            secs,
            synced as f64 / secs,
            contacts as f64 / secs,
            r.total_calls(),
            r.calls_per_record(),
            r.total_calls() as f64 / contacts as f64
        );
        times.push(secs);
    }
    println!(
        "  Lua cost over built-in: default {:+.1}%, with per-record hooks {:+.1}%",
        (times[1] / times[0] - 1.0) * 100.0,
        (times[2] / times[0] - 1.0) * 100.0
    );
}
