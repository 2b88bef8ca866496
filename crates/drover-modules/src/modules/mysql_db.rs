//! `mysql_db`: `MySQL` or `MariaDB` databases present or absent, dumped to a
//! file or imported from one, through the `mysql` and `mysqldump` clients
//! on the host (community.mysql's module, without Python there).

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::mysql::{Login, identifier, string};
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let names = arguments.list("name")?;
    if names.is_empty() {
        return Err(Error::Arguments("`mysql_db` needs `name`".to_owned()));
    }
    let login = Login::read(arguments)?;
    arguments.refuse_unsupported(&["master_data", "use_shell", "chdir"])?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    match state.as_str() {
        "dump" | "import" => transfer(arguments, context, &login, &names, &state).await,
        _ => ensure(arguments, context, &login, &names, state == "present").await,
    }
}

/// Creates the databases that are missing, or drops those that exist.
async fn ensure(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    login: &Login,
    names: &[String],
    present: bool,
) -> Result<ModuleResult, Error> {
    let listed: Vec<String> = names.iter().map(|name| string(name)).collect();
    let query = format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({})",
        listed.join(", ")
    );
    let existing = match login.query(context, &[query]).await? {
        Ok(results) => results
            .first()
            .map(|rows| {
                rows.column()
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
        Err(failed) => return Ok(ModuleResult::failed(failed.0)),
    };
    let encoding = arguments
        .string("encoding")?
        .filter(|value| !value.is_empty());
    let collation = arguments
        .string("collation")?
        .filter(|value| !value.is_empty());
    let statements: Vec<String> = names
        .iter()
        .filter(|name| existing.contains(name) != present)
        .map(|name| {
            if present {
                let mut statement = format!("CREATE DATABASE {}", identifier(name));
                if let Some(encoding) = &encoding {
                    let _ = write!(statement, " CHARACTER SET {}", string(encoding));
                }
                if let Some(collation) = &collation {
                    let _ = write!(statement, " COLLATE {}", string(collation));
                }
                statement
            } else {
                format!("DROP DATABASE {}", identifier(name))
            }
        })
        .collect();
    let result = if statements.is_empty() {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    }
    .with("db", names.join(","))
    .with("db_list", names.to_vec())
    .with("executed_commands", statements.clone());
    if statements.is_empty() || context.check_mode {
        return Ok(result);
    }
    match login.query(context, &statements).await? {
        Ok(_) => Ok(result),
        Err(failed) => Ok(ModuleResult::failed(failed.0)),
    }
}

/// The decompressing (for an import) or compressing (for a dump) filter
/// for `target`'s extension.
fn compression(target: &str, dump: bool) -> Option<&'static str> {
    let (gzip, bzip2, xz, zstd) = if dump {
        ("gzip", "bzip2", "xz", "zstd")
    } else {
        ("gzip -dc", "bzip2 -dc", "xz -dc", "zstd -dc")
    };
    match target.rsplit_once('.').map(|(_, extension)| extension) {
        Some("gz") => Some(gzip),
        Some("bz2") => Some(bzip2),
        Some("xz") => Some(xz),
        Some("zst") => Some(zstd),
        _ => None,
    }
}

/// `mysqldump`'s options from the task's arguments, each with a leading space.
fn dump_options(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut options = String::new();
    for (argument, flag) in [
        ("single_transaction", " --single-transaction"),
        ("quick", " --quick"),
        ("hex_blob", " --hex-blob"),
        ("skip_lock_tables", " --skip-lock-tables"),
        ("force", " --force"),
    ] {
        if arguments.boolean(argument, false)? {
            options.push_str(flag);
        }
    }
    for table in arguments.list("ignore_tables")? {
        let _ = write!(options, " --ignore-table={}", quote(&table));
    }
    if let Some(extra) = arguments.string("dump_extra_args")? {
        let _ = write!(options, " {extra}");
    }
    Ok(options)
}

/// `state: dump` or `import`: `mysqldump` into `target`, or `mysql` from it.
async fn transfer(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    login: &Login,
    names: &[String],
    state: &str,
) -> Result<ModuleResult, Error> {
    let target = arguments.string("target")?.ok_or_else(|| {
        Error::Arguments(format!("`mysql_db` needs `target` when `state` is {state}"))
    })?;
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let all = names.len() == 1 && names[0] == "all";
    let databases = if all {
        "--all-databases".to_owned()
    } else {
        names
            .iter()
            .map(|name| quote(name))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let file = quote(&target);
    let script = if state == "dump" {
        let mut options = dump_options(arguments)?;
        if !all && names.len() > 1 {
            options.push_str(" --databases");
        }
        let (setup, stdin) = login.setup();
        let dump = login.invocation("mysqldump", &format!("{options} {databases}"));
        // POSIX sh has no `pipefail`: the dump's status comes out on fd 3.
        let script = compression(&target, true).map_or_else(
            || format!("{setup}{dump} > {file}"),
            |filter| {
                format!(
                    "{setup}status=$( {{ {{ {dump}; echo $? >&3; }} | {filter} > {file}; }} 3>&1 ); \
                     [ \"$status\" = 0 ]"
                )
            },
        );
        (script, stdin)
    } else {
        let source = compression(&target, false).map_or_else(
            || format!("cat {file}"),
            |filter| format!("{filter} {file}"),
        );
        let database = if all || names.len() > 1 {
            String::new()
        } else {
            databases
        };
        let (setup, stdin) = login.setup();
        let client = login.invocation("mysql", &database);
        (format!("{setup}{source} | {client}"), stdin)
    };
    let output = context.exec(&script.0, Some(script.1)).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "mysql_db {state} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(ModuleResult::changed().with("db", names.join(",")))
}

const MYSQL_DB: &[A] = &[
    A::new("name", List).aliases(&["db"]).required(),
    A::new("state", Text).choices(&["absent", "dump", "present", "import"]),
    A::new("collation", Text),
    A::new("encoding", Text),
    A::new("target", Text),
    A::new("single_transaction", Bool),
    A::new("quick", Bool),
    A::new("hex_blob", Bool),
    A::new("force", Bool),
    A::new("skip_lock_tables", Bool),
    A::new("ignore_tables", List),
    A::new("dump_extra_args", Text),
    A::new(
        "master_data",
        drover_playbook::catalog::ArgumentKind::Integer,
    ),
    A::new("use_shell", Bool),
    A::new("unsafe_login_password", Bool),
    A::new("restrict_config_file", Bool),
    A::new("chdir", Text),
    A::new("pipefail", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["mysql_db"],
    &[MYSQL_DB, &crate::mysql::LOGIN],
    run
)];

#[cfg(test)]
mod tests {
    use super::compression;

    #[test]
    fn dumps_are_compressed_by_their_extension() {
        assert_eq!(compression("/backup/shop.sql.gz", true), Some("gzip"));
        assert_eq!(compression("/backup/shop.sql.xz", false), Some("xz -dc"));
        assert_eq!(compression("/backup/shop.sql", true), None);
    }
}
