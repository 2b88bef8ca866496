//! `apt_repository`: a one-line APT source (`deb URI SUITE COMPONENTS`)
//! added to, or removed from, the `.list` files, as Ansible's module edits
//! them: an existing line (even a commented one) is reused, a new one goes
//! to a file named after its URI, and the package lists are updated after
//! a change.

use base64::Engine as _;
use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIRECTORY: &str = "/etc/apt/sources.list.d";

/// One line of a sources file, as Ansible's module parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    valid: bool,
    enabled: bool,
    source: String,
    comment: String,
}

impl Line {
    fn parse(text: &str) -> Self {
        let mut line = text.trim();
        let enabled = !line.starts_with('#');
        if !enabled {
            line = &line[1..];
        }
        let mut comment = String::new();
        if let Some(at) = line.find('#').filter(|at| *at > 0) {
            comment = line[at + 1..].trim().to_owned();
            line = &line[..at];
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let valid = matches!(words.first(), Some(&("deb" | "deb-src")));
        let source = if valid {
            words.join(" ")
        } else {
            line.trim().to_owned()
        };
        Self {
            valid,
            enabled,
            source,
            comment,
        }
    }

    /// The line as Ansible writes it back.
    fn dump(&self) -> String {
        let mut text = String::new();
        if !self.enabled {
            text.push_str("# ");
        }
        text.push_str(&self.source);
        if !self.comment.is_empty() {
            text.push_str(" # ");
            text.push_str(&self.comment);
        }
        text.push('\n');
        text
    }
}

/// Every sources file: its path and lines.
type Files = Vec<(String, Vec<Line>)>;

fn dump(lines: &[Line]) -> String {
    lines.iter().map(Line::dump).collect()
}

/// The file a new source goes to, named after its URI as Ansible names it
/// (`deb http://deb.example.org/debian stable main` goes to
/// `deb_example_org_debian.list`), or after `filename`.
fn suggested_file(line: &str, filename: Option<&str>) -> String {
    let name = filename.map_or_else(
        || {
            let options = regex::Regex::new(r"\[[^\]]+\]").expect("a valid pattern");
            let scheme = regex::Regex::new(r"\w+://").expect("a valid pattern");
            let line = scheme
                .replace_all(&options.replace_all(line, ""), "")
                .into_owned();
            let first = line
                .split_whitespace()
                .find(|part| !matches!(*part, "deb" | "deb-src"))
                .unwrap_or_default();
            let host = first.split_once('@').map_or(first, |(_, host)| host);
            host.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        },
        str::to_owned,
    );
    format!("{SOURCES_DIRECTORY}/{name}.list")
}

/// Adds `wanted` (enabling every line that has it), or appends it to `file`.
fn add(files: &mut Files, wanted: &Line, file: &str) {
    let mut found = false;
    for (_, lines) in files.iter_mut() {
        for line in lines
            .iter_mut()
            .filter(|line| line.valid && line.source == wanted.source)
        {
            line.enabled = true;
            found = true;
        }
    }
    if found {
        return;
    }
    match files.iter_mut().find(|(path, _)| path == file) {
        Some((_, lines)) => lines.push(wanted.clone()),
        None => files.push((file.to_owned(), vec![wanted.clone()])),
    }
}

/// Removes every enabled line that has `wanted`.
fn remove(files: &mut Files, wanted: &Line) {
    for (_, lines) in files.iter_mut() {
        lines.retain(|line| !(line.valid && line.enabled && line.source == wanted.source));
    }
}

/// Reads `sources.list` and every `sources.list.d/*.list` on the host.
async fn read_files(context: &ModuleContext<'_>) -> Result<Files, Error> {
    let script = format!(
        "for f in {SOURCES_LIST} {SOURCES_DIRECTORY}/*.list; do [ -f \"$f\" ] || continue; \
         printf '%s %s\\n' \"$f\" \"$(base64 < \"$f\" | tr -d '\\n')\"; done"
    );
    let output = context.exec_read_only(&script).await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(' ').or(Some((line, ""))))
        .map(|(path, content)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content)
                .unwrap_or_default();
            let content = String::from_utf8_lossy(&bytes).into_owned();
            (path.to_owned(), content.lines().map(Line::parse).collect())
        })
        .collect())
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let repo = arguments.required("repo")?;
    if repo.starts_with("ppa:") {
        return Ok(ModuleResult::failed(
            "`ppa:` sources need Launchpad, which drover's apt_repository does not reach; write the `deb` line",
        ));
    }
    let wanted = Line::parse(&repo);
    if !wanted.valid || !wanted.enabled {
        return Ok(ModuleResult::failed(format!(
            "Invalid repository string: {repo}"
        )));
    }
    let before = read_files(context).await?;
    let mut after = before.clone();
    let present = arguments.present()?;
    if present {
        let file = suggested_file(&repo, arguments.string("filename")?.as_deref());
        add(&mut after, &wanted, &file);
    } else {
        remove(&mut after, &wanted);
    }
    let mut result = ModuleResult::ok()
        .with("repo", json!(repo))
        .with("state", json!(if present { "present" } else { "absent" }));
    if before == after {
        return Ok(result);
    }
    result.changed = true;
    let mut diffs = Vec::new();
    for (path, lines) in &after {
        let old = before
            .iter()
            .find(|(existing, _)| existing == path)
            .map(|(_, lines)| dump(lines));
        let new = dump(lines);
        if old.as_deref() != Some(new.as_str()) {
            diffs.push(Diff::of_file(path, old.unwrap_or_default(), new));
        }
    }
    if let Some(diff) = diffs.into_iter().next() {
        result = result.with_diff(context.diff, diff);
    }
    if context.check_mode {
        return Ok(result);
    }
    save(context, &before, &after, arguments).await?;
    if arguments.boolean("update_cache", true)? {
        update_cache(context, arguments).await?;
    }
    Ok(result)
}

