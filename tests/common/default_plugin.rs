//! The repository's `plugins/default` (the standard field mappings), copied into a test's or
//! a bench's profile folder. Shared by `tests/common`, the soak and `benches/support`.

use std::path::Path;

/// Copy `plugins/default` into `dir/plugins/default`.
pub fn copy_default_plugin(dir: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/default");
    let to = dir.join("plugins/default");
    std::fs::create_dir_all(&to).expect("plugins folder");
    for f in ["plugin.toml", "init.lua"] {
        std::fs::copy(from.join(f), to.join(f)).expect("copy the default plugin");
    }
}
