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
    pub(crate) fn exists(&self) -> bool {
        self.kind != "absent"
    }
}

/// Queries `path` in one round trip: type, mode, owner, group, size, checksum.
pub(crate) async fn path_state(
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<PathState, Error> {
    let script = format!(
        "p={path}; if [ -L \"$p\" ]; then t=link; elif [ -d \"$p\" ]; then t=directory; \
         elif [ -f \"$p\" ]; then t=file; elif [ -e \"$p\" ]; then t=other; else echo absent; exit 0; fi; \
         echo \"$t\"; stat -c '%a %U %G %s' \"$p\"; \
         if [ \"$t\" = file ]; then sha1sum \"$p\" | cut -d' ' -f1; elif [ \"$t\" = link ]; then readlink \"$p\"; else echo; fi",
        path = quote(path)
    );
    let output = context.exec(&script, None).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let kind = lines.next().unwrap_or("absent").trim().to_owned();
    if kind == "absent" || !output.success() {
        return Ok(PathState {
            kind: "absent".to_owned(),
            mode: 0,
            owner: String::new(),
            group: String::new(),
            size: 0,
            checksum: None,
            target: None,
        });
    }
    let stat: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let last = lines.next().unwrap_or_default().trim().to_owned();
    Ok(PathState {
        mode: stat
            .first()
            .and_then(|mode| u32::from_str_radix(mode, 8).ok())
            .unwrap_or(0),
        owner: stat.get(1).copied().unwrap_or_default().to_owned(),
        group: stat.get(2).copied().unwrap_or_default().to_owned(),
        size: stat.get(3).and_then(|size| size.parse().ok()).unwrap_or(0),
        checksum: (kind == "file").then(|| last.clone()),
        target: (kind == "link").then_some(last),
        kind,
    })
}

/// Reads a file's content (for diffs and line edits); `None` when absent.
pub(crate) async fn read_file(
    context: &ModuleContext<'_>,
    path: &str,
) -> Result<Option<String>, Error> {
    let output = context
        .exec(&format!("[ -f {0} ] && cat -- {0}", quote(path)), None)
        .await?;
    Ok(output
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
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

/// Writes `content` to `path` atomically (temporary file, then rename),
/// keeping a backup first when asked. Returns the backup's path.
pub(crate) async fn write_file(
    context: &ModuleContext<'_>,
    path: &str,
    content: Bytes,
    mode: Option<u32>,
    owner: Option<&str>,
    backup: bool,
) -> Result<Option<String>, Error> {
    let mut backup_file = None;
    if backup {
        let stamp = format!(
            "{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        );
        let file = format!("{path}.{stamp}~");
        let output = context
            .exec(
                &format!(
                    "[ ! -f {0} ] || cp -p -- {0} {1}",
                    quote(path),
                    quote(&file)
                ),
                None,
            )
            .await?;
        if output.success() {
            backup_file = Some(file);
        }
    }
    let output = context
        .session
        .upload(content, path, mode, owner, context.become_user.clone())
        .await?;
    if !output.success() {
        return Err(Error::Arguments(format!(
            "cannot write `{path}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(backup_file)
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
) -> Result<(bool, Vec<String>), Error> {
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
        return Ok((false, commands));
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
            return Ok((false, Vec::new()));
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
    Ok((true, commands))
}
