//! `pip`: Python packages installed, upgraded or removed with pip, in the
//! system's Python or a virtualenv it creates; from names (with version
//! specifiers) or a requirements file. It asks `pip list` first and runs
//! pip only for what differs, as Ansible's module does.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// A requirement: a name and what its version must satisfy (`>=1.2,<2`).
#[derive(Debug, PartialEq, Eq)]
struct Requirement {
    name: String,
    specifiers: Vec<(String, String)>,
    /// As written, for pip's command line.
    text: String,
}

impl Requirement {
    fn parse(text: &str) -> Self {
        let text = text.trim();
        let split = text
            .find(|character: char| "<>=!~ ".contains(character))
            .unwrap_or(text.len());
        let (name, rest) = text.split_at(split);
        let specifiers = rest
            .split(',')
            .filter_map(|specifier| {
                let specifier = specifier.trim();
                let at = specifier.find(|c: char| !"<>=!~".contains(c))?;
                let (operator, version) = specifier.split_at(at);
                (!operator.is_empty()).then(|| (operator.to_owned(), version.trim().to_owned()))
            })
            .collect();
        Self {
            name: name.trim().to_owned(),
            specifiers,
            text: text.to_owned(),
        }
    }

    /// Whether `version` (the one installed) meets every specifier.
    fn satisfied_by(&self, version: &str) -> bool {
        self.specifiers.iter().all(|(operator, wanted)| {
            let order = compare_versions(version, wanted);
            match operator.as_str() {
                "==" | "===" => wanted.strip_suffix(".*").map_or(order.is_eq(), |prefix| {
                    version == prefix || version.starts_with(&format!("{prefix}."))
                }),
                "!=" => !order.is_eq(),
                ">=" => order.is_ge(),
                "<=" => order.is_le(),
                ">" => order.is_gt(),
                "<" => order.is_lt(),
                // `~=2.2` is `>=2.2` and `==2.*`.
                "~=" => {
                    let prefix = wanted
                        .rsplit_once('.')
                        .map_or(wanted.as_str(), |(head, _)| head);
                    order.is_ge() && version.starts_with(prefix)
                }
                _ => true,
            }
        })
    }
}

/// Compares dotted versions number by number (`1.10` after `1.9`).
fn compare_versions(left: &str, right: &str) -> std::cmp::Ordering {
    let parts = |version: &str| -> Vec<(u64, String)> {
        version
            .split(['.', '-', '+'])
            .map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                (digits.parse().unwrap_or(0), part[digits.len()..].to_owned())
            })
            .collect()
    };
    let (left, right) = (parts(left), parts(right));
    for index in 0..left.len().max(right.len()) {
        let default = (0, String::new());
        let order = left
            .get(index)
            .unwrap_or(&default)
            .cmp(right.get(index).unwrap_or(&default));
        if order.is_ne() {
            return order;
        }
    }
    std::cmp::Ordering::Equal
}

/// A name as PEP 503 compares them: lower case, runs of `-_.` as one `-`.
fn canonical(name: &str) -> String {
    let mut canonical = String::new();
    for character in name.to_lowercase().chars() {
        if "-_.".contains(character) {
            if !canonical.ends_with('-') {
                canonical.push('-');
            }
        } else {
            canonical.push(character);
        }
    }
    canonical
}

/// `pip list --format=freeze` as `canonical name → version`.
fn installed(output: &str) -> std::collections::HashMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once("=="))
        .map(|(name, version)| (canonical(name), version.trim().to_owned()))
        .collect()
}

/// The pip program, and the script that makes the virtualenv first.
struct Setup {
    pip: String,
    prepare: String,
}

fn setup(arguments: &Arguments<'_>) -> Result<Setup, Error> {
    let executable = arguments.string("executable")?;
    let Some(environment) = arguments.string("virtualenv")? else {
        let pip = executable.map_or_else(|| "python3 -m pip".to_owned(), |program| quote(&program));
        return Ok(Setup {
            pip,
            prepare: String::new(),
        });
    };
    let directory = quote(&environment);
    let mut create = arguments
        .string("virtualenv_command")?
        .unwrap_or_else(|| "virtualenv".to_owned());
    if let Some(python) = arguments.string("virtualenv_python")? {
        if create.contains("venv") && !create.contains("virtualenv") {
            create = format!("{} -m venv", quote(&python));
        } else {
            let _ = write!(create, " -p {}", quote(&python));
        }
    }
    if arguments.boolean("virtualenv_site_packages", false)? {
        create.push_str(" --system-site-packages");
    }
    Ok(Setup {
        pip: format!("{directory}/bin/pip"),
        prepare: format!(
            "if [ ! -f {directory}/bin/activate ]; then {create} {directory} >/dev/null || exit 3; echo created; fi\n"
        ),
    })
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let mut names = arguments.list("name")?;
    let requirements = arguments.string("requirements")?;
    if names.is_empty() && requirements.is_none() {
        return Err(Error::Arguments(
            "`pip` needs `name` or `requirements`".to_owned(),
        ));
    }
    if let Some(version) = arguments.string("version")? {
        if names.len() != 1 {
            return Err(Error::Arguments(
                "`version` can be given with one `name` only".to_owned(),
            ));
        }
        names[0] = format!("{}=={version}", names[0]);
    }
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    let setup = setup(arguments)?;
    let mut options = String::new();
    if arguments.boolean("break_system_packages", false)? {
        options.push_str(" --break-system-packages");
    }
    if let Some(extra) = arguments.string("extra_args")? {
        for word in shlex::split(&extra).unwrap_or_default() {
            options.push(' ');
            options.push_str(&quote(&word));
        }
    }
    let chdir = match arguments.string("chdir")? {
        Some(directory) => format!("cd {} || exit 4\n", quote(&directory)),
        None => String::new(),
    };
    let umask = match arguments.string("umask")? {
        Some(mask) => format!("umask {}\n", quote(&mask)),
        None => String::new(),
    };
    let plan = Plan {
        setup,
        prefix: format!("{umask}{chdir}"),
        options,
        editable: arguments.boolean("editable", false)?,
    };
    plan.run(&state, &names, requirements.as_deref(), context)
        .await
}

