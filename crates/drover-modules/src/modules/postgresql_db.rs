//! `postgresql_db`: `PostgreSQL` databases present (with their owner and
//! connection limit) or absent, through `psql` on the host, as
//! community.postgresql's module leaves them. A database's encoding and
//! locale cannot change once it exists: asking for others fails, as there.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};

use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::postgres::{Login, database, identifier, string};
use crate::{Error, ModuleContext, ModuleResult};

/// The database as the server has it.
#[derive(Debug, PartialEq, Eq)]
struct Existing {
    encoding: String,
    collate: String,
    ctype: String,
    owner: String,
    connection_limit: String,
}

fn existing(row: &[String]) -> Option<Existing> {
    match row {
        [encoding, collate, ctype, owner, limit, ..] => Some(Existing {
            encoding: encoding.clone(),
            collate: collate.clone(),
            ctype: ctype.clone(),
            owner: owner.clone(),
            connection_limit: limit.clone(),
        }),
        _ => None,
    }
}

/// The wanted settings, each `None` where not given.
struct Wanted {
    owner: Option<String>,
    template: Option<String>,
    encoding: Option<String>,
    collate: Option<String>,
    ctype: Option<String>,
    connection_limit: Option<String>,
    tablespace: Option<String>,
}

impl Wanted {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let given = |name: &str| -> Result<Option<String>, Error> {
            Ok(arguments.string(name)?.filter(|value| !value.is_empty()))
        };
        Ok(Self {
            owner: given("owner")?,
            template: given("template")?,
            encoding: given("encoding")?,
            collate: given("lc_collate")?,
            ctype: given("lc_ctype")?,
            connection_limit: given("conn_limit")?,
            tablespace: given("tablespace")?,
        })
    }

    fn create(&self, name: &str) -> String {
        let mut statement = format!("CREATE DATABASE {}", identifier(name));
        for (clause, value, quoted) in [
            ("OWNER", &self.owner, true),
            ("TEMPLATE", &self.template, true),
            ("ENCODING", &self.encoding, false),
            ("LC_COLLATE", &self.collate, false),
            ("LC_CTYPE", &self.ctype, false),
            ("CONNECTION LIMIT", &self.connection_limit, false),
            ("TABLESPACE", &self.tablespace, true),
        ] {
            if let Some(value) = value {
                let value = if quoted {
                    identifier(value)
                } else if clause == "CONNECTION LIMIT" {
                    value.clone()
                } else {
                    string(value)
                };
                let _ = write!(statement, " {clause} {value}");
            }
        }
        statement
    }

    /// What changes an existing database; `Err` for what cannot change.
    fn alter(&self, name: &str, found: &Existing) -> Result<Vec<String>, String> {
        let same = |wanted: &Option<String>, found: &str| {
            wanted.as_deref().is_none_or(|wanted| {
                wanted
                    .replace('-', "")
                    .eq_ignore_ascii_case(&found.replace('-', ""))
            })
        };
        if !same(&self.encoding, &found.encoding)
            || !same(&self.collate, &found.collate)
            || !same(&self.ctype, &found.ctype)
        {
            return Err(format!(
                "Changing database encoding is not supported. Current encoding: {}, collate: {}, ctype: {}",
                found.encoding, found.collate, found.ctype
            ));
        }
        let mut statements = Vec::new();
        if let Some(owner) = self.owner.as_ref().filter(|owner| **owner != found.owner) {
            statements.push(format!(
                "ALTER DATABASE {} OWNER TO {}",
                identifier(name),
                identifier(owner)
            ));
        }
        if let Some(limit) = self
            .connection_limit
            .as_ref()
            .filter(|limit| **limit != found.connection_limit)
        {
            statements.push(format!(
                "ALTER DATABASE {} CONNECTION LIMIT {limit}",
                identifier(name)
            ));
        }
        Ok(statements)
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    arguments.refuse_unsupported(&["icu_locale", "locale_provider", "comment"])?;
    let login = Login::read(arguments)?;
    let maintenance = database(arguments, &["maintenance_db"])?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    if matches!(state.as_str(), "dump" | "restore") {
        return transfer(arguments, context, &login, &name, &state).await;
    }
    if state == "rename" {
        return rename(arguments, context, (&login, &maintenance), &name).await;
    }
    let query = format!(
        "SELECT pg_encoding_to_char(encoding), datcollate, datctype, \
         pg_get_userbyid(datdba), datconnlimit FROM pg_database WHERE datname = {}",
        string(&name)
    );
    let found = match login.query(context, &maintenance, &[query]).await? {
        Ok(results) => results
            .first()
            .and_then(|rows| rows.first())
            .and_then(|row| existing(row)),
        Err(failed) => return Ok(ModuleResult::failed(failed.0)),
    };
    let statements = match (&found, state.as_str()) {
        (Some(_), "absent") => {
            let force = if arguments.boolean("force", false)? {
                " WITH (FORCE)"
            } else {
                ""
            };
            vec![format!("DROP DATABASE {}{force}", identifier(&name))]
        }
        (None, "absent") => Vec::new(),
        (None, _) => vec![Wanted::read(arguments)?.create(&name)],
        (Some(found), _) => match Wanted::read(arguments)?.alter(&name, found) {
            Ok(statements) => statements,
            Err(failure) => return Ok(ModuleResult::failed(failure)),
        },
    };
    let result = if statements.is_empty() {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    }
    .with("db", name.clone())
    .with("executed_commands", statements.clone());
    if statements.is_empty() || context.check_mode {
        return Ok(result);
    }
    // CREATE and DROP DATABASE cannot run inside a transaction block;
    // psql runs each statement on its own.
    match login.query(context, &maintenance, &statements).await? {
        Ok(_) => Ok(result),
        Err(failed) => Ok(ModuleResult::failed(failed.0)),
    }
}

