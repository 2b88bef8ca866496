//! `sysctl`: a kernel parameter in a sysctl file, and (by default) applied
//! to the running kernel.

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

/// The file's new content with `name` set to `value` (or removed when
/// `value` is `None`); every earlier setting of `name` is replaced by one line.
pub(crate) fn update(content: &str, name: &str, value: Option<&str>) -> String {
    let mut lines = Vec::new();
    let mut placed = false;
    for line in content.lines() {
        let key = line
            .split_once('=')
            .map(|(key, _)| key.trim())
            .filter(|_| !line.trim_start().starts_with(['#', ';']));
        if key == Some(name) {
            if let (Some(value), false) = (value, placed) {
                lines.push(format!("{name}={value}"));
                placed = true;
            }
            continue;
        }
        lines.push(line.to_owned());
    }
    if let (Some(value), false) = (value, placed) {
        lines.push(format!("{name}={value}"));
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let present = arguments.present()?;
    let value = arguments.string("value")?;
    if present && value.is_none() {
        return Err(Error::Arguments(
            "`sysctl` needs `value` when `state` is present".to_owned(),
        ));
    }
    let value = value.map(|value| normalise(&value));
    let file = arguments
        .string("sysctl_file")?
        .unwrap_or_else(|| "/etc/sysctl.conf".to_owned());
    let reload = arguments.boolean("reload", true)?;
    let set_now = arguments.boolean("sysctl_set", false)?;
    let (state, content) = path_state_and_content(context, &file, true).await?;
    let old = content.unwrap_or_default();
    let new = update(&old, &name, if present { value.as_deref() } else { None });
    let file_changed = new != old;
    let runtime = context
        .exec(&format!("sysctl -n {} 2>/dev/null", quote(&name)), None)
        .await?;
    let runtime = normalise(&String::from_utf8_lossy(&runtime.stdout));
    let runtime_differs = present && value.as_deref().is_some_and(|value| value != runtime);
    let apply_now = present && runtime_differs && (set_now || (reload && file_changed));
    let changed = file_changed || (set_now && runtime_differs);
    let result = if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    }
    .with_diff(
        context.diff && file_changed,
        Diff::of_file(&file, old, new.clone()),
    );
    if context.check_mode {
        return Ok(result);
    }
    if file_changed {
        let attributes = Attributes::default();
        write_file(context, &file, Bytes::from(new), &attributes, &state, false).await?;
    }
    if apply_now && let Some(value) = &value {
        let output = context
            .exec(
                &format!("sysctl -q -w {}", quote(&format!("{name}={value}"))),
                None,
            )
            .await?;
        if !output.success() && !arguments.boolean("ignoreerrors", false)? {
            return Ok(ModuleResult::failed(format!(
                "setting {name} to {value} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    Ok(result)
}

/// sysctl prints tabs between the words of a multi-word value; compare words.
fn normalise(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

const SYSCTL: &[A] = &[
    A::new("name", Text).aliases(&["key"]).required(),
    A::new("value", Text).aliases(&["val"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("sysctl_file", Text),
    A::new("reload", Bool),
    A::new("sysctl_set", Bool),
    A::new("ignoreerrors", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["sysctl"], &[SYSCTL], run)];

#[cfg(test)]
mod tests {
    use super::update;

    #[test]
    fn one_line_per_key_replacing_earlier_ones() {
        let file = "# comment\nvm.swappiness=60\nnet.core.somaxconn = 128\nvm.swappiness = 30\n";
        assert_eq!(
            update(file, "vm.swappiness", Some("10")),
            "# comment\nvm.swappiness=10\nnet.core.somaxconn = 128\n"
        );
        assert_eq!(
            update(file, "vm.swappiness", None),
            "# comment\nnet.core.somaxconn = 128\n"
        );
        assert_eq!(update("", "a.b", Some("1")), "a.b=1\n");
        assert_eq!(update("#a.b=2\n", "a.b", Some("1")), "#a.b=2\na.b=1\n");
    }
}
