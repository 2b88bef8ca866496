//! `mysql_user`: `MySQL` or `MariaDB` accounts present (with their password
//! and privileges) or absent, through the `mysql` client on the host, as
//! community.mysql's module leaves them. The password is compared by its
//! hash on the server and travels on standard input only.

use std::collections::{BTreeMap, BTreeSet};

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Dict as Mapping, Raw, String as Text},
    ArgumentSpec as A,
};
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::mysql::{Login, string};
use crate::{Error, ModuleContext, ModuleResult};

/// Privileges per object (`db`.`table`, `*.*`), upper case, with `GRANT`
/// standing for `WITH GRANT OPTION`.
type Privileges = BTreeMap<String, BTreeSet<String>>;

/// `db.*:SELECT,INSERT/other.*:ALL,GRANT` (or a mapping of the same) as
/// [`Privileges`], with object names as `SHOW GRANTS` prints them.
fn wanted_privileges(value: Option<&Json>) -> Privileges {
    let pairs: Vec<(String, String)> = match value {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(object, privileges)| {
                let privileges = match privileges {
                    Json::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (object.clone(), privileges)
            })
            .collect(),
        Some(Json::String(text)) => text
            .split('/')
            .filter_map(|part| part.rsplit_once(':'))
            .map(|(object, privileges)| (object.to_owned(), privileges.to_owned()))
            .collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .map(|(object, privileges)| (normal_object(&object), normal_privileges(&privileges)))
        .collect()
}

/// An object name without quotes: `` `shop`.* `` and `'shop'.*` are `shop.*`.
fn normal_object(object: &str) -> String {
    object.trim().replace(['`', '"', '\''], "")
}

/// A privilege list split at its top-level commas, upper case, `ALL` as
/// `ALL PRIVILEGES`.
fn normal_privileges(text: &str) -> BTreeSet<String> {
    let mut privileges = BTreeSet::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for character in text.chars() {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                privileges.insert(normal_privilege(&current));
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    if !current.trim().is_empty() {
        privileges.insert(normal_privilege(&current));
    }
    privileges
}

fn normal_privilege(privilege: &str) -> String {
    let privilege = privilege.trim().to_uppercase();
    if privilege == "ALL" {
        "ALL PRIVILEGES".to_owned()
    } else {
        privilege
    }
}

/// The privileges `SHOW GRANTS` lists (proxy grants aside).
fn current_privileges(grants: &[&str]) -> Privileges {
    let mut privileges = Privileges::new();
    for grant in grants {
        let Some(rest) = grant.strip_prefix("GRANT ") else {
            continue;
        };
        let (Some((list, after)), false) = (rest.split_once(" ON "), rest.starts_with("PROXY"))
        else {
            continue;
        };
        let object = after.split_once(" TO ").map_or(after, |(object, _)| object);
        let mut set = normal_privileges(list);
        if grant.contains(" WITH GRANT OPTION") {
            set.insert("GRANT".to_owned());
        }
        privileges
            .entry(normal_object(object))
            .or_default()
            .extend(set);
    }
    privileges
}

/// The account as SQL names it.
fn account(user: &str, host: &str) -> String {
    format!("{}@{}", string(user), string(host))
}

/// The statements that bring `current` to `wanted` for `account`; with
/// `append`, privileges are only added.
fn grant_statements(
    account: &str,
    current: &Privileges,
    wanted: &Privileges,
    append: bool,
) -> Vec<String> {
    let mut statements = Vec::new();
    for (object, privileges) in wanted {
        let had = current.get(object).cloned().unwrap_or_default();
        let missing = !privileges.is_subset(&had);
        if had == *privileges || (append && !missing) {
            continue;
        }
        let only_usage = had.len() == 1 && had.contains("USAGE");
        if !append && !had.is_empty() && !only_usage {
            statements.push(format!("REVOKE ALL PRIVILEGES ON {object} FROM {account}"));
            if had.contains("GRANT") {
                statements.push(format!("REVOKE GRANT OPTION ON {object} FROM {account}"));
            }
        }
        let listed: Vec<&str> = privileges
            .iter()
            .filter(|privilege| *privilege != "GRANT")
            .map(String::as_str)
            .collect();
        let listed = if listed.is_empty() {
            "USAGE".to_owned()
        } else {
            listed.join(", ")
        };
        let option = if privileges.contains("GRANT") {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        statements.push(format!("GRANT {listed} ON {object} TO {account}{option}"));
    }
    if !append {
        for (object, privileges) in current {
            let only_usage = privileges.iter().all(|privilege| privilege == "USAGE");
            if !wanted.contains_key(object) && !only_usage {
                statements.push(format!("REVOKE ALL PRIVILEGES ON {object} FROM {account}"));
                if privileges.contains("GRANT") {
                    statements.push(format!("REVOKE GRANT OPTION ON {object} FROM {account}"));
                }
            }
        }
    }
    statements
}

/// How the password is given: as text, or already hashed (`encrypted`).
fn identified(password: &str, encrypted: bool) -> String {
    if encrypted {
        format!("IDENTIFIED BY PASSWORD {}", string(password))
    } else {
        format!("IDENTIFIED BY {}", string(password))
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let user = arguments.string("name")?.unwrap_or_default();
    arguments.refuse_unsupported(NOT_YET)?;
    let host = arguments
        .string("host")?
        .unwrap_or_else(|| "localhost".to_owned());
    let login = Login::read(arguments)?;
    let present = arguments.present()?;
    let host_all = arguments.boolean("host_all", false)?;
    let hosts_query = if host_all {
        format!("SELECT Host FROM mysql.user WHERE User = {}", string(&user))
    } else {
        format!(
            "SELECT Host FROM mysql.user WHERE User = {} AND Host = {}",
            string(&user),
            string(&host)
        )
    };
    let hosts: Vec<String> = match login.query(context, &[hosts_query]).await? {
        Ok(results) => results
            .first()
            .map(|rows| rows.column().into_iter().map(str::to_owned).collect())
            .unwrap_or_default(),
        Err(failed) => return Ok(ModuleResult::failed(failed.0)),
    };
    let statements = if present {
        present_statements(
            arguments,
            context,
            &login,
            (&user, &host),
            !hosts.is_empty(),
        )
        .await?
    } else {
        Ok(hosts
            .iter()
            .map(|host| format!("DROP USER {}", account(&user, host)))
            .collect())
    };
    let statements = match statements {
        Ok(statements) => statements,
        Err(failure) => return Ok(ModuleResult::failed(failure)),
    };
    let result = if statements.is_empty() {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    }
    .with("user", user.clone());
    if statements.is_empty() || context.check_mode {
        return Ok(result);
    }
    match login.query(context, &statements).await? {
        Ok(_) => Ok(result),
        Err(failed) => Ok(ModuleResult::failed(failed.0)),
    }
}

/// What makes the account exist with its password and privileges; the
/// inner `Err` is a failure the server reported.
async fn present_statements(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    login: &Login,
    (user, host): (&str, &str),
    exists: bool,
) -> Result<Result<Vec<String>, String>, Error> {
    let name = account(user, host);
    let password = arguments.string("password")?;
    let encrypted = arguments.boolean("encrypted", false)?;
    let wanted = wanted_privileges(arguments.raw("priv"));
    let append = arguments.boolean("append_privs", false)?;
    if !exists {
        let mut statements = vec![match &password {
            Some(password) => format!("CREATE USER {name} {}", identified(password, encrypted)),
            None => format!("CREATE USER {name}"),
        }];
        statements.extend(grant_statements(&name, &Privileges::new(), &wanted, append));
        return Ok(Ok(statements));
    }
    let mut queries = vec![format!("SHOW GRANTS FOR {name}")];
    let update = arguments
        .string("update_password")?
        .unwrap_or_else(|| "always".to_owned());
    if let (Some(password), "always") = (&password, update.as_str()) {
        let hash = if encrypted {
            string(password)
        } else {
            format!(
                "CONCAT('*', UPPER(SHA1(UNHEX(SHA1({})))))",
                string(password)
            )
        };
        queries.push(format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = {} AND authentication_string = {hash}",
            string(user),
            string(host)
        ));
    }
    let results = match login.query(context, &queries).await? {
        Ok(results) => results,
        Err(failed) => return Ok(Err(failed.0)),
    };
    let grants: Vec<&str> = results
        .first()
        .map(|rows| rows.column())
        .unwrap_or_default();
    let mut statements = Vec::new();
    if let (Some(password), Some(matched)) = (&password, results.get(1))
        && matched.column().first() == Some(&"0")
    {
        statements.push(format!(
            "ALTER USER {name} {}",
            identified(password, encrypted)
        ));
    }
    if arguments.raw("priv").is_some() {
        let current = current_privileges(&grants);
        statements.extend(grant_statements(&name, &current, &wanted, append));
    }
    Ok(Ok(statements))
}

/// Arguments taken, so that roles passing them empty load, but not acted on yet.
const NOT_YET: &[&str] = &[
    "subtract_privs",
    "plugin",
    "plugin_hash_string",
    "plugin_auth_string",
    "resource_limits",
    "tls_requires",
    "session_vars",
    "password_expire",
    "password_expire_interval",
    "attributes",
];

const MYSQL_USER: &[A] = &[
    A::new("name", Text).aliases(&["user"]).required(),
    A::new("host", Text),
    A::new("password", Text),
    A::new("encrypted", Bool),
    A::new("priv", Raw),
    A::new("append_privs", Bool),
    A::new("subtract_privs", Bool),
    A::new("state", Text).choices(&["absent", "present"]),
    A::new("host_all", Bool),
    A::new("update_password", Text).choices(&["always", "on_create", "on_new_username"]),
    A::new("plugin", Text),
    A::new("plugin_hash_string", Text),
    A::new("plugin_auth_string", Text),
    A::new("resource_limits", Mapping),
    A::new("tls_requires", Mapping),
    A::new("sql_log_bin", Bool),
    A::new("column_case_sensitive", Bool),
    A::new("force_context", Bool),
    A::new("session_vars", Mapping),
    A::new("password_expire", Text),
    A::new(
        "password_expire_interval",
        drover_playbook::catalog::ArgumentKind::Integer,
    ),
    A::new("attributes", Mapping),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["mysql_user"],
    &[MYSQL_USER, &crate::mysql::LOGIN],
    run
)];

#[cfg(test)]
mod tests {
    use super::{Privileges, current_privileges, grant_statements, wanted_privileges};
    use serde_json::json;

    #[test]
    fn grants_are_compared_with_what_the_server_shows() {
        let wanted = wanted_privileges(Some(&json!("shop.*:ALL,GRANT/*.*:RELOAD")));
        let current = current_privileges(&[
            "GRANT RELOAD ON *.* TO `app`@`localhost` IDENTIFIED BY PASSWORD '*AB'",
            "GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`localhost` WITH GRANT OPTION",
        ]);
        assert_eq!(current, wanted);
        assert!(grant_statements("'app'@'localhost'", &current, &wanted, false).is_empty());
        let none = Privileges::new();
        assert_eq!(
            grant_statements("'app'@'localhost'", &none, &wanted, false),
            [
                "GRANT RELOAD ON *.* TO 'app'@'localhost'",
                "GRANT ALL PRIVILEGES ON shop.* TO 'app'@'localhost' WITH GRANT OPTION"
            ]
        );
        let fewer = wanted_privileges(Some(&json!({"shop.*": "SELECT"})));
        let statements = grant_statements("'app'@'localhost'", &current, &fewer, false);
        assert_eq!(
            statements[0],
            "REVOKE ALL PRIVILEGES ON shop.* FROM 'app'@'localhost'"
        );
        assert!(statements.contains(&"GRANT SELECT ON shop.* TO 'app'@'localhost'".to_owned()));
        assert!(
            statements.contains(&"REVOKE ALL PRIVILEGES ON *.* FROM 'app'@'localhost'".to_owned())
        );
    }
}