/// The tool for `target`'s format: a `.tar` or `.pgc` archive is
/// `pg_dump`'s own format (`-Ft`, `-Fc`) and comes back with `pg_restore`;
/// anything else is SQL, compressed by its extension.
fn format_of(target: &str) -> (Option<&'static str>, Option<(&'static str, &'static str)>) {
    let extension = target.rsplit_once('.').map(|(_, extension)| extension);
    match extension {
        Some("tar") => (Some("-Ft"), None),
        Some("pgc") => (Some("-Fc"), None),
        Some("gz") => (None, Some(("gzip", "gzip -dc"))),
        Some("bz2") => (None, Some(("bzip2", "bzip2 -dc"))),
        Some("xz") => (None, Some(("xz", "xz -dc"))),
        _ => (None, None),
    }
}

/// The shell script for `state: dump` or `restore` of `name` with `target`.
fn transfer_script(setup: &str, name: &str, target: &str, dump: bool, options: &str) -> String {
    let file = quote(target);
    let (archive, filter) = format_of(target);
    let database = quote(name);
    match (dump, archive, filter) {
        (true, Some(format), _) => format!("{setup} pg_dump {format}{options} {database} > {file}"),
        // POSIX sh has no `pipefail`: the dump's status comes out on fd 3.
        (true, None, Some((compress, _))) => format!(
            "{setup} status=$( {{ {{ pg_dump{options} {database}; echo $? >&3; }} | {compress} > {file}; }} 3>&1 ); \
             [ \"$status\" = 0 ]"
        ),
        (true, None, None) => format!("{setup} pg_dump{options} {database} > {file}"),
        (false, Some(_), _) => format!("{setup} pg_restore{options} -d {database} {file}"),
        (false, None, Some((_, expand))) => {
            format!(
                "{expand} {file} | {{ {setup} psql -X -q -v ON_ERROR_STOP=1{options} {database}; }}"
            )
        }
        (false, None, None) => {
            format!("{setup} psql -X -q -v ON_ERROR_STOP=1{options} {database} < {file}")
        }
    }
}

/// `state: dump` (`pg_dump` into `target`) or `restore` (from it). Ansible
/// counts either as a change.
async fn transfer(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    login: &Login,
    name: &str,
    state: &str,
) -> Result<ModuleResult, Error> {
    let target = arguments.string("target")?.ok_or_else(|| {
        Error::Arguments(format!(
            "`postgresql_db` needs `target` when `state` is {state}"
        ))
    })?;
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let mut options = String::new();
    for argument in ["target_opts", "dump_extra_args"] {
        if let Some(extra) = arguments.string(argument)? {
            let _ = write!(options, " {extra}");
        }
    }
    // The restored file must be read before the password file is: the
    // password goes first on standard input, so the dump comes from the file.
    let (setup, stdin) = login.setup(name);
    let script = transfer_script(&setup, name, &target, state == "dump", &options);
    let output = context.exec(&script, Some(stdin)).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "postgresql_db {state} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(ModuleResult::changed().with("db", name.to_owned()))
}

