//! `mysql_replication`: a `MySQL` or `MariaDB` server's replication, read
//! (`getprimary`, `getreplica`) or changed (`changeprimary`,
//! `startreplica`, `stopreplica`, the resets), through the `mysql` client
//! on the host, with the results community.mysql's module returns.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::mysql::{Login, Rows, string};
use crate::{Error, ModuleContext, ModuleResult};

/// `CHANGE MASTER TO`'s settings: argument, clause, and whether it is text.
const CHANGES: [(&str, &str, bool); 16] = [
    ("primary_host", "MASTER_HOST", true),
    ("primary_user", "MASTER_USER", true),
    ("primary_password", "MASTER_PASSWORD", true),
    ("primary_port", "MASTER_PORT", false),
    ("primary_connect_retry", "MASTER_CONNECT_RETRY", false),
    ("primary_log_file", "MASTER_LOG_FILE", true),
    ("primary_log_pos", "MASTER_LOG_POS", false),
    ("primary_delay", "MASTER_DELAY", false),
    ("relay_log_file", "RELAY_LOG_FILE", true),
    ("relay_log_pos", "RELAY_LOG_POS", false),
    ("primary_ssl_ca", "MASTER_SSL_CA", true),
    ("primary_ssl_capath", "MASTER_SSL_CAPATH", true),
    ("primary_ssl_cert", "MASTER_SSL_CERT", true),
    ("primary_ssl_key", "MASTER_SSL_KEY", true),
    ("primary_ssl_cipher", "MASTER_SSL_CIPHER", true),
    ("primary_use_gtid", "MASTER_USE_GTID", false),
];

/// The `CHANGE MASTER TO` statement for the arguments given.
fn change_statement(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut settings = Vec::new();
    for (argument, clause, text) in CHANGES {
        if let Some(value) = arguments.string(argument)? {
            let value = if text { string(&value) } else { value };
            settings.push(format!("{clause}={value}"));
        }
    }
    for (argument, clause) in [
        ("primary_ssl", "MASTER_SSL"),
        (
            "primary_ssl_verify_server_cert",
            "MASTER_SSL_VERIFY_SERVER_CERT",
        ),
    ] {
        if arguments.raw(argument).is_some() {
            let on = arguments.boolean(argument, false)?;
            settings.push(format!("{clause}={}", u8::from(on)));
        }
    }
    if arguments.boolean("primary_auto_position", false)? {
        settings.push("MASTER_AUTO_POSITION=1".to_owned());
    }
    let connection = arguments
        .string("connection_name")?
        .map(|name| format!(" {}", string(&name)))
        .unwrap_or_default();
    Ok(format!(
        "CHANGE MASTER{connection} TO {}",
        settings.join(",")
    ))
}

