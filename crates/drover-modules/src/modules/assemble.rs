//! `assemble`: a file put together from the fragments in a directory, in
//! name order, as Ansible's module joins them (a newline after a fragment
//! that lacks one, a delimiter between fragments).

use base64::Engine as _;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{converge_text, path_state_and_content};
use crate::{Error, ModuleContext, ModuleResult};

/// The fragments to join: name and content, in any order.
type Fragments = Vec<(String, Vec<u8>)>;

/// Ansible's `assemble_from_fragments`.
fn assemble(
    mut fragments: Fragments,
    pattern: Option<&regex::Regex>,
    delimiter: Option<&str>,
    ignore_hidden: bool,
) -> Vec<u8> {
    fragments.sort_by(|a, b| a.0.cmp(&b.0));
    let mut joined = Vec::new();
    let (mut delimit, mut add_newline) = (false, false);
    for (name, content) in fragments {
        if pattern.is_some_and(|pattern| !pattern.is_match(&name))
            || (ignore_hidden && name.starts_with('.'))
        {
            continue;
        }
        if add_newline {
            joined.push(b'\n');
        }
        if delimit && let Some(delimiter) = delimiter.filter(|delimiter| !delimiter.is_empty()) {
            let delimiter = unescape(delimiter);
            joined.extend_from_slice(delimiter.as_bytes());
            if !delimiter.ends_with('\n') {
                joined.push(b'\n');
            }
        }
        add_newline = !content.ends_with(b"\n");
        joined.extend_from_slice(&content);
        delimit = true;
    }
    joined
}

/// `\n`, `\t` and `\\` in a delimiter, as Python's `escape_decode` reads them.
fn unescape(text: &str) -> String {
    text.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\\\", "\\")
}

/// The fragments of `source` on the host: each name and content, base64.
async fn host_fragments(
    context: &ModuleContext<'_>,
    source: &str,
) -> Result<Option<Fragments>, Error> {
    let script = format!(
        "cd {} 2>/dev/null || {{ echo missing; exit 0; }}; echo ok; \
         for f in * .*; do [ -f \"$f\" ] || continue; \
         printf '%s %s\\n' \"$(printf '%s' \"$f\" | base64 | tr -d '\\n')\" \"$(base64 < \"$f\" | tr -d '\\n')\"; done",
        quote(source)
    );
    let output = context.exec_read_only(&script).await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    if lines.next() != Some("ok") {
        return Ok(None);
    }
    let decode = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    };
    Ok(Some(
        lines
            .filter_map(|line| line.split_once(' ').or(Some((line, ""))))
            .map(|(name, content)| {
                (
                    String::from_utf8_lossy(&decode(name)).into_owned(),
                    decode(content),
                )
            })
            .collect(),
    ))
}

/// The fragments of `source` on this machine.
fn local_fragments(source: &std::path::Path) -> Option<Fragments> {
    let entries = std::fs::read_dir(source).ok()?;
    Some(
        entries
            .flatten()
            .filter(|entry| entry.path().is_file())
            .filter_map(|entry| {
                let content = std::fs::read(entry.path()).ok()?;
                Some((entry.file_name().to_string_lossy().into_owned(), content))
            })
            .collect(),
    )
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let source = arguments.required("src")?;
    let destination = arguments.required("dest")?;
    let fragments = if arguments.boolean("remote_src", true)? {
        host_fragments(context, &source).await?
    } else {
        context
            .find_file(&source, "files")
            .and_then(|path| local_fragments(&path))
    };
    let Some(fragments) = fragments else {
        return Ok(ModuleResult::failed(format!(
            "Source ({source}) is not a directory"
        )));
    };
    let pattern = arguments
        .string("regexp")?
        .map(|pattern| {
            regex::Regex::new(&pattern).map_err(|error| {
                Error::Arguments(format!("invalid regular expression `{pattern}`: {error}"))
            })
        })
        .transpose()?;
    let joined = assemble(
        fragments,
        pattern.as_ref(),
        arguments.string("delimiter")?.as_deref(),
        arguments.boolean("ignore_hidden", false)?,
    );
    let (state, existing) = path_state_and_content(context, &destination, true).await?;
    let original = existing.unwrap_or_default();
    let result = ModuleResult::ok();
    converge_text(
        context,
        arguments,
        &destination,
        &state,
        &original,
        joined,
        result,
    )
    .await
}

const ASSEMBLE: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("regexp", Text),
    A::new("delimiter", Text),
    A::new("ignore_hidden", Bool),
    A::new("remote_src", Bool),
    A::new("backup", Bool),
    A::new("validate", Text),
    A::new("decrypt", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["assemble"], &[ASSEMBLE, &super::ATTRIBUTES], run)];

#[cfg(test)]
mod tests {
    use super::assemble;

    #[test]
    fn fragments_join_in_name_order_with_delimiters_and_newlines() {
        let fragments = vec![
            ("b".to_owned(), b"two".to_vec()),
            ("a".to_owned(), b"one\n".to_vec()),
            (".c".to_owned(), b"hidden\n".to_vec()),
        ];
        let joined = assemble(fragments.clone(), None, Some("# --"), true);
        assert_eq!(String::from_utf8(joined).unwrap(), "one\n# --\ntwo");
        let joined = assemble(fragments, None, None, false);
        assert_eq!(String::from_utf8(joined).unwrap(), "hidden\none\ntwo");
    }
}
