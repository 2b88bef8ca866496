//! `drover vault` (encrypt, decrypt, view, `encrypt_string`) and the vault
//! password options every command that reads files accepts.
//!
//! Files are written as `ansible-vault` writes them, so either tool reads
//! what the other wrote.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use drover_vault::{Keyring, VaultSecret};

use crate::cli::{EncryptStringArgs, VaultArgs, VaultCommand, VaultFilesArgs};
use crate::exit;
use crate::failure::Failure;

/// Builds the run's keyring from the options and installs it; a password
/// source that cannot be read is an error before anything else happens.
pub(crate) fn install(arguments: &VaultArgs) -> Result<(), Failure> {
    let mut secrets = Vec::new();
    for file in &arguments.password_files {
        secrets.push(
            VaultSecret::from_source("default", file)
                .map_err(|error| Failure::usage(describe(&error)))?,
        );
    }
    for id in &arguments.ids {
        let (label, source) = id.split_once('@').unwrap_or(("default", id.as_str()));
        secrets.push(if source == "prompt" {
            prompt(label)?
        } else {
            VaultSecret::from_source(label, Path::new(source))
                .map_err(|error| Failure::usage(describe(&error)))?
        });
    }
    if arguments.ask {
        secrets.push(prompt("default")?);
    }
    drover_vault::install(Keyring::new(secrets));
    Ok(())
}

fn describe(error: &drover_vault::Error) -> String {
    match error.hint() {
        Some(hint) => format!("{error}\nhint: {hint}"),
        None => error.to_string(),
    }
}

fn prompt(label: &str) -> Result<VaultSecret, Failure> {
    let question = if label == "default" {
        "Vault password: ".to_owned()
    } else {
        format!("Vault password ({label}): ")
    };
    let password = rpassword::prompt_password(question)
        .map_err(|error| Failure::usage(format!("cannot ask for the vault password: {error}")))?;
    Ok(VaultSecret::new(label, password.as_bytes()))
}

/// Runs `drover vault ...`.
pub(crate) fn run(command: &VaultCommand) -> Result<u8, Failure> {
    let keyring = drover_vault::installed();
    if keyring.is_empty() {
        return Err(Failure::usage(
            "no vault password given\nhint: pass --vault-password-file FILE, --vault-id LABEL@FILE or --ask-vault-pass",
        ));
    }
    let result = match command {
        VaultCommand::Encrypt(arguments) => files(arguments, &keyring, Action::Encrypt),
        VaultCommand::Decrypt(arguments) => files(arguments, &keyring, Action::Decrypt),
        VaultCommand::View(arguments) => files(arguments, &keyring, Action::View),
        VaultCommand::EncryptString(arguments) => encrypt_string(arguments, &keyring),
    };
    result.map(|()| exit::SUCCESS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Encrypt,
    Decrypt,
    View,
}

/// The password to encrypt with, and the vault id to write in the header:
/// the one `--encrypt-vault-id` names, else the first given (its label, as
/// `ansible-vault` writes it, unless it is `default`).
fn encrypting_secret<'a>(
    keyring: &'a Keyring,
    wanted: Option<&'a str>,
) -> Result<(&'a VaultSecret, Option<&'a str>), Failure> {
    let secret = keyring.secret(wanted).ok_or_else(|| {
        Failure::usage(format!(
            "no vault password has the id `{}`",
            wanted.unwrap_or_default()
        ))
    })?;
    Ok((
        secret,
        Some(secret.label.as_str()).filter(|label| *label != "default"),
    ))
}

fn files(arguments: &VaultFilesArgs, keyring: &Keyring, action: Action) -> Result<(), Failure> {
    let (secret, label) = encrypting_secret(keyring, arguments.encrypt_vault_id.as_deref())?;
    for file in &arguments.files {
        let input = read(file)?;
        let text = String::from_utf8_lossy(&input);
        let output = match action {
            Action::Encrypt if drover_vault::is_encrypted(&text) => {
                return Err(Failure::usage(format!(
                    "{} is already encrypted",
                    file.display()
                )));
            }
            Action::Encrypt => drover_vault::encrypt(&input, secret.password(), label)
                .map_err(|error| error.to_string())?
                .into_bytes(),
            Action::Decrypt | Action::View => keyring
                .decrypt(&text)
                .map_err(|error| {
                    Failure::usage(format!("{}: {}", file.display(), describe(&error)))
                })?
                .to_vec(),
        };
        let destination = match (&arguments.output, action) {
            (_, Action::View) => PathBuf::from("-"),
            (Some(output), _) => output.clone(),
            (None, _) => file.clone(),
        };
        write(&destination, &output)?;
        if destination != Path::new("-") && action != Action::View {
            let done = if action == Action::Encrypt {
                "Encryption"
            } else {
                "Decryption"
            };
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{done} successful");
            }
        }
    }
    Ok(())
}

fn encrypt_string(arguments: &EncryptStringArgs, keyring: &Keyring) -> Result<(), Failure> {
    let (secret, label) = encrypting_secret(keyring, arguments.encrypt_vault_id.as_deref())?;
    let plaintext = match &arguments.plaintext {
        Some(text) => text.clone().into_bytes(),
        None => read(Path::new("-"))?,
    };
    let envelope = drover_vault::encrypt(&plaintext, secret.password(), label)
        .map_err(|error| error.to_string())?;
    let mut indented = String::new();
    for line in envelope.lines() {
        indented.push_str("          ");
        indented.push_str(line);
        indented.push('\n');
    }
    let text = match &arguments.name {
        Some(name) => format!("{name}: !vault |\n{indented}"),
        None => format!("!vault |\n{indented}"),
    };
    write(Path::new("-"), text.as_bytes())
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    if path == Path::new("-") {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(|error| Failure::usage(format!("standard input: {error}")))?;
        return Ok(input);
    }
    std::fs::read(path).map_err(|error| Failure::usage(format!("{}: {error}", path.display())))
}

/// Writes `contents` to `path` (`-`: standard output) through a temporary
/// file renamed into place, keeping the file's mode.
fn write(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    if path == Path::new("-") {
        return std::io::stdout().write_all(contents).map_err(Failure::from);
    }
    let failed = |error: std::io::Error| Failure::usage(format!("{}: {error}", path.display()));
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(failed)?;
    temporary.write_all(contents).map_err(failed)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        std::fs::set_permissions(temporary.path(), metadata.permissions()).map_err(failed)?;
    }
    temporary
        .persist(path)
        .map_err(|error| failed(error.error))?;
    Ok(())
}
