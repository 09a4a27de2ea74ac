//! The enabled plugins of a profile, with hot reload: a changed plugin is loaded into a fresh
//! state and validated, and only then swapped in under a new generation; on any error the
//! last good generation stays active and the error is kept for `plugin list`.
//!
//! Work takes an `Arc<Plugin>` of the current generation and finishes on it, so a reload
//! never changes what a running batch sees, and the next batch gets the new generation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::manifest::LimitSettings;
use super::plugin::{LoadOptions, Plugin, PluginError};
use crate::lua::host::HostContext;

/// Quiet time after the first change before reloading: editors write files in bursts.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// The file watcher reports absolute, resolved paths; a root given relative (`./plugins`, as
/// `--config hubforce.toml` yields) must be resolved too, or no change is ever matched to its
/// plugin and hot reload silently never happens.
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// A plugin's name: the last part of its path (`examples/northwind` is `northwind`).
fn leaf(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

struct Slot {
    active: Option<Arc<Plugin>>,
    error: Option<PluginError>,
    generation: u64,
}

pub struct PluginSet {
    root: PathBuf,
    /// As the profile lists them.
    enabled: Vec<String>,
    lib: Option<PathBuf>,
    settings: BTreeMap<String, toml::Table>,
    limits: BTreeMap<String, LimitSettings>,
    host: Option<HostContext>,
    slots: RwLock<BTreeMap<String, Slot>>,
}

/// One line of `hubforce plugin list`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: Option<String>,
    pub generation: u64,
    /// `active`, or `error` (with the last good generation still active if there is one).
    pub status: String,
    pub error: Option<String>,
    pub hooks: Vec<String>,
    pub budget_hubspot: Option<u64>,
    pub budget_salesforce: Option<u64>,
    pub memory_bytes: Option<usize>,
}

/// A plugin's API calls to `provider` in a request-log summary: its code's calls are made
/// under `plugin:NAME` (and `plugin:NAME/…` for its checks).
pub fn calls_of(calls: &[crate::store::CallSummary], plugin: &str, provider: &str) -> u64 {
    let own = format!("plugin:{plugin}");
    calls
        .iter()
        .filter(|c| c.provider == provider)
        .filter(|c| c.caller == own || c.caller.starts_with(&format!("{own}/")))
        .map(|c| c.calls)
        .sum()
}

impl PluginSet {
    /// Load every enabled plugin from `root` (`plugins/`), with `lib` (`scripts/lib`) on the
    /// require path. Failures are recorded per plugin; the others load.
    pub fn load(
        root: &Path,
        lib: Option<&Path>,
        enabled: &[String],
        settings: &BTreeMap<String, toml::Table>,
    ) -> PluginSet {
        PluginSet::load_with(root, lib, enabled, settings, &BTreeMap::new(), None)
    }

    /// Load with the profile's limit overrides and the host API.
    pub fn load_with(
        root: &Path,
        lib: Option<&Path>,
        enabled: &[String],
        settings: &BTreeMap<String, toml::Table>,
        limits: &BTreeMap<String, LimitSettings>,
        host: Option<HostContext>,
    ) -> PluginSet {
        let set = PluginSet {
            root: absolute(root),
            enabled: enabled.to_vec(),
            lib: lib.map(absolute),
            settings: settings.clone(),
            limits: limits.clone(),
            host,
            slots: RwLock::new(BTreeMap::new()),
        };
        for name in enabled {
            let result = set.build(name, 1);
            let mut slots = set.slots.write().unwrap_or_else(|e| e.into_inner());
            slots.insert(
                name.clone(),
                match result {
                    Ok(p) => Slot {
                        active: Some(Arc::new(p)),
                        error: None,
                        generation: 1,
                    },
                    Err(e) => Slot {
                        active: None,
                        error: Some(e),
                        generation: 0,
                    },
                },
            );
        }
        set
    }

