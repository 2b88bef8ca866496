//! `yum_repository`: a repository section in `/etc/yum.repos.d/FILE.repo`,
//! written as Ansible's module writes it (Python's `configparser`: a
//! section's keys in sorted order, `0`/`1` for flags, a list one value a
//! line), so that both leave the same bytes.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, Raw, String as Text},
    ArgumentSpec as A,
};
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, converge, path_state_and_content};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// A `.repo` file: its sections, each with its keys and values, in order.
type Sections = Vec<(String, Vec<(String, String)>)>;

/// Reads a `.repo` file as `configparser` does: comments and blank lines
/// dropped, keys lower-cased, indented lines continuing a value.
fn parse(text: &str) -> Sections {
    let mut sections: Sections = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            sections.push((name.to_owned(), Vec::new()));
            continue;
        }
        let Some((_, entries)) = sections.last_mut() else {
            continue;
        };
        if line.starts_with([' ', '\t'])
            && let Some((_, value)) = entries.last_mut()
        {
            value.push('\n');
            value.push_str(trimmed);
            continue;
        }
        if let Some((key, value)) = trimmed.split_once(['=', ':']) {
            entries.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    sections
}

/// The file as `configparser` writes it.
fn write(sections: &Sections) -> String {
    let mut text = String::new();
    for (name, entries) in sections {
        let _ = writeln!(text, "[{name}]");
        for (key, value) in entries {
            let _ = writeln!(text, "{key} = {}", value.replace('\n', "\n\t"));
        }
        text.push('\n');
    }
    text
}

/// A value as the file holds it: flags as `0`/`1`, and a list (or a
/// comma-separated string, for the list arguments) one value a line for
/// `baseurl` and `gpgkey`, spaced for the others.
fn value_text(key: &str, value: &Json) -> String {
    let separator = if matches!(key, "baseurl" | "gpgkey") {
        "\n"
    } else {
        " "
    };
    let listed = matches!(key, "exclude" | "includepkgs" | "baseurl" | "gpgkey");
    match value {
        Json::Bool(flag) => if *flag { "1" } else { "0" }.to_owned(),
        Json::Array(items) => items
            .iter()
            .map(drover_template::as_text)
            .collect::<Vec<_>>()
            .join(separator),
        Json::String(text) if listed => text
            .split(',')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(separator),
        other => drover_template::as_text(other),
    }
}

/// The section's keys: every argument given but the file's own, `name`
/// holding `description`, flags as `0`/`1`, lists one value a line
/// (`baseurl`, `gpgkey`) or spaced (`exclude`, `includepkgs`).
fn entries(arguments: &Arguments<'_>) -> Vec<(String, String)> {
    const NOT_KEYS: [&str; 12] = [
        "name",
        "description",
        "file",
        "reposdir",
        "state",
        "mode",
        "owner",
        "group",
        "seuser",
        "serole",
        "setype",
        "selevel",
    ];
    let mut entries: Vec<(String, String)> = arguments
        .all()
        .iter()
        .filter(|(key, value)| !NOT_KEYS.contains(&key.as_str()) && !value.is_null())
        .map(|(key, value)| (key.clone(), value_text(key, value)))
        .collect();
    if let Ok(Some(description)) = arguments.string("description") {
        entries.push(("name".to_owned(), description));
    }
    entries.sort();
    entries
}

/// What Ansible compares to decide a change: sections and keys sorted.
fn summary(sections: &Sections) -> Sections {
    let mut sorted = sections.clone();
    for (_, entries) in &mut sorted {
        entries.sort();
    }
    sorted.sort();
    sorted
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let present = arguments.present()?;
    if present && arguments.string("description")?.is_none() {
        return Ok(ModuleResult::failed(
            "state is present but all of the following are missing: description",
        ));
    }
    let directory = arguments
        .string("reposdir")?
        .unwrap_or_else(|| "/etc/yum.repos.d".to_owned());
    let file = arguments.string("file")?.unwrap_or_else(|| name.clone());
    let path = format!("{directory}/{file}.repo");
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    let before = parse(existing.as_deref().unwrap_or_default());
    let mut after = before.clone();
    after.retain(|(section, _)| section != &name);
    if present {
        after.push((name.clone(), entries(arguments)));
    }
    let attributes = Attributes::from_arguments(arguments, &state)?;
    let result = ModuleResult::ok()
        .with("repo", json!(name))
        .with("state", json!(if present { "present" } else { "absent" }));
    if summary(&before) == summary(&after) {
        return converge(context, &path, &state, &attributes, false, None, result).await;
    }
    let content = write(&after);
    let result = result.with_diff(
        context.diff,
        Diff::of_file(&path, existing.clone().unwrap_or_default(), content.clone()),
    );
    if after.is_empty() {
        let mut result = result;
        result.changed = true;
        if !context.check_mode {
            context
                .exec(&format!("rm -f -- {}", drover_ssh::quote(&path)), None)
                .await?;
        }
        return Ok(result);
    }
    converge(
        context,
        &path,
        &state,
        &attributes,
        false,
        Some(Bytes::from(content)),
        result,
    )
    .await
}

const YUM_REPOSITORY: &[A] = &[
    A::new("name", Text).required(),
    A::new("description", Text),
    A::new("baseurl", List),
    A::new("mirrorlist", Text),
    A::new("metalink", Text),
    A::new("enabled", Bool),
    A::new("gpgcheck", Bool),
    A::new("repo_gpgcheck", Bool),
    A::new("gpgkey", List),
    A::new("file", Text),
    A::new("reposdir", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("exclude", List).aliases(&["excludepkgs"]),
    A::new("includepkgs", List),
    A::new("priority", Raw),
    A::new("cost", Raw),
    A::new("countme", Bool),
    A::new("enablegroups", Bool),
    A::new("module_hotfixes", Bool),
    A::new("skip_if_unavailable", Bool),
    A::new("sslverify", Bool).aliases(&["validate_certs"]),
    A::new("sslcacert", Text).aliases(&["ca_cert"]),
    A::new("sslclientcert", Text).aliases(&["client_cert"]),
    A::new("sslclientkey", Text).aliases(&["client_key"]),
    A::new("proxy", Text),
    A::new("proxy_username", Text),
    A::new("proxy_password", Text),
    A::new("username", Text),
    A::new("password", Text),
    A::new("metadata_expire", Raw),
    A::new("timeout", Raw),
    A::new("retries", Raw),
    A::new("throttle", Raw),
    A::new("bandwidth", Raw),
    A::new("ip_resolve", Text),
    A::new("include", Text),
    A::new("keepcache", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["yum_repository"],
    &[YUM_REPOSITORY, &super::ATTRIBUTES],
    run
)];

#[cfg(test)]
mod tests {
    use super::{parse, write};

    #[test]
    fn repo_files_read_and_write_as_configparser_does() {
        let text =
            "# comment\n[base]\nName = Base\nbaseurl = http://a/\n  http://b/\n\n[other]\nx=1\n";
        let sections = parse(text);
        assert_eq!(sections[0].1[1].1, "http://a/\nhttp://b/");
        assert_eq!(
            write(&sections),
            "[base]\nname = Base\nbaseurl = http://a/\n\thttp://b/\n\n[other]\nx = 1\n\n"
        );
    }
}
