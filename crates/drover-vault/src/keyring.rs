//! Vault passwords: where they come from, and the process-wide keyring.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use zeroize::Zeroizing;

use crate::Error;
use crate::envelope::Envelope;

/// One vault password and its vault id (`default` when none is named).
#[derive(Clone)]
pub struct VaultSecret {
    /// The vault id.
    pub label: String,
    password: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for VaultSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "VaultSecret({}, ********)", self.label)
    }
}

impl VaultSecret {
    /// A password given directly (read from a prompt).
    #[must_use]
    pub fn new(label: &str, password: &[u8]) -> Self {
        Self {
            label: label.to_owned(),
            password: Zeroizing::new(password.to_vec()),
        }
    }

    /// The password in `path`, or printed by `path` when it is executable;
    /// a client script (named `*-client`, as Ansible's rule has it) is run
    /// with `--vault-id LABEL`.
    /// Surrounding white space is dropped, as Ansible drops it.
    ///
    /// # Errors
    /// The file cannot be read, or the script fails.
    pub fn from_source(label: &str, path: &Path) -> Result<Self, Error> {
        use std::os::unix::fs::PermissionsExt as _;
        let failed = |reason: String| Error::Source {
            path: path.to_path_buf(),
            reason,
        };
        let metadata = std::fs::metadata(path).map_err(|error| failed(error.to_string()))?;
        let executable = metadata.permissions().mode() & 0o111 != 0;
        let bytes = Zeroizing::new(if executable {
            run_script(path, label).map_err(failed)?
        } else {
            std::fs::read(path).map_err(|error| failed(error.to_string()))?
        });
        // As Ansible: a file loses all surrounding white space, a script's
        // output only its line endings.
        let password = if executable {
            trim_line_endings(&bytes)
        } else {
            bytes.trim_ascii()
        };
        if password.is_empty() {
            return Err(failed("it holds no password".to_owned()));
        }
        Ok(Self::new(label, password))
    }

    /// The password, for encrypting.
    #[must_use]
    pub fn password(&self) -> &[u8] {
        &self.password
    }
}

/// Runs a password script; its standard output.
fn run_script(path: &Path, label: &str) -> Result<Vec<u8>, String> {
    // `client.sh` is a file here, not a program on `PATH`.
    let program = if path.components().count() == 1 {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    };
    let client = path
        .file_stem()
        .is_some_and(|stem| stem.to_string_lossy().ends_with("-client"));
    let arguments: &[&str] = if client { &["--vault-id", label] } else { &[] };
    let output = std::process::Command::new(program)
        .args(arguments)
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run it: {error}"))?;
    if !output.status.success() {
        return Err(format!("it exited with {}", output.status));
    }
    Ok(output.stdout)
}

fn trim_line_endings(bytes: &[u8]) -> &[u8] {
    let is_ending = |byte: &u8| *byte == b'\r' || *byte == b'\n';
    let start = bytes
        .iter()
        .position(|byte| !is_ending(byte))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|byte| !is_ending(byte))
        .map_or(start, |end| end + 1);
    &bytes[start..end]
}

/// The vault passwords of a run.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    secrets: Vec<VaultSecret>,
}

impl Keyring {
    /// A keyring with these passwords, tried in order.
    #[must_use]
    pub fn new(secrets: Vec<VaultSecret>) -> Self {
        Self { secrets }
    }

    /// Whether it holds no password.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The first password (the one `encrypt` uses), or the one labelled `label`.
    #[must_use]
    pub fn secret(&self, label: Option<&str>) -> Option<&VaultSecret> {
        match label {
            Some(label) => self.secrets.iter().find(|secret| secret.label == label),
            None => self.secrets.first(),
        }
    }

