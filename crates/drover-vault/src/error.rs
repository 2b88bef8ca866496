//! What can go wrong with a vault.

use std::path::PathBuf;

/// A vault error; each says what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The text does not start with `$ANSIBLE_VAULT;`.
    #[error("not vault-encrypted (no `$ANSIBLE_VAULT;` header)")]
    NotEncrypted,
    /// The header names a version or cipher drover does not read.
    #[error("unsupported vault header `{header}`: drover reads 1.1 and 1.2 with AES256")]
    Header {
        /// The header line.
        header: String,
    },
    /// The body is not the hex envelope the format defines.
    #[error("the vault body is damaged: {reason}")]
    Damaged {
        /// What is wrong.
        reason: String,
    },
    /// No password was given, so nothing can be decrypted.
    #[error("found vault-encrypted data, but no vault password was given")]
    NoSecret,
    /// No password decrypts this text.
    #[error("no vault password decrypts this (tried {tried})")]
    WrongPassword {
        /// The vault ids that were tried.
        tried: String,
    },
    /// A password file or script could not be read or run.
    #[error("vault password source `{}`: {reason}", path.display())]
    Source {
        /// The file or script.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// The system's random source failed (for a new salt).
    #[error("no random bytes for the salt: {0}")]
    Random(String),
}

impl Error {
    /// What to try, for an operator.
    #[must_use]
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::NoSecret => {
                Some("pass --vault-password-file FILE, --vault-id LABEL@FILE or --ask-vault-pass")
            }
            Error::WrongPassword { .. } => Some(
                "check the password file; with several vault ids, give the one this file was encrypted with",
            ),
            Error::Source { .. } => Some(
                "a password file holds the password; an executable one prints it on standard output",
            ),
            Error::Damaged { .. } | Error::NotEncrypted => Some(
                "encrypt it again with `drover vault encrypt` or `encrypt_string`; keep its lines as written",
            ),
            Error::Header { .. } => Some("re-encrypt it with `drover vault encrypt`"),
            Error::Random(_) => None,
        }
    }
}
