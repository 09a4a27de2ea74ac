//! The sync health page as a user starts it: `hubforce serve` or `sync --watch --serve` as a
//! child process on 127.0.0.1:0, its URL read from the line it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cli::BIN;

pub struct Page {
    child: Child,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    /// The access token, when it printed one.
    pub token: Option<String>,
    /// Everything it wrote on stderr so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Page {
    /// Start `hubforce ARGS` in `dir` with `env`, and wait for the page's address.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Page {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("HUBFORCE_SERVE_TOKEN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("hubforce runs");
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = seen.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let t0 = Instant::now();
        loop {
            let left = Duration::from_secs(60).saturating_sub(t0.elapsed());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("sync health page: ").nth(1) {
                        let url = rest.split_whitespace().next().unwrap_or_default();
                        let (base, token) = match url.split_once("/?token=") {
                            Some((b, t)) => (b.to_string(), Some(t.to_string())),
                            None => (url.trim_end_matches('/').to_string(), None),
                        };
                        return Page {
                            child,
                            base,
                            token,
                            stderr: seen,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "no page address from hubforce {args:?}: {}",
                        seen.lock().unwrap().join("\n")
                    );
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The page's CSRF token, from a form on `html`.
pub fn csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a form with a CSRF token")
        .to_string()
}
