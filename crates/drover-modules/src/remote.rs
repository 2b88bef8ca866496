//! Asking a host about a path, and writing files to it atomically.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_ssh::quote;

use crate::{Error, ModuleContext, ModuleResult};

/// What kind of thing a path on the host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    File,
    Directory,
    /// A symbolic link (not followed).
    Link,
    /// A device, socket or pipe.
    Other,
    Absent,
}

impl PathKind {
    /// The word the query script prints for it.
    fn parse(word: &str) -> Self {
        match word {
            "file" => Self::File,
            "directory" => Self::Directory,
            "link" => Self::Link,
            "absent" | "" => Self::Absent,
            _ => Self::Other,
        }
    }

    /// Its name, as Ansible's `state` names it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Directory => "directory",
            Self::Link => "link",
            Self::Other => "other",
            Self::Absent => "absent",
        }
    }
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// What a path on the host is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathState {
    pub(crate) kind: PathKind,
    /// Permission bits.
    pub(crate) mode: u32,
    /// Owner and group names.
    pub(crate) owner: String,
    pub(crate) group: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// SHA-1 of a regular file's content.
    pub(crate) checksum: Option<String>,
    /// A link's target.
    pub(crate) target: Option<String>,
}

impl PathState {
    pub(crate) fn absent() -> Self {
        Self {
            kind: PathKind::Absent,
            mode: 0,
            owner: String::new(),
            group: String::new(),
            size: 0,
            checksum: None,
            target: None,
        }
    }

    pub(crate) fn exists(&self) -> bool {
        self.kind != PathKind::Absent
    }
}

