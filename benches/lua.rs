//! Lua host benchmarks:
//! 1. one call of a plugin's `transform(record)` on a 20-field record (JSON in, Lua call,
//!    JSON out), median and p99 over many calls;
//! 2. hot reload: file saved → new generation active, median over repeated saves.
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
    let _ = std::fs::remove_dir_all(&root);
}
