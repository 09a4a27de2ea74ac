//! The plugins shipped inside the binary, so that `hubforce init --from-sim` and the demo
//! have a working profile anywhere: the default mappings, and the consultant's example.

use std::path::Path;

/// `plugins/default`: the incumbent's standard mappings and rules, with its tests.
pub const DEFAULT: &[(&str, &str)] = &[
    (
        "default/plugin.toml",
        include_str!("../../plugins/default/plugin.toml"),
    ),
    (
        "default/init.lua",
        include_str!("../../plugins/default/init.lua"),
    ),
    (
        "default/tests/default_test.lua",
        include_str!("../../plugins/default/tests/default_test.lua"),
    ),
];

/// `plugins/examples/northwind`: one client's rules.
pub const NORTHWIND: &[(&str, &str)] = &[
    (
        "examples/northwind/plugin.toml",
        include_str!("../../plugins/examples/northwind/plugin.toml"),
    ),
    (
        "examples/northwind/init.lua",
        include_str!("../../plugins/examples/northwind/init.lua"),
    ),
    (
        "examples/northwind/tests/northwind_test.lua",
        include_str!("../../plugins/examples/northwind/tests/northwind_test.lua"),
    ),
];

/// Write `files` under `plugins_dir`, unless the plugin's folder is there already (a user's
/// edits are theirs). True when it was written.
pub fn write(plugins_dir: &Path, files: &[(&str, &str)]) -> std::io::Result<bool> {
    let Some(folder) = files
        .first()
        .and_then(|(p, _)| p.rsplit_once('/'))
        .map(|(dir, _)| dir)
    else {
        return Ok(false);
    };
    if plugins_dir.join(folder).exists() {
        return Ok(false);
    }
    for (path, text) in files {
        let p = plugins_dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text)?;
    }
    Ok(true)
}
