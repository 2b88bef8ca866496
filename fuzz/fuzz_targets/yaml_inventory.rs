//! Any text as a YAML inventory: an inventory or an error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = drover_inventory::Inventory::from_text(text, std::path::Path::new("hosts.yml"));
    }
});
