//! The `hubforce` binary run in a connected profile's folder, and the plugin folders and
//! profile lines a test gives it: what a user types, from a test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::Connected;

pub const BIN: &str = env!("CARGO_BIN_EXE_hubforce");

/// A run of the binary in the profile's folder.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

fn finish(out: Output, took: Duration) -> Run {
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    }
}

/// `hubforce ARGS…` in `dir`, off the runtime's threads (the simulator serves meanwhile).
pub async fn hf(dir: &Path, args: &[&str]) -> Run {
    hf_env(dir, args, &[]).await
}

/// `hubforce ARGS…` with these environment variables set.
pub async fn hf_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let (dir, args): (PathBuf, Vec<String>) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let out = Command::new(BIN)
            .current_dir(&dir)
            .args(&args)
            .envs(env)
            .output()
            .expect("hubforce runs");
        finish(out, t0.elapsed())
    })
    .await
    .expect("joined")
}

/// `hubforce ARGS…` with its address space capped (`ulimit -v`, KiB): an abort of the host
/// ("memory allocation failed", exit 134) shows as what it is.
pub async fn hf_capped(dir: &Path, kib: u64, args: &[&str]) -> Run {
    let script = format!("ulimit -v {kib}; exec \"$0\" \"$@\"");
    let (dir, args): (PathBuf, Vec<String>) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let out = Command::new("sh")
            .current_dir(&dir)
            .arg("-c")
            .arg(script)
            .arg(BIN)
            .args(&args)
            .output()
            .expect("sh runs");
        finish(out, t0.elapsed())
    })
    .await
    .expect("joined")
}

/// A plugin folder in the profile.
pub fn plugin(c: &Connected, path: &str, manifest_extra: &str, init: &str) {
    let dir = c.dir.join("plugins").join(path);
    std::fs::create_dir_all(&dir).expect("plugin folder");
    let name = path.rsplit('/').next().unwrap_or(path);
    std::fs::write(
        dir.join("plugin.toml"),
        format!("name = \"{name}\"\nversion = \"1.0.0\"\napi = 1\n{manifest_extra}\n"),
    )
    .expect("manifest");
    std::fs::write(dir.join("init.lua"), init).expect("init.lua");
}

/// Enable `plugins` (after `default`) and add `extra` to the profile.
pub fn enable(c: &Connected, plugins: &[&str], extra: &str) {
    super::default_plugin::copy_default_plugin(&c.dir);
    let list: Vec<String> = std::iter::once("default")
        .chain(plugins.iter().copied())
        .map(|p| format!("\"{p}\""))
        .collect();
    let toml = c.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).expect("config");
    let start = text.find("plugins = [").expect("plugins line");
    let end = start + text[start..].find('\n').expect("end of line");
    let text = format!(
        "{}plugins = [{}]\n{extra}{}",
        &text[..start],
        list.join(", "),
        &text[end..]
    );
    std::fs::write(toml, text).expect("config");
}

/// `hubforce ARGS…` whose stdout is a pipe nobody reads any more (a `| head -1` that has
/// exited): every write to it fails.
pub async fn hf_closed_stdout(dir: &Path, args: &[&str]) -> Run {
    let (dir, args): (PathBuf, Vec<String>) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let mut child = Command::new(BIN)
            .current_dir(&dir)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hubforce runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("hubforce ends");
        finish(out, t0.elapsed())
    })
    .await
    .expect("joined")
}
