//! Rendering library errors for people: the file, line and column, the
//! offending source line with a caret under it, and a `hint:`.

use std::fmt::Write as _;
use std::fs;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// An error pointing into a source file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub(crate) struct SourceDiagnostic {
    message: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("here")]
    span: SourceSpan,
    #[help]
    hint: Option<String>,
}

/// A problem that waits for its task to run, pointing into a source file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(severity(Warning))]
pub(crate) struct SourceWarning {
    message: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("here")]
    span: SourceSpan,
    #[help]
    hint: Option<String>,
}

/// An error with no source to show.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub(crate) struct PlainDiagnostic {
    message: String,
    #[help]
    hint: Option<String>,
}

/// Turns an inventory error into a report, reading the source file to show the line.
pub(crate) fn inventory_report(error: &drover_inventory::Error) -> miette::Report {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let _ = write!(message, ": {inner}");
        cause = inner.source();
    }
    if let drover_inventory::Error::ScriptFailed { stderr, .. } = error
        && !stderr.is_empty()
    {
        let _ = write!(message, "\nstderr:\n{stderr}");
    }
    located_report(message, error.hint(), error.location())
}

/// Turns a playbook error into a report with the offending line.
pub(crate) fn playbook_report(error: &drover_playbook::Error) -> miette::Report {
    located_report(
        error.to_string(),
        error.hint().map(str::to_owned),
        error.location(),
    )
}

/// A problem that fails its task only if the task runs, reported as a
/// warning with the offending line.
pub(crate) fn playbook_warning(problem: &drover_playbook::Error) -> miette::Report {
    let report = playbook_report(problem);
    match report.downcast::<SourceDiagnostic>() {
        Ok(diagnostic) => miette::Report::new(SourceWarning {
            message: diagnostic.message,
            source_code: diagnostic.source_code,
            span: diagnostic.span,
            hint: diagnostic.hint,
        }),
        Err(report) => report,
    }
}

/// A task that failed as written, reported as a load error is: the task's
/// line in its file, what is wrong, and the hint.
pub(crate) fn problem_report(problem: &drover_engine::Problem) -> miette::Report {
    located_report(
        problem.message.clone(),
        problem.hint.clone(),
        Some(&problem.location),
    )
}

/// A report pointing at `location` in its file, when the file can be read.
pub(crate) fn located_report(
    message: String,
    hint: Option<String>,
    location: Option<&drover_inventory::SourceLocation>,
) -> miette::Report {
    let Some(location) = location else {
        return miette::Report::new(PlainDiagnostic { message, hint });
    };
    let Ok(text) = fs::read_to_string(&location.path) else {
        return miette::Report::new(PlainDiagnostic {
            message: format!("{message}\n  at {location}"),
            hint,
        });
    };
    let offset = byte_offset(&text, location.line, location.column);
    let length = text[offset..]
        .char_indices()
        .take_while(|(_, character)| *character != '\n')
        .nth(location.length.saturating_sub(1))
        .map_or_else(
            || text[offset..].lines().next().map_or(0, str::len),
            |(index, character)| index + character.len_utf8(),
        );
    miette::Report::new(SourceDiagnostic {
        message,
        source_code: NamedSource::new(location.path.display().to_string(), text),
        span: SourceSpan::new(offset.into(), length),
        hint,
    })
}

/// The byte offset of a 1-based line and character column in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    let within = rest
        .char_indices()
        .take_while(|(_, character)| *character != '\n')
        .nth(column.saturating_sub(1))
        .map_or_else(|| rest.find('\n').unwrap_or(rest.len()), |(index, _)| index);
    (line_start + within).min(text.len())
}

/// Whether colour may be used at all: not when `NO_COLOR` is set, nor
/// when `ANSIBLE_NOCOLOR` is true (so Ansible users' setting holds too).
pub(crate) fn colour_allowed() -> bool {
    let ansible_off = std::env::var("ANSIBLE_NOCOLOR").is_ok_and(|value| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on" | "y" | "t"
        )
    });
    std::env::var_os("NO_COLOR").is_none() && !ansible_off
}

/// Installs the report renderer: colour only on a terminal, where allowed.
pub(crate) fn install_renderer() {
    let color = colour_allowed() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .terminal_links(false)
                .width(100)
                .context_lines(1)
                .build(),
        )
    }));
}

#[cfg(test)]
mod tests {
    use super::byte_offset;

    #[test]
    fn offsets_count_lines_and_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 3), 5);
        assert_eq!(byte_offset(text, 3, 1), 8);
    }
}