/// Queries `path` in one round trip: type, mode, owner, group, size, checksum.
pub(crate) async fn path_state(
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<PathState, Error> {
    Ok(query_path(context, path, Detail::Checksum).await?.0)
}

/// Like [`path_state`], without the checksum (one command fewer on the host).
pub(crate) async fn path_metadata(
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<PathState, Error> {
    Ok(query_path(context, path, Detail::Metadata).await?.0)
}

/// Marks where a file's content starts in the query's output.
const CONTENT_MARKER: &str = "--drover-content--";

/// Marks where `tar`'s stream starts in the query's output.
pub(crate) const TAR_MARKER: &str = "--drover-tar--";

/// How much a path query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    Metadata,
    Checksum,
    /// A regular file's metadata and content through one `tar` process.
    Content,
    /// The same through `stat` and `cat`, where `tar`'s stream cannot be read.
    ContentByCat,
}

/// Queries `path` and, when `with_content`, reads a regular file's content,
/// all in one round trip. With the content at hand its checksum is computed
/// here rather than by `sha1sum` on the host.
pub(crate) async fn path_state_and_content(
    context: &ModuleContext<'_>,
    path: &str,
    with_content: bool,
) -> Result<(PathState, Option<String>), Error> {
    let detail = if with_content {
        Detail::Content
    } else {
        Detail::Checksum
    };
    query_path(context, path, detail).await
}

/// The query script's answer: the kind on the first line, then `MODE
/// OWNER GROUP SIZE`, then the checksum line or the link's target; a
/// file's checksum from its `body` when the content was read.
fn parse_state(head: &str, detail: Detail, body: Option<&[u8]>) -> PathState {
    let mut lines = head.lines();
    let kind = PathKind::parse(lines.next().unwrap_or_default().trim());
    if kind == PathKind::Absent {
        return PathState::absent();
    }
    let stat: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let last = lines.next().unwrap_or_default().trim().to_owned();
    PathState {
        mode: stat
            .first()
            .and_then(|mode| u32::from_str_radix(mode, 8).ok())
            .unwrap_or(0),
        owner: stat.get(1).copied().unwrap_or_default().to_owned(),
        group: stat.get(2).copied().unwrap_or_default().to_owned(),
        size: stat.get(3).and_then(|size| size.parse().ok()).unwrap_or(0),
        // `sha1sum` prints `HASH  PATH`; with the content here, it is hashed here.
        checksum: match (kind, detail, body) {
            (PathKind::File, Detail::Content | Detail::ContentByCat, Some(body)) => {
                Some(checksum(body))
            }
            (PathKind::File, Detail::Checksum, _) => Some(
                last.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            _ => None,
        },
        target: (kind == PathKind::Link).then_some(last),
        kind,
    }
}

/// Whether `path` exists, as far as a read-ahead already knows, without
/// asking the host; `None` when nothing is known (or it is a link, whose
/// target the answer does not cover).
pub(crate) fn known_to_exist(context: &ModuleContext<'_>, path: &str) -> Option<bool> {
    let request = context.request(&query_script(path, Detail::Metadata), None);
    let output = context.session.known_answer(&request)?;
    if !output.success() {
        return None;
    }
    let kind = parse_state(
        &String::from_utf8_lossy(&output.stdout),
        Detail::Metadata,
        None,
    )
    .kind;
    match kind {
        PathKind::Link => None,
        PathKind::Absent => Some(false),
        _ => Some(true),
    }
}

async fn query_path(
    context: &ModuleContext<'_>,
    path: &str,
    detail: Detail,
) -> Result<(PathState, Option<String>), Error> {
    let script = query_script(path, detail);
    let output = context.exec_read_only(&script).await?;
    let tar_marker = format!("file\n{TAR_MARKER}\n");
    if detail == Detail::Content && output.stdout.starts_with(tar_marker.as_bytes()) {
        let Some(file) = crate::tar_header::first_file(&output.stdout[tar_marker.len()..]) else {
            // No tar here, or one whose stream drover cannot read: two processes instead.
            return Box::pin(query_path(context, path, Detail::ContentByCat)).await;
        };
        let state = PathState {
            kind: PathKind::File,
            mode: file.mode,
            owner: file.owner,
            group: file.group,
            size: file.content.len() as u64,
            checksum: Some(checksum(file.content)),
            target: None,
        };
        return Ok((
            state,
            Some(String::from_utf8_lossy(file.content).into_owned()),
        ));
    }
    let marker = format!("{CONTENT_MARKER}\n");
    let (head, body) = match output
        .stdout
        .windows(marker.len())
        .position(|window| window == marker.as_bytes())
    {
        Some(at) => (
            String::from_utf8_lossy(&output.stdout[..at]).into_owned(),
            Some(&output.stdout[at + marker.len()..]),
        ),
        None => (String::from_utf8_lossy(&output.stdout).into_owned(), None),
    };
    if !output.success() {
        return Ok((PathState::absent(), None));
    }
    let state = parse_state(&head, detail, body);
    Ok((
        state,
        body.map(|body| String::from_utf8_lossy(body).into_owned()),
    ))
}

/// The script that queries `path` to `detail`: the command line a
/// read-ahead answers for ([`crate::read_ahead`]).
pub(crate) fn query_script(path: &str, detail: Detail) -> String {
    let file_part = match detail {
        Detail::Checksum => "sha1sum \"$p\"",
        _ => "echo",
    };
    let content = if detail == Detail::ContentByCat {
        format!("; if [ \"$t\" = file ]; then echo {CONTENT_MARKER}; cat -- \"$p\"; fi")
    } else {
        String::new()
    };
    let metadata = format!(
        "stat -c '%a %U %G %s' \"$p\"; \
         if [ \"$t\" = file ]; then {file_part}; elif [ \"$t\" = link ]; then readlink \"$p\"; else echo; fi{content}"
    );
    let metadata = if detail == Detail::Content {
        format!(
            "if [ \"$t\" = file ]; then echo {TAR_MARKER}; tar -b 1 -cf - -- \"$p\" 2>/dev/null; else {metadata}; fi"
        )
    } else {
        metadata
    };
    format!(
        "p={path}; if [ -L \"$p\" ]; then t=link; elif [ -d \"$p\" ]; then t=directory; \
         elif [ -f \"$p\" ]; then t=file; elif [ -e \"$p\" ]; then t=other; else echo absent; exit 0; fi; \
         echo \"$t\"; {metadata}",
        path = quote(path)
    )
}

/// The value of the first `KEY=value` line in a script's output (empty when
/// there is none): how module scripts report what they found.
pub(crate) fn output_value(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_default()
        .to_owned()
}

/// Copies controller bytes to a fresh private temporary file on the host
/// (for a module that then reads it there); returns its path.
pub(crate) async fn upload_temporary(
    context: &ModuleContext<'_>,
    data: Bytes,
) -> Result<String, Error> {
    let output = context
        .exec("mktemp /tmp/.drover-upload.XXXXXXXX", None)
        .await?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.success() || path.is_empty() {
        return Err(Error::Arguments(format!(
            "cannot make a temporary file on the host: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let options = drover_ssh::UploadOptions {
        mode: Some(0o600),
        owner: None,
        validate: None,
        become_user: context.become_user.clone(),
    };
    let upload = context.session.upload(data, &path, &options).await?;
    if !upload.success() {
        return Err(Error::Arguments(format!(
            "cannot copy to {path}: {}",
            String::from_utf8_lossy(&upload.stderr).trim()
        )));
    }
    Ok(path)
}

/// SHA-1 of bytes, as `sha1sum` prints it.
pub(crate) fn checksum(data: &[u8]) -> String {
    use sha1::Digest as _;
    let mut text = String::with_capacity(40);
    for byte in sha1::Sha1::digest(data) {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The mode, owner and group a file should end up with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attributes {
    pub(crate) mode: Option<u32>,
    pub(crate) owner: Option<String>,
    pub(crate) group: Option<String>,
    /// A command that must accept the new content (`%s`) before it is put in place.
    pub(crate) validate: Option<String>,
}

impl Attributes {
    /// The attributes a module's arguments ask for; a symbolic mode
    /// applies to the path as `state` says it is.
    pub(crate) fn from_arguments(
        arguments: &crate::arguments::Arguments<'_>,
        state: &PathState,
    ) -> Result<Self, Error> {
        Ok(Self {
            mode: arguments.mode_for(state)?,
            owner: arguments.string("owner")?,
            group: arguments.string("group")?,
            validate: arguments.string("validate")?,
        })
    }

    /// `owner`, `owner:group` or `:group`, for `chown`.
    fn chown_spec(&self) -> Option<String> {
        match (&self.owner, &self.group) {
            (Some(owner), Some(group)) => Some(format!("{owner}:{group}")),
            (Some(owner), None) => Some(owner.clone()),
            (None, Some(group)) => Some(format!(":{group}")),
            (None, None) => None,
        }
    }
}

/// The owner and group a file is written with: those asked for, else, as
/// root, those of the file it replaces, as Ansible's atomic move keeps
/// them (a new file from a temporary one would otherwise be root's).
fn kept_ownership(
    attributes: &Attributes,
    existing: &PathState,
    context: &ModuleContext<'_>,
) -> Attributes {
    let as_root = context
        .become_user
        .as_ref()
        .is_some_and(|escalation| escalation.user == "root");
    let keep = |wanted: &Option<String>, had: &str| {
        wanted.clone().or_else(|| {
            (as_root && existing.kind == PathKind::File && !had.is_empty()).then(|| had.to_owned())
        })
    };
    Attributes {
        owner: keep(&attributes.owner, &existing.owner),
        group: keep(&attributes.group, &existing.group),
        ..attributes.clone()
    }
}

/// Writes `content` to `path` atomically (temporary file, then rename), in
/// one round trip that also sets the mode, owner and group; a backup first
/// when asked. A file keeps its old mode unless one is given; a new file
/// gets 0644. Returns the backup's path.
pub(crate) async fn write_file(
    context: &ModuleContext<'_>,
    path: &str,
    content: Bytes,
    attributes: &Attributes,
    existing: &PathState,
    backup: bool,
) -> Result<Option<String>, Error> {
    let mut backup_file = None;
    if backup && existing.kind == PathKind::File {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let file = format!("{path}.{stamp}~");
        let output = context
            .exec(&format!("cp -p -- {} {}", quote(path), quote(&file)), None)
            .await?;
        if output.success() {
            backup_file = Some(file);
        }
    }
    let mode = attributes
        .mode
        .or_else(|| existing.exists().then_some(existing.mode))
        .unwrap_or(0o644);
    let owner = kept_ownership(attributes, existing, context).chown_spec();
    let request = drover_ssh::upload_request(
        content,
        path,
        &drover_ssh::UploadOptions {
            mode: Some(mode),
            owner,
            validate: attributes.validate.clone(),
            become_user: context.become_user.clone(),
        },
    );
    let (validating, destination) = (attributes.validate.is_some(), path.to_owned());
    let failure = Box::new(move |output: &drover_ssh::ExecOutput| {
        write_failure(&destination, validating, output)
    });
    context
        .change(&request, drover_ssh::Touched::Replaced(path), failure)
        .await?
        .map_err(Error::Failed)?;
    Ok(backup_file)
}

/// Why a file could not be written, in the host's words.
fn write_failure(path: &str, validating: bool, output: &drover_ssh::ExecOutput) -> String {
    let reason = if validating {
        "the new content failed `validate`, or it "
    } else {
        ""
    };
    // A `validate` command may say why on either stream (`visudo -c`
    // writes to standard output).
    let said: Vec<String> = [&output.stderr, &output.stdout]
        .iter()
        .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect();
    format!("{reason}cannot write `{path}`: {}", said.join("\n"))
}

/// Brings a file to `content` when it differs (`Some`), else only to its
/// attributes; records the change (and any backup) in `result`. The shared
/// last step of `copy`, `template`, `lineinfile` and `blockinfile`.
pub(crate) async fn converge(
    context: &ModuleContext<'_>,
    path: &str,
    state: &PathState,
    attributes: &Attributes,
    backup: bool,
    content: Option<Bytes>,
    mut result: crate::ModuleResult,
) -> Result<crate::ModuleResult, Error> {
    if let Some(content) = content {
        result.changed = true;
        if !context.check_mode
            && let Some(backup) =
                write_file(context, path, content, attributes, state, backup).await?
        {
            result = result.with("backup_file", backup);
        }
    } else if state.exists() {
        let changed = set_attributes(
            context,
            path,
            state,
            attributes.mode,
            attributes.owner.as_deref(),
            attributes.group.as_deref(),
            false,
        )
        .await?;
        result.changed |= changed;
    }
    Ok(result)
}

/// A file's new `content` put in place when it differs from `original`
/// (with its diff, in diff mode), or else only its attributes brought
/// right; the mode, owner, group, `validate` and `backup` are the task's
/// arguments. The file modules that edit text end here. The content is
/// bytes, written as they are: `assemble` joins fragments that need not be
/// UTF-8.
pub(crate) async fn converge_text(
    context: &ModuleContext<'_>,
    arguments: &crate::arguments::Arguments<'_>,
    path: &str,
    state: &PathState,
    original: &str,
    content: Vec<u8>,
    result: crate::ModuleResult,
) -> Result<crate::ModuleResult, Error> {
    let attributes = Attributes::from_arguments(arguments, state)?;
    let backup = arguments.boolean("backup", false)?;
    if content == original.as_bytes() {
        return converge(context, path, state, &attributes, backup, None, result).await;
    }
    let after = String::from_utf8_lossy(&content).into_owned();
    let diff = crate::Diff::of_file(path, original.to_owned(), after);
    let result = result.with_diff(context.diff, diff);
    let content = Some(Bytes::from(content));
    converge(context, path, state, &attributes, backup, content, result).await
}

/// `chmod`/`chown`/`chgrp` to bring a path to the wanted attributes; returns whether anything changed.
pub(crate) async fn set_attributes(
    context: &ModuleContext<'_>,
    path: &str,
    state: &PathState,
    mode: Option<u32>,
    owner: Option<&str>,
    group: Option<&str>,
    recurse: bool,
) -> Result<bool, Error> {
    let mut commands = Vec::new();
    let flag = if recurse { "-R " } else { "" };
    if let Some(mode) = mode.filter(|mode| *mode != state.mode || recurse) {
        commands.push(format!("chmod {flag}{mode:o} -- {}", quote(path)));
    }
    if let Some(owner) = owner.filter(|owner| *owner != state.owner || recurse) {
        commands.push(format!("chown {flag}{} -- {}", quote(owner), quote(path)));
    }
    if let Some(group) = group.filter(|group| *group != state.group || recurse) {
        commands.push(format!("chgrp {flag}{} -- {}", quote(group), quote(path)));
    }
    if commands.is_empty() {
        return Ok(false);
    }
    if recurse {
        // Find out whether anything below actually differs.
        let mut checks = Vec::new();
        if let Some(mode) = mode {
            checks.push(format!(
                "find {} ! -perm {mode:04o} | head -n 1",
                quote(path)
            ));
        }
        if let Some(owner) = owner {
            checks.push(format!(
                "find {} ! -user {} | head -n 1",
                quote(path),
                quote(owner)
            ));
        }
        if let Some(group) = group {
            checks.push(format!(
                "find {} ! -group {} | head -n 1",
                quote(path),
                quote(group)
            ));
        }
        let output = context.exec(&checks.join("; "), None).await?;
        if output.stdout.is_empty() {
            return Ok(false);
        }
    }
    if !context.check_mode {
        let request = context.request(&commands.join(" && "), None);
        context
            .change(
                &request,
                drover_ssh::Touched::Everything,
                Box::new(stderr_of),
            )
            .await?
            .map_err(Error::Failed)?;
    }
    Ok(true)
}

/// What a command that failed said on its standard error: the failure
/// message of most changes.
pub(crate) fn stderr_of(output: &drover_ssh::ExecOutput) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

/// Runs `command`; its failure becomes the module's error message.
pub(crate) async fn run_checked(context: &ModuleContext<'_>, command: &str) -> Result<(), Error> {
    let output = context.exec(command, None).await?;
    if output.success() {
        Ok(())
    } else {
        Err(Error::Arguments(format!(
            "`{}` failed: {}",
            command
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// `mode`, `owner` and `group` from a module's arguments, set on `path`
/// (when it exists and any was given); whether that changed anything.
pub(crate) async fn set_file_attributes(
    arguments: &crate::arguments::Arguments<'_>,
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<bool, Error> {
    let owner = arguments.string("owner")?;
    let group = arguments.string("group")?;
    if arguments.raw("mode").is_none() && owner.is_none() && group.is_none() {
        return Ok(false);
    }
    let state = path_state(context, path).await?;
    if !state.exists() {
        return Ok(false);
    }
    let mode = arguments.mode_for(&state)?;
    set_attributes(
        context,
        path,
        &state,
        mode,
        owner.as_deref(),
        group.as_deref(),
        false,
    )
    .await
}

/// The last step of most modules: nothing to do is `ok`; in check mode a
/// change is only reported; else `script` runs, and its failure is the
/// task's, with `what` failed and the host's words.
pub(crate) async fn change(
    context: &ModuleContext<'_>,
    script: Option<String>,
    what: &str,
) -> Result<ModuleResult, Error> {
    let Some(script) = script else {
        return Ok(ModuleResult::ok());
    };
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let output = context.exec(&script, None).await?;
    if output.success() {
        Ok(ModuleResult::changed())
    } else {
        Ok(ModuleResult::failed(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Shell that copies the first `length` bytes of standard input into a
/// private temporary file, `$f`, removed when the command ends: how a
/// secret (a client's option or password file) reaches a program without
/// a command line that `ps` would show. The rest of standard input is left
/// for the program. Ends with `; `.
pub(crate) fn secret_file_from_stdin(length: usize) -> String {
    format!(
        "f=$(umask 077 && mktemp) || exit 1; trap 'rm -f \"$f\"' EXIT; \
         dd bs=1 count={length} of=\"$f\" 2>/dev/null; "
    )
}
