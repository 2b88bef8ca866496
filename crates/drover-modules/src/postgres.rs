//! What the `PostgreSQL` modules share: statements run through `psql` on the
//! host (no Python driver there), the login's password handed over on
//! standard input as a private password file, never on a command line;
//! the quoting of names and strings; and checking a password against the
//! hash the server keeps, as community.postgresql's modules do.

use base64::Engine as _;
use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Dict, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::arguments::Arguments;
use crate::{Error, ModuleContext};

/// The arguments every `PostgreSQL` module takes to log in.
pub(crate) const LOGIN: [A; 10] = [
    A::new("login_user", Text).aliases(&["login", "login_username"]),
    A::new("login_password", Text),
    A::new("login_host", Text).aliases(&["host"]),
    A::new("login_unix_socket", Text).aliases(&["unix_socket"]),
    A::new("port", Integer).aliases(&["login_port"]),
    A::new("ssl_mode", Text),
    A::new("ca_cert", Text).aliases(&["ssl_rootcert"]),
    A::new("ssl_cert", Text),
    A::new("ssl_key", Text),
    A::new("connect_params", Dict),
];

/// How to log in, and to which database.
#[derive(Debug, Default)]
pub(crate) struct Login {
    user: Option<String>,
    password: Option<String>,
    host: Option<String>,
    socket: Option<String>,
    port: Option<u64>,
    ssl_mode: Option<String>,
}

/// A failure the server (or psql) reported.
pub(crate) struct Failed(pub(crate) String);

impl Login {
    pub(crate) fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        Ok(Self {
            user: arguments.string("login_user")?,
            password: arguments.string("login_password")?,
            host: arguments
                .string("login_host")?
                .filter(|host| !host.is_empty()),
            socket: arguments
                .string("login_unix_socket")?
                .filter(|socket| !socket.is_empty()),
            port: arguments.unsigned("port")?,
            ssl_mode: arguments.string("ssl_mode")?,
        })
    }

    /// The libpq settings, as `psql`'s environment. A socket given beats
    /// `localhost`, as in Ansible's modules.
    fn environment(&self, database: &str) -> String {
        let mut variables = vec![format!("PGDATABASE={}", quote(database))];
        let host = self.socket.as_ref().or(self.host.as_ref());
        if let Some(host) = host {
            variables.push(format!("PGHOST={}", quote(host)));
        }
        if let Some(user) = &self.user {
            variables.push(format!("PGUSER={}", quote(user)));
        }
        if let Some(port) = self.port {
            variables.push(format!("PGPORT={port}"));
        }
        if let Some(mode) = &self.ssl_mode {
            variables.push(format!("PGSSLMODE={}", quote(mode)));
        }
        variables.join(" ")
    }

    /// The password file's text: any host, port, database and user.
    fn password_file(&self) -> String {
        self.password.as_ref().map_or_else(String::new, |password| {
            format!(
                "*:*:*:*:{}\n",
                password.replace('\\', "\\\\").replace(':', "\\:")
            )
        })
    }

    /// What runs before a client program (`psql`, `pg_dump`, `pg_restore`)
    /// in `database`: the password file is the first bytes of standard
    /// input, copied to a private temporary file that goes when the command
    /// ends; then the libpq settings. The program follows, and may read the
    /// rest of standard input. Its standard input is returned with it.
    pub(crate) fn setup(&self, database: &str) -> (String, Bytes) {
        let password = self.password_file();
        (
            format!(
                "{}PGPASSFILE=\"$f\" {}",
                crate::remote::secret_file_from_stdin(password.len()),
                self.environment(database)
            ),
            Bytes::from(password),
        )
    }

    /// Runs `statements` in `database`; the rows of each, fields split at tabs.
    pub(crate) async fn query(
        &self,
        context: &ModuleContext<'_>,
        database: &str,
        statements: &[String],
    ) -> Result<Result<Vec<Vec<Vec<String>>>, Failed>, Error> {
        let mut script = String::new();
        for statement in statements {
            script.push_str("SELECT '--drover--';\n");
            script.push_str(statement.trim_end_matches(';'));
            script.push_str(";\n");
        }
        let (setup, stdin) = self.setup(database);
        let command = format!("{setup} psql -X -q -A -t -v ON_ERROR_STOP=1 -F \"$(printf '\\t')\"");
        let mut input = stdin.to_vec();
        input.extend_from_slice(script.as_bytes());
        let output = context.exec(&command, Some(Bytes::from(input))).await?;
        if !output.success() {
            return Ok(Err(Failed(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            )));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let results = stdout
            .split("--drover--\n")
            .skip(1)
            .map(|block| {
                block
                    .lines()
                    .map(|line| line.split('\t').map(str::to_owned).collect())
                    .collect()
            })
            .collect();
        Ok(Ok(results))
    }
}

