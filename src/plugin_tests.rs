//! `hubforce plugin test [NAME]`: each `plugins/NAME/tests/*.lua` runs against a simulator
//! started in process for it, seeded as the file's `-- fixture:` line says, with the plugin
//! loaded and connected to both sides.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::lua::host::HostContext;
use crate::plugins::plugin::Plugin;
use crate::sim::{SimConfig, Simulator};
use crate::store::PluginStore;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Case {
    pub name: String,
    pub ok: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub plugin: String,
    pub file: String,
    pub cases: Vec<Case>,
    /// The file could not run at all (load error, error outside `it`).
    pub error: Option<String>,
}

/// `-- fixture: seed=7 contacts=20 leads=10` → the simulator's data.
fn fixture(source: &str) -> SimConfig {
    let mut c = SimConfig::new(1);
    c.contacts = 30;
    c.companies = 10;
    c.deals = 10;
    c.leads = 20;
    for line in source.lines().take_while(|l| l.starts_with("--")) {
        let Some(spec) = line.trim_start_matches('-').trim().strip_prefix("fixture:") else {
            continue;
        };
        for kv in spec.split_whitespace() {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(n) = v.parse::<u64>() else { continue };
            match k {
                "seed" => c.seed = n,
                "contacts" => c.contacts = n as usize,
                "companies" => c.companies = n as usize,
                "deals" => c.deals = n as usize,
                "leads" => c.leads = n as usize,
                "tickets" => c.tickets = n as usize,
                "subscriptions" => c.subscriptions = n as usize,
                _ => {}
            }
        }
    }
    c
}

/// Run every test file of one plugin.
pub async fn run(
    plugins: &Path,
    lib: Option<&Path>,
    name: &str,
    settings: &toml::Table,
) -> Vec<FileOutcome> {
    let dir = plugins.join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("tests"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "lua"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let label = format!(
            "plugins/{name}/tests/{}",
            file.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let outcome = |cases: Vec<Case>, error: Option<String>| FileOutcome {
            plugin: name.to_string(),
            file: label.clone(),
            cases,
            error,
        };
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        // Each file gets its own redirect port, so files and plugins can run side by side.
        let config = fixture(&source).with_free_redirect_port();
        let sim = match Simulator::start(config).await {
            Ok(s) => s,
            Err(e) => {
                out.push(outcome(Vec::new(), Some(e.to_string())));
                continue;
            }
        };
        let work = std::env::temp_dir().join(format!(
            "hubforce-plugin-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let result = async {
            std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
            let session = crate::connect::sim_session(&sim, &work).await?;
            let host = HostContext::for_caller(
                session.hubspot.as_ref(),
                session.salesforce.as_ref(),
                "host",
                Some(Arc::new(PluginStore::in_memory())),
                "",
            );
            let plugin = Plugin::load_with_host(&dir, settings, 1, lib, Some(&host))
                .map_err(|e| e.to_string())?;
            let cases = plugin
                .run_test_file(&file, &label)
                .await
                .map_err(|e| e.to_string())?;
            if cases.as_object().is_some_and(|o| o.is_empty()) {
                return Ok(Vec::new()); // no `it` ran: an empty table
            }
            serde_json::from_value::<Vec<Case>>(cases).map_err(|e| e.to_string())
        }
        .await;
        out.push(match result {
            Ok(cases) => outcome(cases, None),
            Err(e) => outcome(Vec::new(), Some(e)),
        });
        sim.shutdown().await;
        let _ = std::fs::remove_dir_all(&work);
    }
    out
}