/// How pip is to be run for this task.
struct Plan {
    setup: Setup,
    /// `umask` and `cd`, before anything else.
    prefix: String,
    /// `--break-system-packages` and `extra_args`, quoted.
    options: String,
    editable: bool,
}

impl Plan {
    async fn run(
        &self,
        state: &str,
        names: &[String],
        requirements: Option<&str>,
        context: &ModuleContext<'_>,
    ) -> Result<ModuleResult, Error> {
        let pip = &self.setup.pip;
        let list = format!("{pip} list --format=freeze --disable-pip-version-check 2>/dev/null");
        let query = format!(
            "{}{}{list}\n",
            self.prefix,
            if context.check_mode {
                ""
            } else {
                &self.setup.prepare
            }
        );
        let output = context.exec(&query, None).await?;
        if output.exit_status == Some(3) {
            return Ok(ModuleResult::failed(format!(
                "the virtualenv could not be made: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let created = stdout.lines().any(|line| line == "created");
        let before = installed(&stdout);
        let requirements_list: Vec<Requirement> =
            names.iter().map(|name| Requirement::parse(name)).collect();
        let missing: Vec<&Requirement> = requirements_list
            .iter()
            .filter(|requirement| {
                let found = before.get(&canonical(&requirement.name));
                match state {
                    "absent" => found.is_some(),
                    _ => !found.is_some_and(|version| requirement.satisfied_by(version)),
                }
            })
            .collect();
        // `latest`, `forcereinstall` and requirements files can only be
        // judged by running pip and comparing what it left.
        let always = matches!(state, "latest" | "forcereinstall") || requirements.is_some();
        if missing.is_empty() && !always {
            return Ok(finish(created, Some(false), names));
        }
        if context.check_mode {
            return Ok(finish(true, None, names));
        }
        let command = self.command(state, &missing, names, requirements);
        let output = context
            .exec(&format!("{}{command} && {list}", self.prefix), None)
            .await?;
        if !output.success() {
            return Ok(ModuleResult::failed(format!(
                "`{command}` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
            .with("cmd", command));
        }
        let after = installed(&String::from_utf8_lossy(&output.stdout));
        Ok(finish(created, Some(after != before), names).with("cmd", command))
    }

    /// The pip command line that brings the packages to `state`.
    fn command(
        &self,
        state: &str,
        missing: &[&Requirement],
        names: &[String],
        requirements: Option<&str>,
    ) -> String {
        let pip = &self.setup.pip;
        let mut command = match state {
            "absent" => format!("{pip} uninstall -y"),
            "latest" => format!("{pip} install -U"),
            "forcereinstall" => format!("{pip} install -U --force-reinstall"),
            _ => format!("{pip} install"),
        };
        command.push_str(" --disable-pip-version-check");
        command.push_str(&self.options);
        if let Some(file) = requirements {
            let _ = write!(command, " -r {}", quote(file));
        }
        let targets: Vec<&str> = if state == "present" {
            missing
                .iter()
                .map(|requirement| requirement.text.as_str())
                .collect()
        } else if state == "absent" {
            missing
                .iter()
                .map(|requirement| requirement.name.as_str())
                .collect()
        } else {
            names.iter().map(String::as_str).collect()
        };
        for target in targets {
            if self.editable && state != "absent" {
                command.push_str(" -e");
            }
            command.push(' ');
            command.push_str(&quote(target));
        }
        command
    }
}

fn finish(created: bool, changed: Option<bool>, names: &[String]) -> ModuleResult {
    let changed = created || changed.unwrap_or(true);
    let result = if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    result.with("name", names.to_vec())
}

const PIP: &[A] = &[
    A::new("name", List),
    A::new("version", Text),
    A::new("requirements", Text),
    A::new("virtualenv", Text).aliases(&["virtualenv_path"]),
    A::new("virtualenv_command", Text),
    A::new("virtualenv_python", Text),
    A::new("virtualenv_site_packages", Bool),
    A::new("state", Text).choices(&["present", "absent", "latest", "forcereinstall"]),
    A::new("extra_args", Text),
    A::new("editable", Bool),
    A::new("chdir", Text),
    A::new("executable", Text),
    A::new("umask", Text),
    A::new("break_system_packages", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["pip"], &[PIP], run)];

#[cfg(test)]
mod tests {
    use super::{Requirement, canonical, compare_versions, installed};

    #[test]
    fn requirements_are_read_and_judged_as_pip_judges_them() {
        let requirement = Requirement::parse("Django>=3.2,<4");
        assert_eq!(requirement.name, "Django");
        assert!(requirement.satisfied_by("3.2.19"));
        assert!(!requirement.satisfied_by("4.0"));
        assert!(!requirement.satisfied_by("3.1"));
        assert!(Requirement::parse("requests==2.*").satisfied_by("2.31.0"));
        assert!(Requirement::parse("six").satisfied_by("1.16.0"));
        assert!(Requirement::parse("pkg~=2.2").satisfied_by("2.9"));
        assert!(!Requirement::parse("pkg~=2.2").satisfied_by("3.0"));
        assert!(compare_versions("1.10", "1.9").is_gt());
        assert_eq!(canonical("Zope.Interface_x"), "zope-interface-x");
        let found = installed("Django==3.2.19\nzope.interface==5.5\n");
        assert_eq!(found["zope-interface"], "5.5");
    }
}
