//! The files Lua code may load: `require` from the plugin's own folder and the shared
//! `scripts/lib`, and a plugin's own `init.lua` and tests. A path is resolved to its real
//! location first, so a symlink (or `..`) cannot lead out of those folders to a secret.

use std::path::{Path, PathBuf};

use mlua::chunk::ChunkMode;
use mlua::{Lua, Value};

/// Where `require` may look: the plugin's folder, then the shared `scripts/lib`, each with
/// the label its chunks are named by (`plugins/acme`).
#[derive(Debug, Clone)]
pub struct RequirePath {
    pub roots: Vec<(PathBuf, String)>,
}

/// Why a file was not read; never its content.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{label} leads outside {root} (a symlink?); only files inside it may be loaded")]
    Outside { label: String, root: String },
    #[error("cannot read {label}: {reason}")]
    Unreadable { label: String, reason: String },
}

/// The text of `root/rel` if it is a file whose real path lies inside `root`'s real path;
/// `Ok(None)` when there is no such file.
pub fn read_inside(
    root: &Path,
    rel: &Path,
    label: &str,
    root_label: &str,
) -> Result<Option<String>, FileError> {
    let file = root.join(rel);
    if std::fs::symlink_metadata(&file).is_err() {
        return Ok(None);
    }
    let unreadable = |e: std::io::Error| FileError::Unreadable {
        label: label.to_string(),
        reason: e.kind().to_string(),
    };
    let real_root = std::fs::canonicalize(root).map_err(unreadable)?;
    let real = std::fs::canonicalize(&file).map_err(unreadable)?;
    if !real.starts_with(&real_root) {
        return Err(FileError::Outside {
            label: label.to_string(),
            root: root_label.to_string(),
        });
    }
    if !real.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(&real).map(Some).map_err(unreadable)
}

/// `require("name")` loads `name.lua` (dots become folders) from the roots, as text, once.
pub fn install_require(lua: &Lua, path: RequirePath) -> mlua::Result<()> {
    let loaded = lua.create_table()?;
    let require = lua.create_function(move |lua, name: String| {
        if let Some(v) = loaded.raw_get::<Option<Value>>(name.as_str())? {
            return Ok(v);
        }
        let valid = !name.is_empty()
            && name.split('.').all(|p| {
                !p.is_empty()
                    && p
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !valid {
            return Err(mlua::Error::runtime(format!(
                "require(\"{name}\"): module names are letters, digits, '_' and '-', separated by dots"
            )));
        }
        let rel: PathBuf = name.split('.').collect::<PathBuf>().with_extension("lua");
        for (root, root_label) in &path.roots {
            let label = format!("{root_label}/{}", rel.display());
            let source = read_inside(root, &rel, &label, root_label)
                .map_err(|e| mlua::Error::runtime(format!("require(\"{name}\"): {e}")))?;
            let Some(source) = source else { continue };
            let v: Value = lua
                .load(source)
                .set_name(format!("@{label}"))
                .set_mode(ChunkMode::Text)
                .call(())?;
            let v = if v.is_nil() { Value::Boolean(true) } else { v };
            loaded.raw_set(name.as_str(), v.clone())?;
            return Ok(v);
        }
        let searched: Vec<String> = path
            .roots
            .iter()
            .map(|(_, l)| format!("{l}/{}", rel.display()))
            .collect();
        Err(mlua::Error::runtime(format!(
            "require(\"{name}\"): not found (searched {})",
            searched.join(", ")
        )))
    })?;
    lua.globals().raw_set("require", require)
}

/// Load a file as a text chunk named `@<label>` so errors carry `label:line`. With
/// `inside` (a folder and its label), the file's real path must lie in that folder: a
/// plugin's own files.
pub fn load_file(
    lua: &Lua,
    file: &Path,
    label: &str,
    inside: Option<(&Path, &str)>,
) -> mlua::Result<mlua::Function> {
    let source = match inside {
        Some((root, root_label)) => {
            let rel = file.strip_prefix(root).unwrap_or(file);
            read_inside(root, rel, label, root_label)
                .map_err(|e| mlua::Error::runtime(e.to_string()))?
                .ok_or_else(|| mlua::Error::runtime(format!("cannot read {label}: not found")))?
        }
        None => std::fs::read_to_string(file)
            .map_err(|e| mlua::Error::runtime(format!("cannot read {label}: {e}")))?,
    };
    lua.load(source)
        .set_name(format!("@{label}"))
        .set_mode(ChunkMode::Text)
        .into_function()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_out_of_the_folder_is_refused_without_its_content() {
        let dir = std::env::temp_dir().join(format!("hubforce-files-{}", std::process::id()));
        let plugin = dir.join("plugin");
        std::fs::create_dir_all(&plugin).unwrap();
        std::fs::write(dir.join("secret.env"), "3b9e-secret = 1").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.env"), plugin.join("leak.lua")).unwrap();
        std::fs::write(plugin.join("ok.lua"), "return 1").unwrap();
        let e = read_inside(
            &plugin,
            Path::new("leak.lua"),
            "plugins/p/leak.lua",
            "plugins/p",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("leads outside plugins/p"), "{e}");
        assert!(!e.contains("3b9e"), "{e}");
        let up = read_inside(&plugin, Path::new("../secret.env"), "x", "plugins/p").unwrap_err();
        assert!(matches!(up, FileError::Outside { .. }));
        assert_eq!(
            read_inside(&plugin, Path::new("ok.lua"), "x", "p")
                .unwrap()
                .as_deref(),
            Some("return 1")
        );
        assert!(
            read_inside(&plugin, Path::new("none.lua"), "x", "p")
                .unwrap()
                .is_none()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