    /// Decrypts an envelope: the password whose vault id the envelope names
    /// first, then every other (as Ansible does).
    ///
    /// # Errors
    /// The text is not an envelope, is damaged, or no password opens it.
    pub fn decrypt(&self, text: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        if self.secrets.is_empty() {
            return Err(Error::NoSecret);
        }
        let envelope = Envelope::parse(text)?;
        let mut ordered: Vec<&VaultSecret> = self.secrets.iter().collect();
        if let Some(label) = &envelope.label {
            ordered.sort_by_key(|secret| &secret.label != label);
        }
        for secret in ordered {
            if let Some(plaintext) = envelope.open(&secret.password) {
                return Ok(plaintext);
            }
        }
        Err(Error::WrongPassword {
            tried: self
                .secrets
                .iter()
                .map(|secret| secret.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

static INSTALLED: RwLock<Option<Keyring>> = RwLock::new(None);

/// Envelopes already opened with the installed keyring, and their
/// plaintexts: a `!vault` variable is rendered for every host and task
/// that uses it, and each opening costs 10,000 PBKDF2 rounds.
static OPENED: std::sync::Mutex<Option<HashMap<String, Zeroizing<Vec<u8>>>>> =
    std::sync::Mutex::new(None);

/// Makes `keyring` the run's; readers decrypt with it from now on.
pub fn install(keyring: Keyring) {
    if let Ok(mut installed) = INSTALLED.write() {
        *installed = Some(keyring);
    }
    if let Ok(mut opened) = OPENED.lock() {
        *opened = None;
    }
}

/// The run's keyring (empty before [`install`]).
#[must_use]
pub fn installed() -> Keyring {
    INSTALLED
        .read()
        .ok()
        .and_then(|installed| installed.clone())
        .unwrap_or_default()
}

/// Decrypts with the run's keyring and remembers the plaintext for
/// [`crate::mask`].
///
/// # Errors
/// As [`Keyring::decrypt`].
pub fn decrypt(text: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    if let Some(plaintext) = OPENED
        .lock()
        .ok()
        .and_then(|opened| opened.as_ref()?.get(text).cloned())
    {
        return Ok(plaintext);
    }
    let plaintext = installed().decrypt(text)?;
    if let Ok(revealed) = std::str::from_utf8(&plaintext) {
        crate::remember(revealed.trim_end_matches('\n'));
    }
    if let Ok(mut opened) = OPENED.lock() {
        opened
            .get_or_insert_with(HashMap::new)
            .insert(text.to_owned(), plaintext.clone());
    }
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::{Keyring, VaultSecret};
    use crate::{Error, encrypt};

    #[test]
    fn the_labelled_password_is_tried_first_then_the_others() {
        let text = encrypt(b"value", b"second", Some("prod")).unwrap();
        let keyring = Keyring::new(vec![
            VaultSecret::new("dev", b"first"),
            VaultSecret::new("prod", b"second"),
        ]);
        assert_eq!(keyring.decrypt(&text).unwrap().as_slice(), b"value");
        let wrong = Keyring::new(vec![VaultSecret::new("dev", b"first")]);
        assert!(matches!(
            wrong.decrypt(&text),
            Err(Error::WrongPassword { .. })
        ));
        assert!(matches!(
            Keyring::default().decrypt(&text),
            Err(Error::NoSecret)
        ));
    }

    #[test]
    fn a_password_file_is_read_and_a_script_is_run() {
        use std::os::unix::fs::PermissionsExt as _;
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("password");
        std::fs::write(&file, "  hunter2 \n").unwrap();
        assert_eq!(
            VaultSecret::from_source("default", &file)
                .unwrap()
                .password(),
            b"hunter2"
        );
        for (name, printed) in [
            ("vault-client.sh", &b"from-prod "[..]),
            ("script", b"from- "),
        ] {
            let script = directory.path().join(name);
            std::fs::write(&script, "#!/bin/sh\necho \"from-$2 \"\n").unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(
                VaultSecret::from_source("prod", &script)
                    .unwrap()
                    .password(),
                printed
            );
        }
    }
}
