//! `iptables`: one rule of an iptables (or ip6tables) chain present or
//! absent, a chain's policy, a flush, or a chain made or removed. A rule
//! is looked for with `-C` first and added (`-A`, or `-I` at `rule_num`)
//! or deleted only when needed, as Ansible's module does. The rule is
//! built from the same arguments in the same order.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// Arguments that become one option each: argument, option.
const OPTIONS: [(&str, &str); 21] = [
    ("protocol", "-p"),
    ("source", "-s"),
    ("destination", "-d"),
    ("jump", "-j"),
    ("gateway", "--gateway"),
    ("log_prefix", "--log-prefix"),
    ("log_level", "--log-level"),
    ("to_destination", "--to-destination"),
    ("to_source", "--to-source"),
    ("goto", "-g"),
    ("in_interface", "-i"),
    ("out_interface", "-o"),
    ("fragment", "-f"),
    ("set_counters", "-c"),
    ("source_port", "--source-port"),
    ("destination_port", "--destination-port"),
    ("to_ports", "--to-ports"),
    ("set_dscp_mark", "--set-dscp"),
    ("set_dscp_mark_class", "--set-dscp-class"),
    ("limit", "--limit"),
    ("limit_burst", "--limit-burst"),
];

/// `flag value`, or `! flag value` for a value written `!value`.
fn option(words: &mut Vec<String>, flag: &str, value: String) {
    match value.strip_prefix('!') {
        Some(negated) => words.extend(["!".to_owned(), flag.to_owned(), negated.trim().to_owned()]),
        None => words.extend([flag.to_owned(), value]),
    }
}

/// The rule's words, in the order Ansible's module writes them.
fn rule(arguments: &Arguments<'_>) -> Result<Vec<String>, Error> {
    let mut words = Vec::new();
    let matches = arguments.list("match")?;
    for (name, flag) in &OPTIONS[..3] {
        if let Some(value) = arguments.string(name)? {
            option(&mut words, flag, value);
        }
    }
    for module in &matches {
        words.extend(["-m".to_owned(), module.clone()]);
    }
    let ports = arguments.list("destination_ports")?;
    for (name, flag) in &OPTIONS[3..] {
        if *name == "to_source" && !ports.is_empty() {
            if !matches.iter().any(|module| module == "multiport") {
                words.extend(["-m".to_owned(), "multiport".to_owned()]);
            }
            words.extend(["--dports".to_owned(), ports.join(",")]);
        }
        if matches!(*name, "limit" | "limit_burst") {
            continue;
        }
        if let Some(value) = arguments.string(name)? {
            option(&mut words, flag, value);
        }
    }
    matching(arguments, &matches, &mut words)?;
    Ok(words)
}

/// The rule's matches after its targets: SYN, connection states, limits,
/// owner, reject, ICMP type and comment.
fn matching(
    arguments: &Arguments<'_>,
    matches: &[String],
    words: &mut Vec<String>,
) -> Result<(), Error> {
    if arguments.string("syn")?.as_deref() == Some("match") {
        words.push("--syn".to_owned());
    }
    let states = arguments.list("ctstate")?;
    if !states.is_empty() {
        let flag = if matches.iter().any(|module| module == "state") {
            "--state"
        } else {
            if !matches.iter().any(|module| module == "conntrack") {
                words.extend(["-m".to_owned(), "conntrack".to_owned()]);
            }
            "--ctstate"
        };
        words.extend([flag.to_owned(), states.join(",")]);
    }
    let (limit, burst) = (arguments.string("limit")?, arguments.string("limit_burst")?);
    if (limit.is_some() || burst.is_some()) && !matches.iter().any(|module| module == "limit") {
        words.extend(["-m".to_owned(), "limit".to_owned()]);
    }
    for (flag, value) in [("--limit", limit), ("--limit-burst", burst)] {
        if let Some(value) = value {
            words.extend([flag.to_owned(), value]);
        }
    }
    if let Some(owner) = arguments.string("uid_owner")? {
        words.extend(["-m".to_owned(), "owner".to_owned()]);
        option(words, "--uid-owner", owner);
    }
    if let Some(reject) = arguments.string("reject_with")? {
        if arguments.string("jump")?.is_none() {
            words.extend(["-j".to_owned(), "REJECT".to_owned()]);
        }
        words.extend(["--reject-with".to_owned(), reject]);
    }
    if let Some(icmp) = arguments.string("icmp_type")? {
        let flag = if arguments.string("ip_version")?.as_deref() == Some("ipv6") {
            "--icmpv6-type"
        } else {
            "--icmp-type"
        };
        words.extend([flag.to_owned(), icmp]);
    }
    if let Some(comment) = arguments.string("comment")? {
        words.extend([
            "-m".to_owned(),
            "comment".to_owned(),
            "--comment".to_owned(),
            comment,
        ]);
    }
    Ok(())
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    arguments.refuse_unsupported(&[
        "tcp_flags",
        "src_range",
        "dst_range",
        "match_set",
        "match_set_flags",
        "gid_owner",
    ])?;
    let program = if arguments.string("ip_version")?.as_deref() == Some("ipv6") {
        "ip6tables"
    } else {
        "iptables"
    };
    let table = arguments
        .string("table")?
        .unwrap_or_else(|| "filter".to_owned());
    let wait = arguments
        .string("wait")?
        .map(|seconds| format!(" -w {}", quote(&seconds)))
        .unwrap_or_default();
    let base = format!("{program}{wait} -t {}", quote(&table));
    let chain = arguments.string("chain")?;
    let quoted_chain = chain.as_deref().map(quote).unwrap_or_default();
    let (query, change) = if arguments.boolean("flush", false)? {
        (String::new(), Some(format!("{base} -F {quoted_chain}")))
    } else if let Some(policy) = arguments.string("policy")? {
        let chain = chain
            .clone()
            .ok_or_else(|| Error::Arguments("`policy` needs `chain`".to_owned()))?;
        (
            format!(
                "{base} -L {} -n | head -1 | grep -q '(policy {}[) ]' && echo same",
                quote(&chain),
                policy.to_uppercase()
            ),
            Some(format!(
                "{base} -P {} {}",
                quote(&chain),
                quote(&policy.to_uppercase())
            )),
        )
    } else {
        let chain = chain
            .clone()
            .ok_or_else(|| Error::Arguments("`iptables` needs `chain`".to_owned()))?;
        rule_change(arguments, &base, &chain)?
    };
    let same = if query.is_empty() {
        false
    } else {
        let output = context.exec_read_only(&format!("{query}; true")).await?;
        String::from_utf8_lossy(&output.stdout).trim() == "same"
    };
    let script = change.filter(|_| !same);
    let command = script.clone().unwrap_or_default();
    Ok(crate::remote::change(context, script, program)
        .await?
        .with("cmd", command))
}

