//! `npm`: Node.js packages installed, upgraded or removed with npm, in a
//! project directory (`path`) or globally, as community.general's module
//! does: `npm list` first, and npm runs only for what differs. Without a
//! name, the project's own `package.json` dependencies are installed.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// What `npm list --json` says of `name`: installed (with its version) or
/// missing; and whether any dependency at all is missing.
fn listed(output: &str, name: Option<&str>) -> (Option<String>, bool) {
    let json: Json = serde_json::from_str(output).unwrap_or(Json::Null);
    let dependencies = json["dependencies"].as_object();
    let any_missing = dependencies.is_some_and(|dependencies| {
        dependencies
            .values()
            .any(|dependency| dependency["missing"].as_bool() == Some(true))
    });
    let version = name.and_then(|name| {
        let dependency = dependencies?.get(name)?;
        if dependency["missing"].as_bool() == Some(true)
            || dependency["invalid"].as_bool() == Some(true)
        {
            return None;
        }
        dependency["version"].as_str().map(str::to_owned)
    });
    (version, any_missing)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.string("name")?;
    let path = arguments.string("path")?;
    let global = arguments.boolean("global", false)?;
    if !global && path.is_none() {
        return Err(Error::Arguments(
            "`npm` needs `path` unless `global` is true".to_owned(),
        ));
    }
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    let version = arguments.string("version")?;
    let npm = arguments
        .string("executable")?
        .unwrap_or_else(|| "npm".to_owned());
    let options = options(arguments)?;
    let directory = path
        .as_ref()
        .map(|path| format!("mkdir -p {0} && cd {0} && ", quote(path)))
        .unwrap_or_default();
    let found = ask(
        context,
        &format!("{directory}{npm}"),
        &options,
        name.as_deref(),
        state == "latest",
    )
    .await?;
    let Found {
        installed,
        any_missing,
        outdated,
    } = found;
    let ci = arguments.boolean("ci", false)?;
    let verb = match (state.as_str(), &name) {
        ("absent", Some(_)) if installed.is_some() => Some("uninstall"),
        ("absent", _) => None,
        (_, None) if any_missing => Some(if ci { "ci" } else { "install" }),
        (_, None) => None,
        ("latest", Some(_)) if installed.is_none() || outdated => Some("install"),
        (_, Some(_)) if installed.is_none() => Some("install"),
        (_, Some(_)) => match (&version, &installed) {
            (Some(version), Some(installed)) if version != installed => Some("install"),
            _ => None,
        },
    };
    let script = verb.map(|verb| {
        let package = match (&name, &version, state.as_str()) {
            (Some(name), _, "latest") => quote(&format!("{name}@latest")),
            (Some(name), Some(version), _) if verb == "install" => {
                quote(&format!("{name}@{version}"))
            }
            (Some(name), _, _) => quote(name),
            (None, _, _) => String::new(),
        };
        format!("{directory}{npm} {verb}{options} {package}")
    });
    change(context, script, &format!("`{npm}`")).await
}

/// What `npm list` (and, for `latest`, `npm outdated`) said of the package.
struct Found {
    installed: Option<String>,
    any_missing: bool,
    outdated: bool,
}

/// Asks npm (`npm`: the program, after the `cd` into the project).
async fn ask(
    context: &ModuleContext<'_>,
    npm: &str,
    options: &str,
    name: Option<&str>,
    latest: bool,
) -> Result<Found, Error> {
    let target = name.map(quote).unwrap_or_default();
    let mut query = format!("{npm} list --json --long{options} {target} 2>/dev/null\n");
    if latest {
        let outdated = npm.rsplit_once("&& ").map_or(npm, |(_, program)| program);
        let _ = writeln!(
            query,
            "echo '## outdated'; {outdated} outdated --json{options} {target} 2>/dev/null"
        );
    }
    let output = context.exec(&format!("{query}true"), None).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (list, outdated) = stdout.split_once("## outdated").unwrap_or((&stdout, ""));
    let (installed, any_missing) = listed(list, name);
    let outdated = name.is_some_and(|name| {
        serde_json::from_str::<Json>(outdated)
            .ok()
            .is_some_and(|json| json.get(name).is_some())
    });
    Ok(Found {
        installed,
        any_missing,
        outdated,
    })
}

/// npm's options from the task's flags, each with a leading space.
fn options(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut options = String::new();
    for (argument, flag) in [
        ("global", " --global"),
        ("production", " --production"),
        ("ignore_scripts", " --ignore-scripts"),
        ("unsafe_perm", " --unsafe-perm"),
        ("no_optional", " --no-optional"),
        ("no_bin_links", " --no-bin-links"),
        ("force", " --force"),
    ] {
        if arguments.boolean(argument, false)? {
            options.push_str(flag);
        }
    }
    if let Some(registry) = arguments.string("registry")? {
        let _ = write!(options, " --registry {}", quote(&registry));
    }
    Ok(options)
}

const NPM: &[A] = &[
    A::new("name", Text),
    A::new("path", Text),
    A::new("version", Text),
    A::new("global", Bool),
    A::new("executable", Text),
    A::new("registry", Text),
    A::new("production", Bool),
    A::new("ignore_scripts", Bool),
    A::new("unsafe_perm", Bool),
    A::new("ci", Bool),
    A::new("state", Text).choices(&["present", "absent", "latest"]),
    A::new("no_optional", Bool),
    A::new("no_bin_links", Bool),
    A::new("force", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["npm"], &[NPM], run)];

#[cfg(test)]
mod tests {
    use super::listed;

    #[test]
    fn installed_and_missing_packages_are_told_apart() {
        let output =
            r#"{"dependencies": {"left-pad": {"version": "1.3.0"}, "express": {"missing": true}}}"#;
        assert_eq!(
            listed(output, Some("left-pad")),
            (Some("1.3.0".to_owned()), true)
        );
        assert_eq!(listed(output, Some("express")), (None, true));
        assert_eq!(listed("{}", Some("x")), (None, false));
    }
}
