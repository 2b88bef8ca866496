//! `lookup()` and `query()`: `file`, `env`, `pipe`, `template`, `items`.
// minijinja hands filter, test and function arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use std::path::{Path, PathBuf};
use std::process::Command;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};

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
        other => Err(failure(format!("the `{other}` lookup is not supported"))),
    }
}