/// A status row as the module's result: each column a value, numbers as numbers.
fn status(rows: Option<&Rows>) -> Map<String, Json> {
    rows.and_then(Rows::first)
        .map(|row| {
            row.into_iter()
                .map(|(column, value)| {
                    let value = value
                        .parse::<i64>()
                        .map_or_else(|_| Json::from(value), Json::from);
                    (column.to_owned(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What `getprimary` or `getreplica` returns: the status row, and
/// `Is_Primary` or `Is_Replica` saying whether the server is one.
fn reading(mode: &str, rows: Option<&Rows>) -> Map<String, Json> {
    let mut found = status(rows);
    let (flag, configured) = if mode == "getprimary" {
        let primary = found.contains_key("File") && found.contains_key("Position");
        ("Is_Primary", primary)
    } else {
        let replica =
            found.contains_key("Slave_IO_Running") || found.contains_key("Replica_IO_Running");
        ("Is_Replica", replica)
    };
    if !configured {
        found.clear();
    }
    found.insert(flag.to_owned(), Json::Bool(configured));
    found
}

/// A mode by its current name: the older `master`/`slave` names mean the same.
fn current_name(mode: &str) -> &str {
    match mode {
        "getmaster" => "getprimary",
        "getslave" => "getreplica",
        "changemaster" => "changeprimary",
        "startslave" => "startreplica",
        "stopslave" => "stopreplica",
        "resetmaster" => "resetprimary",
        "resetslave" => "resetreplica",
        "resetslaveall" => "resetreplicaall",
        other => other,
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let login = Login::read(arguments)?;
    let mode = arguments
        .string("mode")?
        .unwrap_or_else(|| "getreplica".to_owned());
    let mode = current_name(&mode);
    let read = |statement: &str| vec![statement.to_owned()];
    let (statements, reads) = match mode {
        "getprimary" => (read("SHOW MASTER STATUS"), true),
        "getreplica" => (read("SHOW SLAVE STATUS"), true),
        "changeprimary" => (vec![change_statement(arguments)?], false),
        "startreplica" => (read("START SLAVE"), false),
        "stopreplica" => (read("STOP SLAVE"), false),
        "resetprimary" => (read("RESET MASTER"), false),
        "resetreplica" => (read("RESET SLAVE"), false),
        "resetreplicaall" => (read("RESET SLAVE ALL"), false),
        other => {
            return Err(Error::Arguments(format!(
                "`mode` {other} is not one drover's `mysql_replication` knows"
            )));
        }
    };
    if context.check_mode && !reads {
        return Ok(ModuleResult::changed());
    }
    let outcome = login.query(context, &statements).await?;
    if reads {
        let results = match outcome {
            Ok(results) => results,
            Err(failed) => return Ok(ModuleResult::failed(failed.0)),
        };
        let mut result = ModuleResult::ok();
        for (key, value) in reading(mode, results.first()) {
            result = result.with(&key, value);
        }
        return Ok(result.with("queries", statements));
    }
    let fail_on_error = arguments.boolean("fail_on_error", false)?;
    match outcome {
        Ok(_) => Ok(ModuleResult::changed().with("queries", statements)),
        Err(failed) if fail_on_error || mode == "changeprimary" => {
            Ok(ModuleResult::failed(failed.0))
        }
        Err(_) => Ok(ModuleResult::ok().with("queries", statements)),
    }
}

const MYSQL_REPLICATION: &[A] = &[
    A::new("mode", Text).choices(&[
        "getprimary",
        "getreplica",
        "changeprimary",
        "stopreplica",
        "startreplica",
        "resetprimary",
        "resetreplica",
        "resetreplicaall",
        "getmaster",
        "getslave",
        "changemaster",
        "stopslave",
        "startslave",
        "resetmaster",
        "resetslave",
        "resetslaveall",
        "changereplication",
    ]),
    A::new("primary_host", Text).aliases(&["master_host"]),
    A::new("primary_user", Text).aliases(&["master_user"]),
    A::new("primary_password", Text).aliases(&["master_password"]),
    A::new("primary_port", Integer).aliases(&["master_port"]),
    A::new("primary_connect_retry", Integer).aliases(&["master_connect_retry"]),
    A::new("primary_log_file", Text).aliases(&["master_log_file"]),
    A::new("primary_log_pos", Integer).aliases(&["master_log_pos"]),
    A::new("primary_delay", Integer).aliases(&["master_delay"]),
    A::new("relay_log_file", Text),
    A::new("relay_log_pos", Integer),
    A::new("primary_ssl", Bool).aliases(&["master_ssl"]),
    A::new("primary_ssl_ca", Text).aliases(&["master_ssl_ca"]),
    A::new("primary_ssl_capath", Text).aliases(&["master_ssl_capath"]),
    A::new("primary_ssl_cert", Text).aliases(&["master_ssl_cert"]),
    A::new("primary_ssl_key", Text).aliases(&["master_ssl_key"]),
    A::new("primary_ssl_cipher", Text).aliases(&["master_ssl_cipher"]),
    A::new("primary_ssl_verify_server_cert", Bool),
    A::new("primary_auto_position", Bool).aliases(&["master_auto_position"]),
    A::new("primary_use_gtid", Text).aliases(&["master_use_gtid"]),
    A::new("connection_name", Text),
    A::new("channel", Text),
    A::new("fail_on_error", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["mysql_replication"],
    &[MYSQL_REPLICATION, &crate::mysql::LOGIN],
    run
)];
