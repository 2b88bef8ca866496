//! `file`: directories, empty files, links, removal, and attributes.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use std::fmt::Write as _;

use crate::remote::{PathKind, PathState, path_metadata, set_attributes};
use crate::{Diff, Error, ModuleContext, ModuleResult, PathQuery};

/// What `run` asks first: the path's metadata (for a read-ahead).
pub(crate) fn first_query(arguments: &Arguments<'_>) -> Option<PathQuery> {
    arguments.required("path").ok().map(PathQuery::metadata)
}

/// What `state` asks for: the file module's closed vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Absent,
    Directory,
    /// An existing regular file (attributes only).
    File,
    /// A hard link to `src`.
    Hard,
    /// A symbolic link to `src`.
    Link,
    /// Created if absent, its times updated.
    Touch,
}

impl Wanted {
    /// The `state` argument; without one, Ansible's default: `link` when
    /// `src` is given, else what the path already is, else `file`.
    fn read(arguments: &Arguments<'_>, existing: PathKind) -> Result<Self, Error> {
        Ok(match arguments.string("state")?.as_deref() {
            Some("absent") => Self::Absent,
            Some("directory") => Self::Directory,
            Some("file") => Self::File,
            Some("hard") => Self::Hard,
            Some("link") => Self::Link,
            Some("touch") => Self::Touch,
            Some(other) => {
                return Err(Error::Arguments(format!(
                    "argument `state` of `file` cannot be `{other}`"
                )));
            }
            None if arguments.string("src")?.is_some() => Self::Link,
            None => match existing {
                PathKind::Directory => Self::Directory,
                PathKind::Link => Self::Link,
                PathKind::Absent | PathKind::File | PathKind::Other => Self::File,
            },
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Directory => "directory",
            Self::File => "file",
            Self::Hard => "hard",
            Self::Link => "link",
            Self::Touch => "touch",
        }
    }
}

/// `mode`, `owner` and `group`, as asked for `state`'s kind of path.
fn attributes(arguments: &Arguments<'_>, state: &PathState) -> Result<Attributes, Error> {
    Ok(Attributes {
        mode: arguments.mode_for(state)?,
        owner: arguments.string("owner")?,
        group: arguments.string("group")?,
    })
}

/// Runs the command that brings `path` to `wanted`. A directory made where
/// nothing was leaves what was asked ahead about the paths under it (all
/// absent) true.
async fn bring_about(
    context: &ModuleContext<'_>,
    command: &str,
    wanted: Wanted,
    state: &PathState,
    path: &str,
) -> Result<Result<(), String>, Error> {
    let touched = if wanted == Wanted::Directory && state.kind == PathKind::Absent {
        drover_ssh::Touched::NewDirectory(path)
    } else {
        drover_ssh::Touched::Everything
    };
    let request = context.request(command, None);
    let failure = Box::new(crate::remote::stderr_of);
    context.change(&request, touched, failure).await
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let state = path_metadata(context, &path).await?;
    let wanted = Wanted::read(arguments, state.kind)?;
    let attributes = attributes(arguments, &state)?;
    let mut result = ModuleResult::ok()
        .with("path", path.clone())
        .with("state", wanted.name());
    let command = match command(arguments, context, wanted, &path, &state).await? {
        Ok(command) => command,
        Err(failure) => return Ok(ModuleResult::failed(failure)),
    };
    if let Some(command) = command {
        result.changed = true;
        let after = if wanted == Wanted::Touch && state.exists() {
            state.kind.name()
        } else {
            wanted.name()
        };
        result = result.with_diff(
            context.diff,
            Diff::of_file(
                &path,
                format!("state: {}\n", state.kind),
                format!("state: {after}\n"),
            ),
        );
        if !context.check_mode {
            let command = attributes.appended(command, wanted, &path);
            if let Err(failure) = bring_about(context, &command, wanted, &state, &path).await? {
                return Ok(ModuleResult::failed(failure));
            }
        }
        return Ok(result);
    }
    if !matches!(wanted, Wanted::Absent | Wanted::Link) && state.exists() {
        result.changed |= set_times(arguments, context, &path, false).await?;
        let recurse = arguments.boolean("recurse", false)?;
        let changed = set_attributes(
            context,
            &path,
            &state,
            attributes.mode,
            attributes.owner.as_deref(),
            attributes.group.as_deref(),
            recurse && state.kind == PathKind::Directory,
        )
        .await?;
        result.changed |= changed;
    }
    if !context.check_mode && wanted != Wanted::Absent {
        result.changed |= set_selinux_context(arguments, context, &path).await?;
    }
    Ok(result)
}

/// Applies `seuser`, `serole`, `setype` and `selevel` with `chcon` where
/// `SELinux` runs; elsewhere nothing, as Ansible's module. Whether the
/// context changed.
async fn set_selinux_context(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<bool, Error> {
    let mut options = String::new();
    for (name, flag) in [
        ("seuser", "-u"),
        ("serole", "-r"),
        ("setype", "-t"),
        ("selevel", "-l"),
    ] {
        if let Some(value) = arguments.string(name)?.filter(|value| value != "_default") {
            let _ = write!(options, " {flag} {}", quote(&value));
        }
    }
    if options.is_empty() {
        return Ok(false);
    }
    let quoted = quote(path);
    let script = format!(
        "if selinuxenabled 2>/dev/null; then before=$(stat -c %C -- {quoted}); \
         chcon -h{options} -- {quoted} || exit 1; \
         [ \"$before\" = \"$(stat -c %C -- {quoted})\" ] || echo relabelled; fi"
    );
    let output = context.exec(&script, None).await?;
    Ok(String::from_utf8_lossy(&output.stdout).contains("relabelled"))
}

/// The command that brings `path` to `wanted`; `None` when it is there
/// already; the inner `Err` when it cannot be (a failed task, not an
/// error in the arguments).
async fn command(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    wanted: Wanted,
    path: &str,
    state: &PathState,
) -> Result<Result<Option<String>, String>, Error> {
    let quoted = quote(path);
    Ok(Ok(match (wanted, state.kind) {
        (Wanted::Absent, PathKind::Absent)
        | (Wanted::Directory, PathKind::Directory)
        | (Wanted::File, PathKind::File) => None,
        (Wanted::Absent, _) => Some(format!("rm -rf -- {quoted}")),
        (Wanted::Directory, PathKind::Absent) => Some(format!("mkdir -p -- {quoted}")),
        (Wanted::Directory, other) => {
            return Ok(Err(format!(
                "`{path}` exists and is a {other}, not a directory"
            )));
        }
        (Wanted::Touch, _) => Some(format!("touch -- {quoted}")),
        (Wanted::File, PathKind::Absent) => {
            return Ok(Err(format!(
                "file `{path}` does not exist; use `state: touch` to create it"
            )));
        }
        (Wanted::File, other) => return Ok(Err(format!("`{path}` is a {other}, not a file"))),
        (Wanted::Link, kind) => {
            let source = arguments.required("src")?;
            if state.target.as_deref() == Some(source.as_str()) {
                return Ok(Ok(None));
            }
            match link_command(path, &source, kind, arguments.boolean("force", false)?) {
                Ok(command) => Some(command),
                Err(failure) => return Ok(Err(failure)),
            }
        }
        (Wanted::Hard, PathKind::Directory) => {
            return Ok(Err(format!(
                "`{path}` is a directory; a hard link cannot replace it"
            )));
        }
        (Wanted::Hard, _) => return hard_link(arguments, context, path).await,
    }))
}

/// The command that makes `path` a symbolic link to `source`, refusing
/// what Ansible refuses without `force`: replacing a file or a directory,
/// and a link to a `source` that does not exist (relative to the link's
/// directory). With `force`, a file is replaced, and an empty directory.
fn link_command(path: &str, source: &str, kind: PathKind, force: bool) -> Result<String, String> {
    let quoted = quote(path);
    let replace = match (kind, force) {
        (PathKind::Absent | PathKind::Link, _) => String::new(),
        (PathKind::Directory, true) => format!("rmdir -- {quoted} && "),
        (PathKind::Directory, false) => {
            return Err(format!(
                "refusing to convert from directory to symlink for {path}"
            ));
        }
        (_, true) => format!("rm -f -- {quoted} && "),
        (other, false) => {
            return Err(format!(
                "refusing to convert from {other} to symlink for {path}"
            ));
        }
    };
    let check = if force {
        String::new()
    } else {
        let directory = std::path::Path::new(path)
            .parent()
            .map_or_else(|| "/".to_owned(), |parent| parent.display().to_string());
        let message = format!(
            "src file does not exist, use \"force=yes\" if you really want to create the link: {path}"
        );
        format!(
            "(cd -- {} 2>/dev/null && {{ [ -e {source} ] || [ -L {source} ]; }}) || {{ echo {} >&2; exit 1; }}; ",
            quote(&directory),
            quote(&message),
            source = quote(source),
        )
    };
    Ok(format!(
        "{check}{replace}ln -sfn -- {} {quoted}",
        quote(source)
    ))
}

/// `state: hard`: nothing when `path` is `src` already (the same inode),
/// else a link made beside `path` and renamed over it, so that `path` is
/// never missing.
async fn hard_link(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<Result<Option<String>, String>, Error> {
    let source = arguments.required("src")?;
    let (source_quoted, quoted) = (quote(&source), quote(path));
    let query = format!(
        "s=$(stat -c %d:%i -- {source_quoted}) || exit 3\n\
         [ \"$s\" = \"$(stat -c %d:%i -- {quoted} 2>/dev/null)\" ]"
    );
    let output = context.exec_read_only(&query).await?;
    Ok(match output.exit_status {
        Some(0) => Ok(None),
        Some(3) => Err(format!("`{source}`, the hard link's `src`, does not exist")),
        _ => {
            let temporary = quote(&format!("{path}.drover-{}", std::process::id()));
            Ok(Some(format!(
                "ln -f -- {source_quoted} {temporary} && mv -f -- {temporary} {quoted}"
            )))
        }
    })
}

/// `mode`, `owner` and `group`, set in the same round trip as a directory
/// or file is created.
struct Attributes {
    mode: Option<u32>,
    owner: Option<String>,
    group: Option<String>,
}

impl Attributes {
    fn appended(&self, mut command: String, wanted: Wanted, path: &str) -> String {
        if !matches!(wanted, Wanted::Directory | Wanted::Touch) {
            return command;
        }
        let path = quote(path);
        if let Some(mode) = self.mode {
            let _ = write!(command, " && chmod {mode:o} -- {path}");
        }
        if let Some(owner) = &self.owner {
            let _ = write!(command, " && chown {} -- {path}", quote(owner));
        }
        if let Some(group) = &self.group {
            let _ = write!(command, " && chgrp {} -- {path}", quote(group));
        }
        command
    }
}

/// `access_time` and `modification_time`: `preserve` (the default, but
/// for `touch`, where it is `now`), `now`, or a time in
/// `access_time_format` (Ansible's `%Y%m%d%H%M.%S`, which `touch -t` reads).
/// Whether a time changes: `now` always does; a given time when the
/// path's differs, found by stamping a scratch file with it (so check mode
/// asks the same question).
async fn set_times(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    path: &str,
    touching: bool,
) -> Result<bool, Error> {
    let default = if touching { "now" } else { "preserve" };
    let mut script = String::new();
    for (argument, format_argument, flag, stat) in [
        ("access_time", "access_time_format", "-a", "%X"),
        ("modification_time", "modification_time_format", "-m", "%Y"),
    ] {
        let time = arguments
            .string(argument)?
            .unwrap_or_else(|| default.to_owned());
        let format = arguments.string(format_argument)?;
        if format
            .as_deref()
            .is_some_and(|format| format != "%Y%m%d%H%M.%S")
        {
            return Err(Error::Arguments(format!(
                "`{format_argument}` must be %Y%m%d%H%M.%S, the one format drover reads"
            )));
        }
        let path = quote(path);
        match time.as_str() {
            "preserve" => {}
            "now" if touching => {}
            "now" => {
                let _ = write!(
                    script,
                    "[ -n \"$CHECK\" ] || touch {flag} {path}; echo changed; "
                );
            }
            stamp => {
                let _ = write!(
                    script,
                    "t=$(mktemp) && touch -t {s} \"$t\" && w=$(stat -c %Y \"$t\"); rm -f \"$t\"; \
                 [ \"$w\" = \"$(stat -c {stat} {path})\" ] || {{ echo changed; [ -n \"$CHECK\" ] || touch {flag} -t {s} {path}; }}; ",
                    s = quote(stamp)
                );
            }
        }
    }
    if script.is_empty() {
        return Ok(false);
    }
    let check = if context.check_mode {
        "CHECK=1; "
    } else {
        "CHECK=; "
    };
    let output = context.exec(&format!("{check}{script}"), None).await?;
    if !output.success() {
        return Err(Error::Failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).contains("changed"))
}

const FILE: &[A] = &[
    A::new("path", Text).aliases(&["dest", "name"]).required(),
    A::new("state", Text).choices(&["absent", "directory", "file", "hard", "link", "touch"]),
    A::new("src", Text),
    A::new("recurse", Bool),
    A::new("follow", Bool),
    A::new("access_time", Text),
    A::new("access_time_format", Text),
    A::new("modification_time", Text),
    A::new("modification_time_format", Text),
    A::new("force", Bool),
    // SELinux contexts: applied with `chcon` where SELinux runs; where it
    // does not (as on Debian), ignored, as Ansible's module ignores them.
    A::new("seuser", Text),
    A::new("serole", Text),
    A::new("setype", Text),
    A::new("selevel", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["file"], &[FILE, &super::ATTRIBUTES], run)
    .reads_ahead(|arguments, _| first_query(arguments))];
