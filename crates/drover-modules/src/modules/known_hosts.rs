//! `known_hosts`: a host's key in an SSH `known_hosts` file, found with
//! `ssh-keygen -F` and added, replaced or removed as Ansible's module does
//! it (a differing key of the same type is replaced in place).

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// A key line's parts, with its marker (`@cert-authority`) when it has one.
#[derive(Debug, PartialEq, Eq)]
struct Key<'a> {
    marker: Option<&'a str>,
    host: &'a str,
    kind: &'a str,
    key: &'a str,
}

fn parse(line: &str) -> Option<Key<'_>> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [marker, host, kind, key, ..] if marker.starts_with('@') => Some(Key {
            marker: Some(marker),
            host,
            kind,
            key,
        }),
        [host, kind, key, ..] => Some(Key {
            marker: None,
            host,
            kind,
            key,
        }),
        _ => None,
    }
}

/// What `ssh-keygen -F` found: whether the host is there, whether the
/// given key must go in (replacing one of its type), and that key's line.
fn search(output: &str, wanted: Option<&str>) -> (bool, bool, Option<usize>) {
    if output.trim().is_empty() {
        return (false, false, None);
    }
    let Some(wanted) = wanted.and_then(parse) else {
        return (true, false, None);
    };
    let line_number = regex::Regex::new(r"found: line (\d+)").expect("a valid pattern");
    let mut found_line = None;
    for line in output.lines().filter(|line| !line.is_empty()) {
        if line.starts_with('#') {
            found_line = line_number
                .captures(line)
                .and_then(|captures| captures[1].parse::<usize>().ok());
            continue;
        }
        let Some(found) = parse(line) else { continue };
        let same_host = found.host == wanted.host
            || (wanted.host.starts_with("|1|") && found.host.starts_with("|1|"));
        let same = found.marker == wanted.marker
            && same_host
            && found.kind == wanted.kind
            && found.key == wanted.key;
        if same {
            return (true, false, found_line);
        }
        if found.marker.is_none() && found.kind == wanted.kind {
            return (true, true, found_line);
        }
    }
    (true, true, None)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let host = arguments.required("name")?.to_lowercase();
    let key = arguments
        .string("key")?
        .map(|key| format!("{}\n", key.trim_end_matches('\n')));
    let present = arguments.present()?;
    if present && key.is_none() {
        return Ok(ModuleResult::failed("No key specified when adding a host"));
    }
    if arguments.boolean("hash_host", false)? {
        return Ok(ModuleResult::failed(
            "`hash_host` is not implemented by drover",
        ));
    }
    let path = resolve(context, arguments.string("path")?).await?;
    let output = context
        .exec_read_only(&format!(
            "[ -e {0} ] && ssh-keygen -F {1} -f {0}; true",
            quote(&path),
            quote(&host)
        ))
        .await?;
    let (found, replace, found_line) =
        search(&String::from_utf8_lossy(&output.stdout), key.as_deref());
    let mut result = ModuleResult::ok();
    let nothing_to_do = if present {
        found && !replace
    } else {
        !found || (key.is_some() && found_line.is_none())
    };
    if nothing_to_do {
        return Ok(result);
    }
    result.changed = true;
    if context.check_mode {
        return Ok(result);
    }
    if !present && key.is_none() {
        // The whole host goes, as Ansible removes it: with `ssh-keygen -R`.
        let command = format!(
            "ssh-keygen -R {} -f {} >/dev/null 2>&1",
            quote(&host),
            quote(&path)
        );
        context.exec(&command, None).await?;
        return Ok(result);
    }
    let found = Found {
        line: found_line,
        replace,
    };
    let diff = rewrite(context, &path, &found, key.as_deref().filter(|_| present)).await?;
    Ok(result.with_diff(context.diff, diff))
}

/// Where `ssh-keygen -F` found the key, and whether it must go.
struct Found {
    line: Option<usize>,
    replace: bool,
}

/// Writes the file without the found line (when it is to be replaced or
/// removed) and with `key` at its end (when adding).
async fn rewrite(
    context: &ModuleContext<'_>,
    path: &str,
    found: &Found,
    key: Option<&str>,
) -> Result<Diff, Error> {
    let (state, existing) = path_state_and_content(context, path, true).await?;
    let original = existing.unwrap_or_default();
    let mut content = String::new();
    for (index, line) in original.split_inclusive('\n').enumerate() {
        if !(found.line == Some(index + 1) && (found.replace || key.is_none())) {
            content.push_str(line);
        }
    }
    content.push_str(key.unwrap_or_default());
    let diff = Diff::of_file(path, original, content.clone());
    let attributes = Attributes {
        mode: (!state.exists()).then_some(0o644),
        ..Attributes::default()
    };
    write_file(
        context,
        path,
        Bytes::from(content),
        &attributes,
        &state,
        false,
    )
    .await?;
    Ok(diff)
}

/// `path`, with `~` as the (possibly become) user's home on the host.
async fn resolve(context: &ModuleContext<'_>, path: Option<String>) -> Result<String, Error> {
    let path = path.unwrap_or_else(|| "~/.ssh/known_hosts".to_owned());
    let Some(rest) = path.strip_prefix("~/") else {
        return Ok(path);
    };
    let home = context.exec_read_only("printf %s \"$HOME\"").await?;
    Ok(format!("{}/{rest}", String::from_utf8_lossy(&home.stdout)))
}

const KNOWN_HOSTS: &[A] = &[
    A::new("name", Text).aliases(&["host"]).required(),
    A::new("key", Text),
    A::new("path", Text),
    A::new("hash_host", Bool),
    A::new("state", Text).choices(&["present", "absent"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["known_hosts"], &[KNOWN_HOSTS], run)];

#[cfg(test)]
mod tests {
    use super::search;

    #[test]
    fn ssh_keygen_output_says_what_to_do() {
        let output = "# Host web found: line 2 \nweb ssh-ed25519 AAAAold\n";
        assert_eq!(
            search(output, Some("web ssh-ed25519 AAAAold\n")),
            (true, false, Some(2))
        );
        assert_eq!(
            search(output, Some("web ssh-ed25519 AAAAnew\n")),
            (true, true, Some(2))
        );
        assert_eq!(
            search(output, Some("web ssh-rsa AAAArsa\n")),
            (true, true, None)
        );
        assert_eq!(
            search("", Some("web ssh-rsa AAAArsa\n")),
            (false, false, None)
        );
    }
}
