//! `template`: render a Jinja template on the controller and put it on the host.

use bytes::Bytes;

use crate::arguments::Arguments;
use crate::modules::copy::put;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let source = arguments.required(&["src"])?;
    let destination = arguments.required(&["dest"])?;
    let Some(local) = context.find_file(&source, "templates") else {
        return Ok(ModuleResult::failed(format!(
            "could not find the template `{source}` (looked in templates/ and next to the playbook)"
        )));
    };
    let text = std::fs::read_to_string(&local)
        .map_err(|error| Error::Arguments(format!("cannot read `{}`: {error}", local.display())))?;
    let rendered = match context.templar.render_string(&text, context.scope) {
        Ok(rendered) => rendered,
        Err(error) => {
            return Ok(ModuleResult::failed(format!(
                "{}: {error}",
                local.display()
            )));
        }
    };
    let name = local
        .file_name()
        .map(|name| name.to_string_lossy().trim_end_matches(".j2").to_owned());
    put(
        arguments,
        context,
        &destination,
        Bytes::from(rendered),
        name.as_deref(),
    )
    .await
}
