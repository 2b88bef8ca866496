//! `apt`: Debian packages present, absent or latest; the cache refreshed
//! when stale; `.deb` files; upgrades and autoremove.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::packages::{Manager, Request, ensure};
use crate::{Error, ModuleContext, ModuleResult};

const DPKG_LOCK: &str = "-o DPkg::Lock::Timeout=300";

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let request = Request::read(arguments, Manager::Apt)?;
    let upgrade = arguments.string("upgrade")?;
    let upgrade = match upgrade.as_deref() {
        None | Some("no" | "False" | "false") => None,
        Some("yes" | "True" | "true" | "safe") => Some("upgrade"),
        Some("full" | "dist") => Some("dist-upgrade"),
        Some(other) => {
            return Err(Error::Arguments(format!(
                "`upgrade` must be no, yes, safe, full or dist, not `{other}`"
            )));
        }
    };
    if let Some(deb) = &request.deb {
        return install_deb(deb, &request, context).await;
    }
    if request.packages.is_empty()
        && !request.update_cache
        && !request.autoremove
        && upgrade.is_none()
    {
        return Err(Error::Arguments(
            "`apt` needs one of `name`, `deb`, `update_cache`, `upgrade` or `autoremove`"
                .to_owned(),
        ));
    }
    let mut result = ensure(Manager::Apt, &request, context).await?;
    if let (Some(verb), false) = (upgrade, result.failed) {
        let upgraded = run_upgrade(verb, context).await?;
        if upgraded.failed {
            return Ok(upgraded);
        }
        result.changed |= upgraded.changed;
    }
    Ok(result)
}

/// `apt-get upgrade` or `dist-upgrade`, only when a simulation shows something to do.
async fn run_upgrade(verb: &str, context: &ModuleContext<'_>) -> Result<ModuleResult, Error> {
    let simulate = format!("apt-get -s {DPKG_LOCK} {verb} | grep -c '^Inst ' || true");
    let output = context.exec(&simulate, None).await?;
    let pending: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    if pending == 0 {
        return Ok(ModuleResult::ok());
    }
    if context.check_mode {
        return Ok(ModuleResult::changed().with("upgraded", pending));
    }
    let command = format!(
        "DEBIAN_FRONTEND=noninteractive apt-get -q -y {DPKG_LOCK} \
         -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold {verb}"
    );
    let output = context.exec(&command, None).await?;
    if output.success() {
        Ok(ModuleResult::changed().with("upgraded", pending))
    } else {
        Ok(ModuleResult::failed(format!(
            "apt-get {verb} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Installs a `.deb` (a path on the host, or a URL fetched there) unless
/// that package is already installed at that version; apt resolves its
/// dependencies.
async fn install_deb(
    deb: &str,
    request: &Request,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let is_url = deb.starts_with("http://") || deb.starts_with("https://");
    let fetch = if is_url {
        format!(
            "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && f=\"$d/package.deb\" && \
             (curl -fsSL -o \"$f\" {url} || wget -q -O \"$f\" {url}) || {{ echo 'fetch failed'; exit 1; }}",
            url = quote(deb)
        )
    } else {
        format!("f={}", quote(deb))
    };
    let install = if context.check_mode {
        "echo would-install".to_owned()
    } else {
        let recommends = match request.install_recommends {
            Some(false) => " --no-install-recommends",
            _ => "",
        };
        format!(
            "case \"$f\" in /*) ;; *) f=\"./$f\";; esac; \
             DEBIAN_FRONTEND=noninteractive apt-get -q -y {DPKG_LOCK}{recommends} install \"$f\" >/dev/null && echo installed-now"
        )
    };
    let script = format!(
        "{fetch}\n\
         name=$(dpkg-deb -f \"$f\" Package) && version=$(dpkg-deb -f \"$f\" Version) || exit 2\n\
         echo \"package $name $version\"\n\
         current=$(dpkg-query -W -f='${{Status}} ${{Version}}' \"$name\" 2>/dev/null)\n\
         if [ \"$current\" = \"install ok installed $version\" ]; then echo up-to-date; else {install}; fi\n"
    );
    let output = context.exec(&script, None).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "installing {deb} failed: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let changed = !stdout.contains("up-to-date");
    let package = stdout
        .lines()
        .find_map(|line| line.strip_prefix("package "))
        .unwrap_or_default()
        .to_owned();
    Ok(if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    }
    .with("package", package))
}

const APT: &[A] = &[
    A::new("install_recommends", Bool).aliases(&["install-recommends"]),
    A::new("cache_valid_time", Integer),
    A::new("purge", Bool),
    A::new("allow_downgrade", Bool),
    A::new("deb", Text),
    A::new("upgrade", Text),
    A::new("force_apt_get", Bool),
    A::new("dpkg_options", Text),
    A::new("update_cache_retries", Integer),
    A::new("default_release", Text).aliases(&["default-release"]),
    A::new("policy_rc_d", Integer),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(
    &["apt"],
    &[&super::PACKAGES, &super::PACKAGE_MANAGER, APT],
    run
)];
