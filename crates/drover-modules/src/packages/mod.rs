//! What `apt`, `dnf`/`yum` and `package` share: read the wanted packages,
//! query what is installed in one command, plan, and run the package
//! manager only for what must change. How each manager is asked and
//! told is in `managers`.

mod managers;

pub(crate) use managers::{InstallOptions, Manager};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The state a package should be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Present,
    Absent,
    Latest,
}

/// A package name with an optional version (`nginx=1.22.1-9`, `nginx-1.22`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: Option<String>,
}

/// A package module's request, after reading its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) packages: Vec<Package>,
    pub(crate) wanted: Wanted,
    pub(crate) update_cache: bool,
    /// Seconds; the cache is refreshed only when older.
    pub(crate) cache_valid_time: u64,
    pub(crate) autoremove: bool,
    pub(crate) purge: bool,
    pub(crate) install_recommends: Option<bool>,
    /// A `.deb` file (a path on the host, or a URL) to install.
    pub(crate) deb: Option<String>,
    /// How the package manager is told to install: releases, repositories
    /// and what it may do besides.
    pub(crate) options: InstallOptions,
}

impl Request {
    /// Reads the arguments common to every package module.
    pub(crate) fn read(arguments: &Arguments<'_>, manager: Manager) -> Result<Self, Error> {
        let names = arguments.list("name")?;
        let wanted = match arguments.string("state")?.as_deref() {
            None | Some("present" | "installed") => Wanted::Present,
            Some("absent" | "removed") => Wanted::Absent,
            Some("latest") => Wanted::Latest,
            Some(other) => {
                return Err(Error::Arguments(format!(
                    "`state` must be present, absent or latest, not `{other}`"
                )));
            }
        };
        let cache_valid_time = arguments.unsigned("cache_valid_time")?.unwrap_or(0);
        let update_cache = arguments.boolean("update_cache", false)? || cache_valid_time > 0;
        Ok(Self {
            packages: names
                .iter()
                .map(|name| Package::parse(name, manager))
                .collect(),
            wanted,
            update_cache,
            cache_valid_time,
            autoremove: arguments.boolean("autoremove", false)?,
            purge: arguments.boolean("purge", false)?,
            install_recommends: match arguments.raw("install_recommends") {
                None => None,
                Some(_) => Some(arguments.boolean("install_recommends", true)?),
            },
            deb: arguments.string("deb")?,
            options: InstallOptions::read(arguments)?,
        })
    }
}

impl Package {
    fn parse(text: &str, manager: Manager) -> Self {
        let text = text.trim();
        match manager.split_version(text) {
            Some((name, version)) if !version.is_empty() => Self {
                name: name.to_owned(),
                version: Some(version.to_owned()),
            },
            _ => Self {
                name: text.to_owned(),
                version: None,
            },
        }
    }

    /// The argument the package manager takes for it.
    fn argument(&self, manager: Manager) -> String {
        manager.argument(self)
    }

    /// Whether `installed` (a version) satisfies this package.
    fn satisfied_by(&self, installed: &str) -> bool {
        match &self.version {
            None => true,
            Some(version) => version.strip_suffix('*').map_or_else(
                || installed == version,
                |prefix| installed.starts_with(prefix),
            ),
        }
    }
}

/// What the query found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    /// The cache was refreshed (or, in check mode, would be).
    pub(crate) cache_updated: bool,
    /// Installed packages and their versions.
    pub(crate) installed: BTreeMap<String, String>,
    /// The version the manager would install, for `latest`.
    pub(crate) candidates: BTreeMap<String, String>,
    /// Why the cache update failed.
    pub(crate) error: Option<String>,
}

impl Query {
    /// Reads what [`Manager::query_script`] printed.
    pub(crate) fn parse(output: &str) -> Self {
        let mut query = Self::default();
        for line in output.lines() {
            let mut words = line.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("missing"), Some(program), _) => {
                    query.error = Some(format!(
                        "this host has no `{program}`: the package manager this task drives is not here"
                    ));
                }
                (Some("cache"), Some("updated"), _) => query.cache_updated = true,
                (Some("cache"), Some("error"), rest) => {
                    query.error = Some(format!(
                        "updating the package cache failed: {}",
                        rest.unwrap_or_default().trim()
                    ));
                }
                (Some("installed"), Some(name), Some(version)) => {
                    query
                        .installed
                        .insert(name.to_owned(), version.trim().to_owned());
                }
                (Some("candidate"), Some(name), Some(version)) if version != "(none)" => {
                    query
                        .candidates
                        .insert(name.to_owned(), version.trim().to_owned());
                }
                _ => {}
            }
        }
        query
    }
}

