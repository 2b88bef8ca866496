//! Ansible's configuration: the first `ansible.cfg` found and the
//! `ANSIBLE_*` environment variables, read once and applied beneath the
//! command line's flags (flags win, then the environment, then the file).

mod apply;
mod file;
mod table;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use drover_inventory::{SourceLocation, Warning};
use drover_ssh::SshArguments;

use crate::failure::Failure;
pub(crate) use file::ConfigFile;
use table::Setting;

/// Whether plays gather facts when they do not say (`gathering`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Gathering {
    /// Gather unless a play says `gather_facts: false` (Ansible's default).
    #[default]
    Implicit,
    /// Gather only where a play says `gather_facts: true`.
    Explicit,
}

/// The settings Ansible's configuration gives, before the flags.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    /// The file read, if any.
    pub(crate) file: Option<PathBuf>,
    pub(crate) inventory: Vec<String>,
    pub(crate) roles_path: Vec<PathBuf>,
    pub(crate) remote_user: Option<String>,
    pub(crate) remote_port: Option<u16>,
    pub(crate) forks: Option<NonZeroUsize>,
    pub(crate) host_key_checking: Option<bool>,
    pub(crate) timeout: Option<u64>,
    pub(crate) private_key_file: Option<PathBuf>,
    pub(crate) vault_password_file: Option<PathBuf>,
    pub(crate) gathering: Gathering,
    pub(crate) retry_files_enabled: bool,
    pub(crate) transport: Option<String>,
    pub(crate) force_handlers: bool,
    pub(crate) ask_pass: bool,
    pub(crate) become_root: bool,
    pub(crate) become_method: Option<String>,
    pub(crate) become_user: Option<String>,
    pub(crate) become_ask_pass: bool,
    /// `ssh_args`, `ssh_common_args` and `ssh_extra_args`, read together.
    pub(crate) ssh: SshArguments,
    /// `[drover] record`: whether runs leave records (they do unless it says no).
    pub(crate) record: Option<bool>,
    /// `[drover] record_dir`: where they go.
    pub(crate) record_dir: Option<PathBuf>,
    /// `[drover] runs_kept`: how many a directory keeps.
    pub(crate) runs_kept: Option<usize>,
}

/// One setting's raw value and where it came from.
struct Found {
    text: String,
    origin: Origin,
}

/// Where a value came from, for messages and for relative paths.
enum Origin {
    Environment(&'static str),
    File(SourceLocation),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment(name) => write!(formatter, "${name}"),
            Self::File(location) => write!(formatter, "{location}"),
        }
    }
}

/// Reads the configuration: the file Ansible would read, and the variables.
pub(crate) fn load() -> Result<(Settings, Vec<Warning>), Failure> {
    let (path, mut warnings) = find();
    let file = match path {
        Some(path) => Some(ConfigFile::read(&path).map_err(|error| {
            crate::output::eprint_report(&crate::diagnostics::located_report(
                error.message,
                Some(error.hint.to_owned()),
                Some(&error.location),
            ));
            Failure::Reported
        })?),
        None => None,
    };
    let reader = Reader {
        file: file.as_ref(),
    };
    let settings = reader.settings()?;
    warnings.extend(reader.unhonoured(&settings.ssh));
    Ok((settings, warnings))
}

/// The file Ansible reads: the first of `$ANSIBLE_CONFIG`, `./ansible.cfg`,
/// `~/.ansible.cfg` and `/etc/ansible/ansible.cfg`. As in Ansible, a
/// `./ansible.cfg` in a world-writable directory is not read, since anyone
/// could have put it there.
fn find() -> (Option<PathBuf>, Vec<Warning>) {
    let mut warnings = Vec::new();
    if let Some(named) = std::env::var_os("ANSIBLE_CONFIG") {
        let named = PathBuf::from(named);
        let named = if named.is_dir() {
            named.join("ansible.cfg")
        } else {
            named
        };
        if named.is_file() {
            return (Some(named), warnings);
        }
    }
    let here = Path::new("ansible.cfg");
    if here.is_file() {
        if world_writable(Path::new(".")) {
            warnings.push(Warning {
                location: None,
                message: "not reading ./ansible.cfg: this directory is world-writable, so \
                          anyone could have written it (as Ansible, drover ignores it)"
                    .to_owned(),
            });
        } else {
            return (Some(here.to_path_buf()), warnings);
        }
    }
    let home = std::env::var_os("HOME").map(|home| Path::new(&home).join(".ansible.cfg"));
    let system = PathBuf::from("/etc/ansible/ansible.cfg");
    (
        home.into_iter().chain([system]).find(|path| path.is_file()),
        warnings,
    )
}

fn world_writable(directory: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(directory).is_ok_and(|metadata| metadata.permissions().mode() & 0o002 != 0)
}

/// Looks settings up in the environment, then in the file.
struct Reader<'a> {
    file: Option<&'a ConfigFile>,
}

impl Reader<'_> {
    fn find(&self, setting: &Setting) -> Option<Found> {
        if let Some(text) = setting
            .variable
            .and_then(|name| std::env::var(name).ok().map(|text| (name, text)))
        {
            return Some(Found {
                text: text.1,
                origin: Origin::Environment(text.0),
            });
        }
        let entry = self.file?.get(setting.section, setting.key)?;
        Some(Found {
            text: entry.value.clone(),
            origin: Origin::File(entry.location.clone()),
        })
    }

    fn text(&self, setting: &Setting) -> Option<String> {
        self.find(setting)
            .map(|found| found.text)
            .filter(|text| !text.is_empty())
    }

    /// A boolean as Ansible reads one (`yes`, `on`, `1`, `true`, `t`, `y`...).
    fn boolean(&self, setting: &Setting) -> Result<Option<bool>, Failure> {
        let Some(found) = self.find(setting) else {
            return Ok(None);
        };
        match found.text.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(Some(true)),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" | "" => Ok(Some(false)),
            other => Err(invalid(
                &found,
                setting,
                other,
                "a boolean (yes/no, true/false, 1/0)",
            )),
        }
    }

    /// A whole number.
    fn number<T: std::str::FromStr>(&self, setting: &Setting) -> Result<Option<T>, Failure> {
        let Some(found) = self.find(setting) else {
            return Ok(None);
        };
        found
            .text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(&found, setting, &found.text, "a whole number"))
    }

    /// Paths split at `separator`, `~` expanded and relative ones taken
    /// from the configuration file's directory, as Ansible takes them.
    fn paths(&self, setting: &Setting, separator: char) -> Vec<PathBuf> {
        let Some(found) = self.find(setting) else {
            return Vec::new();
        };
        let base = match &found.origin {
            Origin::File(_) => self.file.map(ConfigFile::directory),
            Origin::Environment(_) => None,
        };
        found
            .text
            .split([separator, '\n'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| expand(part, base))
            .collect()
    }

    fn path(&self, setting: &Setting) -> Option<PathBuf> {
        self.paths(setting, '\n').into_iter().next()
    }
}

/// `~` for the home directory, and a relative path under `base`.
fn expand(text: &str, base: Option<&Path>) -> PathBuf {
    let path = drover_ssh::expand_home(text);
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    }
}

fn invalid(found: &Found, setting: &Setting, value: &str, wanted: &str) -> Failure {
    Failure::usage(format!(
        "{}: `{}` is not {wanted}, as `{}` must be\nhint: fix the value, or unset it to take drover's default",
        found.origin,
        value.trim(),
        setting.key
    ))
}
