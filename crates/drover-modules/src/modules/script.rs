//! `script`: copy a local script to the host and run it there.

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::modules::command::exists;
use crate::{Error, ModuleContext, ModuleResult};

/// Numbers uploads: hosts (and delegations) may share a /tmp.
static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sends the script to a private file on the host; its path there, or
/// the failed result when it could not be written.
async fn upload(
    context: &ModuleContext<'_>,
    local: &std::path::Path,
) -> Result<Result<String, ModuleResult>, Error> {
    let body = std::fs::read(local)
        .map_err(|error| Error::Arguments(format!("cannot read `{}`: {error}", local.display())))?;
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let remote = format!("/tmp/.drover-script-{}-{call}", std::process::id());
    let options = drover_ssh::UploadOptions {
        mode: Some(0o700),
        become_user: context.become_user.clone(),
        ..drover_ssh::UploadOptions::default()
    };
    let output = context
        .session
        .upload(body.into(), &remote, &options)
        .await?;
    if !output.success() {
        return Ok(Err(ModuleResult::failed(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )));
    }
    Ok(Ok(remote))
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let line = arguments
        .string_of(&["_raw_params", "cmd"])?
        .ok_or_else(|| {
            Error::Arguments(
                "module `script` needs a script to run: free-form text or `cmd`".to_owned(),
            )
        })?;
    let mut words = shlex::split(&line).unwrap_or_default().into_iter();
    let name = words.next().unwrap_or_default();
    let rest: Vec<String> = words.map(|word| quote(&word)).collect();
    let Some(local) = context.find_file(&name, "files") else {
        return Ok(ModuleResult::failed(format!(
            "could not find the script `{name}`"
        )));
    };
    if let Some(path) = arguments.string("creates")?
        && exists(context, &path).await?
    {
        return Ok(ModuleResult::ok().message(format!("skipped, since {path} exists")));
    }
    if context.check_mode {
        let mut result = ModuleResult::ok();
        result.skipped = true;
        return Ok(result);
    }
    let remote = match upload(context, &local).await? {
        Ok(remote) => remote,
        Err(failed) => return Ok(failed),
    };
    let chdir = arguments
        .string("chdir")?
        .map_or_else(String::new, |directory| {
            format!("cd {} && ", quote(&directory))
        });
    let output = context
        .exec(
            &format!(
                "{chdir}{} {}; rc=$?; rm -f {0}; exit $rc",
                quote(&remote),
                rest.join(" ")
            ),
            None,
        )
        .await?;
    Ok(crate::modules::command::command_result(&output))
}

const SCRIPT: &[A] = &[
    A::new("cmd", Text),
    A::new("creates", Text),
    A::new("removes", Text),
    A::new("chdir", Text),
    A::new("executable", Text),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["script"], &[SCRIPT], run).free_form()];
