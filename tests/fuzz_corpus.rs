//! Every input kept in fuzz/corpus (what `cargo fuzz` found interesting, minimised) run
//! through its target's checks on stable, so a regression of something the fuzzers once
//! reached fails `cargo test` without nightly. New inputs: `cargo +nightly fuzz run TARGET`,
//! then `cargo +nightly fuzz cmin TARGET` (see README).

#[path = "common/fuzz_checks.rs"]
mod checks;

use std::path::Path;

fn each(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} fails",
            entry.path().display()
        );
        n += 1;
    }
    assert!(n > 10, "{target}: only {n} corpus inputs");
}

#[test]
fn the_soql_corpus_parses_or_is_refused() {
    each("soql", checks::soql);
}

#[test]
fn the_classifier_corpus_gives_one_line_with_a_hint() {
    each("classify", checks::classify_any);
}

#[test]
fn the_lua_json_corpus_converts_and_is_stable() {
    each("lua_json", checks::lua_json);
}

#[test]
fn the_config_corpus_loads_or_names_the_file() {
    each("config", checks::config);
}

#[test]
fn the_manifest_corpus_loads_or_names_the_file() {
    each("manifest", checks::manifest);
}
