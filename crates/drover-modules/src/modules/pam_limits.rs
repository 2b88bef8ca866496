//! `pam_limits` (community.general): one limit in `limits.conf`, set line
//! by line as Ansible's module sets it (tabs between the fields, the
//! comment carried along as it carries it), so both leave the same bytes.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

const ITEMS: [&str; 19] = [
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "chroot",
];

/// What the task asks for.
struct Limit {
    domain: String,
    kind: String,
    item: String,
    value: String,
    use_max: bool,
    use_min: bool,
    comment: String,
}

impl Limit {
    /// The limit's line, its fields separated by tabs.
    fn line(&self, value: &str, comment: &str) -> String {
        let comment = if comment.is_empty() {
            String::new()
        } else {
            format!("\t#{comment}")
        };
        format!(
            "{}\t{}\t{}\t{value}{comment}\n",
            self.domain, self.kind, self.item
        )
    }
}

/// Why `value` cannot be `item`'s limit, as Ansible words it.
fn invalid(item: &str, value: &str) -> Option<String> {
    if matches!(item, "nice" | "priority") {
        let valid = value
            .parse::<i64>()
            .is_ok_and(|number| (-20..=19).contains(&number));
        return (!valid).then(|| format!("Value of '{value}' for item '{item}' is invalid. Value must be a number in the range -20 to 19 inclusive."));
    }
    let valid = matches!(value, "unlimited" | "infinity" | "-1")
        || (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()));
    (!valid).then(|| format!("Value of '{value}' for item '{item}' is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger."))
}

/// The value to write over `actual`, under `use_max` or `use_min`.
fn chosen(limit: &Limit, actual: &str) -> String {
    let unlimited = |value: &str| matches!(value, "unlimited" | "infinity" | "-1");
    let (actual_unlimited, wanted_unlimited) = if matches!(limit.kind.as_str(), "nice" | "priority")
    {
        (false, false)
    } else {
        (unlimited(actual), unlimited(&limit.value))
    };
    let number = |value: &str| value.parse::<i64>().unwrap_or(0);
    if limit.use_max {
        return match (actual_unlimited, wanted_unlimited) {
            (true, _) => actual.to_owned(),
            (false, true) => limit.value.clone(),
            _ => number(&limit.value).max(number(actual)).to_string(),
        };
    }
    if limit.use_min {
        return match (actual_unlimited, wanted_unlimited) {
            (true | false, true) => actual.to_owned(),
            (true, false) => limit.value.clone(),
            _ => number(&limit.value).min(number(actual)).to_string(),
        };
    }
    limit.value.clone()
}

/// The file edited as Ansible's module edits it; its text, whether it
/// changed, and the limit's line.
fn edit(content: &str, limit: &Limit) -> Result<(String, bool, String), String> {
    let (mut written, mut changed, mut found, mut message) =
        (String::new(), false, false, String::new());
    let mut comment = limit.comment.clone();
    for line in content.split_inclusive('\n') {
        let squeezed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.starts_with('#') || squeezed.is_empty() {
            written.push_str(line);
            continue;
        }
        let fields_text = squeezed
            .split('#')
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_owned();
        if comment.is_empty() {
            // Ansible's module takes up a line's comment (and keeps it for
            // the lines after), newline and all.
            comment = line
                .split_once('#')
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default();
        }
        let fields: Vec<&str> = fields_text.split(' ').collect();
        let [domain, kind, item, actual] = fields[..] else {
            written.push_str(line);
            continue;
        };
        if let Some(problem) = invalid(item, actual) {
            return Err(format!("Invalid configuration found. {problem}"));
        }
        if (domain, kind, item)
            != (
                limit.domain.as_str(),
                limit.kind.as_str(),
                limit.item.as_str(),
            )
        {
            written.push_str(line);
            continue;
        }
        found = true;
        let value = if limit.value == actual {
            actual.to_owned()
        } else {
            chosen(limit, actual)
        };
        if value == actual {
            message = line.to_owned();
            written.push_str(line);
        } else {
            changed = true;
            message = limit.line(&value, &comment);
            written.push_str(&message);
        }
    }
    if !found {
        changed = true;
        message = limit.line(&limit.value, &comment);
        written.push_str(&message);
    }
    Ok((written, changed, message))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let limit = Limit {
        domain: arguments.required("domain")?,
        kind: arguments.required("limit_type")?,
        item: arguments.required("limit_item")?,
        value: arguments.required("value")?,
        use_max: arguments.boolean("use_max", false)?,
        use_min: arguments.boolean("use_min", false)?,
        comment: arguments.string("comment")?.unwrap_or_default(),
    };
    if limit.use_max && limit.use_min {
        return Ok(ModuleResult::failed(
            "Cannot use use_min and use_max at the same time.",
        ));
    }
    if let Some(problem) = invalid(&limit.item, &limit.value) {
        return Ok(ModuleResult::failed(problem));
    }
    let path = arguments
        .string("dest")?
        .unwrap_or_else(|| "/etc/security/limits.conf".to_owned());
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    let original = existing.clone().unwrap_or_default();
    let (content, changed, message) = match edit(&original, &limit) {
        Ok(edited) => edited,
        Err(problem) => return Ok(ModuleResult::failed(problem)),
    };
    let mut result = ModuleResult::ok()
        .message(message.clone())
        .with("msg", json!(message));
    if !changed && existing.is_some() {
        return Ok(result);
    }
    result.changed = true;
    result = result.with_diff(
        context.diff,
        Diff::of_file(&path, original, content.clone()),
    );
    if !context.check_mode {
        let backup = arguments.boolean("backup", false)?;
        write_file(
            context,
            &path,
            Bytes::from(content),
            &Attributes::default(),
            &state,
            backup,
        )
        .await?;
    }
    Ok(result)
}

const PAM_LIMITS: &[A] = &[
    A::new("domain", Text).required(),
    A::new("limit_type", Text)
        .choices(&["soft", "hard", "-"])
        .required(),
    A::new("limit_item", Text).choices(&ITEMS).required(),
    A::new("value", Text).required(),
    A::new("use_max", Bool),
    A::new("use_min", Bool),
    A::new("backup", Bool),
    A::new("dest", Text),
    A::new("comment", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["pam_limits"], &[PAM_LIMITS], run)];

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(value: &str, use_max: bool) -> Limit {
        Limit {
            domain: "joe".to_owned(),
            kind: "soft".to_owned(),
            item: "nofile".to_owned(),
            value: value.to_owned(),
            use_max,
            use_min: false,
            comment: String::new(),
        }
    }

    #[test]
    fn limits_are_set_as_ansible_sets_them() {
        let text = "# limits\njoe soft nofile 1024\n";
        let (edited, changed, _) = edit(text, &limit("2048", false)).unwrap();
        assert!(changed);
        assert_eq!(edited, "# limits\njoe\tsoft\tnofile\t2048\n");
        let (kept, changed, _) = edit(&edited, &limit("1000", true)).unwrap();
        assert!(!changed && kept == edited);
        let (added, _, _) = edit("", &limit("10", false)).unwrap();
        assert_eq!(added, "joe\tsoft\tnofile\t10\n");
        assert!(invalid("nice", "30").is_some() && invalid("nofile", "lots").is_some());
    }
}
