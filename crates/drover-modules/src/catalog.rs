//! The modules drover has, with their arguments, for validation before a
//! run: a view of the registry (`modules::REGISTRY`), one entry per name.

use std::sync::LazyLock;

use drover_playbook::catalog::{Catalog, ModuleSpec};

use crate::modules::REGISTRY;

/// One spec per name a module answers to, in the registry's order.
static SPECS: LazyLock<Vec<ModuleSpec>> = LazyLock::new(|| {
    REGISTRY
        .iter()
        .flat_map(|modules| modules.iter())
        .flat_map(|module| {
            module.names.iter().map(|name| ModuleSpec {
                name,
                arguments: module.arguments.concat(),
                free_form: module.free_form,
                any_arguments: module.any_arguments,
            })
        })
        .collect()
});

/// The spec of the module called `name` (any name it answers to).
pub(crate) fn spec(name: &str) -> Option<&'static ModuleSpec> {
    SPECS.iter().find(|spec| spec.name == name)
}

/// Every module drover can run.
#[derive(Debug, Default, Clone, Copy)]
pub struct ModuleCatalog;

impl ModuleCatalog {
    /// The file module `name` is written in (`command` for `shell`), which
    /// names the module that documents it.
    pub fn implementation(&self, name: &str) -> Option<&'static str> {
        crate::modules::find(name).map(crate::modules::Module::file)
    }
}

impl Catalog for ModuleCatalog {
    fn module(&self, name: &str) -> Option<&ModuleSpec> {
        spec(name)
    }

    fn names(&self) -> Vec<&'static str> {
        SPECS.iter().map(|spec| spec.name).collect()
    }
}
