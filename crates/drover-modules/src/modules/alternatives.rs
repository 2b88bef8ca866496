//! `alternatives`: a Debian alternative (or `RedHat`'s `alternatives`)
//! registered, selected, returned to automatic mode, or removed, with
//! `update-alternatives` as community.general's module does: `--query`
//! first, then only the commands that change something.

use drover_playbook::catalog::{
    ArgumentKind::{Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// What `update-alternatives --query` reported.
#[derive(Debug, Default, PartialEq, Eq)]
struct Alternative {
    link: Option<String>,
    automatic: bool,
    value: Option<String>,
    /// Each registered path with its priority.
    paths: Vec<(String, i64)>,
}

fn parse(output: &str) -> Alternative {
    let mut found = Alternative::default();
    for line in output.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let value = value.trim().to_owned();
        match key {
            "Link" => found.link = Some(value),
            "Status" => found.automatic = value == "auto",
            "Value" => found.value = Some(value).filter(|value| value != "none"),
            "Alternative" => found.paths.push((value, 0)),
            "Priority" => {
                if let Some(last) = found.paths.last_mut() {
                    last.1 = value.parse().unwrap_or(0);
                }
            }
            _ => {}
        }
    }
    found
}

/// Sets `$a` to Debian's `update-alternatives` or `RedHat`'s `alternatives`.
const PROGRAM: &str =
    "command -v update-alternatives >/dev/null 2>&1 && a=update-alternatives || a=alternatives";

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let path = arguments.string("path")?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "selected".to_owned());
    let priority = arguments.unsigned("priority")?.unwrap_or(50);
    let output = context
        .exec_read_only(&format!(
            "{PROGRAM}; $a --query {} 2>/dev/null; true",
            quote(&name)
        ))
        .await?;
    let current = parse(&String::from_utf8_lossy(&output.stdout));
    let registered = path
        .as_ref()
        .is_some_and(|path| current.paths.iter().any(|(known, _)| known == path));
    let mut commands = Vec::new();
    if state == "absent" {
        if let (Some(path), true) = (&path, registered) {
            commands.push(format!("$a --remove {} {}", quote(&name), quote(path)));
        }
    } else {
        if let (Some(path), false) = (&path, registered) {
            let Some(link) = arguments.string("link")?.or(current.link.clone()) else {
                return Ok(ModuleResult::failed(format!(
                    "the alternative {name} does not exist yet: `link` is needed to make it"
                )));
            };
            commands.push(format!(
                "$a --install {} {} {} {priority}",
                quote(&link),
                quote(&name),
                quote(path)
            ));
        }
        match state.as_str() {
            "selected" => {
                let path = path.clone().ok_or_else(|| {
                    Error::Arguments("`alternatives` needs `path` to select it".to_owned())
                })?;
                if current.value.as_deref() != Some(path.as_str()) || current.automatic {
                    commands.push(format!("$a --set {} {}", quote(&name), quote(&path)));
                }
            }
            "auto" if !current.automatic || current.paths.is_empty() => {
                commands.push(format!("$a --auto {}", quote(&name)));
            }
            _ => {}
        }
    }
    let script = (!commands.is_empty()).then(|| format!("{PROGRAM}; {}", commands.join(" && ")));
    change(context, script, "update-alternatives").await
}

const ALTERNATIVES: &[A] = &[
    A::new("name", Text).required(),
    A::new("path", Text),
    A::new("link", Text),
    A::new("priority", Integer),
    A::new("state", Text).choices(&["present", "selected", "auto", "absent"]),
    A::new("family", Text),
    A::new("subcommands", drover_playbook::catalog::ArgumentKind::List).aliases(&["slaves"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["alternatives"], &[ALTERNATIVES], run)];

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_query_is_read_with_each_path_and_priority() {
        let found = parse(
            "Name: editor\nLink: /usr/bin/editor\nStatus: manual\nBest: /bin/nano\nValue: /usr/bin/vim.tiny\n\n\
             Alternative: /bin/nano\nPriority: 40\n\nAlternative: /usr/bin/vim.tiny\nPriority: 15\n",
        );
        assert_eq!(found.link.as_deref(), Some("/usr/bin/editor"));
        assert!(!found.automatic);
        assert_eq!(found.value.as_deref(), Some("/usr/bin/vim.tiny"));
        assert_eq!(
            found.paths,
            [
                ("/bin/nano".to_owned(), 40),
                ("/usr/bin/vim.tiny".to_owned(), 15)
            ]
        );
    }
}
