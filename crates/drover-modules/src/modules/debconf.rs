//! `debconf`: answers in the debconf database that Debian packages read
//! when they are configured, set with `debconf-set-selections` only when
//! `debconf-show` reports another value, as Ansible's module does.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// `debconf-show`'s answers: question → value (`* ` marks those seen).
fn answers(output: &str) -> std::collections::BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches(['*', ' ']);
            let (question, value) = line.split_once(':')?;
            Some((question.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// A value as debconf keeps it for `vtype`.
fn normal(value: &Json, vtype: &str) -> String {
    let text = match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(", "),
        Json::Null => String::new(),
        other => other.to_string(),
    };
    match vtype {
        "boolean" => match text.to_lowercase().as_str() {
            "yes" | "true" | "1" | "on" => "true".to_owned(),
            _ => "false".to_owned(),
        },
        "multiselect" => {
            let mut items: Vec<&str> = text.split(',').map(str::trim).collect();
            items.sort_unstable();
            items.join(", ")
        }
        _ => text,
    }
}

/// An answer as a diff shows it: never a password.
fn shown(text: &str, vtype: &str) -> String {
    if vtype == "password" {
        "********".to_owned()
    } else {
        text.to_owned()
    }
}

/// Whether the answer kept (`before`) is not `value`. debconf never shows
/// a password: one is set every time, as in Ansible.
fn differs(before: Option<&str>, value: &str, vtype: &str) -> bool {
    let comparable = before.map(|before| {
        if vtype == "multiselect" {
            normal(&Json::from(before), "multiselect")
        } else {
            before.to_owned()
        }
    });
    vtype == "password" || comparable.as_deref() != Some(value)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let package = arguments.required("name")?;
    let output = context
        .exec_read_only(&format!(
            "debconf-show {} 2>/dev/null; true",
            quote(&package)
        ))
        .await?;
    let current = answers(&String::from_utf8_lossy(&output.stdout));
    let Some(question) = arguments.string("question")? else {
        let current = current
            .into_iter()
            .map(|(key, value)| (key, Json::from(value)));
        return Ok(ModuleResult::ok().with("current", Json::Object(current.collect())));
    };
    let vtype = arguments
        .string("vtype")?
        .ok_or_else(|| Error::Arguments("`debconf` needs `vtype` with `question`".to_owned()))?;
    let value = normal(arguments.raw("value").unwrap_or(&Json::Null), &vtype);
    let before = current.get(&question).cloned();
    let changed = differs(before.as_deref(), &value, &vtype);
    let unseen = arguments.boolean("unseen", false)?;
    if !changed {
        return Ok(ModuleResult::ok());
    }
    let shown = |text: &str| shown(text, &vtype);
    let before_text = format!(
        "{question}: {}\n",
        shown(before.as_deref().unwrap_or_default())
    );
    let diff = Diff {
        before: before_text,
        after: format!("{question}: {}\n", shown(&value)),
        before_header: package.clone(),
        after_header: package.clone(),
    };
    let result = ModuleResult::changed().with_diff(context.diff, diff);
    if context.check_mode {
        return Ok(result);
    }
    // The selection (which may be a password) goes on standard input.
    let selection = format!("{package} {question} {vtype} {value}\n");
    let command = if unseen {
        "debconf-set-selections -u"
    } else {
        "debconf-set-selections"
    };
    let output = context.exec(command, Some(Bytes::from(selection))).await?;
    Ok(if output.success() {
        result
    } else {
        ModuleResult::failed(format!(
            "debconf-set-selections failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })
}

const DEBCONF: &[A] = &[
    A::new("name", Text).aliases(&["pkg"]).required(),
    A::new("question", Text).aliases(&["selection", "setting"]),
    A::new("vtype", Text).choices(&[
        "boolean",
        "error",
        "multiselect",
        "note",
        "password",
        "seen",
        "select",
        "string",
        "text",
        "title",
    ]),
    A::new("value", Raw).aliases(&["answer"]),
    A::new("unseen", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["debconf"], &[DEBCONF], run)];

#[cfg(test)]
mod tests {
    use super::{answers, normal};
    use serde_json::json;

    #[test]
    fn answers_are_compared_as_debconf_keeps_them() {
        let found = answers("* tzdata/Areas: Europe\n  locales/default_environment_locale: None\n");
        assert_eq!(found["tzdata/Areas"], "Europe");
        assert_eq!(found["locales/default_environment_locale"], "None");
        assert_eq!(normal(&json!("yes"), "boolean"), "true");
        assert_eq!(normal(&json!(true), "boolean"), "true");
        assert_eq!(normal(&json!(["b", "a"]), "multiselect"), "a, b");
        assert_eq!(normal(&json!("b, a"), "multiselect"), "a, b");
    }
}
