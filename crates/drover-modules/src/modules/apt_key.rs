//! `apt_key`: an `OpenPGP` key in apt's trusted keys (or a keyring), added
//! from a URL, a file on the host, inline data or a keyserver, or removed,
//! with `apt-key` as Ansible's module does. With an `id`, the key is looked
//! for first and fetched only when missing; without one, it is added, and
//! the task counts as a change only when the keys listed differ after.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// The fingerprints `apt-key adv --with-colons` lists.
fn fingerprints(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| line.starts_with("fpr:"))
        .filter_map(|line| line.split(':').nth(9).map(str::to_uppercase))
        .collect()
}

/// Whether `id` (8, 16 or 40 hex digits, `0x` or not) names one of `keys`.
fn has_key(keys: &[String], id: &str) -> bool {
    let id = id.trim_start_matches("0x").to_uppercase().replace(' ', "");
    !id.is_empty() && keys.iter().any(|key| key.ends_with(&id))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let id = arguments.string("id")?;
    let keyring = arguments
        .string("keyring")?
        .map(|keyring| format!(" --keyring {}", quote(&keyring)))
        .unwrap_or_default();
    let list = format!(
        "APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE=1 apt-key{keyring} adv --list-public-keys --with-fingerprint --with-colons 2>/dev/null"
    );
    let output = context.exec_read_only(&format!("{list}; true")).await?;
    let before = fingerprints(&String::from_utf8_lossy(&output.stdout));
    let present = arguments.present()?;
    let known = id.as_deref().is_some_and(|id| has_key(&before, id));
    if !present {
        let Some(id) = id else {
            return Err(Error::Arguments(
                "`apt_key` needs `id` to remove a key".to_owned(),
            ));
        };
        let command = known.then(|| {
            format!(
                "APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE=1 apt-key{keyring} del {}",
                quote(&id)
            )
        });
        return change(context, command, "`apt-key`").await;
    }
    if known {
        return Ok(ModuleResult::ok());
    }
    if context.check_mode {
        return Ok(ModuleResult::changed());
    }
    let (command, stdin) = add_command(arguments, &keyring, id.as_deref())?;
    let command = format!("{command} && {list}");
    let output = context.exec(&command, stdin).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "adding the key failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let after = fingerprints(&String::from_utf8_lossy(&output.stdout));
    if let Some(id) = &id
        && !has_key(&after, id)
    {
        return Ok(ModuleResult::failed(format!(
            "the key added is not {id}: the key fetched has another fingerprint"
        )));
    }
    Ok(if after == before {
        ModuleResult::ok()
    } else {
        ModuleResult::changed()
    })
}

/// The command that adds the key from where the arguments say, and its
/// standard input (the key itself, for `data`).
fn add_command(
    arguments: &Arguments<'_>,
    keyring: &str,
    id: Option<&str>,
) -> Result<(String, Option<Bytes>), Error> {
    let apt_key = format!("APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE=1 apt-key{keyring}");
    let add = format!("{apt_key} add - >/dev/null");
    Ok(if let Some(data) = arguments.string("data")? {
        (add, Some(Bytes::from(data)))
    } else if let Some(url) = arguments.string("url")? {
        let insecure = if arguments.boolean("validate_certs", true)? {
            ""
        } else {
            " -k"
        };
        (
            format!("curl -fsSL{insecure} {} | {add}", quote(&url)),
            None,
        )
    } else if let Some(file) = arguments.string("file")? {
        (format!("{add} < {}", quote(&file)), None)
    } else if let (Some(server), Some(id)) = (arguments.string("keyserver")?, id) {
        (
            format!(
                "{apt_key} adv --no-tty --keyserver {} --recv {}",
                quote(&server),
                quote(id)
            ),
            None,
        )
    } else {
        return Err(Error::Arguments(
            "`apt_key` needs `data`, `url`, `file` or `keyserver` (with `id`) to add a key"
                .to_owned(),
        ));
    })
}

const APT_KEY: &[A] = &[
    A::new("id", Text),
    A::new("url", Text),
    A::new("data", Text),
    A::new("file", Text),
    A::new("keyring", Text),
    A::new("keyserver", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("validate_certs", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["apt_key"], &[APT_KEY], run)];

#[cfg(test)]
mod tests {
    use super::{fingerprints, has_key};

    #[test]
    fn keys_are_found_by_short_long_and_full_ids() {
        let keys = fingerprints(
            "pub:-:4096:1:DC30D7C23CBBABEE:1606672384:::-:::scSC::::::23::0:\n\
             fpr:::::::::4CB50190207B4758A3F73A796ED0E7B82643E131:\n",
        );
        assert_eq!(keys, ["4CB50190207B4758A3F73A796ED0E7B82643E131"]);
        assert!(has_key(&keys, "2643E131"));
        assert!(has_key(&keys, "0x6ED0E7B82643E131"));
        assert!(!has_key(&keys, "DEADBEEF"));
    }
}
