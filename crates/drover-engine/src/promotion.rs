//! `pause: manual`: a rollout waits between steps until an operator runs
//! `drover rollout promote` (go on) or `drover rollout abort` (roll back).
//!
//! No server and no socket: the waiting run writes `NAME.pause` in the run
//! directory and polls for `NAME.decision`, which the command writes. Both
//! are small JSON or text files, renamed into place so that neither side
//! ever reads half of one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::Error;

/// How often a paused run looks for a decision.
const POLL: Duration = Duration::from_millis(200);

/// What the operator decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go on with the next step.
    Promote,
    /// Stop, and roll back what this rollout changed.
    Abort,
}

impl Decision {
    fn word(self) -> &'static str {
        match self {
            Decision::Promote => "promote",
            Decision::Abort => "abort",
        }
    }
}

/// The variable that names the run directory.
pub const RUN_DIRECTORY_VARIABLE: &str = "DROVER_RUN_DIR";

/// The run directory: `$DROVER_RUN_DIR`, else `$XDG_RUNTIME_DIR/drover`,
/// else `~/.local/state/drover/run`; a per-user place, never a shared one.
#[must_use]
pub fn directory() -> PathBuf {
    if let Some(directory) = std::env::var_os(RUN_DIRECTORY_VARIABLE) {
        return PathBuf::from(directory);
    }
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(runtime).join("drover");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/drover/run")
}

/// A rollout waiting for a decision.
#[derive(Debug, Clone)]
pub struct Paused {
    /// The rollout's name (its `app`, or the play's name).
    pub name: String,
    /// What the waiting run wrote: its pid, step and hosts.
    pub details: Json,
}

/// The rollouts now waiting; a pause file left by a run that has ended is
/// removed.
#[must_use]
pub fn paused(directory: &Path) -> Vec<Paused> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|extension| extension.to_str()) != Some("pause") {
            continue;
        }
        let Some(details) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Json>(&text).ok())
        else {
            continue;
        };
        let alive = details["pid"]
            .as_u64()
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let name = details["name"].as_str().unwrap_or_default().to_owned();
        found.push(Paused { name, details });
    }
    found.sort_by(|left, right| left.name.cmp(&right.name));
    found
}

/// Tells the run waiting on `name` what to do.
///
/// # Errors
/// The decision file cannot be written.
pub fn decide(directory: &Path, name: &str, decision: Decision) -> Result<(), Error> {
    write_atomically(
        &directory.join(format!("{name}.decision")),
        decision.word().as_bytes(),
    )
}

/// Writes the pause file and waits for a decision; both files are gone
/// when it returns.
pub(crate) async fn wait(directory: &Path, name: &str, details: Json) -> Result<Decision, Error> {
    let pause = directory.join(format!("{name}.pause"));
    let decision = directory.join(format!("{name}.decision"));
    let _ = std::fs::remove_file(&decision);
    let details = json!({"name": name, "pid": std::process::id(), "since": drover_modules::releases::now(), "step": details});
    write_atomically(&pause, details.to_string().as_bytes())?;
    let answer = loop {
        if let Ok(text) = std::fs::read_to_string(&decision) {
            break if text.trim() == "abort" {
                Decision::Abort
            } else {
                Decision::Promote
            };
        }
        tokio::time::sleep(POLL).await;
    };
    let _ = std::fs::remove_file(&decision);
    let _ = std::fs::remove_file(&pause);
    Ok(answer)
}

/// A rollout's name as a file name: its `app`, else its play's name, with
/// anything but letters, digits, `-`, `_` and `.` made `-`.
#[must_use]
pub fn file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || "-_.".contains(character) {
                character
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(['-', '.']).to_owned();
    if cleaned.is_empty() {
        "rollout".to_owned()
    } else {
        cleaned
    }
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let failed = |source| Error::RunDirectory {
        path: path.to_path_buf(),
        source,
    };
    let directory = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(failed)?;
    let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(failed)?;
    std::io::Write::write_all(&mut temporary, contents).map_err(failed)?;
    temporary
        .persist(path)
        .map_err(|error| failed(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Decision, decide, file_name, paused, wait};

    #[test]
    fn names_become_plain_file_names() {
        assert_eq!(file_name("web"), "web");
        assert_eq!(file_name("Deploy the web app!"), "Deploy-the-web-app");
        assert_eq!(file_name("../.."), "rollout");
    }

    #[tokio::test]
    async fn a_paused_rollout_is_listed_and_goes_on_when_promoted() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().to_path_buf();
        let waiting = tokio::spawn({
            let path = path.clone();
            async move { wait(&path, "web", serde_json::json!({"next": ["dv-2"]})).await }
        });
        let mut listed = Vec::new();
        for _ in 0..50 {
            listed = paused(&path);
            if !listed.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "web");
        assert_eq!(listed[0].details["step"]["next"][0], "dv-2");
        decide(&path, "web", Decision::Abort).unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), Decision::Abort);
        assert!(paused(&path).is_empty(), "the pause file is removed");
    }
}