/// The query (it prints `same` when nothing needs doing) and the change,
/// for a rule, or a chain made or removed.
fn rule_change(
    arguments: &Arguments<'_>,
    base: &str,
    chain: &str,
) -> Result<(String, Option<String>), Error> {
    let present = arguments.present()?;
    let chain_management = arguments.boolean("chain_management", false)?;
    let words = rule(arguments)?;
    let chain = quote(chain);
    if words.is_empty() && chain_management {
        return Ok(if present {
            (
                format!("{base} -S {chain} >/dev/null 2>&1 && echo same"),
                Some(format!("{base} -N {chain}")),
            )
        } else {
            (
                format!("{base} -S {chain} >/dev/null 2>&1 || echo same"),
                Some(format!("{base} -X {chain}")),
            )
        });
    }
    let rule = words
        .iter()
        .map(|word| quote(word))
        .collect::<Vec<_>>()
        .join(" ");
    let exists = format!("{base} -C {chain} {rule} 2>/dev/null");
    let make_chain = if chain_management {
        format!("{{ {base} -S {chain} >/dev/null 2>&1 || {base} -N {chain}; }} && ")
    } else {
        String::new()
    };
    Ok(if present {
        let add = match (
            arguments.string("action")?.as_deref(),
            arguments.string("rule_num")?,
        ) {
            (Some("insert"), Some(number)) => {
                format!("{base} -I {chain} {} {rule}", quote(&number))
            }
            (Some("insert"), None) => format!("{base} -I {chain} {rule}"),
            _ => format!("{base} -A {chain} {rule}"),
        };
        (
            format!("{exists} && echo same"),
            Some(format!("{make_chain}{add}")),
        )
    } else {
        (
            format!("{exists} || echo same"),
            Some(format!("{base} -D {chain} {rule}")),
        )
    })
}

const IPTABLES: &[A] = &[
    A::new("table", Text).choices(&["filter", "nat", "mangle", "raw", "security"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("action", Text).choices(&["append", "insert"]),
    A::new("rule_num", Text),
    A::new("ip_version", Text).choices(&["ipv4", "ipv6"]),
    A::new("chain", Text),
    A::new("protocol", Text),
    A::new("source", Text),
    A::new("destination", Text),
    A::new("tcp_flags", drover_playbook::catalog::ArgumentKind::Dict),
    A::new("match", List),
    A::new("jump", Text),
    A::new("gateway", Text),
    A::new("log_prefix", Text),
    A::new("log_level", Text),
    A::new("goto", Text),
    A::new("in_interface", Text),
    A::new("out_interface", Text),
    A::new("fragment", Text),
    A::new("set_counters", Text),
    A::new("source_port", Text),
    A::new("destination_port", Text),
    A::new("destination_ports", List),
    A::new("to_ports", Text),
    A::new("to_destination", Text),
    A::new("to_source", Text),
    A::new("syn", Text).choices(&["ignore", "match", "negate"]),
    A::new("set_dscp_mark", Text),
    A::new("set_dscp_mark_class", Text),
    A::new("comment", Text),
    A::new("ctstate", List),
    A::new("src_range", Text),
    A::new("dst_range", Text),
    A::new("match_set", Text),
    A::new("match_set_flags", Text),
    A::new("limit", Text),
    A::new("limit_burst", Text),
    A::new("uid_owner", Text),
    A::new("gid_owner", Text),
    A::new("reject_with", Text),
    A::new("icmp_type", Text),
    A::new("flush", Bool),
    A::new("policy", Text).choices(&["ACCEPT", "DROP", "QUEUE", "RETURN"]),
    A::new("wait", Text),
    A::new("chain_management", Bool),
    A::new("numeric", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["iptables"], &[IPTABLES], run)];
