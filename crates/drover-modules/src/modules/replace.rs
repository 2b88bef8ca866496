//! `replace`: every match of a regular expression in a file replaced, in
//! the whole file or in the section between `after` and `before`.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{converge_text, path_state_and_content};
use crate::{Error, ModuleContext, ModuleResult};

/// A regular expression as Python's `re` reads Ansible's: `^` and `$` at
/// every line (`MULTILINE`), and `.` across lines only where asked.
fn compile(pattern: &str, dot_all: bool) -> Result<regex::Regex, Error> {
    regex::RegexBuilder::new(pattern)
        .multi_line(true)
        .dot_matches_new_line(dot_all)
        .build()
        .map_err(|error| {
            Error::Arguments(format!(
                "the regular expression `{pattern}` cannot be read: {error}\n\
                 hint: drover's expressions have no look-around and no back-references"
            ))
        })
}

/// The byte range the replacement works in: after the first match of
/// `after` and before the match of `before` that follows it, as Ansible
/// finds the section (the whole file when neither is given or matches).
fn section(
    content: &str,
    after: Option<&str>,
    before: Option<&str>,
) -> Result<(usize, usize), Error> {
    let pattern = match (after, before) {
        (Some(after), Some(before)) => format!("{after}(?P<subsection>.*?){before}"),
        (Some(after), None) => format!("{after}(?P<subsection>.*)"),
        (None, Some(before)) => format!("(?P<subsection>.*){before}"),
        (None, None) => return Ok((0, content.len())),
    };
    let regex = compile(&pattern, true)?;
    Ok(regex
        .captures(content)
        .and_then(|captures| captures.name("subsection"))
        .map_or((0, content.len()), |found| (found.start(), found.end())))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let regex = compile(&arguments.required("regexp")?, false)?;
    let replacement =
        drover_template::python_replacement(&arguments.string("replace")?.unwrap_or_default());
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    let Some(original) = existing else {
        return Ok(ModuleResult::failed(format!(
            "Path {path} does not exist !"
        )));
    };
    let (start, end) = section(
        &original,
        arguments.string("after")?.as_deref(),
        arguments.string("before")?.as_deref(),
    )?;
    let part = &original[start..end];
    let count = regex.find_iter(part).count();
    let content = format!(
        "{}{}{}",
        &original[..start],
        regex.replace_all(part, replacement.as_str()),
        &original[end..]
    );
    let message = if content == original {
        String::new()
    } else {
        format!("{count} replacements made")
    };
    let result = ModuleResult::ok().message(message);
    let content = content.into_bytes();
    converge_text(
        context, arguments, &path, &state, &original, content, result,
    )
    .await
}

const REPLACE: &[A] = &[
    A::new("path", Text)
        .aliases(&["dest", "destfile", "name"])
        .required(),
    A::new("regexp", Text).required(),
    A::new("replace", Text),
    A::new("after", Text),
    A::new("before", Text),
    A::new("backup", Bool),
    A::new("encoding", Text),
    A::new("validate", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["replace"], &[REPLACE, &super::ATTRIBUTES], run)
    .reads_ahead(|arguments, _| crate::read_ahead::content_query(arguments))];

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn the_section_lies_between_after_and_before() {
        let text = "a\n[start]\nx=1\n[end]\nx=1\n";
        let (start, end) = section(text, Some(r"\[start\]"), Some(r"\[end\]")).unwrap();
        assert_eq!(&text[start..end], "\nx=1\n");
        let (start, end) = section(text, None, Some("nothing")).unwrap();
        assert_eq!((start, end), (0, text.len()));
    }
}
