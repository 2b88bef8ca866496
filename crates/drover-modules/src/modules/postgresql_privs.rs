//! `postgresql_privs`: privileges on `PostgreSQL` objects (tables, sequences,
//! functions, databases, schemas, languages, tablespaces, types), default
//! privileges, and group membership, granted or revoked through `psql` on
//! the host. As community.postgresql's module does, the change runs in a
//! transaction between two readings of the objects' access lists, and
//! counts as a change only when they differ; in check mode the
//! transaction is rolled back.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};

use super::Module;
use crate::arguments::Arguments;
use crate::postgres::{Login, database, identifier, string};
use crate::{Error, ModuleContext, ModuleResult};

/// What the task asks for, read from its arguments.
struct Request {
    kind: String,
    objects: Vec<String>,
    schema: String,
    privileges: Vec<String>,
    roles: Vec<String>,
    grant_option: Option<bool>,
    present: bool,
}

impl Request {
    fn read(arguments: &Arguments<'_>, database_name: &str) -> Result<Self, Error> {
        let kind = arguments
            .string("type")?
            .unwrap_or_else(|| "table".to_owned());
        let mut objects = arguments.list("objs")?;
        if objects.is_empty() && kind == "database" {
            objects.push(database_name.to_owned());
        }
        Ok(Self {
            objects,
            schema: arguments
                .string("schema")?
                .unwrap_or_else(|| "public".to_owned()),
            privileges: arguments
                .list("privs")?
                .iter()
                .map(|privilege| privilege.trim().to_uppercase())
                .collect(),
            roles: arguments.list("roles")?,
            grant_option: match arguments.raw("grant_option") {
                None => None,
                Some(_) => Some(arguments.boolean("grant_option", false)?),
            },
            present: arguments.present()?,
            kind,
        })
    }

