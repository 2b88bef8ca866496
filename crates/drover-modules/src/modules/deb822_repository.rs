//! `deb822_repository`: an APT source in the deb822 format, one
//! `/etc/apt/sources.list.d/NAME.sources` file written field by field as
//! Ansible's module writes it (so both leave the same bytes), with its
//! signing key kept under `/etc/apt/keyrings` when given by URL.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The arguments that become fields, in Ansible's (sorted) order.
const FIELDS: [&str; 20] = [
    "allow_downgrade_to_insecure",
    "allow_insecure",
    "allow_weak",
    "architectures",
    "by_hash",
    "check_date",
    "check_valid_until",
    "components",
    "date_max_future",
    "enabled",
    "inrelease_path",
    "languages",
    "name",
    "pdiffs",
    "signed_by",
    "suites",
    "targets",
    "trusted",
    "types",
    "uris",
];

/// The file name Ansible derives from `name`: lower case, runs of `_` and
/// white space as `-`, anything else but letters, digits and `-` dropped.
fn slug(name: &str) -> String {
    let dashed = regex::Regex::new(r"[_\s]+")
        .expect("a valid pattern")
        .replace_all(&name.to_lowercase(), "-")
        .into_owned();
    dashed
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// A field's name as Ansible writes it (`signed_by` is `Signed-By`).
fn field_name(argument: &str) -> String {
    match argument {
        "name" => "X-Repolib-Name".to_owned(),
        "uris" => "URIs".to_owned(),
        other => other
            .split('_')
            .map(|word| {
                let mut characters = word.chars();
                characters.next().map_or_else(String::new, |first| {
                    first
                        .to_uppercase()
                        .chain(characters.map(|c| c.to_ascii_lowercase()))
                        .collect()
                })
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// A value as text: `yes`/`no`, numbers, lists joined by spaces; text of
/// several lines indented below its field, a blank line as `.`.
fn field_value(value: &Json) -> String {
    let text = match value {
        Json::Bool(flag) => if *flag { "yes" } else { "no" }.to_owned(),
        Json::Array(items) => items
            .iter()
            .map(drover_template::as_text)
            .collect::<Vec<_>>()
            .join(" "),
        other => drover_template::as_text(other),
    };
    if !text.contains('\n') {
        return text;
    }
    let lines: Vec<String> = text
        .trim()
        .lines()
        .map(|line| {
            format!(
                "    {}",
                if line.trim().is_empty() {
                    "."
                } else {
                    line.trim()
                }
            )
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The file's content: a `Field: value` line for each argument given.
fn render(values: &[(&str, Json)]) -> String {
    let mut text = String::new();
    for (argument, value) in values {
        let value = field_value(value);
        let name = field_name(argument);
        // No space after the colon when the value starts on the next line.
        let space = if value.is_empty() || value.starts_with('\n') {
            ""
        } else {
            " "
        };
        let _ = writeln!(text, "{name}:{space}{value}");
    }
    text
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let slug = slug(&name);
    let path = format!("/etc/apt/sources.list.d/{slug}.sources");
    if !arguments.present()? {
        return remove(context, &path, &slug).await;
    }
    let mut values: Vec<(&str, Json)> = Vec::new();
    let mut key_changed = false;
    for field in FIELDS {
        let value = match (field, arguments.raw(field)) {
            ("types", None) => json!(["deb"]),
            (_, None | Some(Json::Null)) => continue,
            ("signed_by", Some(value)) => {
                let (value, changed) =
                    signing_key(context, &drover_template::as_text(value), &slug).await?;
                key_changed |= changed;
                json!(value)
            }
            (_, Some(value)) => value.clone(),
        };
        values.push((field, value));
    }
    let content = render(&values);
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    let mut attributes = Attributes::from_arguments(arguments, &state)?;
    attributes.mode = Some(attributes.mode.unwrap_or(0o644));
    let mut result = ModuleResult::ok()
        .with("repo", json!(content))
        .with("dest", json!(path));
    result.changed = key_changed;
    if existing.as_deref() == Some(content.as_str()) {
        return crate::remote::converge(context, &path, &state, &attributes, false, None, result)
            .await;
    }
    result.changed = true;
    let result = result.with_diff(
        context.diff,
        Diff::of_file(&path, existing.unwrap_or_default(), content.clone()),
    );
    if !context.check_mode {
        write_file(
            context,
            &path,
            Bytes::from(content),
            &attributes,
            &state,
            false,
        )
        .await?;
    }
    Ok(result)
}

/// `signed_by`: a URL's key downloaded to `/etc/apt/keyrings/SLUG.asc`
/// (or `.gpg`), which the field then names; a path or key text as it is.
async fn signing_key(
    context: &ModuleContext<'_>,
    value: &str,
    slug: &str,
) -> Result<(String, bool), Error> {
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Ok((value.to_owned(), false));
    }
    let script = format!(
        "t=$(mktemp) && curl -fsSL {} -o \"$t\" || exit 1; \
         if grep -q 'BEGIN PGP PUBLIC KEY BLOCK' \"$t\"; then e=asc; else e=gpg; fi; \
         f=/etc/apt/keyrings/{slug}.$e; echo \"$f\"; \
         if cmp -s \"$t\" \"$f\"; then rm -f \"$t\"; echo same; \
         elif [ -n \"$DROVER_CHECK\" ]; then rm -f \"$t\"; echo changed; \
         else mkdir -p /etc/apt/keyrings && chmod 0644 \"$t\" && mv \"$t\" \"$f\" && echo changed; fi",
        quote(value)
    );
    let script = if context.check_mode {
        format!("DROVER_CHECK=1; {script}")
    } else {
        script
    };
    let output = context.exec(&script, None).await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    match (output.success(), lines.next(), lines.next()) {
        (true, Some(file), Some(status)) => Ok((file.to_owned(), status == "changed")),
        _ => Err(Error::Failed(format!(
            "Could not fetch signed_by key: {value}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// `state: absent`: the sources file and its keys go.
async fn remove(
    context: &ModuleContext<'_>,
    path: &str,
    slug: &str,
) -> Result<ModuleResult, Error> {
    let files = format!(
        "{} /etc/apt/keyrings/{slug}.asc /etc/apt/keyrings/{slug}.gpg",
        quote(path)
    );
    let found = context
        .exec_read_only(&format!(
            "for f in {files}; do [ -e \"$f\" ] && echo \"$f\"; done; true"
        ))
        .await?;
    let present = !String::from_utf8_lossy(&found.stdout).trim().is_empty();
    if present && !context.check_mode {
        context.exec(&format!("rm -f -- {files}"), None).await?;
    }
    let mut result = ModuleResult::ok()
        .with("dest", json!(path))
        .with("repo", Json::Null);
    result.changed = present;
    Ok(result)
}

const DEB822_REPOSITORY: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("mode", Raw),
    A::new("types", List),
    A::new("uris", List),
    A::new("suites", List),
    A::new("components", List),
    A::new("architectures", List),
    A::new("languages", List),
    A::new("targets", List),
    A::new("signed_by", Text),
    A::new("enabled", Bool),
    A::new("trusted", Bool),
    A::new("allow_insecure", Bool),
    A::new("allow_weak", Bool),
    A::new("allow_downgrade_to_insecure", Bool),
    A::new("by_hash", Bool),
    A::new("check_date", Bool),
    A::new("check_valid_until", Bool),
    A::new("date_max_future", Integer),
    A::new("inrelease_path", Text),
    A::new("pdiffs", Bool),
    A::new("install_python_debian", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["deb822_repository"], &[DEB822_REPOSITORY], run)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fields_and_values_as_ansible_writes_them() {
        assert_eq!(slug("Docker CE_stable!"), "docker-ce-stable");
        assert_eq!(field_name("signed_by"), "Signed-By");
        assert_eq!(field_name("check_valid_until"), "Check-Valid-Until");
        let text = render(&[
            ("components", json!(["main", "contrib"])),
            ("enabled", json!(true)),
            ("name", json!("Example")),
            (
                "signed_by",
                json!("-----BEGIN KEY-----\n\nabc\n-----END KEY-----\n"),
            ),
            ("types", json!(["deb"])),
            ("uris", json!(["http://x/d"])),
        ]);
        assert_eq!(
            text,
            "Components: main contrib\nEnabled: yes\nX-Repolib-Name: Example\n\
             Signed-By:\n    -----BEGIN KEY-----\n    .\n    abc\n    -----END KEY-----\n\
             Types: deb\nURIs: http://x/d\n"
        );
    }
}