/// A string literal (standard-conforming strings: only `'` is doubled).
pub(crate) fn string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A quoted identifier.
pub(crate) fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether `password` is the one `stored` (from `pg_authid.rolpassword`)
/// keeps for `user`: SCRAM-SHA-256 or MD5, as the server would check it.
pub(crate) fn password_matches(stored: &str, user: &str, password: &str) -> bool {
    if let Some(md5) = stored.strip_prefix("md5") {
        let digest = md5::Md5::digest(format!("{password}{user}").as_bytes());
        return hex::encode(digest) == md5;
    }
    let Some(rest) = stored.strip_prefix("SCRAM-SHA-256$") else {
        return stored == password;
    };
    let Some((parameters, keys)) = rest.split_once('$') else {
        return false;
    };
    let (Some((iterations, salt)), Some((stored_key, server_key))) =
        (parameters.split_once(':'), keys.split_once(':'))
    else {
        return false;
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let (Ok(iterations), Ok(salt), Ok(stored_key), Ok(server_key)) = (
        iterations.parse::<u32>(),
        engine.decode(salt),
        engine.decode(stored_key),
        engine.decode(server_key),
    ) else {
        return false;
    };
    let mut salted = [0_u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
    let keyed = |text: &[u8]| -> Option<Vec<u8>> {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&salted).ok()?;
        mac.update(text);
        Some(mac.finalize().into_bytes().to_vec())
    };
    let (Some(client_key), Some(computed_server_key)) =
        (keyed(b"Client Key"), keyed(b"Server Key"))
    else {
        return false;
    };
    Sha256::digest(&client_key).as_slice() == stored_key.as_slice()
        && computed_server_key == server_key
}

/// The `db` (or `login_db`) argument, or `postgres`.
pub(crate) fn database(arguments: &Arguments<'_>, names: &[&str]) -> Result<String, Error> {
    Ok(arguments
        .string_of(names)?
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "postgres".to_owned()))
}

/// `trust_input` and `session_role`, which every module takes.
pub(crate) const COMMON: [A; 2] = [A::new("trust_input", Bool), A::new("session_role", Text)];

#[cfg(test)]
mod tests {
    use super::{Login, identifier, password_matches, string};

    #[test]
    fn passwords_are_checked_against_md5_hashes_and_text() {
        // SCRAM-SHA-256 hashes are checked against a real server, in the
        // roles' convergence (tests/system/roles.rs): a second run that
        // found the password differ would change the role again.
        assert!(!password_matches("SCRAM-SHA-256$4096:bad", "app", "secret"));
        let md5 = format!(
            "md5{}",
            hex::encode(<md5::Md5 as sha2::Digest>::digest(b"secretapp"))
        );
        assert!(password_matches(&md5, "app", "secret"));
        assert!(!password_matches(&md5, "app", "other"));
        assert_eq!(string("it's"), "'it''s'");
        assert_eq!(identifier("a\"b"), "\"a\"\"b\"");
        let login = Login {
            password: Some("pa:ss".to_owned()),
            ..Login::default()
        };
        assert_eq!(login.password_file(), "*:*:*:*:pa\\:ss\n");
    }
}
