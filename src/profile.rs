//! Opening a profile, in one place for every command, the REPL, checks and tests: its
//! session (hubforce.toml, the tokens, the transports: [`session`], or [`lua_session`] for
//! plain Lua), then what a sync needs (`open`): its plugins (from `plugins/`, with
//! `scripts/lib` on the require path) and its ledger in the state directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::lua::host::HostContext;
use crate::plugins::PluginSet;
use crate::plugins::plugin::PluginError;
use crate::session::{Session, SessionError};
use crate::store::PluginStore;
use crate::sync::ledger::{Ledger, LedgerError};
use crate::sync::settings::SyncSettings;

/// A profile's session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{} not found: run `hubforce init` to write a starter file (or pass --config)", .0.display())]
    NoConfig(PathBuf),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The session of `profile` (or the default one) of the hubforce.toml at `config_path`.
pub fn session(
    config_path: &Path,
    profile: Option<&str>,
    caller: &str,
) -> Result<Session, OpenError> {
    let config = crate::config::Config::load(config_path).map_err(|e| match e {
        crate::config::ConfigError::Read { path, .. } if !path.exists() => {
            OpenError::NoConfig(path)
        }
        other => OpenError::Config(other),
    })?;
    Ok(Session::open(config, profile, caller)?)
}

/// A session for plain Lua (`run`, `repl`): without a hubforce.toml it has no providers
/// (a script that calls one is told why); with one, a provider that is not set up is
/// unavailable rather than an error.
pub fn lua_session(
    config_path: &Path,
    profile: Option<&str>,
    caller: &str,
) -> Result<Session, OpenError> {
    if !config_path.exists() && profile.is_none() {
        return Ok(Session::scratch(config_path)?);
    }
    let config = crate::config::Config::load(config_path)?;
    Ok(Session::open_lenient(config, profile, caller)?)
}

pub struct SyncSetup {
    pub plugins: Arc<PluginSet>,
    pub ledger: Ledger,
    pub settings: SyncSettings,
    pub read_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Plugins(#[from] BrokenPlugins),
    /// The plugins' `pairs` do not fit together (a parent no plugin declares, a cycle).
    #[error("{0}\n  fix the plugin's `pairs`; nothing was synced")]
    Pairs(crate::sync::hooks::HookError),
    /// The profile syncs a pair no enabled plugin declares.
    #[error(
        "{at}: sync.{key} names `{pair}`, which no enabled plugin declares (declared: {declared})\n  fix the name, or enable the plugin that declares it in `plugins = [...]`; nothing was synced"
    )]
    UnknownPair {
        at: String,
        key: &'static str,
        pair: String,
        declared: String,
    },
}

impl SetupError {
    /// The class of a failure that has one (a plugin that did not load).
    pub fn class(&self) -> Option<crate::error::ErrorClass> {
        matches!(self, SetupError::Plugins(_) | SetupError::Pairs(_))
            .then_some(crate::error::ErrorClass::Plugin)
    }

    /// A plugin that did not load is of the `plugin` class; the rest are set-up failures.
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            SetupError::Plugins(_) | SetupError::Pairs(_) => {
                Some(crate::error::ErrorClass::Plugin.exit_code())
            }
            SetupError::UnknownPair { .. } => Some(2),
            _ => None,
        }
    }
}

/// How to open: whether plugins that do not load stop the command (the default: a sync
/// without the client's rules is a data incident) or are left out on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    pub skip_broken_plugins: bool,
}

/// One plugin the profile names that did not load.
#[derive(Debug, Clone)]
pub struct BrokenPlugin {
    pub error: PluginError,
    /// `hubforce.toml:LINE` when the mistake is in the config (a name, a setting).
    pub at: Option<String>,
    pub fix: String,
}

/// The profile's plugins that did not load: nothing ran.
#[derive(Debug, Clone, thiserror::Error)]
pub struct BrokenPlugins {
    pub profile: String,
    pub broken: Vec<BrokenPlugin>,
}

impl std::fmt::Display for BrokenPlugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.broken.len();
        writeln!(
            f,
            "{} named by profile `{}` did not load; stopped before any API call:",
            if n == 1 {
                "a plugin".to_string()
            } else {
                format!("{n} plugins")
            },
            self.profile
        )?;
        for b in &self.broken {
            writeln!(f, "  {}", b.error)?;
            match &b.at {
                Some(at) => writeln!(f, "    at {at} — {}", b.fix)?,
                None => writeln!(f, "    {}", b.fix)?,
            }
        }
        write!(
            f,
            "Fix them, or run with --skip-broken-plugins to go on without them (their rules do not apply then)."
        )
    }
}

/// The plugin folders under `root` (`default`, `examples/northwind`): those with a
/// plugin.toml, two levels deep.
pub fn plugin_folders(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.join("plugin.toml").is_file() {
            out.push(name);
        } else if path.is_dir()
            && let Ok(inner) = std::fs::read_dir(&path)
        {
            for i in inner.flatten() {
                if i.path().join("plugin.toml").is_file() {
                    out.push(format!("{name}/{}", i.file_name().to_string_lossy()));
                }
            }
        }
    }
    out.sort();
    out
}

