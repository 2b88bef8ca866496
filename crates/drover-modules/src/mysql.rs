//! What the `MySQL` and `MariaDB` modules share: statements run through the
//! `mysql` client on the host (no Python driver there), with the login's
//! password handed over on standard input, never on a command line that
//! `ps` would show; and the quoting of names and strings.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use crate::arguments::Arguments;
use crate::{Error, ModuleContext};

/// How to log in: the `login_*` arguments every module of community.mysql takes.
#[derive(Debug, Default)]
pub(crate) struct Login {
    user: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u64>,
    socket: Option<String>,
    config_file: Option<String>,
}

/// The arguments every `MySQL` module takes.
pub(crate) const LOGIN: [A; 13] = [
    A::new("login_user", Text).aliases(&["login_username"]),
    A::new("login_password", Text),
    A::new("login_host", Text),
    A::new("login_port", Integer),
    A::new("login_unix_socket", Text),
    A::new("config_file", Text),
    A::new("check_implicit_admin", Bool),
    A::new("client_cert", Text).aliases(&["ssl_cert"]),
    A::new("client_key", Text).aliases(&["ssl_key"]),
    A::new("ca_cert", Text).aliases(&["ssl_ca"]),
    A::new("check_hostname", Bool),
    A::new("connect_timeout", Integer),
    A::new("config_overrides_defaults", Bool),
];

/// One result set: its column names and rows (batch mode's escapes undone).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Rows {
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Rows {
    /// The first row as `column → value`.
    pub(crate) fn first(&self) -> Option<std::collections::BTreeMap<&str, &str>> {
        let row = self.rows.first()?;
        Some(
            self.columns
                .iter()
                .map(String::as_str)
                .zip(row.iter().map(String::as_str))
                .collect(),
        )
    }

    /// The values of the first column.
    pub(crate) fn column(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter_map(|row| row.first().map(String::as_str))
            .collect()
    }
}

/// A statement's failure, as the server reported it.
pub(crate) struct Failed(pub(crate) String);

impl Login {
    pub(crate) fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        Ok(Self {
            user: arguments.string("login_user")?,
            password: arguments.string("login_password")?,
            host: arguments.string("login_host")?,
            port: arguments.unsigned("login_port")?,
            socket: arguments.string("login_unix_socket")?,
            config_file: arguments.string("config_file")?,
        })
    }

    /// The option file given on standard input: `[client]` with the login.
    fn option_file(&self) -> String {
        let mut file = String::from("[client]\n");
        for (key, value) in [
            ("user", &self.user),
            ("password", &self.password),
            ("socket", &self.socket),
        ] {
            if let Some(value) = value {
                let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(file, "{key}=\"{escaped}\"");
            }
        }
        // `localhost` means the socket to the client, as to Ansible's driver.
        if let Some(host) = self.host.as_deref().filter(|host| *host != "localhost") {
            let _ = writeln!(file, "host={host}");
        }
        if let Some(port) = self.port {
            let _ = writeln!(file, "port={port}");
        }
        file
    }

    /// `program` (`mysql`, `mysqldump`) with the login, and its standard
    /// input: see [`Self::setup`].
    pub(crate) fn command(&self, program: &str, rest: &str) -> (String, Bytes) {
        let (setup, stdin) = self.setup();
        (format!("{setup}{}", self.invocation(program, rest)), stdin)
    }

    /// What runs before the client: the option file is the first bytes of
    /// standard input, copied to a private temporary file (`$f`) that goes
    /// when the command ends. The client may then read the rest of
    /// standard input, or another file.
    pub(crate) fn setup(&self) -> (String, Bytes) {
        let options = self.option_file();
        (
            crate::remote::secret_file_from_stdin(options.len()),
            Bytes::from(options),
        )
    }

    /// `program` reading the option file [`Self::setup`] made; `~/.my.cnf`
    /// (or `config_file`) is read first, as Ansible's driver reads it.
    pub(crate) fn invocation(&self, program: &str, rest: &str) -> String {
        let defaults = match &self.config_file {
            Some(file) if file != "~/.my.cnf" => format!(" --defaults-file={}", quote(file)),
            _ => String::new(),
        };
        format!("{program}{defaults} --defaults-extra-file=\"$f\" {rest}")
    }

    /// Runs `statements`; one [`Rows`] per statement that returns rows.
    pub(crate) async fn query(
        &self,
        context: &ModuleContext<'_>,
        statements: &[String],
    ) -> Result<Result<Vec<Rows>, Failed>, Error> {
        let mut script = String::new();
        for statement in statements {
            script.push_str("SELECT '--drover--' AS `--drover--`;\n");
            script.push_str(statement.trim_end_matches(';'));
            script.push_str(";\n");
        }
        let (command, stdin) = self.command("mysql", "--batch");
        let mut input = stdin.to_vec();
        input.extend_from_slice(script.as_bytes());
        let output = context.exec(&command, Some(Bytes::from(input))).await?;
        if !output.success() {
            let error = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Ok(Err(Failed(if error.is_empty() {
                "the mysql client failed".to_owned()
            } else {
                error
            })));
        }
        Ok(Ok(parse_batches(&String::from_utf8_lossy(&output.stdout))))
    }
}

