//! Any text as a Jinja template: checked and rendered with a few
//! variables, giving text or an error (fuel bounds runaway loops).
#![no_main]

use std::sync::{Arc, LazyLock};

use drover_template::Templar;
use libfuzzer_sys::fuzz_target;

static TEMPLAR: LazyLock<Templar> = LazyLock::new(|| Templar::new(std::env::temp_dir()));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = TEMPLAR.check_template(text);
    let _ = TEMPLAR.check_expression(text);
    let serde_json::Value::Object(vars) = serde_json::json!({
        "name": "web", "port": 8080, "items": [1, 2, 3], "users": {"a": {"uid": 1}},
    }) else {
        return;
    };
    let scope = TEMPLAR.scope(vec![Arc::new(vars)]);
    let _ = TEMPLAR.render_string(text, &scope);
});
