//! `postgresql_db`: `PostgreSQL` databases present (with their owner and
//! connection limit) or absent, through `psql` on the host, as
//! community.postgresql's module leaves them. A database's encoding and
//! locale cannot change once it exists: asking for others fails, as there.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};

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
    arguments.refuse_unsupported(&[
        "target",
        "target_opts",
        "dump_extra_args",
        "icu_locale",
        "locale_provider",
        "comment",
    ])?;
    let login = Login::read(arguments)?;
    let maintenance = database(arguments, &["maintenance_db"])?;
    let state = arguments
        .string("state")?
        .unwrap_or_else(|| "present".to_owned());
    if !matches!(state.as_str(), "present" | "absent") {
        return Ok(ModuleResult::failed(format!(
            "drover's `postgresql_db` does not do `state: {state}` yet; it does present and absent"
        )));
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