/// Splits batch output at the marker each statement is preceded by.
fn parse_batches(output: &str) -> Vec<Rows> {
    let mut results = Vec::new();
    let mut lines = output.lines().peekable();
    while let Some(line) = lines.next() {
        if line != "--drover--" {
            continue;
        }
        // The marker's value line.
        lines.next();
        let mut rows = Rows::default();
        if let Some(header) = lines.next_if(|line| *line != "--drover--") {
            rows.columns = header.split('\t').map(unescape).collect();
            while let Some(row) = lines.next_if(|line| *line != "--drover--") {
                rows.rows.push(row.split('\t').map(unescape).collect());
            }
        }
        results.push(rows);
    }
    results
}

/// Undoes batch mode's escapes (`\t`, `\n`, `\\`, `\0`).
fn unescape(field: &str) -> String {
    let mut text = String::new();
    let mut characters = field.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            text.push(character);
            continue;
        }
        match characters.next() {
            Some('t') => text.push('\t'),
            Some('n') => text.push('\n'),
            Some('0') => text.push('\0'),
            Some(other) => text.push(other),
            None => text.push('\\'),
        }
    }
    text
}

/// A string literal.
pub(crate) fn string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A quoted identifier (a database or table name).
pub(crate) fn identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::{Login, identifier, parse_batches, string};

    #[test]
    fn results_are_split_per_statement_and_unescaped() {
        let output = "--drover--\n--drover--\nSCHEMA_NAME\nshop\na\\tb\n--drover--\n--drover--\n--drover--\n--drover--\nFile\tPosition\nmysql-bin.000002\t328\n";
        let results = parse_batches(output);
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].column(), ["shop", "a\tb"]);
        assert!(results[1].rows.is_empty());
        assert_eq!(results[2].first().expect("a row")["Position"], "328");
        assert_eq!(string("it's \\"), "'it\\'s \\\\'");
        assert_eq!(identifier("we`ird"), "`we``ird`");
    }

    #[test]
    fn the_password_goes_on_standard_input_not_the_command_line() {
        let login = Login {
            user: Some("admin".to_owned()),
            password: Some("s3cr\"et".to_owned()),
            ..Login::default()
        };
        let (command, stdin) = login.command("mysql", "--batch");
        assert!(!command.contains("s3cr"));
        assert_eq!(
            String::from_utf8_lossy(&stdin),
            "[client]\nuser=\"admin\"\npassword=\"s3cr\\\"et\"\n"
        );
        assert!(command.contains(&format!("count={}", stdin.len())));
    }
}
