//! Any text as a host pattern against a fixed inventory.
#![no_main]

use std::sync::LazyLock;

use drover_inventory::Inventory;
use libfuzzer_sys::fuzz_target;

static INVENTORY: LazyLock<Inventory> = LazyLock::new(|| {
    let text = "[web]\nweb[01:20].example.com\n[db]\ndb[a:f]\n[prod:children]\nweb\ndb\n[edge]\n10.0.0.[1:9]\n";
    Inventory::from_text(text, std::path::Path::new("hosts")).expect("the fixed inventory parses")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(pattern) = std::str::from_utf8(data) {
        let _ = INVENTORY.select(pattern);
    }
});