/// What must change: the packages to install and to remove.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan<'a> {
    pub(crate) install: Vec<&'a Package>,
    pub(crate) remove: Vec<&'a Package>,
}

/// Works out what must change for `request` given `query`.
pub(crate) fn plan<'a>(request: &'a Request, query: &Query) -> Plan<'a> {
    let mut plan = Plan::default();
    for package in &request.packages {
        let installed = query.installed.get(&package.name);
        match request.wanted {
            Wanted::Present => {
                if !installed.is_some_and(|version| package.satisfied_by(version)) {
                    plan.install.push(package);
                }
            }
            Wanted::Latest => {
                let candidate = query.candidates.get(&package.name);
                let current = match (installed, candidate) {
                    (None, _) => false,
                    (Some(version), Some(candidate)) => version == candidate,
                    (Some(_), None) => true,
                };
                if !current {
                    plan.install.push(package);
                }
            }
            Wanted::Absent => {
                if installed.is_some() {
                    plan.remove.push(package);
                }
            }
        }
    }
    plan
}

/// The whole of a package manager module that takes only the shared
/// arguments (`dnf`, `zypper`, `pacman`, `pkgng`, `apk`): its request,
/// which must ask for something, then [`ensure`].
pub(crate) async fn run_manager(
    manager: Manager,
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let request = Request::read(arguments, manager)?;
    if request.packages.is_empty() && !request.update_cache && !request.autoremove {
        return Err(Error::Arguments(format!(
            "`{module}` needs one of `name`, `update_cache` or `autoremove`"
        )));
    }
    ensure(manager, &request, context).await
}

