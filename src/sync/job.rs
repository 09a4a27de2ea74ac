//! What a sync command opens for a profile: its plugins (from `plugins/`, with
//! `scripts/lib` on the require path) and its ledger in the state directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ledger::{Ledger, LedgerError};
use super::settings::SyncSettings;
use crate::lua::host::HostContext;
use crate::plugins::PluginSet;
use crate::session::{Session, SessionError};
use crate::store::PluginStore;

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
}

pub fn ledger_path(session: &Session) -> PathBuf {
    session
        .config
        .state_dir(&session.profile)
        .join("ledger.sqlite")
}

/// Open the profile's plugins (rooted at `base`) and ledger. Plugins that fail to load are
/// listed by `PluginSet::list` with their error; the others load.
pub fn open(session: &Session, base: &Path) -> Result<SyncSetup, SetupError> {
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
    Ok(SyncSetup {
        plugins,
        ledger: Ledger::open(&ledger_path(session))?,
        settings: profile.sync.clone(),
        read_only: profile.read_only,
    })
}
