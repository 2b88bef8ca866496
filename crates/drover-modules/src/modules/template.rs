//! `template`: render a Jinja template on the controller and put it on the host.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::modules::copy::{SMALL_FILE, put};
use crate::{Error, ModuleContext, ModuleResult, PathQuery};

/// What `run` asks first, when the template is small enough that its
/// output will likely be compared whole (for a read-ahead; a wrong guess
/// only costs the query again).
pub(crate) fn first_query(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Option<PathQuery> {
    let destination = arguments.required("dest").ok()?;
    let local = context.find_file(&arguments.required("src").ok()?, "templates")?;
    let size = usize::try_from(std::fs::metadata(local).ok()?.len()).ok()?;
    (context.diff || size <= SMALL_FILE / 2).then(|| PathQuery::content(destination))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let source = arguments.required("src")?;
    let destination = arguments.required("dest")?;
    let Some(local) = context.find_file(&source, "templates") else {
        return Ok(ModuleResult::failed(format!(
            "could not find the template `{source}` (looked in templates/ and next to the playbook)"
        )));
    };
    let text = std::fs::read_to_string(&local)
        .map_err(|error| Error::Arguments(format!("cannot read `{}`: {error}", local.display())))?;
    let scope = context
        .scope
        .with_layer(std::sync::Arc::new(template_variables(
            &source,
            &local,
            &destination,
        )));
    let rendered = match context.templar.render_string(&text, &scope) {
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

/// The variables Ansible's `template` gives every template besides the
/// host's: `ansible_managed` (its default text) and where the template is.
fn template_variables(
    source: &str,
    local: &std::path::Path,
    destination: &str,
) -> drover_template::Vars {
    let mut variables = drover_template::Vars::new();
    variables.insert("ansible_managed".to_owned(), "Ansible managed".into());
    variables.insert("template_path".to_owned(), source.into());
    variables.insert(
        "template_fullpath".to_owned(),
        local.display().to_string().into(),
    );
    variables.insert("template_destpath".to_owned(), destination.into());
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        variables.insert("template_host".to_owned(), host.trim().into());
    }
    variables
}

const TEMPLATE: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("backup", Bool),
    A::new("force", Bool),
    A::new("validate", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["template"], &[TEMPLATE, &super::ATTRIBUTES], run).reads_ahead(first_query)];
