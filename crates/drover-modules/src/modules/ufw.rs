//! `ufw`: Ubuntu's (and Debian's) uncomplicated firewall: enabled or
//! disabled, its default policies and logging, and its rules. As
//! community.general's module does, the task counts as a change when
//! `ufw status verbose` and the rule tuples ufw keeps differ after the
//! commands; in check mode, rules are tried with `ufw --dry-run`.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// What is compared before and after: the status, and the rules' tuples.
const SNAPSHOT: &str = "{ ufw status verbose; grep -h '^### tuple' /lib/ufw/user.rules /lib/ufw/user6.rules \
                        /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null; }";

/// The `ufw` command lines the arguments ask for, in Ansible's order.
fn commands(arguments: &Arguments<'_>) -> Result<Vec<String>, Error> {
    let mut commands = Vec::new();
    if let Some(state) = arguments.string("state")? {
        commands.push(
            match state.as_str() {
                "enabled" => "ufw --force enable",
                "disabled" => "ufw disable",
                "reloaded" => "ufw reload",
                _ => "ufw --force reset",
            }
            .to_owned(),
        );
    }
    if let Some(policy) = arguments.string("default")? {
        let direction = arguments.string("direction")?.unwrap_or_default();
        commands.push(
            format!("ufw default {policy} {direction}")
                .trim_end()
                .to_owned(),
        );
    }
    if let Some(logging) = arguments.string("logging")? {
        commands.push(format!("ufw logging {logging}"));
    }
    if let Some(rule) = rule(arguments)? {
        commands.push(rule);
    }
    Ok(commands)
}

/// The rule command, when `rule` is given.
fn rule(arguments: &Arguments<'_>) -> Result<Option<String>, Error> {
    let Some(verdict) = arguments.string("rule")? else {
        return Ok(None);
    };
    let mut words = vec!["ufw".to_owned()];
    if arguments.boolean("delete", false)? {
        words.push("delete".to_owned());
    }
    if let Some(position) = arguments.unsigned("insert")? {
        words.push(format!("insert {position}"));
    }
    if arguments.boolean("route", false)? {
        words.push("route".to_owned());
    }
    words.push(verdict);
    if let Some(direction) = arguments
        .string("direction")?
        .filter(|direction| direction != "routed")
    {
        words.push(direction);
    }
    if let Some(interface) = arguments.string("interface")? {
        words.push(format!("on {}", quote(&interface)));
    }
    if let Some(log) = arguments
        .string("log")?
        .filter(|log| log != "false" && log != "no")
    {
        words.push(if log == "log-all" {
            "log-all".to_owned()
        } else {
            "log".to_owned()
        });
    }
    let from = arguments
        .string("from_ip")?
        .unwrap_or_else(|| "any".to_owned());
    words.push(format!("from {}", quote(&from)));
    if let Some(port) = arguments.string("from_port")? {
        words.push(format!("port {}", quote(&port)));
    }
    let to = arguments
        .string("to_ip")?
        .unwrap_or_else(|| "any".to_owned());
    words.push(format!("to {}", quote(&to)));
    if let Some(port) = arguments.string("to_port")? {
        words.push(format!("port {}", quote(&port)));
    }
    if let Some(protocol) = arguments
        .string("proto")?
        .filter(|protocol| protocol != "any")
    {
        words.push(format!("proto {protocol}"));
    }
    if let Some(application) = arguments.string("name")? {
        words.push(format!("app {}", quote(&application)));
    }
    if let Some(comment) = arguments.string("comment")? {
        words.push(format!("comment {}", quote(&comment)));
    }
    Ok(Some(words.join(" ")))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let commands = commands(arguments)?;
    if commands.is_empty() {
        return Err(Error::Arguments(
            "`ufw` needs `state`, `default`, `logging` or `rule`".to_owned(),
        ));
    }
    let script = if context.check_mode {
        let checks: Vec<String> = commands.iter().map(|command| check(command)).collect();
        format!(
            "command -v ufw >/dev/null || {{ echo 'ufw is not installed' >&2; exit 127; }}\n\
             before=$({SNAPSHOT} 2>/dev/null)\n{}\n",
            checks.join("\n")
        )
    } else {
        format!(
            "command -v ufw >/dev/null || {{ echo 'ufw is not installed' >&2; exit 127; }}\n\
             before=$({SNAPSHOT} 2>/dev/null)\n\
             {} >/dev/null || exit 1\n\
             after=$({SNAPSHOT} 2>/dev/null)\n\
             [ \"$before\" = \"$after\" ] || echo changed\n",
            commands.join(" >/dev/null && ")
        )
    };
    let output = context.exec(&script, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "ufw failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let changed = String::from_utf8_lossy(&output.stdout).contains("changed");
    Ok(if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    }
    .with("commands", commands))
}

