//! `zypper_repository`: a zypper repository present (with its URL, name,
//! priority and checks) or absent, with `zypper addrepo` and `removerepo`,
//! as community.general's module does: the repository's file in
//! `/etc/zypp/repos.d` is read first, and the repository made again only
//! when it differs. (No SUSE host runs here: the commands are covered by
//! unit tests, and a host without zypper fails the task saying so.)

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// The settings a repository file holds, as zypper writes them.
fn wanted_settings(arguments: &Arguments<'_>, url: &str) -> Result<Vec<(String, String)>, Error> {
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    let mut settings = vec![
        ("baseurl".to_owned(), url.to_owned()),
        (
            "enabled".to_owned(),
            flag(arguments.boolean("enabled", true)?),
        ),
        (
            "autorefresh".to_owned(),
            flag(arguments.boolean("autorefresh", true)?),
        ),
        (
            "gpgcheck".to_owned(),
            flag(!arguments.boolean("disable_gpg_check", false)?),
        ),
    ];
    if let Some(priority) = arguments.unsigned("priority")? {
        settings.push(("priority".to_owned(), priority.to_string()));
    }
    if let Some(description) = arguments.string("description")? {
        settings.push(("name".to_owned(), description));
    }
    Ok(settings)
}

/// The `zypper addrepo` command for the settings.
fn add_command(alias: &str, settings: &[(String, String)]) -> String {
    let value = |key: &str| {
        settings
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    let mut command = "zypper --non-interactive addrepo".to_owned();
    command.push_str(if value("gpgcheck") == Some("1") {
        " --gpgcheck"
    } else {
        " --no-gpgcheck"
    });
    if value("autorefresh") == Some("1") {
        command.push_str(" --refresh");
    }
    if value("enabled") == Some("0") {
        command.push_str(" --disable");
    }
    if let Some(priority) = value("priority") {
        let _ = write!(command, " --priority {priority}");
    }
    if let Some(name) = value("name") {
        let _ = write!(command, " --name {}", quote(name));
    }
    let _ = write!(
        command,
        " {} {}",
        quote(value("baseurl").unwrap_or_default()),
        quote(alias)
    );
    command
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let alias = arguments.required("name")?;
    let present = arguments.present()?;
    let file = format!("/etc/zypp/repos.d/{alias}.repo");
    let output = context
        .exec_read_only(&format!(
            "command -v zypper >/dev/null || {{ echo 'this host has no zypper' >&2; exit 127; }}; cat {} 2>/dev/null; true",
            quote(&file)
        ))
        .await?;
    if !output.success() {
        return Ok(ModuleResult::failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let current = String::from_utf8_lossy(&output.stdout).into_owned();
    let exists = !current.trim().is_empty();
    let remove = format!("zypper --non-interactive removerepo {}", quote(&alias));
    let commands = if present {
        let url = arguments.string("repo")?.ok_or_else(|| {
            Error::Arguments("`zypper_repository` needs `repo` to add a repository".to_owned())
        })?;
        let settings = wanted_settings(arguments, &url)?;
        let same = settings.iter().all(|(key, value)| {
            current
                .lines()
                .any(|line| line.trim() == format!("{key}={value}"))
        });
        match (exists, same) {
            (true, true) => Vec::new(),
            (true, false) => vec![remove, add_command(&alias, &settings)],
            (false, _) => vec![add_command(&alias, &settings)],
        }
    } else if exists {
        vec![remove]
    } else {
        Vec::new()
    };
    let refresh = present && arguments.boolean("runrefresh", false)?;
    let script = (!commands.is_empty()).then(|| {
        let mut script = commands.join(" && ");
        if refresh {
            let _ = write!(
                script,
                " && zypper --non-interactive refresh {}",
                quote(&alias)
            );
        }
        script
    });
    change(context, script, "zypper").await
}

const ZYPPER_REPOSITORY: &[A] = &[
    A::new("name", Text).required(),
    A::new("repo", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("description", Text),
    A::new("disable_gpg_check", Bool),
    A::new("autorefresh", Bool).aliases(&["refresh"]),
    A::new("priority", Integer),
    A::new("overwrite_multiple", Bool),
    A::new("auto_import_keys", Bool),
    A::new("runrefresh", Bool),
    A::new("enabled", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["zypper_repository"], &[ZYPPER_REPOSITORY], run)];

#[cfg(test)]
mod tests {
    use super::add_command;

    #[test]
    fn repositories_are_added_with_their_checks_and_priority() {
        let settings = vec![
            (
                "baseurl".to_owned(),
                "https://nginx.org/packages/sles/15".to_owned(),
            ),
            ("enabled".to_owned(), "1".to_owned()),
            ("autorefresh".to_owned(), "1".to_owned()),
            ("gpgcheck".to_owned(), "0".to_owned()),
            ("priority".to_owned(), "90".to_owned()),
        ];
        assert_eq!(
            add_command("nginx", &settings),
            "zypper --non-interactive addrepo --no-gpgcheck --refresh --priority 90 https://nginx.org/packages/sles/15 nginx"
        );
    }
}
