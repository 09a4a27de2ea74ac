//! `hubforce repl` as users drive it: through a pseudo-terminal (completion, multi-line
//! input, Ctrl-C during a slow call) and through piped stdin and `-e`, against the simulator.

mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hubforce::sim::Simulator;
use serde_json::{Value, json};

struct Env {
    sim: Simulator,
    dir: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn env() -> Env {
    let sim = Simulator::start(common::small_config().with_free_redirect_port())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "hubforce-repl-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    hubforce::connect::sim_session(&sim, &dir).await.unwrap();
    Env { sim, dir }
}

impl Env {
    async fn control(&self, path: &str, body: Value) {
        let url = format!("{}{path}", self.sim.ready_info().control);
        let s = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(s.is_success(), "{s}");
    }

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

/// A child on a pseudo-terminal, with everything it writes collected.
struct Pty {
    master: std::fs::File,
    child: Child,
    seen: Arc<Mutex<String>>,
    from: usize,
}

impl Pty {
    fn spawn(dir: &Path) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors into the given ints; no other pointers.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both descriptors were just opened and are owned here.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = hubforce(dir);
        cmd.env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let master = std::fs::File::from(master);
        let mut reader = master.try_clone().unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty {
            master,
            child,
            seen,
            from: 0,
        }
    }

    fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Wait until `needle` appears after what earlier waits consumed; returns the text up to it.
    fn expect(&mut self, needle: &str, within: Duration) -> String {
        let t0 = Instant::now();
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some(i) = seen[self.from..].find(needle) {
                    let upto = seen[self.from..self.from + i + needle.len()].to_string();
                    self.from += i + needle.len();
                    return upto;
                }
                assert!(
                    t0.elapsed() < within,
                    "no {needle:?} within {within:?}; the terminal shows:\n{}",
                    &seen[self.from..]
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let mut t = Pty::spawn(&dir);
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
