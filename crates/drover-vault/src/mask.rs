//! Masking: every secret drover reveals (a vault value, a become password)
//! is remembered, and output passes through [`mask`] before it is printed,
//! so a secret never reaches a terminal or a log even when a task echoes it.

use std::sync::RwLock;

/// Secrets shorter than this are not masked: masking `1` or `no` would
/// garble every line while protecting nothing.
const SHORTEST: usize = 4;

/// What replaces a secret in output.
const MASK: &str = "********";

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `secret` (and each of its lines) for [`mask`].
pub fn remember(secret: &str) {
    let Ok(mut secrets) = SECRETS.write() else {
        return;
    };
    let candidates = std::iter::once(secret).chain(secret.lines());
    let mut added = false;
    for candidate in candidates {
        let candidate = candidate.trim();
        if candidate.chars().count() >= SHORTEST && !secrets.iter().any(|known| known == candidate)
        {
            secrets.push(candidate.to_owned());
            added = true;
        }
    }
    // The longest first, so that a secret containing another is masked whole.
    if added {
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
}

/// `text` with every remembered secret replaced by `********`.
#[must_use]
pub fn mask(text: &str) -> String {
    let Ok(secrets) = SECRETS.read() else {
        return text.to_owned();
    };
    let mut masked = text.to_owned();
    for secret in secrets.iter() {
        if masked.contains(secret.as_str()) {
            masked = masked.replace(secret.as_str(), MASK);
        }
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::{mask, remember};

    #[test]
    fn remembered_secrets_are_masked_and_short_ones_left() {
        remember("correct horse\nbattery staple");
        remember("no");
        assert_eq!(
            mask("pw=correct horse, then battery staple; no"),
            "pw=********, then ********; no"
        );
    }
}