    fn roles(&self) -> String {
        self.roles
            .iter()
            .map(|role| {
                if role.eq_ignore_ascii_case("PUBLIC") {
                    "PUBLIC".to_owned()
                } else {
                    identifier(role)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn objects(&self) -> String {
        self.objects
            .iter()
            .map(|object| self.qualified(object))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An object's name as the statement needs it: schema-qualified for
    /// tables, sequences and types; a function keeps its argument list.
    fn qualified(&self, object: &str) -> String {
        match self.kind.as_str() {
            "table" | "sequence" | "type" => {
                format!("{}.{}", identifier(&self.schema), identifier(object))
            }
            "function" | "procedure" => {
                let (name, rest) = object.split_once('(').unwrap_or((object, ")"));
                format!("{}.{}({rest}", identifier(&self.schema), identifier(name))
            }
            _ => identifier(object),
        }
    }

    /// What is compared before and after: the objects' access lists (or,
    /// for groups, their members).
    fn reading(&self) -> String {
        let names = self
            .objects
            .iter()
            .map(|name| string(name))
            .collect::<Vec<_>>()
            .join(", ");
        let schema = string(&self.schema);
        match self.kind.as_str() {
            "table" | "sequence" if self.all_in_schema() => format!(
                "SELECT relname, relacl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE nspname = {schema} AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY relname"
            ),
            "table" | "sequence" => format!(
                "SELECT relname, relacl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE nspname = {schema} AND relname IN ({names}) ORDER BY relname"
            ),
            "function" | "procedure" => format!(
                "SELECT proname, proacl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE nspname = {schema} ORDER BY proname"
            ),
            "database" => format!("SELECT datname, datacl FROM pg_database WHERE datname IN ({names}) ORDER BY 1"),
            "schema" => format!("SELECT nspname, nspacl FROM pg_namespace WHERE nspname IN ({names}) ORDER BY 1"),
            "language" => format!("SELECT lanname, lanacl FROM pg_language WHERE lanname IN ({names}) ORDER BY 1"),
            "tablespace" => format!("SELECT spcname, spcacl FROM pg_tablespace WHERE spcname IN ({names}) ORDER BY 1"),
            "type" => format!(
                "SELECT typname, typacl FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE nspname = {schema} AND typname IN ({names}) ORDER BY 1"
            ),
            "group" => format!(
                "SELECT g.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid \
                 JOIN pg_roles m ON m.oid = a.member WHERE g.rolname IN ({names}) ORDER BY 1, 2"
            ),
            _ => "SELECT defaclrole, defaclnamespace, defaclobjtype, defaclacl FROM pg_default_acl ORDER BY 1, 2, 3".to_owned(),
        }
    }

    fn all_in_schema(&self) -> bool {
        self.objects.iter().any(|object| object == "ALL_IN_SCHEMA")
    }

    /// The GRANT or REVOKE statement.
    fn statement(&self) -> Result<String, String> {
        let roles = self.roles();
        if self.kind == "group" {
            let groups = self
                .objects
                .iter()
                .map(|group| identifier(group))
                .collect::<Vec<_>>()
                .join(", ");
            return Ok(if self.present {
                let option = if self.grant_option == Some(true) {
                    " WITH ADMIN OPTION"
                } else {
                    ""
                };
                format!("GRANT {groups} TO {roles}{option}")
            } else {
                format!("REVOKE {groups} FROM {roles}")
            });
        }
        let privileges = if self.privileges.is_empty() {
            return Err("`privs` is needed unless `type` is group".to_owned());
        } else {
            self.privileges.join(", ")
        };
        let target = match (self.kind.as_str(), self.all_in_schema()) {
            ("table", true) => format!("ALL TABLES IN SCHEMA {}", identifier(&self.schema)),
            ("sequence", true) => format!("ALL SEQUENCES IN SCHEMA {}", identifier(&self.schema)),
            ("function", true) => format!("ALL FUNCTIONS IN SCHEMA {}", identifier(&self.schema)),
            ("default_privs", _) => {
                let objects = self.objects.join(", ").to_uppercase();
                let scope = format!("IN SCHEMA {}", identifier(&self.schema));
                return Ok(if self.present {
                    format!(
                        "ALTER DEFAULT PRIVILEGES {scope} GRANT {privileges} ON {objects} TO {roles}"
                    )
                } else {
                    format!(
                        "ALTER DEFAULT PRIVILEGES {scope} REVOKE {privileges} ON {objects} FROM {roles}"
                    )
                });
            }
            (kind, _) => format!("{} {}", kind.to_uppercase(), self.objects()),
        };
        Ok(if self.present {
            let option = if self.grant_option == Some(true) {
                " WITH GRANT OPTION"
            } else {
                ""
            };
            format!("GRANT {privileges} ON {target} TO {roles}{option}")
        } else if self.grant_option == Some(true) {
            format!("REVOKE GRANT OPTION FOR {privileges} ON {target} FROM {roles}")
        } else {
            format!("REVOKE {privileges} ON {target} FROM {roles}")
        })
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let login = Login::read(arguments)?;
    arguments.refuse_unsupported(&["target_roles", "usage_on_types"])?;
    let database_name = database(arguments, &["database"])?;
    let request = Request::read(arguments, &database_name)?;
    if request.roles.is_empty() {
        return Err(Error::Arguments(
            "`postgresql_privs` needs `roles`".to_owned(),
        ));
    }
    let statement = match request.statement() {
        Ok(statement) => statement,
        Err(failure) => return Err(Error::Arguments(failure)),
    };
    let reading = request.reading();
    let finish = if context.check_mode {
        "ROLLBACK"
    } else {
        "COMMIT"
    };
    let statements = vec![
        "BEGIN".to_owned(),
        reading.clone(),
        statement.clone(),
        reading,
        finish.to_owned(),
    ];
    let results = match login.query(context, &database_name, &statements).await? {
        Ok(results) => results,
        Err(failed) => return Ok(ModuleResult::failed(failed.0)),
    };
    let changed = results.get(1) != results.get(3);
    Ok(if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    }
    .with("queries", vec![statement]))
}

const POSTGRESQL_PRIVS: &[A] = &[
    A::new("database", Text)
        .aliases(&["db", "login_db"])
        .required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("privs", List).aliases(&["priv"]),
    A::new("type", Text).choices(&[
        "table",
        "sequence",
        "function",
        "procedure",
        "database",
        "schema",
        "language",
        "tablespace",
        "group",
        "default_privs",
        "foreign_data_wrapper",
        "foreign_server",
        "type",
        "parameter",
    ]),
    A::new("objs", List).aliases(&["obj"]),
    A::new("schema", Text),
    A::new("roles", List).aliases(&["role"]).required(),
    A::new("target_roles", List),
    A::new("grant_option", Bool).aliases(&["admin_option"]),
    A::new("fail_on_role", Bool),
    A::new("usage_on_types", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["postgresql_privs"],
    &[
        POSTGRESQL_PRIVS,
        &crate::postgres::LOGIN,
        &crate::postgres::COMMON
    ],
    run
)];

#[cfg(test)]
mod tests {
    use super::Request;

    fn request(kind: &str, objects: &[&str], present: bool) -> Request {
        Request {
            kind: kind.to_owned(),
            objects: objects.iter().map(|object| (*object).to_owned()).collect(),
            schema: "public".to_owned(),
            privileges: vec!["SELECT".to_owned(), "INSERT".to_owned()],
            roles: vec!["app".to_owned(), "public".to_owned()],
            grant_option: None,
            present,
        }
    }

    #[test]
    fn statements_name_their_objects_as_postgresql_needs() {
        assert_eq!(
            request("table", &["orders"], true).statement(),
            Ok("GRANT SELECT, INSERT ON TABLE \"public\".\"orders\" TO \"app\", PUBLIC".to_owned())
        );
        assert_eq!(
            request("table", &["ALL_IN_SCHEMA"], false).statement(),
            Ok(
                "REVOKE SELECT, INSERT ON ALL TABLES IN SCHEMA \"public\" FROM \"app\", PUBLIC"
                    .to_owned()
            )
        );
        assert_eq!(
            request("group", &["readers"], true).statement(),
            Ok("GRANT \"readers\" TO \"app\", PUBLIC".to_owned())
        );
        assert!(
            request("database", &["shop"], true)
                .reading()
                .contains("datname IN ('shop')")
        );
    }
}
