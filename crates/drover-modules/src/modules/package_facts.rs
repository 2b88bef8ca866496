//! `package_facts`: the installed packages as `ansible_facts.packages`, a
//! list of versions per name (a package can be installed for several
//! architectures), as Ansible's module gives them, from dpkg, rpm, apk,
//! pacman or FreeBSD's pkg, whichever the host has (or the one `manager` names).

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{List, String as Text},
    ArgumentSpec as A,
};
use serde_json::{Map, Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// A package manager: its name, the program that lists packages, and that command.
struct Lister {
    name: &'static str,
    program: &'static str,
    command: &'static str,
}

/// Tab-separated fields, one package per line; in the order `auto` tries them.
const LISTERS: [Lister; 5] = [
    Lister {
        name: "apt",
        program: "dpkg-query",
        command: "dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\t${Section}\\n' | awk -F'\\t' '$1 ~ /^.i/ {sub(/^[^\\t]*\\t/, \"\"); print}'",
    },
    Lister {
        name: "rpm",
        program: "rpm",
        command: "rpm -qa --qf '%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{EPOCH}\\t%{ARCH}\\n'",
    },
    Lister {
        name: "apk",
        program: "apk",
        command: "apk info -v 2>/dev/null | sed 's/^\\(.*\\)-\\([^-]*-r[0-9]*\\)$/\\1\\t\\2/'",
    },
    Lister {
        name: "pacman",
        program: "pacman",
        command: "pacman -Q | tr ' ' '\\t'",
    },
    Lister {
        name: "pkg",
        program: "pkg",
        command: "pkg query '%n\\t%v\\t%q'",
    },
];

/// One package's entry, as Ansible's module shapes it for `source`.
fn package(source: &str, fields: &[&str]) -> Option<(String, Json)> {
    let name = (*fields.first()?).to_owned();
    let field = |index: usize| fields.get(index).copied().unwrap_or_default();
    let entry = match source {
        "apt" => json!({"name": name, "version": field(1), "arch": field(2),
                        "category": field(3), "source": "apt"}),
        "rpm" => json!({"name": name, "version": field(1), "release": field(2),
                        "epoch": field(3).parse::<u64>().ok(), "arch": field(4),
                        "source": "rpm"}),
        "pkg" => json!({"name": name, "version": field(1), "arch": field(2),
                        "source": "pkg"}),
        other => json!({"name": name, "version": field(1), "source": other}),
    };
    Some((name, entry))
}

fn packages(source: &str, output: &str) -> Map<String, Json> {
    let mut packages = Map::new();
    for line in output.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if let Some((name, entry)) = package(source, &fields)
            && let Some(list) = packages
                .entry(name)
                .or_insert_with(|| json!([]))
                .as_array_mut()
        {
            list.push(entry);
        }
    }
    packages
}

/// One script: for each manager asked for, in turn, the first whose program
/// the host has prints `manager NAME` and its packages.
fn script(managers: &[&Lister]) -> String {
    let mut script = String::new();
    for lister in managers {
        let _ = writeln!(
            script,
            "if command -v {} >/dev/null 2>&1; then echo 'manager {}'; {}; exit 0; fi",
            lister.program, lister.name, lister.command
        );
    }
    script.push_str("echo 'manager none'\n");
    script
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let mut wanted = arguments.list("manager")?;
    if wanted.is_empty() {
        wanted.push("auto".to_owned());
    }
    let managers: Vec<&Lister> = if wanted.iter().any(|name| name == "auto") {
        LISTERS.iter().collect()
    } else {
        let mut chosen = Vec::new();
        for name in &wanted {
            let name = if name == "portage" {
                "emerge"
            } else {
                name.as_str()
            };
            match LISTERS.iter().find(|lister| lister.name == name) {
                Some(lister) => chosen.push(lister),
                None => {
                    return Ok(ModuleResult::failed(format!(
                        "drover's `package_facts` does not know the manager `{name}`; it knows apt, rpm, apk, pacman and pkg"
                    )));
                }
            }
        }
        chosen
    };
    let output = context.exec_read_only(&script(&managers)).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (first, rest) = stdout.split_once('\n').unwrap_or((&stdout, ""));
    let source = first.strip_prefix("manager ").unwrap_or("none");
    if source == "none" {
        return Ok(ModuleResult::failed(format!(
            "none of the package managers asked for ({}) is on this host",
            wanted.join(", ")
        )));
    }
    let packages = packages(source, rest);
    Ok(ModuleResult::ok().with("ansible_facts", json!({ "packages": packages })))
}

const PACKAGE_FACTS: &[A] = &[
    A::new("manager", List),
    A::new("strategy", Text).choices(&["first", "all"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["package_facts"], &[PACKAGE_FACTS], run)];

#[cfg(test)]
mod tests {
    use super::packages;

    #[test]
    fn every_architecture_of_a_package_is_listed_under_its_name() {
        let found = packages(
            "apt",
            "libc6\t2.36-9\tamd64\tlibs\nlibc6\t2.36-9\ti386\tlibs\nnginx\t1.22.1-9\tamd64\thttpd\n",
        );
        assert_eq!(found["libc6"].as_array().map(Vec::len), Some(2));
        assert_eq!(found["nginx"][0]["version"], "1.22.1-9");
        assert_eq!(found["nginx"][0]["source"], "apt");
        let rpm = packages("rpm", "bash\t5.1.8\t6.el9\t(none)\tx86_64\n");
        assert_eq!(rpm["bash"][0]["release"], "6.el9");
        assert!(rpm["bash"][0]["epoch"].is_null());
    }
}
