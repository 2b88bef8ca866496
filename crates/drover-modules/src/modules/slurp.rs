//! `slurp`: a file's content from the host, base64-encoded, as Ansible
//! returns it (read with `b64decode`).

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let source = arguments.required("src")?;
    let path = quote(&source);
    let script = format!(
        "if [ -d {path} ]; then echo directory; elif [ ! -e {path} ]; then echo missing; \
         elif [ ! -r {path} ]; then echo unreadable; else echo ok; base64 < {path} | tr -d '\\n'; fi"
    );
    let output = context.exec_read_only(&script).await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (status, content) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    match status {
        "ok" => Ok(ModuleResult::ok()
            .with("content", json!(content.trim()))
            .with("source", json!(source))
            .with("encoding", json!("base64"))),
        "directory" => Ok(ModuleResult::failed(format!(
            "source is a directory and must be a file: {source}"
        ))),
        "unreadable" => Ok(ModuleResult::failed(format!(
            "file is not readable: {source}"
        ))),
        _ => Ok(ModuleResult::failed(format!("file not found: {source}"))),
    }
}

const SLURP: &[A] = &[A::new("src", Text).aliases(&["path"]).required()];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["slurp"], &[SLURP], run)];
