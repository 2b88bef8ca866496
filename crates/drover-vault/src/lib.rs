//! Ansible Vault for drover.
//!
//! Reads and writes the `$ANSIBLE_VAULT;1.1;AES256` and
//! `$ANSIBLE_VAULT;1.2;AES256;LABEL` envelopes exactly as `ansible-vault`
//! does (PBKDF2-HMAC-SHA256 with 10,000 rounds, AES-256-CTR over a PKCS#7
//! padded plaintext, and an HMAC-SHA256 of the ciphertext), so files move
//! freely between the two tools.
//!
//! Vault passwords are process-wide, as in Ansible: the binary installs a
//! [`Keyring`] once, before any file is read, and every reader (inventory,
//! `vars_files`, inline `!vault` values) decrypts through it. Every value it
//! reveals is remembered so that output can [`mask`] it.

mod envelope;
mod error;
mod keyring;
mod mask;

pub use envelope::{encrypt, is_encrypted};
pub use error::Error;
pub use keyring::{Keyring, VaultSecret, decrypt, install, installed};
pub use mask::{mask, remember};
