//! docs/plugins.md, run: every code block in it is written, executed or fed to the REPL, in
//! order, in a folder connected to the simulator — so the guide cannot drift from the code.
//!
//! A block's info string says what it is: `toml file=PATH` / `lua file=PATH` / `json
//! file=PATH` are written there; `toml profile` is the profile (renamed to the simulator's);
//! `lua repl` is piped into `hubforce repl` and must not fail; `sh` lines are run (`hubforce`
//! with the binary under test) and must exit 0. A block of any other kind fails the test.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use hubforce::sim::Simulator;

struct Block {
    info: String,
    body: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    body: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.body.push_str(line);
                b.body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut cmd = if args[0] == "hubforce" {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hubforce"));
        c.args(&args[1..]);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    let mut child = cmd
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn every_snippet_of_the_plugin_guide_runs() {
    let sim = Simulator::start(common::small_config().with_free_redirect_port())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("hubforce-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    hubforce::connect::sim_session(&sim, &dir).await.unwrap();
    common::default_plugin::copy_default_plugin(&dir);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("scripts/types")).unwrap();
    std::fs::copy(
        repo.join("scripts/types/hubforce.lua"),
        dir.join("scripts/types/hubforce.lua"),
    )
    .unwrap();
    let guide = std::fs::read_to_string(repo.join("docs/plugins.md")).unwrap();
    let all = blocks(&guide);
    assert!(all.len() >= 10, "{} blocks", all.len());
    let dir2 = dir.clone();
    tokio::task::spawn_blocking(move || {
        let dir = dir2;
        for b in &all {
            let at = format!("docs/plugins.md:{} ({})", b.line, b.info);
            let mut words = b.info.split_whitespace();
            let lang = words.next().unwrap_or_default();
            let attr = words.next().unwrap_or_default();
            if let Some(path) = attr.strip_prefix("file=") {
                let file = dir.join(path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, &b.body).unwrap();
                if lang == "json" {
                    serde_json::from_str::<serde_json::Value>(&b.body)
                        .unwrap_or_else(|e| panic!("{at}: not JSON: {e}"));
                }
            } else if lang == "toml" && attr == "profile" {
                // The guide's profile, under the simulator profile's name.
                let toml = dir.join("hubforce.toml");
                let text = std::fs::read_to_string(&toml).unwrap();
                let text = text.replacen("[profiles.sim]\nplugins = []\n", "", 1);
                let profile = b.body.replace("[profiles.acme", "[profiles.sim");
                std::fs::write(&toml, format!("{text}\n{profile}")).unwrap();
            } else if lang == "lua" && attr == "repl" {
                let (ok, out) = run(&dir, &["hubforce", "repl"], Some(&b.body));
                assert!(ok, "{at}: the REPL failed:\n{out}");
                assert!(!out.contains("error:"), "{at}:\n{out}");
                assert!(
                    !out.lines().any(|l| l == "false"),
                    "{at}: a check printed false:\n{out}"
                );
            } else if lang == "sh" {
                for line in b.body.lines().filter(|l| !l.trim().is_empty()) {
                    let args: Vec<&str> = line.split_whitespace().collect();
                    let (ok, out) = run(&dir, &args, None);
                    assert!(ok, "{at}: `{line}` failed:\n{out}");
                }
            } else {
                panic!("{at}: a block the test does not know how to run");
            }
        }
    })
    .await
    .unwrap();
    // What the guide promises happened: the partner stays out, the pass was noted in the store.
    let store =
        hubforce::store::PluginStore::open(&dir.join(".hubforce/sim/store.sqlite")).unwrap();
    let last = store
        .get(
            &hubforce::plugins::plugin::store_namespace("acme"),
            "last_pass",
        )
        .unwrap()
        .expect("on_sync_end stored a note");
    assert_eq!(last["dry_run"], false, "{last}");
    assert!(last["created"].as_u64().unwrap() > 0, "{last}");
    let _ = std::fs::remove_dir_all(&dir);
}
