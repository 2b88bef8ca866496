//! `locale_gen`: locales generated (or removed) with `locale-gen`, by
//! uncommenting (or commenting) their lines in `/etc/locale.gen`, as
//! Ansible's module does on Debian.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// How `locale -a` may spell an encoding, and how the names given spell it.
const NORMALISED: [(&str, &str); 8] = [
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
];

fn normalise(name: &str) -> String {
    NORMALISED
        .iter()
        .fold(name.to_owned(), |name, (from, to)| name.replace(from, to))
}

/// Prints `no-locale-gen` without `/etc/locale.gen`, `unknown NAME` for a
/// locale neither file lists, then the generated locales.
fn query_script(names: &[String]) -> String {
    let mut script = String::from("[ -f /etc/locale.gen ] || echo no-locale-gen\n");
    for name in names {
        let pattern = quote(&format!("^[[:space:]]*#\\?[[:space:]]*{} ", escape(name)));
        let _ = writeln!(
            script,
            "grep -q {pattern} /etc/locale.gen /usr/share/i18n/SUPPORTED 2>/dev/null || echo {}",
            quote(&format!("unknown {name}"))
        );
    }
    script.push_str("echo '## generated'; locale -a 2>/dev/null\n");
    script
}

/// `name` as a basic regular expression matching only itself.
fn escape(name: &str) -> String {
    name.chars().fold(String::new(), |mut escaped, character| {
        if matches!(character, '.' | '[' | ']' | '*' | '^' | '$' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
        escaped
    })
}

/// Comments or uncomments each locale's line in `/etc/locale.gen`, then
/// generates what the file lists.
fn change_script(names: &[String], present: bool) -> String {
    let mut script = String::new();
    for name in names {
        let name_pattern = escape(name);
        let comment = if present { "" } else { "# " };
        let expression = format!("s/^#\\?[[:space:]]*{name_pattern} \\(.*\\)/{comment}{name} \\1/");
        let _ = writeln!(script, "sed -i {} /etc/locale.gen &&", quote(&expression));
    }
    script.push_str("locale-gen >/dev/null");
    script
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let names = arguments.list("name")?;
    let present = arguments.present()?;
    let output = context.exec_read_only(&query_script(&names)).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.lines().any(|line| line == "no-locale-gen") {
        return Ok(ModuleResult::failed(
            "/etc/locale.gen is missing. Is the package \"locales\" installed?",
        ));
    }
    let (report, generated) = stdout.split_once("## generated").unwrap_or((&stdout, ""));
    let generated: Vec<String> = generated.lines().map(normalise).collect();
    let unknown: Vec<&str> = report
        .lines()
        .filter_map(|line| line.strip_prefix("unknown "))
        .filter(|name| !generated.contains(&normalise(name)))
        .collect();
    if !unknown.is_empty() {
        return Ok(ModuleResult::failed(format!(
            "The following locales you have entered are not available on your system: {}",
            unknown.join(", ")
        )));
    }
    let is_present = names
        .iter()
        .all(|name| generated.contains(&normalise(name)));
    if is_present == present {
        return Ok(ModuleResult::ok());
    }
    change(context, Some(change_script(&names, present)), "locale-gen").await
}

const LOCALE_GEN: &[A] = &[
    A::new("name", List).required(),
    A::new("state", Text).choices(&["present", "absent"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["locale_gen"], &[LOCALE_GEN], run)];

#[cfg(test)]
mod tests {
    use super::{change_script, normalise};

    #[test]
    fn lines_are_uncommented_then_generated() {
        assert_eq!(normalise("en_US.utf8"), "en_US.UTF-8");
        let script = change_script(&["en_US.UTF-8".to_owned()], true);
        let (first, last) = script.split_once(" &&\n").expect("two commands");
        assert_eq!(
            shlex::split(first).expect("shell words"),
            [
                "sed",
                "-i",
                "s/^#\\?[[:space:]]*en_US\\.UTF-8 \\(.*\\)/en_US.UTF-8 \\1/",
                "/etc/locale.gen"
            ]
        );
        assert_eq!(last, "locale-gen >/dev/null");
        assert!(change_script(&["de_DE.UTF-8".to_owned()], false).contains("/# de_DE"));
    }
}