/// In check mode, what prints `changed` when `command` would change something.
fn check(command: &str) -> String {
    let status = "printf '%s\\n' \"$before\"";
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.get(1..).unwrap_or_default() {
        ["--force", "enable"] => format!("{status} | grep -q '^Status: active' || echo changed"),
        ["disable"] => format!("{status} | grep -q '^Status: inactive' || echo changed"),
        ["default", policy, direction @ ..] => {
            let direction = match direction.first().copied() {
                Some("out" | "outgoing") => "outgoing",
                Some("routed") => "routed",
                _ => "incoming",
            };
            format!(
                "{status} | grep '^Default:' | grep -q '{policy} ({direction})' || echo changed"
            )
        }
        ["logging", level] => {
            let shown = match *level {
                "off" => "off".to_owned(),
                "on" => "on".to_owned(),
                level => format!("on ({level})"),
            };
            format!("{status} | grep -q '^Logging: {shown}' || echo changed")
        }
        [verdict, ..] if !matches!(*verdict, "reload" | "--force") => {
            let tried = command.replacen("ufw ", "ufw --dry-run ", 1);
            format!(
                "out=$({tried} 2>&1 | grep '^### tuple'); \
                 [ -z \"$out\" ] || {status} | grep -qxF \"$out\" || echo changed"
            )
        }
        _ => "echo changed".to_owned(),
    }
}

const UFW: &[A] = &[
    A::new("state", Text).choices(&["enabled", "disabled", "reloaded", "reset"]),
    A::new("default", Text)
        .aliases(&["policy"])
        .choices(&["allow", "deny", "reject"]),
    A::new("direction", Text).choices(&["in", "incoming", "out", "outgoing", "routed"]),
    A::new("logging", Text).choices(&["on", "off", "low", "medium", "high", "full"]),
    A::new("insert", Integer),
    A::new("insert_relative_to", Text),
    A::new("rule", Text).choices(&["allow", "deny", "limit", "reject"]),
    A::new("interface", Text).aliases(&["if"]),
    A::new("interface_in", Text).aliases(&["if_in"]),
    A::new("interface_out", Text).aliases(&["if_out"]),
    A::new("log", Text),
    A::new("from_ip", Text).aliases(&["from", "src"]),
    A::new("from_port", Text),
    A::new("to_ip", Text).aliases(&["dest", "to"]),
    A::new("to_port", Text).aliases(&["port"]),
    A::new("proto", Text).aliases(&["protocol"]),
    A::new("name", Text).aliases(&["app"]),
    A::new("comment", Text),
    A::new("delete", Bool),
    A::new("route", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["ufw"], &[UFW], run)];

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn check_mode_compares_each_command_with_the_status() {
        assert!(check("ufw --force enable").contains("grep -q '^Status: active'"));
        assert!(check("ufw default deny incoming").contains("'deny (incoming)'"));
        assert!(check("ufw logging low").contains("'^Logging: on (low)'"));
        assert!(
            check("ufw allow from any to any port 22 proto tcp").contains("ufw --dry-run allow")
        );
        assert_eq!(check("ufw reload"), "echo changed");
    }
}
