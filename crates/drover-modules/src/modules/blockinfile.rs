//! `blockinfile`: a marked block of lines in a file.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, converge, path_state_and_content};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The block's first and last lines: `marker` with `{mark}` replaced by
/// `marker_begin` and `marker_end`.
fn markers(arguments: &Arguments<'_>) -> Result<(String, String), Error> {
    let marker = arguments
        .string("marker")?
        .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".to_owned());
    let mark = |key: &str, default: &str| -> Result<String, Error> {
        Ok(marker.replace(
            "{mark}",
            &arguments.string(key)?.unwrap_or_else(|| default.to_owned()),
        ))
    };
    Ok((mark("marker_begin", "BEGIN")?, mark("marker_end", "END")?))
}

/// `original` with the block between `begin` and `end` taken out, and
/// `block` (when given) put back where it was, or where `insertafter` or
/// `insertbefore` says.
fn with_block(
    original: &str,
    begin: &str,
    end: &str,
    block: Option<&str>,
    arguments: &Arguments<'_>,
) -> Result<String, Error> {
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let start = lines.iter().position(|line| line == begin);
    let stop = lines.iter().position(|line| line == end);
    let (insert_at, removed) = match (start, stop) {
        (Some(start), Some(stop)) if start <= stop => {
            lines.drain(start..=stop);
            (start, true)
        }
        _ => (lines.len(), false),
    };
    if let Some(block) = block {
        let mut new_lines = vec![begin.to_owned()];
        new_lines.extend(block.lines().map(str::to_owned));
        new_lines.push(end.to_owned());
        let at = if removed {
            insert_at
        } else {
            insertion_point(&lines, arguments)?
        };
        lines.splice(at..at, new_lines);
    }
    let mut content = lines.join("\n");
    if !lines.is_empty() {
        content.push('\n');
    }
    Ok(content)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let (begin, end) = markers(arguments)?;
    let block = arguments.string("block")?.unwrap_or_default();
    let present = arguments
        .string("state")?
        .is_none_or(|state| state != "absent");
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    let Some(original) = existing.clone().or_else(|| {
        arguments
            .boolean("create", false)
            .unwrap_or(false)
            .then(String::new)
    }) else {
        return Ok(ModuleResult::failed(format!(
            "path `{path}` does not exist; add `create: yes`"
        )));
    };
    let wanted = (present && !block.is_empty()).then_some(block.as_str());
    let content = with_block(&original, &begin, &end, wanted, arguments)?;
    let attributes = Attributes::from_arguments(arguments, &state)?;
    let backup = arguments.boolean("backup", false)?;
    if content == original {
        return converge(
            context,
            &path,
            &state,
            &attributes,
            backup,
            None,
            ModuleResult::ok(),
        )
        .await;
    }
    let result = ModuleResult::ok()
        .message(if present {
            "Block inserted"
        } else {
            "Block removed"
        })
        .with_diff(
            context.diff,
            Diff::of_file(&path, original, content.clone()),
        );
    converge(
        context,
        &path,
        &state,
        &attributes,
        backup,
        Some(Bytes::from(content)),
        result,
    )
    .await
}

/// Where a new block goes: `insertbefore`/`insertafter` (a regex, `BOF` or
/// `EOF`) at the last matching line, else the end of the file.
fn insertion_point(lines: &[String], arguments: &Arguments<'_>) -> Result<usize, Error> {
    let compile = |pattern: &str| {
        regex::Regex::new(pattern).map_err(|error| {
            Error::Arguments(format!("bad regular expression `{pattern}`: {error}"))
        })
    };
    if let Some(before) = arguments.string("insertbefore")? {
        if before == "BOF" {
            return Ok(0);
        }
        let pattern = compile(&before)?;
        return Ok(lines
            .iter()
            .rposition(|line| pattern.is_match(line))
            .unwrap_or(lines.len()));
    }
    match arguments.string("insertafter")? {
        Some(after) if after != "EOF" => {
            let pattern = compile(&after)?;
            Ok(lines
                .iter()
                .rposition(|line| pattern.is_match(line))
                .map_or(lines.len(), |index| index + 1))
        }
        _ => Ok(lines.len()),
    }
}

const BLOCKINFILE: &[A] = &[
    A::new("path", Text)
        .aliases(&["dest", "destfile", "name"])
        .required(),
    A::new("block", Text).aliases(&["content"]),
    A::new("marker", Text),
    A::new("marker_begin", Text),
    A::new("marker_end", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("insertafter", Text),
    A::new("insertbefore", Text),
    A::new("create", Bool),
    A::new("backup", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[
        module!(&["blockinfile"], &[BLOCKINFILE, &super::ATTRIBUTES], run)
            .reads_ahead(|arguments, _| crate::read_ahead::content_query(arguments)),
    ];

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::insertion_point;
    use crate::arguments::Arguments;

    fn at(text: &str, arguments: Json) -> usize {
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let Json::Object(map) = arguments else {
            panic!("not an object")
        };
        insertion_point(&lines, &Arguments::new("blockinfile", &map)).unwrap()
    }

    #[test]
    fn blocks_go_where_asked() {
        let file = "a\n[x]\nb\n[x]\nc";
        assert_eq!(at(file, json!({})), 5);
        assert_eq!(at(file, json!({"insertbefore": "BOF"})), 0);
        assert_eq!(at(file, json!({"insertafter": "^\\[x\\]"})), 4);
        assert_eq!(at(file, json!({"insertbefore": "^b$"})), 2);
        assert_eq!(at(file, json!({"insertafter": "nothing"})), 5);
    }
}
