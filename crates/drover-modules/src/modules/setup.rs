//! `setup` (and `gather_facts`): the host's facts, in one round trip.

use drover_playbook::catalog::{
    ArgumentKind::{Integer, List, String as Text},
    ArgumentSpec as A,
};
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::facts::{Subset, parse, record_subset};
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let names = arguments.list("gather_subset")?;
    let subset = Subset::parse(&names)?;
    let filters = arguments
        .list("filter")?
        .iter()
        .map(|pattern| glob(pattern))
        .collect::<Result<Vec<_>, _>>()?;
    let output = context.exec(&subset.script(), None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "gathering facts failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut gathered = parse(&output.stdout);
    record_subset(&mut gathered, &names);
    let facts: Map<String, Json> = gathered
        .into_iter()
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|filter| {
                    filter.is_match(&format!("ansible_{name}")) || filter.is_match(name)
                })
        })
        .collect();
    Ok(ModuleResult::ok().with("ansible_facts", Json::Object(facts)))
}

/// A shell-style pattern (`ansible_*_mb`) as an anchored regular expression.
fn glob(pattern: &str) -> Result<regex::Regex, Error> {
    let mut expression = String::from("^");
    for character in pattern.chars() {
        match character {
            '*' => expression.push_str(".*"),
            '?' => expression.push('.'),
            other => expression.push_str(&regex::escape(&other.to_string())),
        }
    }
    expression.push('$');
    regex::Regex::new(&expression)
        .map_err(|error| Error::Arguments(format!("`filter` `{pattern}`: {error}")))
}

const SETUP: &[A] = &[
    A::new("gather_subset", List),
    A::new("filter", List),
    A::new("gather_timeout", Integer),
    A::new("fact_path", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["setup", "gather_facts"], &[SETUP], run)];