/// `state: rename`: `name` becomes `target`, unless `target` is there already.
async fn rename(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    (login, maintenance): (&Login, &str),
    name: &str,
) -> Result<ModuleResult, Error> {
    let target = arguments.string("target")?.ok_or_else(|| {
        Error::Arguments("`postgresql_db` needs `target` to rename a database".to_owned())
    })?;
    let query = format!(
        "SELECT datname FROM pg_database WHERE datname IN ({}, {})",
        string(name),
        string(&target)
    );
    let found: Vec<String> = match login.query(context, maintenance, &[query]).await? {
        Ok(results) => results
            .first()
            .map(|rows| rows.iter().filter_map(|row| row.first().cloned()).collect())
            .unwrap_or_default(),
        Err(failed) => return Ok(ModuleResult::failed(failed.0)),
    };
    if found.contains(&target) {
        return Ok(ModuleResult::ok().with("db", target));
    }
    if !found.iter().any(|database| database == name) {
        return Ok(ModuleResult::failed(format!(
            "the database {name} to rename does not exist, nor does {target}"
        )));
    }
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let statement = format!(
        "ALTER DATABASE {} RENAME TO {}",
        identifier(name),
        identifier(&target)
    );
    match login.query(context, maintenance, &[statement]).await? {
        Ok(_) => Ok(ModuleResult::changed().with("db", target)),
        Err(failed) => Ok(ModuleResult::failed(failed.0)),
    }
}

const POSTGRESQL_DB: &[A] = &[
    A::new("name", Text).aliases(&["db"]).required(),
    A::new("state", Text).choices(&["present", "absent", "dump", "restore", "rename"]),
    A::new("owner", Text),
    A::new("template", Text),
    A::new("encoding", Text),
    A::new("lc_collate", Text),
    A::new("lc_ctype", Text),
    A::new("conn_limit", Text),
    A::new("tablespace", Text),
    A::new("maintenance_db", Text),
    A::new("force", Bool),
    A::new("target", Text),
    A::new("target_opts", Text),
    A::new("dump_extra_args", Text),
    A::new("icu_locale", Text),
    A::new("locale_provider", Text),
    A::new("comment", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["postgresql_db"],
    &[
        POSTGRESQL_DB,
        &crate::postgres::LOGIN,
        &crate::postgres::COMMON
    ],
    run
)];

#[cfg(test)]
mod tests {
    use super::{Existing, Wanted};

    #[test]
    fn dumps_and_restores_use_the_format_the_target_names() {
        let dump = super::transfer_script("S;", "shop", "/backup/shop.sql.gz", true, "");
        assert!(
            dump.contains("pg_dump shop; echo $? >&3; } | gzip > /backup/shop.sql.gz"),
            "{dump}"
        );
        assert_eq!(
            super::transfer_script("S;", "shop", "/b/shop.pgc", true, ""),
            "S; pg_dump -Fc shop > /b/shop.pgc"
        );
        assert_eq!(
            super::transfer_script("S;", "shop", "/b/shop.tar", false, " --clean"),
            "S; pg_restore --clean -d shop /b/shop.tar"
        );
        assert_eq!(
            super::transfer_script("S;", "shop", "/b/shop.sql", false, ""),
            "S; psql -X -q -v ON_ERROR_STOP=1 shop < /b/shop.sql"
        );
    }

    #[test]
    fn databases_are_created_with_their_settings_and_never_re_encoded() {
        let wanted = Wanted {
            owner: Some("app".to_owned()),
            template: Some("template0".to_owned()),
            encoding: Some("UTF-8".to_owned()),
            collate: Some("en_US.UTF-8".to_owned()),
            ctype: None,
            connection_limit: None,
            tablespace: None,
        };
        assert_eq!(
            wanted.create("shop"),
            "CREATE DATABASE \"shop\" OWNER \"app\" TEMPLATE \"template0\" ENCODING 'UTF-8' LC_COLLATE 'en_US.UTF-8'"
        );
        let found = Existing {
            encoding: "UTF8".to_owned(),
            collate: "en_US.UTF-8".to_owned(),
            ctype: "en_US.UTF-8".to_owned(),
            owner: "postgres".to_owned(),
            connection_limit: "-1".to_owned(),
        };
        assert_eq!(
            wanted.alter("shop", &found),
            Ok(vec!["ALTER DATABASE \"shop\" OWNER TO \"app\"".to_owned()])
        );
        let latin = Existing {
            encoding: "LATIN1".to_owned(),
            ..found
        };
        assert!(wanted.alter("shop", &latin).is_err());
    }
}