/// Runs a package request: one query, then only the commands that change something.
pub(crate) async fn ensure(
    manager: Manager,
    request: &Request,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let output = context
        .exec(&manager.query_script(request, context.check_mode), None)
        .await?;
    let query = Query::parse(&String::from_utf8_lossy(&output.stdout));
    if let Some(error) = &query.error {
        return Ok(ModuleResult::failed(error.clone()));
    }
    let plan = plan(request, &query);
    let mut commands = Vec::new();
    if !plan.install.is_empty() {
        commands.push(manager.install_command(&plan.install, request));
    }
    if !plan.remove.is_empty() {
        commands.push(manager.remove_command(&plan.remove, request));
    }
    let names = |packages: &[&Package]| -> Vec<Json> {
        packages
            .iter()
            .map(|package| Json::from(package.argument(manager)))
            .collect()
    };
    let planned_change = !commands.is_empty();
    let mut result = if planned_change || (query.cache_updated && request.packages.is_empty()) {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    result = result
        .with("cache_updated", query.cache_updated)
        .with("installed", Json::Array(names(&plan.install)))
        .with("removed", Json::Array(names(&plan.remove)))
        .with_diff(
            context.diff && planned_change,
            Diff {
                before: describe(&query.installed, request),
                after: describe_after(&query.installed, &plan, request),
                before_header: "installed packages".to_owned(),
                after_header: "installed packages".to_owned(),
            },
        );
    if context.check_mode {
        return Ok(result);
    }
    apply(manager, request, context, commands, result).await
}

/// Runs the planned commands, then `autoremove` when asked; the result
/// with their output, or the first failure.
async fn apply(
    manager: Manager,
    request: &Request,
    context: &ModuleContext<'_>,
    commands: Vec<String>,
    mut result: ModuleResult,
) -> Result<ModuleResult, Error> {
    let mut stdout = String::new();
    for command in commands {
        let output = context.exec(&command, None).await?;
        stdout.push_str(&String::from_utf8_lossy(&output.stdout));
        if !output.success() {
            return Ok(ModuleResult::failed(format!(
                "`{command}` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
            .with("rc", output.exit_status)
            .with("stdout", stdout));
        }
    }
    if request.autoremove {
        let output = context.exec(&manager.autoremove_command(), None).await?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.success() {
            return Ok(ModuleResult::failed(format!(
                "autoremove failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        // apt-get reports "N to remove"; dnf reports "Removed:".
        if text.contains("Removing") || text.contains("Removed:") {
            result.changed = true;
        }
        stdout.push_str(&text);
    }
    Ok(result.with("stdout", stdout))
}

fn describe(installed: &BTreeMap<String, String>, request: &Request) -> String {
    let mut text = String::new();
    for package in &request.packages {
        let _ = writeln!(
            text,
            "{}: {}",
            package.name,
            installed
                .get(&package.name)
                .map_or("absent", String::as_str)
        );
    }
    text
}

fn describe_after(
    installed: &BTreeMap<String, String>,
    plan: &Plan<'_>,
    request: &Request,
) -> String {
    let mut after = installed.clone();
    for package in &plan.install {
        after.insert(
            package.name.clone(),
            package
                .version
                .clone()
                .unwrap_or_else(|| "installed".to_owned()),
        );
    }
    for package in &plan.remove {
        after.remove(&package.name);
    }
    describe(&after, request)
}

#[cfg(test)]
mod tests {
    use super::{InstallOptions, Manager, Package, Query, Request, Wanted, plan};

    fn request(manager: Manager, names: &[&str], wanted: Wanted) -> Request {
        Request {
            packages: names
                .iter()
                .map(|name| Package::parse(name, manager))
                .collect(),
            wanted,
            update_cache: false,
            cache_valid_time: 0,
            autoremove: false,
            purge: false,
            install_recommends: None,
            deb: None,
            options: InstallOptions::default(),
        }
    }

    #[test]
    fn versions_are_split_the_way_each_manager_spells_them() {
        assert_eq!(
            Package::parse("nginx=1.22.1-9", Manager::Apt)
                .version
                .as_deref(),
            Some("1.22.1-9")
        );
        let rpm = Package::parse("python3-libs-3.11.2", Manager::Dnf("dnf"));
        assert_eq!(rpm.name, "python3-libs");
        assert_eq!(rpm.version.as_deref(), Some("3.11.2"));
        assert_eq!(
            Package::parse("python3-libs", Manager::Dnf("dnf")).version,
            None
        );
    }

    #[test]
    fn install_options_reach_the_package_manager() {
        let mut wanted = request(Manager::Apt, &["nginx"], Wanted::Present);
        wanted.options.default_release = Some("bookworm-backports".to_owned());
        wanted.options.policy_rc_d = Some(101);
        wanted.options.allow_downgrade = true;
        let packages: Vec<&Package> = wanted.packages.iter().collect();
        let command = Manager::Apt.install_command(&packages, &wanted);
        assert!(
            command.contains(" -t bookworm-backports --allow-downgrades install "),
            "{command}"
        );
        assert!(command.starts_with("p=/usr/sbin/policy-rc.d;"), "{command}");
        assert!(command.contains("exit %d\\n' 101"), "{command}");
        let script = Manager::Apt.query_script(&wanted, false);
        assert!(script.contains("apt-mark manual $auto"), "{script}");
        assert!(
            !Manager::Apt
                .query_script(&wanted, true)
                .contains("apt-mark")
        );
        let mut rpm = request(Manager::Dnf("dnf"), &["httpd"], Wanted::Present);
        rpm.options.enable_repositories = vec!["epel".to_owned()];
        rpm.options.exclude = vec!["kernel*".to_owned()];
        rpm.options.allow_erasing = true;
        let packages: Vec<&Package> = rpm.packages.iter().collect();
        assert_eq!(
            Manager::Dnf("dnf").install_command(&packages, &rpm),
            "dnf -y --enablerepo=epel --exclude='kernel*' --allowerasing install httpd"
        );
    }

    #[test]
    fn dnf_commands_quote_names_and_use_the_chosen_binary() {
        let wanted = request(
            Manager::Dnf("yum"),
            &["httpd", "evil; rm -rf /"],
            Wanted::Present,
        );
        let packages: Vec<&Package> = wanted.packages.iter().collect();
        assert_eq!(
            Manager::Dnf("yum").install_command(&packages, &wanted),
            "yum -y install httpd 'evil; rm -rf /'"
        );
        assert_eq!(
            Manager::Dnf("dnf").remove_command(&packages[..1], &wanted),
            "dnf -y remove httpd"
        );
        assert_eq!(
            Manager::Dnf("dnf").autoremove_command(),
            "dnf -y autoremove"
        );
        let script = Manager::Dnf("dnf").query_script(&wanted, false);
        assert!(script.contains("rpm -q --qf 'installed %{NAME} %{VERSION}-%{RELEASE}\\n' httpd"));
        assert!(script.contains("'evil; rm -rf /'"));
    }

    #[test]
    fn dnf_latest_asks_for_upgrades_and_cache_refresh_uses_makecache() {
        let mut wanted = request(Manager::Dnf("dnf"), &["httpd"], Wanted::Latest);
        wanted.update_cache = true;
        let script = Manager::Dnf("dnf").query_script(&wanted, false);
        assert!(script.contains("dnf -y makecache"));
        assert!(script.contains("dnf -q list --upgrades httpd"));
        let check = Manager::Dnf("dnf").query_script(&wanted, true);
        assert!(!check.contains("makecache"), "check mode refreshes nothing");
    }

    #[test]
    fn every_manager_is_asked_and_told_in_its_own_words() {
        let cases = [
            (
                Manager::Zypper,
                "nginx=1.2",
                "zypper --non-interactive --quiet install --auto-agree-with-licenses 'nginx=1.2'",
                "zypper --non-interactive --quiet remove nginx",
            ),
            (
                Manager::Pacman,
                "nginx",
                "pacman --noconfirm -S --needed nginx",
                "pacman --noconfirm -R nginx",
            ),
            (
                Manager::Pkgng,
                "nginx-1.24",
                "pkg install -y nginx-1.24",
                "pkg delete -y nginx",
            ),
            (
                Manager::Apk,
                "nginx=1.24.0-r6",
                "apk add 'nginx=1.24.0-r6'",
                "apk del nginx",
            ),
        ];
        for (manager, name, install, remove) in cases {
            let wanted = request(manager, &[name], Wanted::Latest);
            let packages: Vec<&Package> = wanted.packages.iter().collect();
            assert_eq!(manager.install_command(&packages, &wanted), install);
            assert_eq!(manager.remove_command(&packages, &wanted), remove);
            let script = manager.query_script(&wanted, false);
            assert!(
                script.starts_with(&format!("command -v {} ", manager.program())),
                "{script}"
            );
            assert!(script.contains("candidate"), "{script}");
        }
        assert_eq!(
            Query::parse("installed nginx 1.24.0-r6\n").installed["nginx"],
            "1.24.0-r6"
        );
    }

    #[test]
    fn apt_install_keeps_configuration_and_waits_for_the_lock() {
        let mut wanted = request(Manager::Apt, &["nginx=1.22*"], Wanted::Present);
        wanted.install_recommends = Some(false);
        let packages: Vec<&Package> = wanted.packages.iter().collect();
        let command = Manager::Apt.install_command(&packages, &wanted);
        assert!(command.starts_with(
            "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 install"
        ));
        assert!(command.contains("--force-confold"));
        assert!(command.ends_with("--no-install-recommends 'nginx=1.22*'"));
    }

    #[test]
    fn the_plan_installs_only_what_is_missing_or_outdated() {
        let output =
            "cache updated\ninstalled nginx 1.22.1-9\ninstalled curl 7.88\ncandidate curl 7.89\n";
        let query = Query::parse(output);
        assert!(query.cache_updated);
        let present = request(Manager::Apt, &["nginx", "tree"], Wanted::Present);
        let names = |plan: &[&Package]| {
            plan.iter()
                .map(|package| package.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&plan(&present, &query).install), ["tree"]);
        let latest = request(Manager::Apt, &["curl", "nginx"], Wanted::Latest);
        assert_eq!(names(&plan(&latest, &query).install), ["curl"]);
        let absent = request(Manager::Apt, &["nginx", "tree"], Wanted::Absent);
        assert_eq!(names(&plan(&absent, &query).remove), ["nginx"]);
        let pinned = request(Manager::Apt, &["nginx=1.22*"], Wanted::Present);
        assert!(plan(&pinned, &query).install.is_empty());
        assert_eq!(
            Query::parse("cache error E: failed\n").error.as_deref(),
            Some("updating the package cache failed: E: failed")
        );
        assert!(
            Query::parse("missing zypper\n")
                .error
                .is_some_and(|error| error.contains("no `zypper`"))
        );
        assert_eq!(Query::parse(""), Query::default());
    }
}
