//! Asking a host about a path, and writing files to it atomically.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_ssh::quote;

use crate::{Error, ModuleContext};

/// What a path on the host is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathState {
    /// `file`, `directory`, `link`, `other` or `absent`.
    pub(crate) kind: String,
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
            kind: "absent".to_owned(),
            mode: 0,
            owner: String::new(),
            group: String::new(),
            size: 0,
            checksum: None,
            target: None,
        }
    }

    pub(crate) fn exists(&self) -> bool {
        self.kind != "absent"
    }
}

/// Queries `path` in one round trip: type, mode, owner, group, size, checksum.
pub(crate) async fn path_state(
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<PathState, Error> {
    Ok(path_state_and_content(context, path, false).await?.0)
}

/// Marks where a file's content starts in the query's output.
const CONTENT_MARKER: &str = "--drover-content--";

/// Queries `path` and, when `with_content`, reads a regular file's content,
/// all in one round trip.
pub(crate) async fn path_state_and_content(
    context: &ModuleContext<'_>,
    path: &str,
    with_content: bool,
) -> Result<(PathState, Option<String>), Error> {
    let content = if with_content {
        format!("; if [ \"$t\" = file ]; then echo {CONTENT_MARKER}; cat -- \"$p\"; fi")
    } else {
        String::new()
    };
    let script = format!(
        "p={path}; if [ -L \"$p\" ]; then t=link; elif [ -d \"$p\" ]; then t=directory; \
         elif [ -f \"$p\" ]; then t=file; elif [ -e \"$p\" ]; then t=other; else echo absent; exit 0; fi; \
         echo \"$t\"; stat -c '%a %U %G %s' \"$p\"; \
         if [ \"$t\" = file ]; then sha1sum \"$p\"; elif [ \"$t\" = link ]; then readlink \"$p\"; else echo; fi{content}",
        path = quote(path)
    );
    let output = context.exec(&script, None).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let (head, body) = match text.split_once(&format!("{CONTENT_MARKER}\n")) {
        Some((head, body)) => (head.to_owned(), Some(body.to_owned())),
        None => (text.into_owned(), None),
    };
    let mut lines = head.lines();
    let kind = lines.next().unwrap_or("absent").trim().to_owned();
    if kind == "absent" || !output.success() {
        return Ok((PathState::absent(), None));
    }
    let stat: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let last = lines.next().unwrap_or_default().trim().to_owned();
    let state = PathState {
        mode: stat
            .first()
            .and_then(|mode| u32::from_str_radix(mode, 8).ok())
            .unwrap_or(0),
        owner: stat.get(1).copied().unwrap_or_default().to_owned(),
        group: stat.get(2).copied().unwrap_or_default().to_owned(),
        size: stat.get(3).and_then(|size| size.parse().ok()).unwrap_or(0),
        // `sha1sum` prints `HASH  PATH`.
        checksum: (kind == "file").then(|| {
            last.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        }),
        target: (kind == "link").then_some(last),
        kind,
    };
    Ok((state, body))
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
    pub(crate) fn from_arguments(
        arguments: &crate::arguments::Arguments<'_>,
    ) -> Result<Self, Error> {
        Ok(Self {
            mode: arguments.mode()?,
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
    if backup && existing.kind == "file" {
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
    let owner = attributes.chown_spec();
    let output = context
        .session
        .upload(
            content,
            path,
            &drover_ssh::UploadOptions {
                mode: Some(mode),
                owner,
                validate: attributes.validate.clone(),
                become_user: context.become_user.clone(),
            },
        )
        .await?;
    if !output.success() {
        let reason = if attributes.validate.is_some() {
            "the new content failed `validate`, or it "
        } else {
            ""
        };
        return Err(Error::Arguments(format!(
            "{reason}cannot write `{path}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(backup_file)
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
        let output = context.exec(&commands.join(" && "), None).await?;
        if !output.success() {
            return Err(Error::Arguments(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
    }
    Ok(true)
}
