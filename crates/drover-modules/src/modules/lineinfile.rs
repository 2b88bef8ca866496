//! `lineinfile`: make sure one line is (or is not) in a file.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use regex::Regex;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, converge, path_state_and_content};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// Where a new line goes.
enum Position {
    EndOfFile,
    BeginningOfFile,
    After(Regex),
    Before(Regex),
}

/// `original` with the line put in place (or, `state: absent`, the
/// matching lines taken out); and what was done, when anything was.
fn edited(
    arguments: &Arguments<'_>,
    original: &str,
    regexp: Option<&Regex>,
    line: Option<String>,
    present: bool,
) -> Result<(String, Option<String>), Error> {
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let message = if present {
        let line = line.ok_or_else(|| {
            Error::Arguments("`lineinfile` with `state: present` needs `line`".to_owned())
        })?;
        edit_present(
            &mut lines,
            regexp,
            &line,
            arguments.boolean("backrefs", false)?,
            &position(arguments)?,
            arguments.boolean("firstmatch", false)?,
        )
    } else {
        let before = lines.len();
        lines.retain(|candidate| match (regexp, &line) {
            (Some(regexp), _) => !regexp.is_match(candidate),
            (None, Some(line)) => candidate != line,
            (None, None) => true,
        });
        (before != lines.len()).then(|| format!("{} line(s) removed", before - lines.len()))
    };
    let mut content = lines.join("\n");
    if !lines.is_empty() {
        content.push('\n');
    }
    Ok((content, message))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let present = arguments
        .string("state")?
        .is_none_or(|state| state != "absent");
    let regexp = match arguments.string("search_string")? {
        // A literal string to look for, as the newer Ansible `search_string`.
        Some(literal) => Some(
            Regex::new(&regex::escape(&literal))
                .map_err(|error| Error::Arguments(error.to_string()))?,
        ),
        None => compile(arguments.string("regexp")?.as_deref())?,
    };
    let line = arguments.string("line")?;
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    let Some(original) = existing.clone().or_else(|| {
        (present && arguments.boolean("create", false).unwrap_or(false)).then(String::new)
    }) else {
        return Ok(if present {
            ModuleResult::failed(format!(
                "destination `{path}` does not exist; add `create: yes` to create it"
            ))
        } else {
            ModuleResult::ok().message("file not present")
        });
    };
    let (content, message) = edited(arguments, &original, regexp.as_ref(), line, present)?;
    let attributes = Attributes::from_arguments(arguments, &state)?;
    let changes = message.is_some() || (existing.is_none() && present);
    let mut result = ModuleResult::ok();
    if changes {
        result.message = message;
        result = result.with_diff(
            context.diff,
            Diff::of_file(&path, original.clone(), content.clone()),
        );
    }
    let backup = arguments.boolean("backup", false)?;
    converge(
        context,
        &path,
        &state,
        &attributes,
        backup,
        changes.then(|| Bytes::from(content)),
        result,
    )
    .await
}

fn compile(pattern: Option<&str>) -> Result<Option<Regex>, Error> {
    pattern
        .map(|pattern| {
            Regex::new(pattern).map_err(|error| {
                Error::Arguments(format!("bad regular expression `{pattern}`: {error}"))
            })
        })
        .transpose()
}

fn position(arguments: &Arguments<'_>) -> Result<Position, Error> {
    Ok(
        match (
            arguments.string("insertafter")?,
            arguments.string("insertbefore")?,
        ) {
            (_, Some(before)) if before == "BOF" => Position::BeginningOfFile,
            (_, Some(before)) => Position::Before(
                compile(Some(&before))?
                    .ok_or_else(|| Error::Arguments("bad insertbefore".to_owned()))?,
            ),
            (Some(after), None) if after != "EOF" => Position::After(
                compile(Some(&after))?
                    .ok_or_else(|| Error::Arguments("bad insertafter".to_owned()))?,
            ),
            _ => Position::EndOfFile,
        },
    )
}

