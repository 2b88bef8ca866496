//! `lineinfile`: make sure one line is (or is not) in a file.

use bytes::Bytes;
use regex::Regex;

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

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required(&["path", "dest", "destfile", "name"])?;
    let present = arguments
        .string("state")?
        .is_none_or(|state| state != "absent");
    let regexp = compile(arguments.string_of(&["regexp", "regex"])?.as_deref())?;
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
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let message = if present {
        let line = line.ok_or_else(|| {
            Error::Arguments("`lineinfile` with `state: present` needs `line`".to_owned())
        })?;
        let position = position(arguments)?;
        edit_present(
            &mut lines,
            regexp.as_ref(),
            &line,
            arguments.boolean("backrefs", false)?,
            &position,
        )
    } else {
        let before = lines.len();
        lines.retain(|candidate| match (&regexp, &line) {
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
    let attributes = Attributes::from_arguments(arguments)?;
    let changes = message.is_some() || (existing.is_none() && present);
    let mut result = ModuleResult::ok();
    if changes {
        result.message = message;
        result = result.with_diff(
            context.diff,
            Diff {
                before: original.clone(),
                after: content.clone(),
                before_header: path.clone(),
                after_header: path.clone(),
            },
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
    } else if lines.iter().any(|candidate| candidate == line) {
        return None;
    }
    let index = match position {
        Position::EndOfFile => lines.len(),
        Position::BeginningOfFile => 0,
        Position::After(pattern) => lines
            .iter()
            .rposition(|candidate| pattern.is_match(candidate))
            .map_or(lines.len(), |index| index + 1),
        Position::Before(pattern) => lines
            .iter()
            .rposition(|candidate| pattern.is_match(candidate))
            .unwrap_or(lines.len()),
    };
    lines.insert(index, line.to_owned());
    Some("line added".to_owned())
}

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
                &Position::EndOfFile
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
                &Position::EndOfFile
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
        );
        assert_eq!(file, lines("a\nnew\nb"));
        edit_present(&mut file, None, "top", false, &Position::BeginningOfFile);
        assert_eq!(file[0], "top");
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
        );
        assert_eq!(file, lines("Listen 127.0.0.1:80"));
    }
}
