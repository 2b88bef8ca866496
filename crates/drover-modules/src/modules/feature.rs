//! `feature`: a named flag on or off in a flags file, as JSON (`{"flag":
//! true}`) or as environment lines (`FLAG=true`), for toggle rollouts: the
//! flag changes, not the image. Notify a handler to reload what reads it.

use bytes::Bytes;
use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The file's new content with `flag` set to `enabled`.
pub(crate) fn update(
    content: &str,
    flag: &str,
    enabled: bool,
    json: bool,
) -> Result<String, Error> {
    if json {
        let mut flags: Map<String, Json> = if content.trim().is_empty() {
            Map::new()
        } else {
            serde_json::from_str(content).map_err(|error| {
                Error::Arguments(format!("the flags file is not a JSON object: {error}"))
            })?
        };
        flags.insert(flag.to_owned(), Json::Bool(enabled));
        return Ok(serde_json::to_string_pretty(&Json::Object(flags)).unwrap_or_default() + "\n");
    }
    let line = format!("{flag}={enabled}");
    let mut found = false;
    let mut lines: Vec<String> = content
        .lines()
        .map(|existing| {
            if existing
                .split_once('=')
                .is_some_and(|(name, _)| name.trim() == flag)
            {
                found = true;
                line.clone()
            } else {
                existing.to_owned()
            }
        })
        .collect();
    if !found {
        lines.push(line);
    }
    Ok(lines.join("\n") + "\n")
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let flag = arguments.required("name")?;
    let path = arguments.required("path")?;
    let enabled = match arguments.string("state")?.as_deref() {
        None | Some("on" | "enabled" | "True" | "true") => true,
        Some("off" | "disabled" | "False" | "false") => false,
        Some(other) => {
            return Err(Error::Arguments(format!(
                "`state` must be on or off, not `{other}`"
            )));
        }
    };
    let json = match arguments.string("format")?.as_deref() {
        None => std::path::Path::new(&path)
            .extension()
            .is_some_and(|extension| extension == "json"),
        Some("json") => true,
        Some("env") => false,
        Some(other) => {
            return Err(Error::Arguments(format!(
                "`format` must be json or env, not `{other}`"
            )));
        }
    };
    let (state, content) = path_state_and_content(context, &path, true).await?;
    let old = content.unwrap_or_default();
    let new = update(&old, &flag, enabled, json)?;
    let result = ModuleResult::ok()
        .with("flag", flag)
        .with("enabled", enabled);
    if new == old {
        return Ok(result);
    }
    let mut result = result.with_diff(context.diff, Diff::of_file(&path, old, new.clone()));
    result.changed = true;
    if !context.check_mode {
        let attributes = Attributes::from_arguments(arguments, &state)?;
        write_file(context, &path, Bytes::from(new), &attributes, &state, false).await?;
    }
    Ok(result)
}

const FEATURE: &[A] = &[
    A::new("name", Text).aliases(&["flag"]).required(),
    A::new("path", Text).aliases(&["dest"]).required(),
    A::new("state", Text).choices(&["on", "off", "enabled", "disabled"]),
    A::new("format", Text).choices(&["json", "env"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["feature"], &[FEATURE, &super::ATTRIBUTES], run)];

#[cfg(test)]
mod tests {
    use super::update;

    #[test]
    fn flags_are_set_in_json_and_env_files() {
        assert_eq!(
            update("", "checkout", true, true).unwrap(),
            "{\n  \"checkout\": true\n}\n"
        );
        let json = update("{\"search\": false}", "checkout", false, true).unwrap();
        assert!(json.contains("\"search\": false") && json.contains("\"checkout\": false"));
        assert!(update("[1]", "x", true, true).is_err());
        assert_eq!(
            update("A=1\ncheckout=false\n", "checkout", true, false).unwrap(),
            "A=1\ncheckout=true\n"
        );
        assert_eq!(
            update("", "checkout", true, false).unwrap(),
            "\ncheckout=true\n".trim_start()
        );
    }
}