    fn build(&self, name: &str, generation: u64) -> Result<Plugin, PluginError> {
        // The first of several plugins with one name keeps it (calls and budgets are counted
        // by name); the others do not load.
        let first = self.enabled.iter().find(|e| leaf(e) == leaf(name));
        if let Some(first) = first.filter(|f| f.as_str() != name) {
            return Err(PluginError::Load {
                plugin: name.into(),
                message: format!(
                    "plugins/{name} and plugins/{first} are both named `{}`; a profile's plugins need different names (their calls and budgets are counted by name): rename one folder and its plugin.toml",
                    leaf(name)
                ),
            });
        }
        let dir = self.root.join(name);
        if !dir.is_dir() {
            return Err(PluginError::NotFound {
                plugin: name.into(),
                path: dir.display().to_string(),
            });
        }
        let empty = toml::Table::new();
        let opts = LoadOptions {
            lib: self.lib.as_deref(),
            host: self.host.as_ref(),
            limits: self.limits.get(name),
            path: Some(name),
        };
        Plugin::load_with(
            &dir,
            self.settings.get(name).unwrap_or(&empty),
            generation,
            &opts,
        )
    }

    /// The current generation of a plugin, if one loaded.
    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .and_then(|s| s.active.clone())
    }

    /// Whether any active plugin defines `hook` (asked per record: no copies).
    pub fn any_has(&self, hook: &str) -> bool {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|s| s.active.as_ref().is_some_and(|p| p.has(hook)))
    }

    /// The plugins in the profile's order: hooks are called, and later plugins' mappings and
    /// pairs replace earlier ones', in this order (not the names' alphabetical one: a client
    /// plugin "acme" after "default" must win over it).
    pub fn names(&self) -> Vec<String> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<String> = Vec::with_capacity(slots.len());
        for name in self.enabled.iter().chain(slots.keys()) {
            if slots.contains_key(name) && !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// The active plugins that have `hook`, in the profile's order.
    pub fn having(&self, hook: &str) -> Vec<Arc<Plugin>> {
        self.names()
            .iter()
            .filter_map(|n| self.get(n))
            .filter(|p| p.has(hook))
            .collect()
    }

    /// Rebuild one plugin; swap it in only if it loads and validates.
    pub fn reload(&self, name: &str) -> Result<u64, PluginError> {
        let next = self
            .slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|s| s.generation + 1)
            .unwrap_or(1);
        let result = self.build(name, next);
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        let slot = slots.entry(name.to_string()).or_insert(Slot {
            active: None,
            error: None,
            generation: 0,
        });
        match result {
            Ok(p) => {
                slot.active = Some(Arc::new(p));
                slot.error = None;
                slot.generation = next;
                tracing::info!(target: "plugin", "[{name}] reloaded: generation {next} is active");
                Ok(next)
            }
            Err(e) => {
                tracing::error!(
                    target: "plugin",
                    "[{name}] reload failed, generation {} stays active: {e}",
                    slot.generation
                );
                slot.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Call a lifecycle hook (`on_sync_start`, `on_sync_end`) of every plugin that has it;
    /// the host API is allowed. A failing hook does not stop the others or the sync: its
    /// error (plugin, hook, file:line) is returned for the caller to show.
    pub async fn lifecycle(&self, hook: &str, args: &[serde_json::Value]) -> Vec<String> {
        let mut errors = Vec::new();
        for info in self.list() {
            let Some(p) = self.get(&info.name) else {
                continue;
            };
            if p.has(hook)
                && let Err(e) = p.call_async(hook, args).await
            {
                errors.push(e.to_string());
            }
        }
        errors
    }

    /// What plugins' `on_alert` hooks add to an alert: each returns a string (or nil), run
    /// as a pure hook — no API call, nothing sent. The lines come prefixed with the plugin's
    /// name; a hook that fails or returns anything else gives a warning instead.
    pub fn alert_context(&self, alert: &serde_json::Value) -> (Vec<String>, Vec<String>) {
        let (mut lines, mut warnings) = (Vec::new(), Vec::new());
        for p in self.having("on_alert") {
            match p.call("on_alert", std::slice::from_ref(alert)) {
                Ok(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                    lines.push(format!("{}: {}", p.manifest.name, s.trim()));
                }
                Ok(serde_json::Value::Null | serde_json::Value::String(_)) => {}
                Ok(other) => warnings.push(format!(
                    "plugin {}: on_alert returned {other}, not a string; its context is left out",
                    p.manifest.name,
                )),
                Err(e) => warnings.push(format!("{e}; its context is left out of the alert")),
            }
        }
        (lines, warnings)
    }

    /// The errors of plugins that have no loaded generation, as the profile lists them.
    pub fn errors(&self) -> Vec<PluginError> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        self.enabled
            .iter()
            .filter_map(|name| slots.get(name))
            .filter(|s| s.active.is_none())
            .filter_map(|s| s.error.clone())
            .collect()
    }

    pub fn list(&self) -> Vec<PluginInfo> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots
            .iter()
            .map(|(name, s)| PluginInfo {
                name: name.clone(),
                version: s.active.as_ref().map(|p| p.manifest.version.clone()),
                generation: s.generation,
                status: match (&s.active, &s.error) {
                    (_, None) => "active".into(),
                    (Some(_), Some(_)) => "error (last good generation active)".into(),
                    (None, Some(_)) => "error".into(),
                },
                error: s.error.as_ref().map(|e| e.to_string()),
                hooks: s
                    .active
                    .as_ref()
                    .map(|p| p.hook_names())
                    .unwrap_or_default(),
                budget_hubspot: s.active.as_ref().and_then(|p| p.manifest.budget.hubspot),
                budget_salesforce: s.active.as_ref().and_then(|p| p.manifest.budget.salesforce),
                memory_bytes: s.active.as_ref().map(|p| p.used_memory()),
            })
            .collect()
    }

    /// Which enabled plugin a changed path belongs to (names may be nested, `examples/acme`).
    fn owner(&self, path: &Path) -> Option<String> {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .find(|name| path.starts_with(self.root.join(name)))
            .cloned()
    }

    /// Watch the plugin folders and reload on change (debounced). Reloads of shared
    /// `scripts/lib` files reload every plugin. Drop the returned watcher to stop.
    pub fn watch(self: &Arc<Self>) -> notify::Result<notify::RecommendedWatcher> {
        use notify::{RecursiveMode, Watcher};
        let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let Ok(ev) = ev
                && matches!(
                    ev.kind,
                    notify::EventKind::Modify(_)
                        | notify::EventKind::Create(_)
                        | notify::EventKind::Remove(_)
                )
            {
                for p in ev.paths {
                    let _ = tx.send(p);
                }
            }
        })?;
        for name in self.names() {
            let dir = self.root.join(&name);
            if dir.is_dir() {
                watcher.watch(&dir, RecursiveMode::Recursive)?;
            }
        }
        if let Some(lib) = &self.lib
            && lib.is_dir()
        {
            watcher.watch(lib, RecursiveMode::Recursive)?;
        }
        let set = Arc::downgrade(self);
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                std::thread::sleep(DEBOUNCE);
                let mut paths = vec![first];
                paths.extend(rx.try_iter());
                let Some(set) = set.upgrade() else { return };
                let mut names = BTreeSet::new();
                for p in &paths {
                    if set.lib.as_ref().is_some_and(|l| p.starts_with(l)) {
                        names.extend(set.names());
                    } else if let Some(n) = set.owner(p) {
                        names.insert(n);
                    }
                }
                for n in names {
                    let _ = set.reload(&n);
                }
            }
        });
        Ok(watcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path from the current directory to `p`, as `--config hubforce.toml` gives roots.
    fn relative_to_cwd(p: &Path) -> PathBuf {
        let cwd = std::env::current_dir().unwrap();
        let up = cwd.components().count() - 1;
        let mut rel: PathBuf = std::iter::repeat_n("..", up).collect();
        rel.push(p.strip_prefix("/").unwrap());
        rel
    }

    #[test]
    fn a_relative_root_still_reloads_on_a_saved_file() {
        let dir = std::env::temp_dir().join(format!("hubforce-reg-{}", std::process::id()));
        let plugin = dir.join("plugins/rel");
        std::fs::create_dir_all(&plugin).unwrap();
        std::fs::write(
            plugin.join("plugin.toml"),
            "name = \"rel\"\nversion = \"1.0.0\"\napi = 1\n",
        )
        .unwrap();
        std::fs::write(plugin.join("init.lua"), "return {}").unwrap();
        let root = relative_to_cwd(&dir.join("plugins"));
        assert!(root.is_relative() && root.is_dir(), "{}", root.display());
        let set = Arc::new(PluginSet::load(
            &root,
            None,
            &["rel".to_string()],
            &BTreeMap::new(),
        ));
        assert_eq!(set.get("rel").unwrap().generation, 1);
        let _watcher = set.watch().unwrap();
        // Saved as editors do: a new file renamed over the old one.
        let tmp = plugin.join("init.lua.tmp");
        std::fs::write(&tmp, "return { include = function() return true end }").unwrap();
        std::fs::rename(&tmp, plugin.join("init.lua")).unwrap();
        let t0 = std::time::Instant::now();
        while set.get("rel").unwrap().generation < 2 {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the saved file was never reloaded"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(set.get("rel").unwrap().has("include"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
