//! `gem`: Ruby gems installed, upgraded or removed with `gem`, for the
//! system (`user_install: false`) or the login user, as community.general's
//! module does: it asks `gem list` first and runs `gem` only when needed.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// The versions `gem list` printed for the gem (`rake (13.0.6, 12.3.3)`,
/// `bundler (default: 2.3.7)`).
fn versions(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(" (")?;
            rest.strip_suffix(')').map(str::to_owned)
        })
        .flat_map(|list| {
            list.split(", ")
                .filter_map(|version| {
                    version
                        .trim_start_matches("default: ")
                        .split_whitespace()
                        .next()
                        .map(str::to_owned)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `gem` program, with the environment `install_dir` asks for.
fn program(arguments: &Arguments<'_>) -> Result<String, Error> {
    let gem = arguments
        .string("executable")?
        .unwrap_or_else(|| "gem".to_owned());
    Ok(match arguments.string("install_dir")? {
        Some(directory) => format!("GEM_HOME={} {gem}", quote(&directory)),
        None => gem,
    })
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    let mut version = arguments.string("version")?;
    let gem = program(arguments)?;
    let norc = if arguments.boolean("norc", true)? {
        " --norc"
    } else {
        ""
    };
    let pattern = quote(&format!("^{}$", regex_escape(&name)));
    let mut query = format!("{gem} list{norc} --local {pattern}\n");
    if state == "latest" {
        let source = arguments
            .string("repository")?
            .map(|source| format!(" --source {}", quote(&source)))
            .unwrap_or_default();
        let _ = writeln!(
            query,
            "echo '## remote'; {gem} list{norc} --remote{source} {pattern}"
        );
    }
    let output = context.exec_read_only(&query).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "`gem list` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (local, remote) = stdout.split_once("## remote").unwrap_or((&stdout, ""));
    if state == "latest" {
        version = versions(remote).into_iter().next().or(version);
    }
    let installed = versions(local);
    let present = match &version {
        Some(version) => installed.contains(version),
        None => !installed.is_empty(),
    };
    let wanted = state != "absent";
    if present == wanted {
        return Ok(ModuleResult::ok().with("name", name));
    }
    let command = if wanted {
        install_command(arguments, &gem, &name, version.as_deref(), norc)?
    } else {
        uninstall_command(arguments, &gem, &name, version.as_deref(), norc)?
    };
    let what = format!("`gem {}`", if wanted { "install" } else { "uninstall" });
    Ok(change(context, Some(command), &what)
        .await?
        .with("name", name))
}

fn uninstall_command(
    arguments: &Arguments<'_>,
    gem: &str,
    name: &str,
    version: Option<&str>,
    norc: &str,
) -> Result<String, Error> {
    let mut command = format!("{gem} uninstall{norc}");
    if let Some(directory) = arguments.string("install_dir")? {
        let _ = write!(command, " --install-dir {}", quote(&directory));
    }
    match version {
        Some(version) => {
            let _ = write!(command, " --version {}", quote(version));
        }
        None => command.push_str(" --all"),
    }
    command.push_str(" --executable");
    if arguments.boolean("force", false)? {
        command.push_str(" --force");
    }
    Ok(format!("{command} {}", quote(name)))
}

fn install_command(
    arguments: &Arguments<'_>,
    gem: &str,
    name: &str,
    version: Option<&str>,
    norc: &str,
) -> Result<String, Error> {
    let mut command = format!("{gem} install{norc}");
    if let Some(version) = version {
        let _ = write!(command, " --version {}", quote(version));
    }
    if let Some(source) = arguments.string("repository")? {
        let _ = write!(command, " --source {}", quote(&source));
    }
    if !arguments.boolean("include_dependencies", true)? {
        command.push_str(" --ignore-dependencies");
    }
    command.push_str(if arguments.boolean("user_install", true)? {
        " --user-install"
    } else {
        " --no-user-install"
    });
    for (argument, flag) in [("install_dir", "--install-dir"), ("bindir", "--bindir")] {
        if let Some(value) = arguments.string(argument)? {
            let _ = write!(command, " {flag} {}", quote(&value));
        }
    }
    for (argument, flag, default) in [
        ("pre_release", " --pre", false),
        ("env_shebang", " --env-shebang", false),
    ] {
        if arguments.boolean(argument, default)? {
            command.push_str(flag);
        }
    }
    if !arguments.boolean("include_doc", false)? {
        command.push_str(" --no-document");
    }
    let source = arguments
        .string("gem_source")?
        .unwrap_or_else(|| name.to_owned());
    let _ = write!(command, " {}", quote(&source));
    if let Some(flags) = arguments.string("build_flags")? {
        let _ = write!(command, " -- {}", quote(&flags));
    }
    if arguments.boolean("force", false)? {
        command.push_str(" --force");
    }
    Ok(command)
}

/// `name` as a regular expression matching only itself.
fn regex_escape(name: &str) -> String {
    name.chars().fold(String::new(), |mut escaped, character| {
        if ".+*?()[]{}|^$\\".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
        escaped
    })
}

const GEM: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent", "latest"]),
    A::new("version", Text),
    A::new("executable", Text),
    A::new("user_install", Bool),
    A::new("install_dir", Text),
    A::new("bindir", Text),
    A::new("gem_source", Text),
    A::new("repository", Text).aliases(&["source"]),
    A::new("include_dependencies", Bool),
    A::new("pre_release", Bool),
    A::new("include_doc", Bool),
    A::new("env_shebang", Bool),
    A::new("build_flags", Text),
    A::new("force", Bool),
    A::new("norc", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["gem"], &[GEM], run)];

#[cfg(test)]
mod tests {
    use super::versions;

    #[test]
    fn default_and_installed_versions_are_both_read() {
        assert_eq!(versions("bundler (default: 2.3.7)\n"), ["2.3.7"]);
        assert_eq!(versions("rake (13.0.6, 12.3.3)\n"), ["13.0.6", "12.3.3"]);
        assert_eq!(versions("nokogiri (1.15.4 x86_64-linux)\n"), ["1.15.4"]);
        assert!(versions("\n").is_empty());
    }
}
