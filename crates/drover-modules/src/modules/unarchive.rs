//! `unarchive`: a tar or zip archive (from the controller, or already on
//! the host with `remote_src`) unpacked into a directory. The archive is
//! unpacked beside the destination first and compared file by file, so a
//! second run changes nothing.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::upload_temporary;
use crate::{Error, ModuleContext, ModuleResult};

/// The command that unpacks archive `$a` into directory `$t`.
pub(crate) fn unpack_command(name: &str, extra: &[String]) -> String {
    let extra: String =
        extra
            .iter()
            .map(|option| quote(option))
            .fold(String::new(), |mut all, option| {
                all.push(' ');
                all.push_str(&option);
                all
            });
    if name.to_ascii_lowercase().ends_with(".zip") {
        format!("unzip -q -o{extra} \"$a\" -d \"$t\"")
    } else {
        // GNU tar recognises gzip, bzip2, xz and zstd by itself.
        format!("tar -xf \"$a\" -C \"$t\"{extra}")
    }
}

/// Sends the archive from this machine (the role's or playbook's
/// `files`) to a temporary file on the host; its path there.
async fn upload_archive(context: &ModuleContext<'_>, source: &str) -> Result<String, Error> {
    let local = context.find_file(source, "files").ok_or_else(|| {
        Error::Arguments(format!(
            "could not find `{source}` in the role's or playbook's files"
        ))
    })?;
    let data = std::fs::read(&local)
        .map_err(|error| Error::Arguments(format!("cannot read {}: {error}", local.display())))?;
    upload_temporary(context, Bytes::from(data)).await
}

/// The host-side script: unpack into a temporary directory, compare with
/// `dest`, and copy over (then chown) only when something differs.
fn unpack_script(
    arguments: &Arguments<'_>,
    source: &str,
    archive: &str,
    dest: &str,
    check_mode: bool,
) -> Result<String, Error> {
    let owner = match (arguments.string("owner")?, arguments.string("group")?) {
        (Some(owner), Some(group)) => Some(format!("{owner}:{group}")),
        (Some(owner), None) => Some(owner),
        (None, Some(group)) => Some(format!(":{group}")),
        (None, None) => None,
    };
    let chown = owner.map_or_else(String::new, |owner| {
        format!(
            "(cd \"$t\" && find . -mindepth 1 -maxdepth 1 -exec chown -R {} \"$dest/{{}}\" \\;)\n",
            quote(&owner)
        )
    });
    let unpack = unpack_command(source, &arguments.list("extra_opts")?);
    Ok(format!(
        "a={archive}; dest={dest}\n\
         [ -d \"$dest\" ] || {{ echo \"destination $dest is not a directory\"; exit 2; }}\n\
         [ -f \"$a\" ] || {{ echo \"archive $a does not exist\"; exit 2; }}\n\
         dest=$(cd \"$dest\" && pwd) || exit 2\n\
         t=$(mktemp -d) || exit 1\n\
         trap 'rm -rf \"$t\"' EXIT\n\
         {unpack} || {{ echo \"cannot unpack $a\"; exit 1; }}\n\
         differs=$(cd \"$t\" && find . -mindepth 1 | while IFS= read -r p; do\n\
           if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then [ -d \"$dest/$p\" ] || {{ echo yes; break; }}\n\
           elif ! cmp -s \"$p\" \"$dest/$p\"; then echo yes; break; fi\n\
         done)\n\
         [ -n \"$differs\" ] || differs=no\n\
         echo \"files=$(cd \"$t\" && find . -mindepth 1 | wc -l)\"\n\
         if [ $differs = yes ] && [ {check} = no ]; then (cd \"$t\" && find . -mindepth 1 -maxdepth 1 -exec cp -a {{}} \"$dest/\" \\;) || exit 1\n{chown}fi\n\
         echo \"differs=$differs\"\n",
        archive = quote(archive),
        dest = quote(dest),
        check = if check_mode { "yes" } else { "no" },
    ))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let source = arguments.required("src")?;
    let dest = arguments.required("dest")?;
    // `copy: false`, the older spelling, means the archive is on the host.
    let remote = arguments.boolean("remote_src", false)? || !arguments.boolean("copy", true)?;
    if let Some(creates) = arguments.string("creates")? {
        let output = context
            .exec(&format!("test -e {}", quote(&creates)), None)
            .await?;
        if output.success() {
            return Ok(ModuleResult::ok().message(format!("skipped, since {creates} exists")));
        }
    }
    let uploaded = if remote {
        None
    } else {
        Some(upload_archive(context, &source).await?)
    };
    let archive = uploaded.clone().unwrap_or_else(|| source.clone());
    let script = unpack_script(arguments, &source, &archive, &dest, context.check_mode)?;
    let output = context.exec(&script, None).await?;
    if let Some(path) = uploaded {
        context
            .exec(&format!("rm -f {}", quote(&path)), None)
            .await?;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "unarchive failed: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let changed = stdout.lines().any(|line| line == "differs=yes");
    Ok(if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    }
    .with("dest", dest)
    .with("src", source))
}

const UNARCHIVE: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("remote_src", Bool),
    A::new("copy", Bool),
    A::new("creates", Text),
    A::new("extra_opts", List),
    A::new("keep_newer", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["unarchive"],
    &[UNARCHIVE, &super::ATTRIBUTES],
    run
)];
