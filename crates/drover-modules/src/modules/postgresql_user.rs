//! `postgresql_user`: `PostgreSQL` roles that can log in, present (with
//! their password, attributes, connection limit and expiry) or absent,
//! through `psql` on the host, as community.postgresql's module leaves
//! them. The password is checked against the server's SCRAM or MD5 hash
//! here, on the controller, and travels on standard input only.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::postgres::{Login, database, identifier, password_matches, string};
use crate::{Error, ModuleContext, ModuleResult};

/// Each attribute flag, and the `pg_authid` column that holds it, in the
/// order [`QUERY_COLUMNS`] reads them.
const FLAGS: [(&str, &str); 7] = [
    ("SUPERUSER", "rolsuper"),
    ("INHERIT", "rolinherit"),
    ("CREATEROLE", "rolcreaterole"),
    ("CREATEDB", "rolcreatedb"),
    ("LOGIN", "rolcanlogin"),
    ("REPLICATION", "rolreplication"),
    ("BYPASSRLS", "rolbypassrls"),
];

/// The role as the server has it.
#[derive(Debug, Default)]
struct Role {
    flags: Vec<bool>,
    connection_limit: String,
    password: String,
    expires_matches: bool,
}

fn role(row: &[String]) -> Role {
    let field = |index: usize| row.get(index).cloned().unwrap_or_default();
    Role {
        flags: (0..FLAGS.len()).map(|index| field(index) == "t").collect(),
        connection_limit: field(FLAGS.len()),
        password: field(FLAGS.len() + 1),
        expires_matches: field(FLAGS.len() + 2) == "t",
    }
}

/// `CREATEDB,NOSUPERUSER` as `(flag, on)` pairs; `Err` for an unknown one.
fn flags(text: &str) -> Result<Vec<(&'static str, bool)>, String> {
    text.split([',', ' '])
        .filter(|flag| !flag.is_empty())
        .map(|flag| {
            let upper = flag.to_uppercase();
            let (name, on) = upper
                .strip_prefix("NO")
                .filter(|rest| FLAGS.iter().any(|(known, _)| known == rest))
                .map_or((upper.as_str(), true), |rest| (rest, false));
            FLAGS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(known, _)| (*known, on))
                .ok_or_else(|| format!("`{flag}` is not a role attribute flag"))
        })
        .collect()
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    arguments.refuse_unsupported(&["configuration", "reset_unspecified_configuration"])?;
    let login = Login::read(arguments)?;
    let connect_to = database(arguments, &["db"])?;
    let expires = arguments.string("expires")?;
    let columns: Vec<&str> = FLAGS.iter().map(|(_, column)| *column).collect();
    let expiry = expires.as_ref().map_or_else(
        || "true".to_owned(),
        |expires| {
            format!(
                "COALESCE(rolvaliduntil = {}::timestamptz, false)",
                string(expires)
            )
        },
    );
    let query = format!(
        "SELECT {}, rolconnlimit, COALESCE(rolpassword, ''), {expiry} FROM pg_authid WHERE rolname = {}",
        columns.join(", "),
        string(&name)
    );
    let found = match login.query(context, &connect_to, &[query]).await? {
        Ok(results) => results
            .first()
            .and_then(|rows| rows.first())
            .map(|row| role(row)),
        Err(failed) => return Ok(ModuleResult::failed(failed.0)),
    };
    let statements = if arguments.present()? {
        match wanted_statements(arguments, &name, found.as_ref(), expires.as_deref())? {
            Ok(statements) => statements,
            Err(failure) => return Ok(ModuleResult::failed(failure)),
        }
    } else if found.is_some() {
        vec![format!("DROP ROLE {}", identifier(&name))]
    } else {
        Vec::new()
    };
    let result = if statements.is_empty() {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    }
    .with("user", name.clone());
    if statements.is_empty() || context.check_mode {
        return Ok(result);
    }
    match login.query(context, &connect_to, &statements).await? {
        Ok(_) => Ok(result),
        Err(failed) => Ok(ModuleResult::failed(failed.0)),
    }
}

