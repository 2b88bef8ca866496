//! How each package manager is asked what is installed and told what to
//! change: apt (with dpkg), dnf and yum (with rpm), zypper, pacman,
//! FreeBSD's pkg and Alpine's apk. A host without the manager's program
//! fails the task with a message that names it.

use std::fmt::Write as _;

use drover_ssh::quote;

use super::{Package, Request, Wanted};
use crate::Error;
use crate::arguments::Arguments;

/// A package manager drover drives through its command-line tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Manager {
    /// Debian's apt-get and dpkg.
    Apt,
    /// dnf or yum (the same arguments), with rpm to query.
    Dnf(&'static str),
    /// SUSE's zypper, with rpm to query.
    Zypper,
    /// Arch Linux's pacman.
    Pacman,
    /// FreeBSD's pkg.
    Pkgng,
    /// Alpine's apk.
    Apk,
}

impl Manager {
    /// The manager for a name as Ansible's `ansible_pkg_mgr` fact spells it.
    pub(crate) fn named(name: &str) -> Option<Self> {
        Some(match name {
            "apt" => Self::Apt,
            "dnf" | "dnf5" => Self::Dnf("dnf"),
            "yum" => Self::Dnf("yum"),
            "zypper" => Self::Zypper,
            "pacman" => Self::Pacman,
            "pkgng" | "pkg" => Self::Pkgng,
            "apk" => Self::Apk,
            _ => return None,
        })
    }

