//! The repository's `plugins/default` (the standard field mappings), copied into a test's or
//! a bench's profile folder. Shared by `tests/common`, the soak and `benches/support`.

use std::path::Path;

/// Copy `plugins/default` into `dir/plugins/default`.
pub fn copy_default_plugin(dir: &Path) {
    copy_plugin(dir, "default");
}

/// Copy the repository's `plugins/PATH` (`examples/tickets`) into `dir/plugins/PATH`.
pub fn copy_plugin(dir: &Path, path: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plugins")
        .join(path);
    let to = dir.join("plugins").join(path);
    std::fs::create_dir_all(&to).expect("plugins folder");
    for f in ["plugin.toml", "init.lua"] {
        std::fs::copy(from.join(f), to.join(f)).expect("copy the plugin");
    }
}
