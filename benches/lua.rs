//! Lua host benchmarks:
//! 1. one call of a plugin's `transform(record)` on a 20-field record (JSON in, Lua call,
//!    JSON out), median and p99 over many calls;
//! 2. hot reload: file saved → new generation active, median over repeated saves;
//! 3. the sandbox's guarded standard functions (patterns matched in Rust under the clock,
//!    pcall that passes a stop on, table.insert) against Lua's own, per call.
//!
//! `cargo bench --bench lua`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hubforce::plugins::{Plugin, PluginSet};
use serde_json::json;

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root = std::env::temp_dir().join(format!("hubforce-lua-bench-{}", std::process::id()));
    let dir = root.join("plugins").join("bench");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("plugin.toml"),
        "name = \"bench\"\nversion = \"1.0.0\"\napi = 1\n",
    )
    .expect("manifest");
    std::fs::write(
        dir.join("init.lua"),
        r#"
local M = {}
function M.transform(r)
  return {
    Email = string.lower(r.email), FirstName = r.firstname, LastName = r.lastname,
    Company = r.company or "[not provided]", Phone = r.phone, Title = r.jobtitle,
    Status = r.hs_lead_status == "NEW" and "Open - Not Contacted" or "Working - Contacted",
    NumberOfEmployees = tonumber(r.numemployees),
  }
end
return M
"#,
    )
    .expect("init");
    let p = Plugin::load(&dir, &toml::Table::new(), 1, None).expect("plugin loads");
    let mut record = serde_json::Map::new();
    for (k, v) in [
        ("email", "Ann.Lee@Example.com"),
        ("firstname", "Ann"),
        ("lastname", "Lee"),
        ("company", "Acme"),
        ("phone", "+1 555"),
        ("jobtitle", "CTO"),
        ("hs_lead_status", "NEW"),
        ("numemployees", "42"),
        ("city", "Tokyo"),
        ("country", "Japan"),
        ("lifecyclestage", "lead"),
        ("website", "https://acme.example"),
        ("state", "13"),
        ("zip", "100-0001"),
        ("address", "1-1"),
        ("hubspot_owner_id", "7000"),
        ("createdate", "2025-01-01T00:00:00.000Z"),
        ("lastmodifieddate", "2025-02-01T00:00:00.000Z"),
        ("hs_object_id", "501"),
        ("product_interest", "analytics;support"),
    ] {
        record.insert(k.into(), json!(v));
    }
    let record = serde_json::Value::Object(record);
    let args = [record];
    for _ in 0..2_000 {
        p.call("transform", &args).expect("warm-up");
    }
    let n = 20_000;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let out = p.call("transform", &args).expect("call");
        times.push(t.elapsed());
        std::hint::black_box(out);
    }
    let median = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    println!("Lua transform(record), 20-field record in, 8 fields out, {n} calls");
    println!(
        "  median {:.2} µs, p99 {:.2} µs (target median ≤ 5 µs: {})",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        if median <= Duration::from_micros(5) {
            "met"
        } else {
            "NOT met"
        }
    );

    // Hot reload latency.
    let set = Arc::new(PluginSet::load(
        &root.join("plugins"),
        None,
        &["bench".to_string()],
        &BTreeMap::new(),
    ));
    let _watch = set.watch().expect("watcher");
    let mut reloads = Vec::new();
    for i in 0..15 {
        let before = set.get("bench").expect("plugin").generation;
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        std::fs::write(
            dir.join("init.lua"),
            format!("return {{ transform = function(r) return {{ v = {i} }} end }}\n"),
        )
        .expect("write");
        while set.get("bench").expect("plugin").generation == before {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "reload never happened"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        reloads.push(t.elapsed());
    }
    let median = percentile(&mut reloads, 0.5);
    let max = percentile(&mut reloads, 1.0);
    println!("hot reload: file saved → new generation active, 15 saves");
    println!(
        "  median {} ms, max {} ms (target median ≤ 250 ms: {}; includes the {} ms debounce)",
        median.as_millis(),
        max.as_millis(),
        if median <= Duration::from_millis(250) {
            "met"
        } else {
            "NOT met"
        },
        hubforce::plugins::registry::DEBOUNCE.as_millis()
    );
    guarded_functions();
    let _ = std::fs::remove_dir_all(&root);
}

/// What each guarded standard function costs next to Lua's own C version, in one loop of
/// typical plugin work, run in a sandboxed state and in a plain one.
fn guarded_functions() {
    use hubforce::lua::sandbox::{Limits, RequirePath, new_state};
    let cases = [
        (
            "email:match('^([^@]+)@(.+)$')",
            "local a, b = s:match('^([^@]+)@(.+)$')",
        ),
        ("name:gsub('%s+', ' ')", "local t = n:gsub('%s+', ' ')"),
        (
            "name:gsub('%w+', f)",
            "local t = n:gsub('%w+', string.upper)",
        ),
        ("email:find('@', 1, true)", "local i = s:find('@', 1, true)"),
        (
            "for w in name:gmatch('%a+')",
            "for w in n:gmatch('%a+') do end",
        ),
        ("pcall(f)", "local ok = pcall(tostring, i)"),
        ("table.insert(t, v)", "table.insert(t, i)"),
    ];
    let n = 200_000;
    println!("guarded standard functions, {n} calls each: sandbox / plain Lua (ns per call)");
    for (label, body) in cases {
        let program = format!(
            "local s, n, t = 'Ann.Lee@Example.com', '  Mary   Ann  Lee ', {{}}\nfor i = 1, {n} do {body} end"
        );
        let time = |lua: &mlua::Lua| {
            let f = lua
                .load(program.as_str())
                .into_function()
                .expect("compiles");
            f.call::<()>(()).expect("warm-up");
            let t = Instant::now();
            f.call::<()>(()).expect("runs");
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        };
        let (sandboxed, clock) = new_state(
            Limits {
                call_time: Duration::from_secs(60),
                ..Limits::default()
            },
            RequirePath { roots: Vec::new() },
        )
        .expect("state");
        let guarded = {
            let _armed = clock.start();
            time(&sandboxed)
        };
        let plain = time(&mlua::Lua::new());
        println!("  {label:<32} {guarded:>7.0} / {plain:>5.0}");
    }
}
