//! The vault envelope: header, hex body, and the AES256 scheme inside.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::Error;

/// PBKDF2 rounds, fixed by the format.
const ROUNDS: u32 = 10_000;
/// The body is wrapped at this width, as `ansible-vault` writes it.
const WIDTH: usize = 80;

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Whether `text` is a vault envelope.
#[must_use]
pub fn is_encrypted(text: &str) -> bool {
    text.trim_start().starts_with("$ANSIBLE_VAULT;")
}

/// A parsed envelope: its vault id (1.2 only) and its parts.
pub(crate) struct Envelope {
    pub(crate) label: Option<String>,
    salt: Vec<u8>,
    mac: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// Reads the header and the hex body.
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let (header, body) = text.split_once('\n').unwrap_or((text, ""));
        let header = header.trim();
        let fields: Vec<&str> = header.split(';').collect();
        let label = match fields.as_slice() {
            ["$ANSIBLE_VAULT", "1.1", "AES256"] => None,
            ["$ANSIBLE_VAULT", "1.2", "AES256", label] => Some((*label).to_owned()),
            ["$ANSIBLE_VAULT", ..] => {
                return Err(Error::Header {
                    header: header.to_owned(),
                });
            }
            _ => return Err(Error::NotEncrypted),
        };
        let body: String = body.split_whitespace().collect();
        let inner = hex::decode(&body)
            .map_err(|error| damaged(format!("the body is not hex ({error})")))?;
        let inner = String::from_utf8(inner).map_err(|_| damaged("the inner text is not ASCII"))?;
        let parts: Vec<&str> = inner.split('\n').collect();
        let [salt, mac, ciphertext] = parts.as_slice() else {
            return Err(damaged(format!(
                "expected salt, HMAC and ciphertext, found {} part(s)",
                parts.len()
            )));
        };
        let decode = |name: &str, part: &str| {
            hex::decode(part.trim()).map_err(|_| damaged(format!("the {name} is not hex")))
        };
        Ok(Self {
            label,
            salt: decode("salt", salt)?,
            mac: decode("HMAC", mac)?,
            ciphertext: decode("ciphertext", ciphertext)?,
        })
    }

    /// The plaintext, when `password` is the right one.
    pub(crate) fn open(&self, password: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let keys = derive(password, &self.salt);
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&keys[32..64]).ok()?;
        mac.update(&self.ciphertext);
        mac.verify_slice(&self.mac).ok()?;
        let mut plaintext = Zeroizing::new(self.ciphertext.clone());
        let mut cipher = Aes256Ctr::new_from_slices(&keys[..32], &keys[64..80]).ok()?;
        cipher.apply_keystream(&mut plaintext);
        let padding = usize::from(*plaintext.last()?);
        if padding == 0 || padding > 16 || padding > plaintext.len() {
            return None;
        }
        let length = plaintext.len() - padding;
        plaintext.truncate(length);
        Some(plaintext)
    }
}

fn damaged(reason: impl Into<String>) -> Error {
    Error::Damaged {
        reason: reason.into(),
    }
}

/// The AES key, the HMAC key and the counter's first block, from PBKDF2.
fn derive(password: &[u8], salt: &[u8]) -> Zeroizing<[u8; 80]> {
    let mut keys = Zeroizing::new([0_u8; 80]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, keys.as_mut());
    keys
}

/// Encrypts `plaintext` with `password` into an envelope `ansible-vault`
/// reads: version 1.1, or 1.2 when a `label` other than `default` is given.
///
/// # Errors
/// The system cannot supply random bytes for the salt.
pub fn encrypt(plaintext: &[u8], password: &[u8], label: Option<&str>) -> Result<String, Error> {
    let mut salt = [0_u8; 32];
    getrandom::fill(&mut salt).map_err(|error| Error::Random(error.to_string()))?;
    Ok(seal(plaintext, password, label, &salt))
}

/// [`encrypt`] with a given salt (tests use a fixed one).
pub(crate) fn seal(plaintext: &[u8], password: &[u8], label: Option<&str>, salt: &[u8]) -> String {
    let keys = derive(password, salt);
    let padding = 16 - plaintext.len() % 16;
    let mut ciphertext = Zeroizing::new(plaintext.to_vec());
    ciphertext.extend(std::iter::repeat_n(
        u8::try_from(padding).unwrap_or(16),
        padding,
    ));
    if let Ok(mut cipher) = Aes256Ctr::new_from_slices(&keys[..32], &keys[64..80]) {
        cipher.apply_keystream(&mut ciphertext);
    }
    let mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&keys[32..64])
        .map(|mut mac| {
            mac.update(&ciphertext);
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(mac),
        hex::encode(&*ciphertext)
    );
    let body = hex::encode(inner);
    let header = match label {
        Some(label) if label != "default" => format!("$ANSIBLE_VAULT;1.2;AES256;{label}"),
        _ => "$ANSIBLE_VAULT;1.1;AES256".to_owned(),
    };
    let mut text = header;
    for line in body.as_bytes().chunks(WIDTH) {
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(line));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::{Envelope, seal};

    #[test]
    fn what_is_sealed_opens_with_the_same_password_only() {
        let text = seal(b"s3cret value", b"pass", None, &[7; 32]);
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert!(text.lines().skip(1).all(|line| line.len() <= 80));
        let envelope = Envelope::parse(&text).unwrap();
        assert_eq!(envelope.open(b"pass").unwrap().as_slice(), b"s3cret value");
        assert!(envelope.open(b"wrong").is_none());
    }

    #[test]
    fn a_label_makes_a_version_1_2_envelope() {
        let text = seal(&[0; 16], b"pass", Some("prod"), &[1; 32]);
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        let envelope = Envelope::parse(&text).unwrap();
        assert_eq!(envelope.label.as_deref(), Some("prod"));
        assert_eq!(envelope.open(b"pass").unwrap().as_slice(), &[0; 16]);
    }

    #[test]
    fn damaged_envelopes_are_reported() {
        assert!(Envelope::parse("$ANSIBLE_VAULT;1.0;AES\nabcd").is_err());
        assert!(Envelope::parse("$ANSIBLE_VAULT;1.1;AES256\nzz").is_err());
        assert!(Envelope::parse("plain").is_err());
    }
}
