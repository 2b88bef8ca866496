//! Any text as a playbook: loaded and validated, or errors, never a crash.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

/// A private directory in memory where each input becomes `site.yml`.
static DIRECTORY: LazyLock<std::path::PathBuf> = LazyLock::new(|| {
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let directory = std::path::Path::new(base).join(format!("drover-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a scratch directory");
    directory
});

fuzz_target!(|data: &[u8]| {
    let path = DIRECTORY.join("site.yml");
    if std::fs::write(&path, data).is_ok() {
        let _ = drover_playbook::load(
            &path,
            &drover_modules::ModuleCatalog,
            &drover_playbook::LoadOptions::default(),
        );
    }
});
