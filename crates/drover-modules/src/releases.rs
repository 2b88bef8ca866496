//! Release records: what was deployed on a host, and what ran before, in
//! `/var/lib/drover/releases/NAME.json`. The `container` module writes one
//! per container; a blue-green rollout writes one per app naming its live
//! slot. `drover rollout status` and `undo` read them back.

use serde_json::Value as Json;

use crate::remote::{Attributes, PathState, write_file};
use crate::{Error, ModuleContext};

/// Where release records live on a host.
pub const RELEASES: &str = "/var/lib/drover/releases";

/// The time now, as `2026-11-26T15:04:05Z`.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Who deploys: the controller's user, from the environment or its uid.
pub fn deployer() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| controller_user())
}

/// Shell that prints `release=RECORD`: NAME's record on one line, or
/// nothing after the `=` when there is none. `printf`, not `echo`: dash's
/// `echo` would turn a `\n` inside the JSON into a line break.
pub(crate) fn read_script(name: &str) -> String {
    format!(
        "printf 'release=%s\\n' \"$(tr -d '\\n' < {RELEASES}/{}.json 2>/dev/null)\"",
        drover_ssh::quote(name)
    )
}

/// Shell that writes `release` as NAME's record (a temporary file renamed
/// over it), for a script that must finish on the host whatever happens
/// to the connection (see `crate::replacement`).
pub(crate) fn write_script(name: &str, release: &Json) -> String {
    let path = format!("{RELEASES}/{name}.json");
    let body = serde_json::to_string_pretty(release).unwrap_or_default();
    format!(
        "mkdir -p {RELEASES} && printf '%s\\n' {body} > {temporary} && chmod 644 {temporary} && mv -f {temporary} {path}",
        body = drover_ssh::quote(&body),
        temporary = drover_ssh::quote(&format!("{path}.drover-tmp")),
        path = drover_ssh::quote(&path),
    )
}

/// A release record: `current` stamped with the time and the deployer,
/// and as `previous` the `current` of the record it replaces, if any.
#[must_use]
pub fn record(app: &str, mut current: Json, before: Option<&Json>) -> Json {
    current["time"] = Json::from(now());
    current["deployed_by"] = Json::from(deployer());
    let previous = before
        .and_then(|record| record.get("current"))
        .cloned()
        .unwrap_or(Json::Null);
    serde_json::json!({"app": app, "current": current, "previous": previous})
}

/// Writes `RELEASES/NAME.json` whole (a temporary file renamed over it).
///
/// # Errors
/// The directory cannot be made or the file cannot be written.
pub async fn write(context: &ModuleContext<'_>, name: &str, release: &Json) -> Result<(), Error> {
    write_json(context, &format!("{name}.json"), release).await
}

/// Notes the release attempt of `image` that failed on this host, and
/// why, as `RELEASES/NAME.failed.json` (with the time and the deployer),
/// which `drover rollout status` shows beside the release that runs.
/// Nothing is written in check mode. Best effort: the attempt has failed
/// either way, so a record that cannot be written is not another failure.
pub async fn note_failure(context: &ModuleContext<'_>, name: &str, image: &str, reason: &str) {
    if context.check_mode {
        return;
    }
    let attempt = serde_json::json!({
        "image": image,
        "time": now(),
        "deployed_by": deployer(),
        "reason": reason,
    });
    let _ = write_json(context, &format!("{name}.failed.json"), &attempt).await;
}

async fn write_json(context: &ModuleContext<'_>, file: &str, value: &Json) -> Result<(), Error> {
    let directory = context.exec(&format!("mkdir -p {RELEASES}"), None).await?;
    if !directory.success() {
        return Err(Error::Arguments(format!(
            "cannot create {RELEASES}: {}",
            String::from_utf8_lossy(&directory.stderr).trim()
        )));
    }
    let path = format!("{RELEASES}/{file}");
    let body = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    let attributes = Attributes {
        mode: Some(0o644),
        ..Attributes::default()
    };
    write_file(
        context,
        &path,
        bytes::Bytes::from(body),
        &attributes,
        &PathState::absent(),
        false,
    )
    .await?;
    Ok(())
}

/// The controller's user name from its uid, when the environment names none.
fn controller_user() -> String {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|metadata| metadata.uid()) else {
        return "unknown".to_owned();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.get(2) == Some(&uid.to_string().as_str())).then(|| fields[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_in_utc_to_the_second() {
        let now = super::now();
        assert_eq!(now.len(), "2026-11-26T15:04:05Z".len(), "{now}");
        assert!(now.ends_with('Z'), "{now}");
    }
}
