//! Files only the user may read: the state folder (0700) and everything in it — tokens, the
//! ledger, the request log, the plugins' store, the REPL's history (0600). A SQLite file's
//! `-wal` and `-shm` are created with the database file's mode, so creating the database file
//! 0600 first covers them.

use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Create `dir` (and its parents) 0700, or tighten it to 0700.
pub fn dir(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Create `file` empty and 0600 if it is not there, or tighten it to 0600; its folder
/// becomes private too.
pub fn file(file: &Path) -> io::Result<()> {
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        dir(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    opts.mode(0o600);
    drop(opts.open(file)?);
    #[cfg(unix)]
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Replace `path` with `bytes` atomically, 0600: a temporary file beside it, fsynced, renamed
/// over it, and the folder fsynced, so that a crash leaves the old file or the new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir_of = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir(dir_of)?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir_of) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A SQLite database file and the journal files it may already have, all 0600.
pub fn database(path: &Path) -> io::Result<()> {
    file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        #[cfg(unix)]
        if side.exists() {
            std::fs::set_permissions(side, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_database_and_its_journals_are_the_users_alone() {
        let root = std::env::temp_dir().join(format!("hubforce-private-{}", std::process::id()));
        let db = root.join("state/profile/ledger.sqlite");
        database(&db).unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&root.join("state/profile/ledger.sqlite-wal")), 0o600);
        assert_eq!(mode(&root.join("state/profile/ledger.sqlite-shm")), 0o600);
        assert_eq!(mode(&root.join("state/profile")), 0o700);
        drop(conn);
        let _ = std::fs::remove_dir_all(&root);
    }
}