    /// The program the host must have.
    pub(crate) fn program(self) -> &'static str {
        match self {
            Self::Apt => "apt-get",
            Self::Dnf(binary) => binary,
            Self::Zypper => "zypper",
            Self::Pacman => "pacman",
            Self::Pkgng => "pkg",
            Self::Apk => "apk",
        }
    }

    /// How commands run: non-interactive, and (apt) waiting on the
    /// package lock rather than failing when another apt runs.
    fn prefix(self) -> &'static str {
        match self {
            Self::Apt => "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300",
            Self::Dnf("yum") => "yum -y",
            Self::Dnf(_) => "dnf -y",
            Self::Zypper => "zypper --non-interactive --quiet",
            Self::Pacman => "pacman --noconfirm",
            Self::Pkgng => "pkg",
            Self::Apk => "apk",
        }
    }

    /// How a name carries a version: `nginx=1.22` (apt, zypper, apk),
    /// `nginx-1.22` (rpm, pkg: split only where a digit follows); pacman
    /// takes none.
    pub(super) fn split_version(self, text: &str) -> Option<(&str, &str)> {
        match self {
            Self::Apt | Self::Zypper | Self::Apk => text.split_once('='),
            Self::Dnf(_) | Self::Pkgng => text
                .char_indices()
                .filter(|(_, character)| *character == '-')
                .map(|(index, _)| index)
                .find(|index| text[index + 1..].starts_with(|c: char| c.is_ascii_digit()))
                .map(|index| (&text[..index], &text[index + 1..])),
            Self::Pacman => None,
        }
    }

    /// The argument the manager takes for `package`.
    pub(super) fn argument(self, package: &Package) -> String {
        match (&package.version, self) {
            (None, _) | (Some(_), Self::Pacman) => package.name.clone(),
            (Some(version), Self::Apt | Self::Zypper | Self::Apk) => {
                format!("{}={version}", package.name)
            }
            (Some(version), Self::Dnf(_) | Self::Pkgng) => format!("{}-{version}", package.name),
        }
    }

    /// How old the cache is (seconds since the epoch of its last refresh),
    /// and the command that refreshes it.
    fn cache(self) -> (&'static str, String) {
        let stamp = match self {
            Self::Apt => {
                "stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0"
            }
            _ => "echo 0",
        };
        let update = match self {
            Self::Apt | Self::Pkgng | Self::Apk => "update",
            Self::Dnf(_) => "makecache",
            Self::Zypper => "refresh",
            Self::Pacman => "-Sy",
        };
        (stamp, format!("{} {update}", self.prefix()))
    }

    /// One script: fail clearly without the manager's program; refresh the
    /// cache if stale (`check` only reports it); then print each package's
    /// installed version and, for `latest`, its candidate.
    pub(crate) fn query_script(self, request: &Request, check: bool) -> String {
        let mut script = format!(
            "command -v {0} >/dev/null 2>&1 || {{ echo 'missing {0}'; exit 0; }}\n",
            self.program()
        );
        if request.update_cache {
            let (stamp, update) = self.cache();
            let _ = write!(
                script,
                "stamp=$({stamp}); now=$(date +%s)\n\
                 if [ $((now - stamp)) -ge {valid} ]; then\n",
                valid = request.cache_valid_time
            );
            if check {
                script.push_str("  echo 'cache updated'\n");
            } else {
                let _ = writeln!(
                    script,
                    "  if out=$({update} 2>&1); then echo 'cache updated'; \
                     else printf 'cache error %s\\n' \"$(printf '%s' \"$out\" | tail -3 | tr '\\n' ' ')\"; fi"
                );
            }
            script.push_str("fi\n");
        }
        for package in &request.packages {
            script.push_str(&self.installed_query(&package.name));
            if request.wanted == Wanted::Latest {
                script.push_str(&self.candidate_query(&package.name, request));
            }
        }
        if self == Self::Apt && !check && request.wanted != Wanted::Absent {
            script.push_str(&mark_manual_script(&request.packages));
        }
        script.push_str("true\n");
        script
    }

    /// Prints `installed NAME VERSION` when `name` is installed.
    fn installed_query(self, name: &str) -> String {
        let quoted = quote(name);
        match self {
            // A purely virtual package (`rubygems`) is installed when a
            // package that provides it is, as Ansible's `apt` has it.
            Self::Apt => format!(
                "v=$(dpkg-query -W -f='${{Status}} ${{Version}}' {quoted} 2>/dev/null); \
                 case \"$v\" in *' ok installed '*) echo \"installed {name} ${{v##* }}\";; \
                 *) apt-cache show {quoted} 2>/dev/null | grep -q '^Package:' || dpkg-query -W -f='${{db:Status-Abbrev}}\\t${{Package}}\\t${{Provides}}\\n' 2>/dev/null | \
                 awk -F'\\t' -v n={quoted} '$1 ~ /^ii/ {{ k = split($3, a, /, */); for (i = 1; i <= k; i++) {{ split(a[i], w, \" \"); \
                 if (w[1] == n) {{ print \"installed \" n \" virtual\"; exit }} }} }}';; esac\n"
            ),
            Self::Dnf(_) | Self::Zypper => format!(
                "rpm -q --qf 'installed %{{NAME}} %{{VERSION}}-%{{RELEASE}}\\n' {quoted} 2>/dev/null | grep '^installed '\n"
            ),
            Self::Pacman => format!("pacman -Q {quoted} 2>/dev/null | sed 's/^/installed /'\n"),
            Self::Pkgng => format!("pkg query 'installed %n %v' {quoted} 2>/dev/null\n"),
            Self::Apk => format!(
                "apk info -e {quoted} >/dev/null 2>&1 && apk info {quoted} 2>/dev/null | \
                 sed -n '1s/^{name}-\\(.*\\) description:$/installed {name} \\1/p'\n"
            ),
        }
    }

    /// Prints `candidate NAME VERSION`: the version `latest` would install.
    fn candidate_query(self, name: &str, request: &Request) -> String {
        let quoted = quote(name);
        match self {
            Self::Apt => format!(
                "apt-cache{release} policy {quoted} 2>/dev/null | awk '/Candidate:/ {{print \"candidate {name} \" $2}}'\n",
                release = request.options.default_release.as_ref().map_or_else(
                    String::new,
                    |release| format!(" -o APT::Default-Release={}", quote(release))
                ),
            ),
            Self::Dnf(binary) => format!(
                "{binary} -q list --upgrades {quoted} 2>/dev/null | awk 'NF==3 && $1 ~ /\\./ {{split($1,a,\".\"); print \"candidate \" a[1] \" \" $2}}'\n"
            ),
            Self::Zypper => format!(
                "zypper --non-interactive --quiet list-updates 2>/dev/null | awk -F'|' '{{gsub(/ /, \"\", $3); gsub(/ /, \"\", $5)}} $3 == \"{name}\" {{print \"candidate \" $3 \" \" $5}}'\n"
            ),
            Self::Pacman => format!(
                "pacman -Qu {quoted} 2>/dev/null | awk '{{print \"candidate \" $1 \" \" $4}}'\n"
            ),
            Self::Pkgng => format!("pkg rquery 'candidate %n %v' {quoted} 2>/dev/null\n"),
            Self::Apk => format!(
                "apk version -l '<' {quoted} 2>/dev/null | awk 'NR > 1 {{print \"candidate {name} \" $3}}'\n"
            ),
        }
    }

    /// The command installing (or upgrading to) `packages`.
    pub(crate) fn install_command(self, packages: &[&Package], request: &Request) -> String {
        let verb = match self {
            Self::Zypper => "install --auto-agree-with-licenses",
            Self::Pacman => "-S --needed",
            Self::Pkgng => "install -y",
            Self::Apk => "add",
            Self::Apt | Self::Dnf(_) => "install",
        };
        let mut command = format!(
            "{}{} {verb}",
            self.prefix(),
            request.options.install_flags(self)
        );
        if self == Self::Apt {
            // Keep changed configuration files, never ask.
            command
                .push_str(" -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold");
            match request.install_recommends {
                Some(false) => command.push_str(" --no-install-recommends"),
                Some(true) => command.push_str(" --install-recommends"),
                None => {}
            }
        }
        for package in packages {
            command.push(' ');
            command.push_str(&quote(&self.argument(package)));
        }
        request.options.around_policy(command)
    }

    /// The command removing `packages`.
    pub(crate) fn remove_command(self, packages: &[&Package], request: &Request) -> String {
        let verb = match (self, request.purge) {
            (Self::Apt, true) => "purge",
            (Self::Pacman, _) => "-R",
            (Self::Pkgng, _) => "delete -y",
            (Self::Apk, _) => "del",
            _ => "remove",
        };
        let mut command = format!("{} {verb}", self.prefix());
        for package in packages {
            command.push(' ');
            command.push_str(&quote(&package.name));
        }
        request.options.around_policy(command)
    }

    /// The command removing packages nothing needs any more.
    pub(crate) fn autoremove_command(self) -> String {
        match self {
            Self::Pacman => "pacman -Qdtq | pacman --noconfirm -Rs - 2>/dev/null || true".to_owned(),
            Self::Pkgng => "pkg autoremove -y".to_owned(),
            Self::Zypper => "zypper --non-interactive packages --unneeded | awk -F'|' 'NR > 4 {gsub(/ /, \"\", $3); print $3}' | xargs -r zypper --non-interactive remove".to_owned(),
            Self::Apk => "true".to_owned(),
            _ => format!("{} autoremove", self.prefix()),
        }
    }
}

