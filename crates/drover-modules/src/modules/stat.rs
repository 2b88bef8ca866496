//! `stat`: facts about a path, for `register` and `when`.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{PathKind, path_state};
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let state = path_state(context, &path).await?;
    let stat = if state.exists() {
        json!({
            "exists": true,
            "path": path,
            "isdir": state.kind == PathKind::Directory,
            "isreg": state.kind == PathKind::File,
            "islnk": state.kind == PathKind::Link,
            "mode": format!("{:04o}", state.mode),
            "pw_name": state.owner,
            "gr_name": state.group,
            "size": state.size,
            "checksum": state.checksum,
            "lnk_target": state.target,
        })
    } else {
        json!({"exists": false})
    };
    Ok(ModuleResult::ok().with("stat", stat))
}

const STAT: &[A] = &[
    A::new("path", Text).aliases(&["dest", "name"]).required(),
    A::new("follow", Bool),
    A::new("get_checksum", Bool),
    A::new("checksum_algorithm", Text),
    A::new("get_mime", Bool),
    A::new("get_attributes", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[
        module!(&["stat"], &[STAT], run).reads_ahead(|arguments, _| {
            arguments
                .required("path")
                .ok()
                .map(crate::read_ahead::PathQuery::checksum)
        }),
    ];