/// Applies `state: present`; returns what changed, if anything.
fn edit_present(
    lines: &mut Vec<String>,
    regexp: Option<&Regex>,
    line: &str,
    backrefs: bool,
    position: &Position,
    first_match: bool,
) -> Option<String> {
    if let Some(regexp) = regexp {
        if let Some(index) = lines
            .iter()
            .rposition(|candidate| regexp.is_match(candidate))
        {
            let replacement = if backrefs {
                let python = line.replace("\\g<", "${").replace('>', "}");
                let rust = Regex::new(r"\\(\d+)").map_or(python.clone(), |backreference| {
                    backreference.replace_all(&python, "$${$1}").into_owned()
                });
                regexp.replace(&lines[index], rust.as_str()).into_owned()
            } else {
                line.to_owned()
            };
            if lines[index] == replacement {
                return None;
            }
            lines[index] = replacement;
            return Some("line replaced".to_owned());
        }
        if backrefs {
            return None;
        }
    }
    // Nothing matched the pattern, but the line itself is there: as Ansible,
    // leave the file alone rather than add it twice.
    if lines.iter().any(|candidate| candidate == line) {
        return None;
    }
    let index = match position {
        Position::EndOfFile => lines.len(),
        Position::BeginningOfFile => 0,
        // The last matching line, or the first with `firstmatch`.
        Position::After(pattern) => {
            find(lines, pattern, first_match).map_or(lines.len(), |index| index + 1)
        }
        Position::Before(pattern) => find(lines, pattern, first_match).unwrap_or(lines.len()),
    };
    lines.insert(index, line.to_owned());
    Some("line added".to_owned())
}

fn find(lines: &[String], pattern: &Regex, first: bool) -> Option<usize> {
    if first {
        lines
            .iter()
            .position(|candidate| pattern.is_match(candidate))
    } else {
        lines
            .iter()
            .rposition(|candidate| pattern.is_match(candidate))
    }
}

const LINEINFILE: &[A] = &[
    A::new("path", Text)
        .aliases(&["dest", "destfile", "name"])
        .required(),
    A::new("regexp", Text).aliases(&["regex"]),
    A::new("line", Text).aliases(&["value"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("insertafter", Text),
    A::new("insertbefore", Text),
    A::new("backrefs", Bool),
    A::new("create", Bool),
    A::new("backup", Bool),
    A::new("firstmatch", Bool),
    A::new("search_string", Text),
    A::new("validate", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[
        module!(&["lineinfile"], &[LINEINFILE, &super::ATTRIBUTES], run)
            .reads_ahead(|arguments, _| crate::read_ahead::content_query(arguments)),
    ];

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn replaces_the_last_match_or_appends() {
        let mut file = lines("a=1\nport=80\nport=81\nz");
        let regexp = Regex::new("^port=").unwrap();
        assert_eq!(
            edit_present(
                &mut file,
                Some(&regexp),
                "port=8080",
                false,
                &Position::EndOfFile,
                false,
            )
            .as_deref(),
            Some("line replaced")
        );
        assert_eq!(file, lines("a=1\nport=80\nport=8080\nz"));
        assert_eq!(
            edit_present(
                &mut file,
                Some(&regexp),
                "port=8080",
                false,
                &Position::EndOfFile,
                false,
            ),
            None
        );
        let mut file = lines("a\nb");
        edit_present(
            &mut file,
            None,
            "new",
            false,
            &Position::After(Regex::new("^a").unwrap()),
            false,
        );
        assert_eq!(file, lines("a\nnew\nb"));
        edit_present(
            &mut file,
            None,
            "top",
            false,
            &Position::BeginningOfFile,
            false,
        );
        assert_eq!(file[0], "top");
    }

    #[test]
    fn an_unmatched_pattern_does_not_add_an_existing_line_again() {
        let mut file = lines("x=one");
        let regexp = Regex::new("^x=1$").unwrap();
        assert_eq!(
            edit_present(
                &mut file,
                Some(&regexp),
                "x=one",
                false,
                &Position::EndOfFile,
                false
            ),
            None
        );
    }

    #[test]
    fn backrefs_rewrite_the_matched_line() {
        let mut file = lines("Listen 80");
        let regexp = Regex::new(r"^Listen (\d+)$").unwrap();
        edit_present(
            &mut file,
            Some(&regexp),
            r"Listen 127.0.0.1:\1",
            true,
            &Position::EndOfFile,
            false,
        );
        assert_eq!(file, lines("Listen 127.0.0.1:80"));
    }

    #[test]
    fn firstmatch_inserts_after_the_first_matching_line() {
        let mut file = lines("[a]\nx\n[a]\ny");
        let section = Regex::new(r"^\[a\]").unwrap();
        edit_present(
            &mut file,
            None,
            "new",
            false,
            &Position::After(section.clone()),
            true,
        );
        assert_eq!(file, lines("[a]\nnew\nx\n[a]\ny"));
        let mut file = lines("[a]\nx\n[a]\ny");
        edit_present(
            &mut file,
            None,
            "new",
            false,
            &Position::After(section),
            false,
        );
        assert_eq!(file, lines("[a]\nx\n[a]\nnew\ny"));
    }
}