/// `CREATEDB`, `NOSUPERUSER` ...: the flags that differ from the role's.
fn flag_clauses(wanted: &[(&'static str, bool)], found: Option<&Role>) -> Vec<String> {
    let existing = found.map(|role| role.flags.clone()).unwrap_or_default();
    wanted
        .iter()
        .filter(|(flag, on)| {
            let index = FLAGS
                .iter()
                .position(|(known, _)| known == flag)
                .unwrap_or(0);
            found.is_none() || existing.get(index) != Some(on)
        })
        .map(|(flag, on)| {
            if *on {
                (*flag).to_owned()
            } else {
                format!("NO{flag}")
            }
        })
        .collect()
}

/// The password clause, when a password is given and the role's differs.
fn password_clause(
    arguments: &Arguments<'_>,
    name: &str,
    found: Option<&Role>,
) -> Result<Option<String>, Error> {
    let Some(password) = arguments.string("password")? else {
        return Ok(None);
    };
    let keep = arguments.boolean("no_password_changes", false)?;
    let unchanged = found.is_some_and(|role| {
        keep || role.password == password || password_matches(&role.password, name, &password)
    });
    if unchanged {
        return Ok(None);
    }
    let keyword = if arguments.boolean("encrypted", true)? {
        "ENCRYPTED PASSWORD"
    } else {
        "PASSWORD"
    };
    Ok(Some(format!("{keyword} {}", string(&password))))
}

/// What makes the role as asked: `CREATE USER`, or `ALTER USER` for what differs.
fn wanted_statements(
    arguments: &Arguments<'_>,
    name: &str,
    found: Option<&Role>,
    expires: Option<&str>,
) -> Result<Result<Vec<String>, String>, Error> {
    let wanted_flags = match flags(&arguments.string("role_attr_flags")?.unwrap_or_default()) {
        Ok(flags) => flags,
        Err(failure) => return Ok(Err(failure)),
    };
    let limit = arguments.string("conn_limit")?;
    let mut clauses = flag_clauses(&wanted_flags, found);
    clauses.extend(password_clause(arguments, name, found)?);
    if let Some(limit) = &limit
        && found.is_none_or(|role| role.connection_limit != *limit)
    {
        clauses.push(format!("CONNECTION LIMIT {limit}"));
    }
    if let Some(expires) = expires
        && found.is_none_or(|role| !role.expires_matches)
    {
        clauses.push(format!("VALID UNTIL {}", string(expires)));
    }
    let mut statements = Vec::new();
    match found {
        None => statements.push(
            format!("CREATE USER {} {}", identifier(name), clauses.join(" "))
                .trim_end()
                .to_owned(),
        ),
        Some(_) if !clauses.is_empty() => {
            statements.push(format!(
                "ALTER USER {} WITH {}",
                identifier(name),
                clauses.join(" ")
            ));
        }
        Some(_) => {}
    }
    if let Some(comment) = arguments.string("comment")?
        && (found.is_none() || !clauses.is_empty())
    {
        statements.push(format!(
            "COMMENT ON ROLE {} IS {}",
            identifier(name),
            string(&comment)
        ));
    }
    Ok(Ok(statements))
}

const POSTGRESQL_USER: &[A] = &[
    A::new("name", Text).aliases(&["user"]).required(),
    A::new("password", Text),
    A::new("encrypted", Bool),
    A::new("role_attr_flags", Text),
    A::new("db", Text).aliases(&["login_db"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("expires", Text),
    A::new("conn_limit", Integer),
    A::new("no_password_changes", Bool),
    A::new("fail_on_user", Bool),
    A::new("comment", Text),
    A::new(
        "configuration",
        drover_playbook::catalog::ArgumentKind::Dict,
    ),
    A::new("reset_unspecified_configuration", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["postgresql_user"],
    &[
        POSTGRESQL_USER,
        &crate::postgres::LOGIN,
        &crate::postgres::COMMON
    ],
    run
)];

#[cfg(test)]
mod tests {
    use super::flags;

    #[test]
    fn attribute_flags_are_read_with_their_negations() {
        assert_eq!(
            flags("CREATEDB,NOSUPERUSER"),
            Ok(vec![("CREATEDB", true), ("SUPERUSER", false)])
        );
        assert!(flags("FLY").is_err());
    }
}
