//! For benches that measure hubforce as its own process: `hubforce sim` in a process of its
//! own, seeded, with a connected profile for it in a fresh folder (the default plugin
//! copied in), its request counters, and the peak memory of a process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../../tests/common/default_plugin.rs"]
mod default_plugin;
pub use default_plugin::copy_default_plugin;

pub const BIN: &str = env!("CARGO_BIN_EXE_hubforce");

/// The number after `--NAME` on the bench's command line (`cargo bench --bench X -- --runs 5`).
pub fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|s| s.parse().ok())
}

/// `NAME  median … ms   max … ms   (N runs)` for a set of timings.
pub fn print_times(name: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<34} median {:>7.1} ms   max {:>7.1} ms   ({} runs)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

/// Peak resident set of a process (VmHWM), in KiB.
pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) of the children this process has waited for.
pub fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// CPU seconds (user + system) a running process has used so far.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state (3rd).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

pub struct SimProcess {
    child: Child,
    pub info: Value,
    /// The folder with `hubforce.toml` (profile `sim`) and `plugins/default`.
    pub dir: PathBuf,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl SimProcess {
    /// `hubforce sim ARGS` seeded with `contacts` contacts; the profile's hubforce.toml is
    /// passed through `edit` (after `plugins = ["default"]` is set) before connecting.
    pub fn start(
        contacts: usize,
        name: &str,
        args: &[&str],
        edit: impl Fn(String) -> String,
    ) -> SimProcess {
        let dir =
            std::env::temp_dir().join(format!("hubforce-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let ready = dir.join("ready.json");
        let child = Command::new(BIN)
            // Fewer malloc arenas: the simulator of a million-record bench holds ~20 GB, and
            // each worker thread's arena fragments apart from the others (the fixture's
            // memory, not hubforce's, which is measured in a process of its own).
            .env("MALLOC_ARENA_MAX", "2")
            .arg("sim")
            .args(args)
            .args(["--contacts", &contacts.to_string()])
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::null())
            .spawn()
            .expect("simulator");
        let t0 = Instant::now();
        while !ready.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(1800),
                "the simulator did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(100)); // written, then flushed
        let info: Value =
            serde_json::from_slice(&std::fs::read(&ready).expect("ready")).expect("ready json");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            hubforce::connect::init_from_sim(&dir, &info, true).expect("profile");
            let toml = dir.join("hubforce.toml");
            let text = std::fs::read_to_string(&toml).expect("config").replacen(
                "plugins = []",
                "plugins = [\"default\"]",
                1,
            );
            std::fs::write(&toml, edit(text)).expect("config");
            let config = hubforce::config::Config::load(&toml).expect("config");
            let session = hubforce::session::Session::open(config, None, "bench").expect("session");
            hubforce::connect::connect_sim_both(&session)
                .await
                .expect("connected");
        });
        copy_default_plugin(&dir);
        SimProcess { child, info, dir }
    }

    /// CPU seconds the simulator has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        process_cpu_seconds(self.child.id()).unwrap_or(0.0)
    }

    pub fn control(&self) -> &str {
        self.info["control"].as_str().expect("control")
    }

    /// The simulator's `GET /stats`.
    pub fn stats(&self) -> Value {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let url = format!("{}/stats", self.control());
        rt.block_on(async {
            reqwest::get(url)
                .await
                .expect("stats")
                .json()
                .await
                .expect("json")
        })
    }

    /// Requests served on both sides so far.
    pub fn served(&self) -> u64 {
        let v = self.stats();
        ["hubspot", "salesforce"]
            .iter()
            .map(|p| v["requests"][p]["total"].as_u64().unwrap_or(0))
            .sum()
    }

    /// Run `hubforce ARGS` in the profile's folder, sampling its peak RSS: (seconds, peak
    /// MiB, exit code, stdout as JSON). Its stderr goes to `stderr.log` there (a pipe nobody
    /// reads until the end could fill and stall it), and is printed if it fails.
    pub fn measure(&self, args: &[&str]) -> (f64, f64, Option<i32>, Value) {
        let log = self.dir.join("stderr.log");
        let t0 = Instant::now();
        // HUBFORCE_BENCH_WRAP="perf stat -o FILE --": run the measured process under a tool.
        let wrap: Vec<String> = std::env::var("HUBFORCE_BENCH_WRAP")
            .map(|w| w.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let mut command = match wrap.split_first() {
            Some((tool, rest)) => {
                let mut c = Command::new(tool);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .current_dir(&self.dir)
            .args(["--config", "hubforce.toml"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("stderr log"))
            .spawn()
            .expect("hubforce");
        let pid = child.id();
        let mut peak = 0;
        while child.try_wait().expect("wait").is_none() {
            peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(20));
        }
        let seconds = t0.elapsed().as_secs_f64();
        let out = child.wait_with_output().expect("output");
        if !out.status.success() {
            eprintln!(
                "{args:?}: {}\n{}",
                out.status,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        (
            seconds,
            peak as f64 / 1024.0,
            out.status.code(),
            serde_json::from_slice(&out.stdout).unwrap_or_default(),
        )
    }
}
