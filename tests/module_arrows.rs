//! The crate's module arrows run one way: each top-level module may use only the modules
//! below it in this table, and the files of `src/sync` import each other without cycles. A
//! new `use crate::…` that points up (a cycle in the making) fails here with the edge named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// module → the modules it may use. Lower layers first; the order is the layering.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("secret", &[]),
    ("private", &[]),
    ("out", &[]),
    ("logs", &[]),
    // The simulator shares no code with the client.
    ("sim", &[]),
    ("store", &["error", "private"]),
    ("budget", &["error"]),
    ("config", &["secret"]),
    ("classify", &["error"]),
    (
        "auth",
        &["classify", "config", "error", "private", "secret"],
    ),
    (
        "api",
        &["auth", "budget", "classify", "error", "secret", "store"],
    ),
    (
        "session",
        &[
            "api", "auth", "budget", "config", "error", "private", "store",
        ],
    ),
    ("lua", &["api", "error", "store"]),
    // The engine: plugins reach it only through its Hooks trait, which `plugins` implements.
    (
        "sync",
        &[
            "api", "budget", "config", "error", "logs", "private", "session", "store",
        ],
    ),
    ("plugins", &["config", "lua", "store", "sync"]),
    (
        "connect",
        &[
            "auth", "config", "error", "plugins", "private", "session", "sim", "store",
        ],
    ),
    // Opening a profile (config, tokens, transport, ledger, plugins) for every command.
    (
        "profile",
        &[
            "config", "error", "lua", "plugins", "session", "store", "sync",
        ],
    ),
    // Alerts: raised from one place, after a pass or when a sync ends in an error.
    (
        "alerts",
        &[
            "config", "error", "logs", "plugins", "private", "secret", "session", "sync",
        ],
    ),
    // The passes of `hubforce sync [--watch]`, which the demo reuses.
    (
        "watch",
        &[
            "alerts", "budget", "error", "logs", "private", "profile", "session", "sync",
        ],
    ),
    // The sync health page: what the CLI reads, as HTML and metrics.
    (
        "serve",
        &[
            "connect", "error", "plugins", "profile", "secret", "session", "sync",
        ],
    ),
    (
        "checks",
        &[
            "api", "auth", "config", "error", "plugins", "session", "store", "sync",
        ],
    ),
    (
        "plugin_tests",
        &["connect", "lua", "plugins", "sim", "store"],
    ),
    (
        "repl",
        &[
            "config", "lua", "out", "plugins", "private", "profile", "session", "store",
        ],
    ),
    (
        "demo",
        &[
            "api", "config", "connect", "error", "out", "plugins", "profile", "session", "sim",
            "sync", "watch",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `prefix`-paths a file's code names (`crate::x` → "x"), comments left out.
fn named(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let after = &rest[i + prefix.len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_uses_only_the_modules_below_it() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src()).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        // The binary (`main.rs`, `cli/`) uses the library as `hubforce::…`.
        if module == "main" || module == "lib" || module == "cli" {
            continue;
        }
        let Some(ok) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "{module}: a new top-level module; give it its place in ALLOWED"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("readable");
        for dep in named(&text, "crate::") {
            // `out!`/`outln!` are the `out` module's macros.
            let dep = if dep == "outln" {
                "out".to_string()
            } else {
                dep
            };
            if dep != module && !ok.contains(dep.as_str()) {
                wrong.push(format!("{} uses crate::{dep}", rel.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows pointing up:\n{}",
        wrong.join("\n")
    );
    // The table itself is a layering: each module's allowed ones come before it.
    let mut seen = BTreeSet::new();
    for (m, deps) in ALLOWED {
        for d in *deps {
            assert!(seen.contains(d), "{m} may use {d}, which is not below it");
        }
        seen.insert(*m);
    }
}

#[test]
fn the_sync_engine_files_import_each_other_without_cycles() {
    let dir = src().join("sync");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("sync") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        // Test modules may reach anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut deps = named(code, "super::");
        deps.extend(named(code, "crate::sync::"));
        deps.remove(&name);
        edges.insert(name, deps);
    }
    // Depth-first search for a cycle, naming it.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in edges
            .get(n)
            .into_iter()
            .flatten()
            .filter(|d| edges.contains_key(*d))
        {
            if let Some(c) = visit(d, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        if let Some(cycle) = visit(n, &edges, &mut Vec::new(), &mut done) {
            panic!("src/sync imports in a circle: {}", cycle.join(" → "));
        }
    }
}
