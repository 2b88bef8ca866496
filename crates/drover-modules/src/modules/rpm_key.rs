//! `rpm_key`: an `OpenPGP` key in RPM's database, imported from a URL or a
//! file on the host, or removed by its id, as Ansible's module does: the
//! key's id is read with gpg first and the key imported only when RPM does
//! not have it. (No RPM host runs here: the script is covered by unit
//! tests, and a host without rpm fails the task saying so.)

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// A key id as RPM names it: its last eight hex digits, lower case.
fn short_id(key: &str) -> Option<String> {
    let id = key.trim_start_matches("0x").to_lowercase();
    (id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| id[id.len() - 8..].to_owned())
}

/// The script: prints `present` when RPM has the key, else (unless
/// `check`) imports it and prints `imported`.
fn import_script(key: &str, check: bool, validate_certs: bool) -> String {
    let insecure = if validate_certs { "" } else { " -k" };
    let fetch = if key.starts_with("http://") || key.starts_with("https://") {
        format!("curl -fsSL{insecure} -o \"$d/key\" {}", quote(key))
    } else {
        format!("cp {} \"$d/key\"", quote(key))
    };
    let import = if check {
        "echo would-import"
    } else {
        "rpm --import \"$d/key\" && echo imported"
    };
    format!(
        "command -v rpm >/dev/null || {{ echo 'this host has no rpm' >&2; exit 127; }}\n\
         d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && {fetch} || exit 1\n\
         ids=$(gpg --no-default-keyring --with-colons --show-keys \"$d/key\" 2>/dev/null | \
         awk -F: '/^pub/ {{print tolower(substr($5, length($5) - 7))}}')\n\
         [ -n \"$ids\" ] || {{ echo 'not an OpenPGP key' >&2; exit 1; }}\n\
         have=$(rpm -q gpg-pubkey --qf '%{{VERSION}}\\n' 2>/dev/null)\n\
         missing=0; for id in $ids; do printf '%s\\n' \"$have\" | grep -qx \"$id\" || missing=1; done\n\
         if [ $missing = 0 ]; then echo present; else {import}; fi\n"
    )
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let key = arguments.required("key")?;
    let present = arguments.present()?;
    if !present {
        let Some(id) = short_id(&key) else {
            return Err(Error::Arguments(
                "to remove a key, `rpm_key` needs its id (8 or more hex digits) as `key`"
                    .to_owned(),
            ));
        };
        let remove = if context.check_mode {
            "echo would-remove".to_owned()
        } else {
            format!("rpm -e --allmatches gpg-pubkey-{id} && echo removed")
        };
        let script = format!(
            "command -v rpm >/dev/null || {{ echo 'this host has no rpm' >&2; exit 127; }}\n\
             rpm -q gpg-pubkey --qf '%{{VERSION}}\\n' 2>/dev/null | grep -qx {id} || {{ echo absent; exit 0; }}\n\
             {remove}"
        );
        return finish(context, &script).await;
    }
    let script = import_script(
        &key,
        context.check_mode,
        arguments.boolean("validate_certs", true)?,
    );
    finish(context, &script).await
}

async fn finish(context: &ModuleContext<'_>, script: &str) -> Result<ModuleResult, Error> {
    let output = context.exec(script, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "rpm_key failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(match stdout.trim() {
        "present" | "absent" => ModuleResult::ok(),
        _ => ModuleResult::changed(),
    })
}

const RPM_KEY: &[A] = &[
    A::new("key", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("validate_certs", Bool),
    A::new("fingerprint", List),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["rpm_key"], &[RPM_KEY], run)];

#[cfg(test)]
mod tests {
    use super::{import_script, short_id};

    #[test]
    fn keys_are_fetched_read_and_imported_only_when_missing() {
        assert_eq!(short_id("0xDEADBEEF12345678").as_deref(), Some("12345678"));
        assert_eq!(short_id("https://x/key"), None);
        let script = import_script("https://example.org/RPM-GPG-KEY", false, true);
        assert!(script.contains("curl -fsSL -o \"$d/key\" https://example.org/RPM-GPG-KEY"));
        assert!(script.contains("rpm --import \"$d/key\""));
        assert!(!import_script("/etc/pki/key", true, true).contains("rpm --import"));
    }
}