/// Writes each file whose lines changed (new ones with `mode`, 0644 by
/// default), and removes those left empty.
async fn save(
    context: &ModuleContext<'_>,
    before: &Files,
    after: &Files,
    arguments: &Arguments<'_>,
) -> Result<(), Error> {
    for (path, lines) in after {
        let old = before
            .iter()
            .find(|(existing, _)| existing == path)
            .map(|(_, lines)| lines);
        if old == Some(lines) {
            continue;
        }
        if lines.is_empty() {
            context
                .exec(&format!("rm -f -- {}", quote(path)), None)
                .await?;
            continue;
        }
        let (state, _) = path_state_and_content(context, path, false).await?;
        let mut attributes = Attributes::from_arguments(arguments, &state)?;
        if !state.exists() {
            attributes.mode = Some(attributes.mode.unwrap_or(0o644));
        }
        write_file(
            context,
            path,
            Bytes::from(dump(lines)),
            &attributes,
            &state,
            false,
        )
        .await?;
    }
    Ok(())
}

/// `apt-get update`, tried again as Ansible's module does.
async fn update_cache(context: &ModuleContext<'_>, arguments: &Arguments<'_>) -> Result<(), Error> {
    let retries = arguments
        .number("update_cache_retries")?
        .unwrap_or(5.0)
        .max(1.0);
    let script = format!(
        "n=0; until apt-get update -q >/dev/null 2>/tmp/.drover-apt-update.err; do \
         n=$((n+1)); [ $n -ge {retries} ] && {{ cat /tmp/.drover-apt-update.err >&2; exit 1; }}; sleep $n; done"
    );
    let output = context.exec(&script, None).await?;
    if output.success() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "Failed to update apt cache: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

const APT_REPOSITORY: &[A] = &[
    A::new("repo", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("filename", Text),
    A::new("mode", Raw),
    A::new("update_cache", Bool).aliases(&["update-cache"]),
    A::new("update_cache_retries", Integer),
    A::new("update_cache_retry_max_delay", Integer),
    A::new("validate_certs", Bool),
    A::new("codename", Text),
    A::new("install_python_apt", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["apt_repository"], &[APT_REPOSITORY], run)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_dump_as_ansible_writes_them() {
        let line = Line::parse("#deb   http://x/debian  stable main # extra");
        assert!(line.valid && !line.enabled);
        assert_eq!(line.dump(), "# deb http://x/debian stable main # extra\n");
        assert_eq!(Line::parse("").dump(), "\n");
    }

    #[test]
    fn new_sources_go_to_a_file_named_after_their_uri() {
        assert_eq!(
            suggested_file(
                "deb [arch=amd64] https://user:pw@download.docker.com/linux/debian bookworm stable",
                None
            ),
            "/etc/apt/sources.list.d/download_docker_com_linux_debian.list"
        );
        assert_eq!(
            suggested_file("deb http://x/ y z", Some("mine")),
            "/etc/apt/sources.list.d/mine.list"
        );
    }

    #[test]
    fn an_existing_commented_line_is_enabled_instead_of_added() {
        let mut files: Files = vec![(
            "/a.list".to_owned(),
            vec![Line::parse("# deb http://x/d s main")],
        )];
        add(
            &mut files,
            &Line::parse("deb http://x/d  s main"),
            "/b.list",
        );
        assert_eq!(files.len(), 1);
        assert_eq!(dump(&files[0].1), "deb http://x/d s main\n");
        remove(&mut files, &Line::parse("deb http://x/d s main"));
        assert!(files[0].1.is_empty());
    }
}