fn diagnose(session: &Session, base: &Path, error: PluginError) -> BrokenPlugin {
    let path = session.config.path.display().to_string();
    let text = std::fs::read_to_string(&session.config.path).unwrap_or_default();
    let at = |line: Option<usize>| line.map(|n| format!("{path}:{n}"));
    let profile = session.profile.as_str();
    match &error {
        PluginError::NotFound { plugin, .. } => {
            let known = plugin_folders(&base.join("plugins"));
            let close = known
                .iter()
                .filter(|k| crate::plugins::plugin::distance(k, plugin) <= 3)
                .min_by_key(|k| crate::plugins::plugin::distance(k, plugin))
                .map(|k| format!("did you mean \"{k}\"? "))
                .unwrap_or_default();
            BrokenPlugin {
                at: at(crate::config::locate::plugin_entry(&text, profile, plugin)),
                fix: format!(
                    "{close}fix the name in `plugins = [...]` (plugins here: {}), or create plugins/{plugin} with a plugin.toml and an init.lua (docs/plugins.md)",
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
                error,
            }
        }
        PluginError::Setting { plugin, key, .. } => BrokenPlugin {
            at: at(crate::config::locate::plugin_setting(
                &text, profile, plugin, key,
            )),
            fix: format!(
                "fix or remove the setting; plugins/{plugin}/plugin.toml lists the ones it takes under [config.*]"
            ),
            error,
        },
        PluginError::Load { plugin, .. } | PluginError::Hook { plugin, .. } => BrokenPlugin {
            at: None,
            fix: format!(
                "fix the file named above (`hubforce plugin test {plugin}` runs its tests), or take it out of `plugins` in {path}"
            ),
            error,
        },
    }
}

pub use crate::sync::ledger::ledger_path;

/// Where a watcher keeps its pid while it runs, so that a sync health page served by another
/// process can say whether one does.
pub fn watcher_pid_path(session: &Session) -> PathBuf {
    session
        .config
        .state_dir(&session.profile)
        .join("watcher.pid")
}

/// Whether the watcher that wrote the pid file still runs (on Linux, by its /proc entry; a
/// pid file left by a killed watcher names a process that is gone).
pub fn watcher_running(session: &Session) -> bool {
    let Some(pid) = std::fs::read_to_string(watcher_pid_path(session))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return false;
    };
    !cfg!(target_os = "linux") || Path::new(&format!("/proc/{pid}")).exists()
}

/// Open the profile's plugins (rooted at `base`) and ledger. A plugin that does not load
/// stops it (`BrokenPlugins`: what, where, what to do) unless `opts` skips them, when
/// `PluginSet::list` shows them with their error and the others run.
pub fn open(session: &Session, base: &Path, opts: OpenOptions) -> Result<SyncSetup, SetupError> {
    let profile = session.profile_config()?.clone();
    let plugins = load_plugins(session, base)?;
    let broken = plugins.errors();
    if !broken.is_empty() && !opts.skip_broken_plugins {
        return Err(BrokenPlugins {
            profile: session.profile.clone(),
            broken: broken
                .into_iter()
                .map(|e| diagnose(session, base, e))
                .collect(),
        }
        .into());
    }
    Ok(SyncSetup {
        plugins,
        ledger: Ledger::open(&ledger_path(session))?,
        settings: profile.sync.clone(),
        read_only: profile.read_only,
    })
}

impl SyncSetup {
    /// Before a sync: the plugins' pairs fit together, and the profile syncs only declared
    /// ones (the REPL and `check` open a profile without this: they report, not refuse).
    pub fn for_sync(self, session: &Session) -> Result<SyncSetup, SetupError> {
        check_pairs(session, &self.plugins, &self.settings)?;
        Ok(self)
    }
}

fn check_pairs(
    session: &Session,
    plugins: &PluginSet,
    settings: &SyncSettings,
) -> Result<(), SetupError> {
    use crate::sync::hooks::Hooks;
    let declared = plugins.pairs().map_err(SetupError::Pairs)?;
    if declared.is_empty() {
        return Ok(()); // the sync says to enable plugins/default
    }
    let lists = [
        ("objects", settings.objects.clone()),
        (
            "deletes",
            settings.deletes.keys().cloned().collect::<Vec<_>>(),
        ),
    ];
    for (key, names) in lists {
        if let Some(pair) = names.into_iter().find(|p| !declared.contains_key(p)) {
            let path = session.config.path.display().to_string();
            let text = std::fs::read_to_string(&session.config.path).unwrap_or_default();
            let line = crate::config::locate::sync_list_entry(&text, &session.profile, key, &pair);
            return Err(SetupError::UnknownPair {
                at: match line {
                    Some(n) => format!("{path}:{n}"),
                    None => path,
                },
                key,
                pair,
                declared: declared.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(())
}

/// The profile's plugins, loaded as a sync loads them (host API, store, limits, settings);
/// those that fail are in the set with their error.
pub fn load_plugins(session: &Session, base: &Path) -> Result<Arc<PluginSet>, SetupError> {
    let profile = session.profile_config()?.clone();
    let state = session.config.state_dir(&session.profile);
    // Hooks that talk to the APIs (checks, on_sync_start) do so under the plugin's tag.
    let host = HostContext::for_caller(
        session.hubspot.as_ref(),
        session.salesforce.as_ref(),
        "plugin",
        Some(Arc::new(PluginStore::open(&state.join("store.sqlite"))?)),
        "",
    );
    let plugins = Arc::new(PluginSet::load_with(
        &base.join("plugins"),
        Some(&base.join("scripts/lib")),
        &profile.plugins,
        &profile.plugin,
        &profile.plugin_limits,
        Some(host),
    ));
    Ok(plugins)
}