/// The arguments that change how packages are installed, not which.
#[derive(Debug, Clone, Default)]
pub(crate) struct InstallOptions {
    /// apt's `-t`: the release candidates are taken from (`default_release`).
    pub(crate) default_release: Option<String>,
    /// apt: the exit status `/usr/sbin/policy-rc.d` gives while packages
    /// install, so that (with 101) no service starts (`policy_rc_d`).
    pub(crate) policy_rc_d: Option<u64>,
    /// Installing an older version than the installed one is allowed.
    pub(crate) allow_downgrade: bool,
    /// dnf/yum: repositories enabled and disabled for this command only.
    pub(crate) enable_repositories: Vec<String>,
    pub(crate) disable_repositories: Vec<String>,
    /// dnf: may remove packages to resolve conflicts (`allowerasing`).
    pub(crate) allow_erasing: bool,
    /// dnf/yum: packages never installed or upgraded (`exclude`).
    pub(crate) exclude: Vec<String>,
    /// dnf/yum and zypper: skip GPG signature checks (`disable_gpg_check`).
    pub(crate) disable_gpg_check: bool,
}

impl InstallOptions {
    pub(super) fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        Ok(Self {
            default_release: arguments
                .string("default_release")?
                .filter(|release| !release.is_empty()),
            policy_rc_d: arguments.unsigned("policy_rc_d")?,
            allow_downgrade: arguments.boolean("allow_downgrade", false)?,
            enable_repositories: arguments.list("enablerepo")?,
            disable_repositories: arguments.list("disablerepo")?,
            allow_erasing: arguments.boolean("allowerasing", false)?,
            exclude: arguments.list("exclude")?,
            disable_gpg_check: arguments.boolean("disable_gpg_check", false)?,
        })
    }

    /// The options every command of `manager` takes, each with a leading space.
    fn flags(&self, manager: Manager) -> String {
        let mut flags = String::new();
        match manager {
            Manager::Apt => {
                if let Some(release) = &self.default_release {
                    let _ = write!(flags, " -t {}", quote(release));
                }
            }
            Manager::Dnf(_) => {
                for (flag, repositories) in [
                    ("--disablerepo", &self.disable_repositories),
                    ("--enablerepo", &self.enable_repositories),
                    ("--exclude", &self.exclude),
                ] {
                    for repository in repositories {
                        let _ = write!(flags, " {flag}={}", quote(repository));
                    }
                }
                if self.disable_gpg_check {
                    flags.push_str(" --nogpgcheck");
                }
            }
            Manager::Zypper if self.disable_gpg_check => {
                flags.push_str(" --no-gpg-checks");
            }
            _ => {}
        }
        flags
    }

    /// The install command's own options, each with a leading space.
    fn install_flags(&self, manager: Manager) -> String {
        let mut flags = self.flags(manager);
        match manager {
            Manager::Apt if self.allow_downgrade => flags.push_str(" --allow-downgrades"),
            Manager::Dnf(_) if self.allow_erasing => flags.push_str(" --allowerasing"),
            Manager::Zypper if self.allow_downgrade => flags.push_str(" --oldpackage"),
            _ => {}
        }
        flags
    }

    /// `command`, run with `/usr/sbin/policy-rc.d` answering `policy_rc_d`
    /// (and the file as it was put back after), when that is asked.
    fn around_policy(&self, command: String) -> String {
        let Some(status) = self.policy_rc_d else {
            return command;
        };
        format!(
            "p=/usr/sbin/policy-rc.d; saved=''; \
             if [ -e $p ]; then saved=$(mktemp) && cp -p $p \"$saved\"; fi; \
             printf '#!/bin/sh\\nexit %d\\n' {status} > $p && chmod 0755 $p; \
             {command}; rc=$?; \
             if [ -n \"$saved\" ]; then mv \"$saved\" $p; else rm -f $p; fi; exit $rc"
        )
    }
}

/// Marks those of `packages` that apt installed only as dependencies as
/// installed by hand, as Ansible's `apt` does for every package it is
/// named, so that `autoremove` never takes them. apt's own state file is
/// read first, so that `apt-mark` (which loads the whole cache) runs only
/// when one of them is marked automatic. This changes no package, and
/// Ansible does not count it as a change either.
fn mark_manual_script(packages: &[Package]) -> String {
    if packages.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    let list = format!(" {} ", names.join(" "));
    format!(
        "auto=$(awk -v names={} 'BEGIN {{ RS = \"\" }} /Auto-Installed: 1/ {{ \
         for (i = 1; i < NF; i++) if ($i == \"Package:\" && index(names, \" \" $(i + 1) \" \")) print $(i + 1) }}' \
         /var/lib/apt/extended_states 2>/dev/null)\n\
         if [ -n \"$auto\" ]; then apt-mark manual $auto >/dev/null 2>&1; fi\n",
        quote(&list)
    )
}
