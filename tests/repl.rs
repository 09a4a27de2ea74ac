//! `hubforce repl` as users drive it: through a pseudo-terminal (completion, multi-line
//! input, Ctrl-C during a slow call) and through piped stdin and `-e`, against the simulator.

mod common;
#[path = "common/pty.rs"]
mod pty;

use pty::Pty;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type Env = common::Connected;

async fn env() -> Env {
    common::connected("repl").await
}

impl Env {
    async fn requests_served(&self) -> u64 {
        let url = format!("{}/stats", self.sim.ready_info().control);
        let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        ["hubspot", "salesforce"]
            .iter()
            .map(|p| v["requests"][p]["total"].as_u64().unwrap_or(0))
            .sum()
    }
}

fn hubforce(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hubforce"));
    c.current_dir(dir)
        .args(["--config", "hubforce.toml", "repl"])
        .env("NO_COLOR", "1");
    c
}

/// Run the REPL with `input` on stdin (no terminal): (exit code, stdout, stderr).
async fn piped(dir: &Path, input: &str) -> (i32, String, String) {
    let dir = dir.to_path_buf();
    let input = input.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = hubforce(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn piped_chunks_print_values_errors_and_commands_plainly() {
    let e = env().await;
    let input = r#"1 + 1
t = {
  name = "multi-line",
  n = 3,
}
t
lead = salesforce.describe("Lead")
#lead.fields > 10
hubspot.contacts.get("999999999")
:trace
:budget
:help salesforce.query
for i = 1, 3 do
  x = (x or 0) + i
end
x
"#;
    let (code, out, err) = piped(&e.dir, input).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "2", "{out}");
    assert_eq!(lines[1], r#"{ n = 3, name = "multi-line" }"#, "{out}");
    assert_eq!(lines[2], "true", "{out}");
    assert!(
        lines[3].starts_with("error: hubspot 404") && lines[3].contains("(not_found)"),
        "one line with the class: {out}"
    );
    assert_eq!(
        out.matches("this process: repl 1\n").count(),
        2,
        "one call on each side, tagged repl: {out}"
    );
    assert!(out.contains("for lead in salesforce.query"), "{out}");
    assert!(
        lines[4].starts_with("stack traceback:") && out.contains("repl:1"),
        ":trace shows where: {out}"
    );
    assert_eq!(lines.last(), Some(&"6"), "{out}");
    assert_eq!(code, 1, "an input failed: {out}");
    assert_eq!(err.trim(), "error: 1 input(s) failed");
    for secret in ["access_token", "refresh_token", "Bearer"] {
        assert!(!out.contains(secret), "{out}");
    }
}

#[tokio::test]
async fn eval_prints_json_and_start_up_makes_no_call() {
    let e = env().await;
    let before = e.requests_served().await;
    let dir = e.dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        hubforce(&dir)
            .args([
                "-e",
                "{ sum = 1 + 1, list = { 'a', 'b' }, none = json.null }",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, json!({"sum": 2, "list": ["a", "b"], "none": null}));
    assert_eq!(
        e.requests_served().await,
        before,
        "no call before first use"
    );
    // An error: one line on stderr, exit 1.
    let dir = e.dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        hubforce(&dir)
            .args(["-e", "salesforce.sobject('Lead'):get('00Q000000000000AAA')"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(not_found)"), "{err}");
}

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn on_a_terminal_it_completes_continues_lines_and_ctrl_c_cancels_a_slow_call() {
    let e = env().await;
    // Every HubSpot call now takes 30 s: only Ctrl-C brings the prompt back in time.
    e.control(
        "/faults",
        json!({"provider": "hubspot", "kind": "latency", "latency_ms": 30000, "route": "/crm/v3/owners"}),
    )
    .await;
    let dir = e.dir.clone();
    tokio::task::spawn_blocking(move || {
        let mut t = Pty::spawn(hubforce(&dir));
        t.expect("sim> ", WAIT);
        // Completion of a module's field.
        t.send("hubspot.con\t");
        t.expect("hubspot.contacts", WAIT);
        t.send("\x15"); // Ctrl-U: clear the line
        // A chunk over three lines.
        t.send("function answer()\r");
        t.send("  return 41 + 1\r");
        t.send("end\r");
        t.expect("sim> ", WAIT);
        t.send("answer()\r");
        t.expect("42", WAIT);
        t.expect("sim> ", WAIT);
        // After a describe, field names complete inside a SOQL string.
        t.send("d = salesforce.describe('Lead')\r");
        t.expect("sim> ", WAIT);
        t.send("salesforce.query(\"SELECT Compa\t");
        t.expect("SELECT Company", WAIT);
        t.send("\x15");
        // Ctrl-C during a slow call drops it and the prompt returns.
        t.send("hubspot.request('GET', '/crm/v3/owners')\r");
        std::thread::sleep(Duration::from_millis(700));
        let t0 = Instant::now();
        t.send("\x03");
        t.expect("interrupted", WAIT);
        t.expect("sim> ", WAIT);
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        // A pure Lua loop stops too.
        t.send("while true do end\r");
        std::thread::sleep(Duration::from_millis(300));
        t.send("\x03");
        t.expect("interrupted", WAIT);
        t.expect("sim> ", WAIT);
        t.send("1 + 1\r");
        t.expect("2", WAIT);
        // Keys typed before the prompt is back reach a cooked terminal: wait for it.
        t.expect("sim> ", WAIT);
        t.send("\x04"); // Ctrl-D leaves
        let t0 = Instant::now();
        while t.child.try_wait().unwrap().is_none() {
            assert!(
                t0.elapsed() < WAIT,
                "Ctrl-D did not exit:\n{:?}",
                &t.seen.lock().unwrap()[t.from.saturating_sub(300)..]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    // History is kept per profile, readable by the user alone.
    let history = e.dir.join(".hubforce/sim/repl_history");
    let text = std::fs::read_to_string(&history)
        .unwrap_or_else(|err| panic!("{}: {err}", history.display()));
    assert!(text.contains("answer()"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&history).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn commands_enter_plugins_reload_save_time_expand_and_switch_profiles() {
    let e = env().await;
    for (name, init) in [
        (
            "acme",
            "return { include = function(record, ctx)\n  return record.properties.lifecyclestage == 'customer'\nend }",
        ),
        (
            "broken",
            "return { include = function(record)\n  return record.\nend }",
        ),
    ] {
        let p = e.dir.join("plugins").join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("plugin.toml"),
            format!("name = \"{name}\"\nversion = \"1.0.0\"\napi = 1\n"),
        )
        .unwrap();
        std::fs::write(p.join("init.lua"), init).unwrap();
    }
    let toml = e.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let sim_profile = &text[text.find("[profiles.sim]").unwrap()..];
    let other = sim_profile.replace("profiles.sim", "profiles.other");
    let text = text.replacen("plugins = []", r#"plugins = ["acme", "broken"]"#, 1);
    std::fs::write(&toml, format!("{text}\n{other}")).unwrap();
    let saved = e.dir.join("session.lua");
    let input = format!(
        r#":reload
:plugin acme
plugin.include({{ properties = {{ lifecyclestage = "customer" }} }}, {{}})
plugin.include({{ properties = {{ lifecyclestage = "lead" }} }}, {{}})
:plugin
big = {{}}
for i = 1, 40 do big[i] = i * 2 end
big
:more
:time #hubspot.request("GET", "/crm/v3/owners").results
n = 20 + 1
n * 2
:save {}
:profile other
hubspot.request("GET", "/crm/v3/owners")
:nope
"#,
        saved.display()
    );
    let (_, out, _) = piped(&e.dir, &input).await;
    let find = |needle: &str| {
        assert!(out.contains(needle), "no {needle:?} in:\n{out}");
    };
    find("✓ acme");
    find("✗ broken");
    find("init.lua:3"); // where the broken plugin fails
    find("in plugin acme: its hooks are plugin.{include}");
    assert!(out.contains("\ntrue\nfalse\n"), "{out}");
    find("back in the REPL's own state");
    find("… 20 more");
    find("(:more shows the rest)");
    find("78, 80\n}"); // :more shows the whole list
    assert!(
        out.lines()
            .any(|l| l.ends_with("s; HubSpot 1 calls, Salesforce 0 calls")),
        "{out}"
    );
    find("inputs written to");
    find("profile other:");
    find("error: hubspot");
    find("hubforce connect hubspot");
    find("unknown command `:nope`");
    // The saved session runs as a script and returns the last value.
    let script = std::fs::read_to_string(&saved).unwrap();
    assert!(
        !script.contains(":time") && !script.contains(":plugin"),
        "{script}"
    );
    let dir = e.dir.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hubforce"))
            .current_dir(&dir)
            .args(["--config", "hubforce.toml", "run", "session.lua"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "42",
        "{script}"
    );
}
