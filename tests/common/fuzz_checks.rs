//! What each fuzz target checks, shared by `fuzz/fuzz_targets/*` (libFuzzer, nightly) and
//! `tests/fuzz_corpus.rs` (every kept corpus input, in `cargo test` on stable).

use hubforce::api::classify::classify;
use hubforce::error::Provider;
use hubforce::lua::convert::{from_lua, to_lua};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

/// The simulator's SOQL parser on any text: Ok or an error code, never a panic.
pub fn soql(data: &[u8]) {
    if let Ok(q) = std::str::from_utf8(data) {
        let _ = hubforce::sim::parse_soql(q);
    }
}

/// The classifier on any status, header and body from either provider: one line, a hint.
pub fn classify_any(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let provider = if data[0] & 1 == 0 {
        Provider::Hubspot
    } else {
        Provider::Salesforce
    };
    let status = u16::from_be_bytes([data[1], data[2]]) % 600;
    let mut headers = HeaderMap::new();
    let split = (data[3] as usize).min(data.len() - 4);
    let (head, body) = data[4..].split_at(split);
    if let Ok(v) = HeaderValue::from_bytes(head) {
        if data[0] & 2 == 0 {
            headers.insert(CONTENT_TYPE, v);
        } else {
            headers.insert(RETRY_AFTER, v);
        }
    }
    let e = classify(provider, status, &headers, body);
    let line = e.to_string();
    assert!(!line.contains('\n'), "not one line: {line:?}");
    assert!(!e.hint.is_empty(), "no hint for {line}");
}

/// JSON → Lua → JSON converts, and a converted value converts again to itself.
pub fn lua_json(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let lua = mlua::Lua::new();
    let Ok(l) = to_lua(&lua, &v) else { return };
    let Ok(once) = from_lua(&lua, l) else { return };
    let again = to_lua(&lua, &once)
        .and_then(|l| from_lua(&lua, l))
        .expect("a converted value converts");
    assert_eq!(once, again, "not stable: {v}");
}

/// hubforce.toml on any text: a Config or an error naming the file.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = hubforce::config::Config::parse(text, std::path::Path::new("hubforce.toml"))
    {
        assert!(e.to_string().contains("hubforce.toml"), "{e}");
    }
}

/// plugin.toml on any text: a manifest (whose defaults validate) or an error naming the file.
pub fn manifest(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        match hubforce::plugins::manifest::Manifest::parse(text, "plugins/x/plugin.toml") {
            Ok(m) => {
                let _ = m.settings(&Default::default());
            }
            Err(e) => assert!(e.contains("plugins/x/plugin.toml"), "{e}"),
        }
    }
}
