//! The conditions an alert was raised for and not yet cleared, kept in the state folder
//! (`alerts.json`, 0600, written atomically): a restarted watch, or the next `sync --once`
//! of a cron job, does not raise them again, and clears them when they are gone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One raised condition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Raised {
    pub title: String,
    pub raised_at: DateTime<Utc>,
    /// When a pass last saw it (frozen fields clear a flip window after this).
    pub last_seen: DateTime<Utc>,
    /// Every channel took the alert; if not, the next pass sends it again.
    pub delivered: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AlertState {
    pub active: BTreeMap<String, Raised>,
    #[serde(skip)]
    path: PathBuf,
}

impl AlertState {
    /// The state at `path`; a missing file is no condition, a damaged one is set aside (the
    /// worst it costs is an alert sent again).
    pub fn load(path: &Path) -> AlertState {
        let mut state = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<AlertState>(&b).ok())
            .unwrap_or_default();
        state.path = path.to_path_buf();
        state
    }

    pub fn save(&self) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::private::write_atomic(&self.path, &json)
    }
}
