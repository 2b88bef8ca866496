//! `lookup()` and `query()`: `file`, `env`, `pipe`, `template`, `vars`,
//! and every lookup behind a `with_*` loop (`items`, `list`, `dict`,
//! `indexed_items`, `together`, `nested`, `cartesian`, `flattened`,
//! `sequence`, `fileglob`, `lines`, `first_found`, `subelements`,
//! `random_choice`).
// minijinja hands filter, test and function arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use std::path::{Path, PathBuf};
use std::process::Command;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use serde_json::Value as Json;

/// Adds `lookup`, `query` and `q`, reading relative paths from `base`.
pub(crate) fn register(environment: &mut Environment<'static>, base: PathBuf) {
    let lookup_base = base.clone();
    environment.add_function(
        "lookup",
        move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            let values = run(state, &lookup_base, &name, &terms, &kwargs)?;
            // `lookup` joins several results with commas, unless `wantlist=True`.
            let want_list: Option<bool> = kwargs.get("wantlist")?;
            if want_list.unwrap_or(false) || name == "items" {
                return Ok(Value::from(values));
            }
            if values.len() == 1 {
                return Ok(values.into_iter().next().unwrap_or_default());
            }
            Ok(Value::from(
                values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ))
        },
    );
    for name in ["query", "q"] {
        let query_base = base.clone();
        environment.add_function(
            name,
            move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
                let _: Option<bool> = kwargs.get("wantlist")?;
                run(state, &query_base, &name, &terms, &kwargs).map(Value::from)
            },
        );
    }
}

fn failure(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// `lookup('pipe', COMMAND)`: the command's output, run by `/bin/sh` on
/// this machine in the playbook's directory.
fn pipe(base: &Path, command: &str) -> Result<Value, Error> {
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir(base)
        .output()
        .map_err(|error| failure(format!("lookup('pipe', '{command}'): {error}")))?;
    if !output.status.success() {
        return Err(failure(format!(
            "lookup('pipe', '{command}') exited with {}",
            output.status
        )));
    }
    Ok(Value::from(
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned(),
    ))
}

fn run(
    state: &State,
    base: &Path,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let _: Option<Value> = kwargs.get("errors")?;
    let _: Option<Value> = kwargs.get("default")?;
    let texts = || {
        terms.iter().map(|term| {
            term.as_str()
                .map_or_else(|| term.to_string(), str::to_owned)
        })
    };
    match name {
        "file" => texts()
            .map(|path| {
                let full = base.join(&path);
                std::fs::read_to_string(&full)
                    .map(|text| Value::from(text.trim_end_matches('\n').to_owned()))
                    .map_err(|error| failure(format!("lookup('file', '{path}'): {error}")))
            })
            .collect(),
        "env" => Ok(texts()
            .map(|variable| Value::from(std::env::var(&variable).unwrap_or_default()))
            .collect()),
        "pipe" => texts().map(|command| pipe(base, &command)).collect(),
        "template" => texts()
            .map(|path| {
                let full = base.join(&path);
                let source = std::fs::read_to_string(&full)
                    .map_err(|error| failure(format!("lookup('template', '{path}'): {error}")))?;
                state
                    .env()
                    // `vars` is the whole variable scope (see `Scope`).
                    .render_str(&source, state.lookup("vars").unwrap_or_default())
                    .map(Value::from)
            })
            .collect(),
        "items" => Ok(terms
            .iter()
            .flat_map(|term| match term.try_iter() {
                Ok(items) if term.kind() == minijinja::value::ValueKind::Seq => items.collect(),
                _ => vec![term.clone()],
            })
            .collect()),
        "vars" => texts()
            .map(|name| {
                state
                    .lookup(&name)
                    .filter(|value| !value.is_undefined())
                    .ok_or_else(|| {
                        failure(format!("lookup('vars', '{name}'): `{name}` is undefined"))
                    })
            })
            .collect(),
        other => loop_lookup(base, other, terms, kwargs),
    }
}

/// The lookups behind the `with_*` loops, on the terms as JSON.
fn loop_lookup(
    base: &Path,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    use crate::loop_lookups as lookups;
    let json = |value: &Value| serde_json::to_value(value).unwrap_or(Json::Null);
    let all = Json::Array(terms.iter().map(json).collect());
    let lists = || -> Vec<Vec<Json>> {
        terms
            .iter()
            .map(|term| match json(term) {
                Json::Array(items) => items,
                other => vec![other],
            })
            .collect()
    };
    let directories = [base.join("files"), base.to_path_buf()];
    let items = match name {
        "list" => Ok(all.as_array().cloned().unwrap_or_default()),
        "dict" => terms
            .iter()
            .map(|term| lookups::dict(&json(term)))
            .collect::<Result<Vec<_>, _>>()
            .map(|lists| lists.concat()),
        "indexed_items" => Ok(lookups::indexed(lists().concat())),
        "together" => Ok(lookups::together(&lists())),
        "nested" | "cartesian" => Ok(lookups::nested(lists())),
        "flattened" => Ok(lookups::flattened(&all)),
        "sequence" => lookups::sequence(&all),
        "fileglob" => lookups::fileglob(&all, &directories),
        "lines" => lookups::lines(&all, base),
        "random_choice" => Ok(lookups::random_choice(&all)),
        "subelements" => lookups::subelements(&all),
        "first_found" => lookups::first_found(&first_found_terms(all, kwargs)?, &directories),
        other => Err(format!("the `{other}` lookup is not supported")),
    };
    items
        .map(|items| {
            items
                .iter()
                .map(|item| Value::from(minijinja::value::Serde(item)))
                .collect()
        })
        .map_err(failure)
}

/// `lookup('first_found', files, paths=..., skip=...)`: the keyword
/// arguments make one term, as the mapping form of `with_first_found`.
fn first_found_terms(all: Json, kwargs: &Kwargs) -> Result<Json, Error> {
    let mut options = serde_json::Map::new();
    for key in ["files", "paths", "skip"] {
        if let Some(value) = kwargs.get::<Option<Value>>(key)? {
            options.insert(
                key.to_owned(),
                serde_json::to_value(&value).unwrap_or(Json::Null),
            );
        }
    }
    if options.is_empty() {
        return Ok(all);
    }
    if !options.contains_key("files") {
        options.insert("files".to_owned(), all);
    }
    Ok(Json::Array(vec![Json::Object(options)]))
}
