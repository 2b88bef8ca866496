//! `command`, `shell` and `raw`: run a command; `creates`/`removes` make it idempotent.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// What the guard prints when `creates`/`removes` makes the command unnecessary.
const SKIPPED: &str = "__drover_skipped__";

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let command = command_line(module, arguments)?;
    if known_to_have_run(arguments, context) {
        return Ok(ModuleResult::ok()
            .message("skipped, since `creates`/`removes` says it has run")
            .with("rc", 0));
    }
    let guard = guard(arguments)?;
    if context.check_mode {
        if !guard.is_empty()
            && context
                .exec(&in_chdir(arguments, &format!("{guard}exit 1"))?, None)
                .await?
                .success()
        {
            return Ok(ModuleResult::ok()
                .message("skipped, since `creates`/`removes` says it has run")
                .with("rc", 0));
        }
        let mut result = ModuleResult::ok()
            .message("skipped in check mode: the command's effect cannot be predicted");
        result.skipped = true;
        return Ok(result);
    }
    // As in Ansible, `creates` and `removes` are looked for after `chdir`.
    let command = in_chdir(arguments, &format!("{guard}{command}"))?;
    let stdin = arguments.string("stdin")?.map(|mut text| {
        if arguments.boolean("stdin_add_newline", true).unwrap_or(true) {
            text.push('\n');
        }
        Bytes::from(text)
    });
    let output = context.exec(&command, stdin).await?;
    // `ends_with`: sudo may print a warning of its own before the guard runs.
    if output.success() && output.stderr.ends_with(SKIPPED.as_bytes()) {
        return Ok(ModuleResult::ok()
            .message("skipped, since `creates`/`removes` says it has run")
            .with("rc", 0));
    }
    Ok(command_result(&output))
}

/// The command line to run: `raw` as written, `shell` through `/bin/sh`
/// (or its `executable`), `command` split into words and quoted one by
/// one, or its `argv`.
fn command_line(module: &str, arguments: &Arguments<'_>) -> Result<String, Error> {
    let argv = arguments.list("argv")?;
    let text = arguments.string_of(&["_raw_params", "cmd"])?;
    let quoted = |words: &[String]| {
        words
            .iter()
            .map(|word| quote(word))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(match (module, text, argv.is_empty()) {
        ("raw", Some(text), _) => text,
        // Without stdin the text goes through the long-lived `/bin/sh`
        // itself (one process fewer on the host); another shell, or a
        // command reading stdin, gets a shell of its own.
        ("shell", Some(text), _) => match arguments.string("executable")? {
            None if arguments.string("stdin")?.is_none() => text,
            executable => format!(
                "{} -c {}",
                quote(executable.as_deref().unwrap_or("/bin/sh")),
                quote(&text)
            ),
        },
        ("command", Some(text), _) => quoted(&shlex::split(&text).ok_or_else(|| {
            Error::Arguments(format!(
                "cannot split the command `{text}` (unbalanced quotes?)"
            ))
        })?),
        ("command", None, false) => quoted(&argv),
        _ => return Err(Error::Arguments(format!("`{module}` needs a command"))),
    })
}

/// `script`, run in `chdir` if there is one.
fn in_chdir(arguments: &Arguments<'_>, script: &str) -> Result<String, Error> {
    Ok(match arguments.string("chdir")? {
        // Braces, and a newline before the closing one: the command may be a
        // whole script, ending in a comment.
        Some(directory) => format!("cd {} && {{ {script}\n}}", quote(&directory)),
        None => script.to_owned(),
    })
}

/// The path of `creates` or `removes` (`key`), when the host's answer about
/// it does not depend on `chdir`, which a query does not enter.
fn guard_path(arguments: &Arguments<'_>, key: &str) -> Option<String> {
    let path = arguments.string(key).ok().flatten()?;
    let relative_to_chdir = !path.starts_with('/') && arguments.raw("chdir").is_some();
    (!relative_to_chdir).then_some(path)
}

/// Whether `creates` or `removes` says the command has run, from what was
/// read ahead alone (see [`first_query`]); when nothing is known, the
/// guard asks the host in the same flight as the command.
fn known_to_have_run(arguments: &Arguments<'_>, context: &ModuleContext<'_>) -> bool {
    let known = |key: &str| {
        guard_path(arguments, key).and_then(|path| crate::remote::known_to_exist(context, &path))
    };
    known("creates") == Some(true) || known("removes") == Some(false)
}

/// The path a read-ahead asks about for `creates` (or else `removes`).
fn first_query(
    arguments: &Arguments<'_>,
    _: &ModuleContext<'_>,
) -> Option<crate::read_ahead::PathQuery> {
    guard_path(arguments, "creates")
        .or_else(|| guard_path(arguments, "removes"))
        .map(crate::read_ahead::PathQuery::metadata)
}

/// `creates` and `removes`, checked in the same round trip as the command:
/// a prefix that ends the script, marked as skipped, when the command has
/// run already.
fn guard(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut guard = String::new();
    if let Some(path) = arguments.string("creates")? {
        let _ = write!(
            guard,
            "if [ -e {} ]; then printf %s {SKIPPED} >&2; exit 0; fi; ",
            quote(&path)
        );
    }
    if let Some(path) = arguments.string("removes")? {
        let _ = write!(
            guard,
            "if [ ! -e {} ]; then printf %s {SKIPPED} >&2; exit 0; fi; ",
            quote(&path)
        );
    }
    Ok(guard)
}

/// The result Ansible registers for a command: `rc`, `stdout`, `stderr`
/// and their lines; failed on a non-zero code or a signal.
pub(crate) fn command_result(output: &drover_ssh::ExecOutput) -> ModuleResult {
    let stdout = String::from_utf8_lossy(&output.stdout)
        .trim_end_matches('\n')
        .to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end_matches('\n')
        .to_owned();
    let rc = output.exit_status.map_or(-1, i64::from);
    let lines = |text: &str| Json::Array(text.lines().map(Json::from).collect());
    let mut result = ModuleResult::changed()
        .with("rc", rc)
        .with("stdout_lines", lines(&stdout))
        .with("stderr_lines", lines(&stderr))
        .with("stdout", stdout)
        .with("stderr", stderr);
    if rc != 0 {
        result.failed = true;
        result.message = Some(output.signal.as_ref().map_or_else(
            || "non-zero return code".to_owned(),
            |signal| format!("killed by signal {signal}"),
        ));
    }
    result
}

pub(crate) async fn exists(context: &ModuleContext<'_>, path: &str) -> Result<bool, Error> {
    Ok(context
        .exec(&format!("[ -e {} ]", quote(path)), None)
        .await?
        .success())
}

const COMMAND: &[A] = &[
    A::new("cmd", Text),
    A::new("argv", List),
    A::new("creates", Text),
    A::new("removes", Text),
    A::new("chdir", Text),
    A::new("stdin", Text),
    A::new("stdin_add_newline", Bool),
    A::new("executable", Text),
    A::new("warn", Bool),
    A::new("strip_empty_ends", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[
    module!(&["command", "shell"], &[COMMAND], named run)
        .free_form()
        .opaque()
        .reads_ahead(first_query),
    module!(&["raw"], &[&[A::new("executable", Text)]], named run).free_form(),
];
