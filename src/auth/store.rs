//! Token files: one per provider in the profile's state directory, mode 0600, written
//! atomically (temp file, fsync, rename, fsync of the directory), so a crash leaves either
//! the old tokens or the new ones, never half of either.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write the token file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the token file {path} is damaged ({detail}); run `hubforce connect` again to replace it"
    )]
    Damaged { path: PathBuf, detail: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubspotTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
    pub hub_id: Option<u64>,
    pub user_id: Option<u64>,
    pub obtained_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SalesforceTokens {
    pub access_token: Secret,
    /// None after the password grant, which gives no refresh token.
    pub refresh_token: Option<Secret>,
    pub instance_url: String,
    /// The identity URL (`https://login…/id/<org>/<user>`).
    pub id_url: String,
    pub org_id: String,
    pub user_id: String,
    pub scope: Option<String>,
    pub login_url: String,
    pub sandbox: bool,
    /// When the session was issued (Salesforce's `issued_at`); no expiry is given.
    pub issued_at: DateTime<Utc>,
}

/// One provider's token file.
#[derive(Debug, Clone)]
pub struct TokenFile {
    path: PathBuf,
}

/// A refusal of the grant that no retry fixes, kept beside the tokens so that `status` (and
/// every other process on the profile) knows until `hubforce connect` replaces the tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokedMark {
    pub at: DateTime<Utc>,
    pub class: String,
    pub message: String,
    pub hint: String,
}

/// The exclusive lock on a provider's tokens across processes (cron, a watch and a REPL on
/// one profile): one refresh at a time, and whoever waited reads what the other wrote.
pub struct TokenLock {
    file: std::fs::File,
}

impl Drop for TokenLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// How long a process waits for another's refresh before giving up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl TokenFile {
    pub fn new(state_dir: &Path, provider: &str) -> TokenFile {
        TokenFile {
            path: state_dir.join(format!("{provider}.tokens.json")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            // serde's message names the field, never its value.
            .map_err(|e| StoreError::Damaged {
                path: self.path.clone(),
                detail: e.to_string(),
            })
    }

    pub fn save<T: Serialize>(&self, value: &T) -> Result<(), StoreError> {
        let err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
        crate::private::write_atomic(&self.path, &json).map_err(err)
    }

    fn side_path(&self, suffix: &str) -> PathBuf {
        let mut p = self.path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    }

    /// Take the cross-process lock of these tokens (waits while another process holds it).
    pub async fn lock(&self) -> Result<TokenLock, StoreError> {
        let path = self.side_path(".lock");
        let err = |source| StoreError::Write {
            path: path.clone(),
            source,
        };
        crate::private::file(&path).map_err(err)?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(err)?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(TokenLock { file }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another hubforce process has held the token lock for a minute",
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
            }
        }
    }

    /// Remember a refused grant (best effort: the process remembers it anyway).
    pub fn mark_revoked(&self, mark: &RevokedMark) {
        let side = TokenFile {
            path: self.side_path(".revoked"),
        };
        if let Err(e) = side.save(mark) {
            tracing::warn!("could not record the refused grant: {e}");
        }
    }

    pub fn revoked(&self) -> Option<RevokedMark> {
        TokenFile {
            path: self.side_path(".revoked"),
        }
        .load()
        .ok()
        .flatten()
    }

    /// Fresh tokens from `hubforce connect`: the refusal is history.
    pub fn clear_revoked(&self) {
        let _ = std::fs::remove_file(self.side_path(".revoked"));
    }

    pub fn remove(&self) -> Result<(), StoreError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Write {
                path: self.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_are_private_and_round_trip() {
        let dir = std::env::temp_dir().join(format!("hubforce-store-{}", std::process::id()));
        let f = TokenFile::new(&dir, "hubspot");
        assert!(f.load::<HubspotTokens>().unwrap().is_none());
        let t = HubspotTokens {
            access_token: Secret::new("a-token"),
            refresh_token: Secret::new("r-token"),
            expires_at: Utc::now(),
            scopes: vec!["oauth".into()],
            hub_id: Some(1),
            user_id: None,
            obtained_at: Utc::now(),
        };
        f.save(&t).unwrap();
        let back: HubspotTokens = f.load().unwrap().unwrap();
        assert_eq!(back.refresh_token.expose(), "r-token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(f.path(), "{\"access_token\": 1").unwrap();
        let e = f.load::<HubspotTokens>().unwrap_err().to_string();
        assert!(
            e.contains("damaged") && e.contains("hubforce connect"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
