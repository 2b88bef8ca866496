//! `firewalld`: a service, port, source, interface, rich rule, ICMP block
//! or masquerading of a firewalld zone enabled or disabled, in the running
//! firewall, the permanent configuration, or both; or a zone made or
//! removed. Each setting is queried first (`--query-*`) and changed only
//! where it differs, as ansible.posix's module does. Where firewalld is
//! not running, `firewall-offline-cmd` changes the permanent configuration.

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

/// The setting the task is about: firewall-cmd's word for it, and its value.
fn setting(arguments: &Arguments<'_>) -> Result<Option<(&'static str, Option<String>)>, Error> {
    for (argument, word) in [
        ("service", "service"),
        ("port", "port"),
        ("source", "source"),
        ("interface", "interface"),
        ("rich_rule", "rich-rule"),
        ("icmp_block", "icmp-block"),
        ("port_forward", "forward-port"),
    ] {
        if let Some(value) = arguments.string(argument)? {
            let value = if argument == "port" && !value.contains('/') {
                let protocol = arguments
                    .string("protocol")?
                    .unwrap_or_else(|| "tcp".to_owned());
                format!("{value}/{protocol}")
            } else {
                value
            };
            return Ok(Some((word, Some(value))));
        }
    }
    if arguments.raw("masquerade").is_some() {
        return Ok(Some(("masquerade", None)));
    }
    if arguments.boolean("icmp_block_inversion", false)? {
        return Ok(Some(("icmp-block-inversion", None)));
    }
    Ok(None)
}

/// `--query-WORD=VALUE` (or `--query-WORD` for a flag).
fn option(verb: &str, word: &str, value: Option<&str>) -> String {
    match value {
        Some(value) => format!("--{verb}-{word}={}", quote(value)),
        None => format!("--{verb}-{word}"),
    }
}

/// Sets `$f`: `firewall-cmd` where firewalld runs, `offline` where only
/// its configuration can change.
const PROGRAM: &str = "if firewall-cmd --state >/dev/null 2>&1; then f=firewall-cmd; \
                       elif command -v firewall-offline-cmd >/dev/null; then f=offline; \
                       else echo 'firewalld is not installed' >&2; exit 127; fi";

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let state = arguments.required("state")?;
    arguments.refuse_unsupported(&["target", "forward", "timeout"])?;
    let zone = arguments
        .string("zone")?
        .map(|zone| format!(" --zone={}", quote(&zone)))
        .unwrap_or_default();
    let permanent = arguments.boolean("permanent", false)?;
    let immediate = arguments.boolean("immediate", false)? || !permanent;
    let offline = arguments.boolean("offline", false)?;
    let Some((word, value)) = setting(arguments)? else {
        return zone_change(arguments, context, &state).await;
    };
    let mut wanted = matches!(state.as_str(), "enabled" | "present");
    if word == "masquerade" && !arguments.boolean("masquerade", true)? {
        wanted = !wanted;
    }
    let mut places = Vec::new();
    if permanent || offline {
        places.push(" --permanent");
    }
    if immediate && !offline {
        places.push("");
    }
    let mut query = format!("{PROGRAM}\n");
    for place in &places {
        let query_option = option("query", word, value.as_deref());
        let _ = writeln!(
            query,
            "if [ $f = offline ]; then c=\"firewall-offline-cmd{zone}\"; else c=\"firewall-cmd{place}{zone}\"; fi; \
             [ $f = offline ] && [ -z '{place}' ] && echo 'skip' || {{ $c {query_option} >/dev/null 2>&1 && echo yes || echo no; }}"
        );
    }
    let output = context.exec_read_only(&query).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let answers: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let verb = if wanted { "add" } else { "remove" };
    let changes: Vec<String> = places
        .iter()
        .zip(&answers)
        .filter(|(_, answer)| answer.as_str() != "skip" && (answer.as_str() == "yes") != wanted)
        .map(|(place, _)| {
            format!(
                "if [ $f = offline ]; then firewall-offline-cmd{zone} {change}; else firewall-cmd{place}{zone} {change}; fi",
                change = option(verb, word, value.as_deref())
            )
        })
        .collect();
    let script = (!changes.is_empty()).then(|| format!("{PROGRAM}\n{}", changes.join(" && ")));
    change(context, script, "firewall-cmd").await
}

/// A zone made (`present`) or removed (`absent`), in the permanent configuration.
async fn zone_change(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    state: &str,
) -> Result<ModuleResult, Error> {
    let Some(zone) = arguments.string("zone")? else {
        return Err(Error::Arguments(
            "`firewalld` needs a setting (`service`, `port`, ...) or a `zone`".to_owned(),
        ));
    };
    let quoted = quote(&zone);
    let query = format!(
        "firewall-cmd --permanent --get-zones 2>/dev/null | tr ' ' '\\n' | grep -qx {quoted} && echo yes || echo no"
    );
    let output = context.exec_read_only(&query).await?;
    let exists = String::from_utf8_lossy(&output.stdout).trim() == "yes";
    let wanted = state == "present";
    let verb = if wanted { "new" } else { "delete" };
    let script =
        (exists != wanted).then(|| format!("firewall-cmd --permanent --{verb}-zone={quoted}"));
    change(context, script, "firewall-cmd").await
}

const FIREWALLD: &[A] = &[
    A::new("service", Text),
    A::new("protocol", Text),
    A::new("port", Text),
    A::new("port_forward", Text),
    A::new("rich_rule", Text),
    A::new("source", Text),
    A::new("interface", Text),
    A::new("icmp_block", Text),
    A::new("icmp_block_inversion", Bool),
    A::new("masquerade", Bool),
    A::new("zone", Text),
    A::new("permanent", Bool),
    A::new("immediate", Bool),
    A::new("state", Text)
        .choices(&["absent", "disabled", "enabled", "present"])
        .required(),
    A::new("timeout", drover_playbook::catalog::ArgumentKind::Integer),
    A::new("offline", Bool),
    A::new("target", Text),
    A::new("forward", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["firewalld"], &[FIREWALLD], run)];

#[cfg(test)]
mod tests {
    use super::option;

    #[test]
    fn options_name_the_setting_and_quote_its_value() {
        assert_eq!(
            option("query", "service", Some("https")),
            "--query-service=https"
        );
        assert_eq!(
            option("add", "rich-rule", Some("rule family=ipv4 accept")),
            "--add-rich-rule='rule family=ipv4 accept'"
        );
        assert_eq!(option("remove", "masquerade", None), "--remove-masquerade");
    }
}
