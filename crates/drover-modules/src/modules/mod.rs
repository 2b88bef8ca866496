//! One file per module, and the registry: the one table of every module.
//!
//! Each module's file declares everything about it once, in its `MODULES`
//! constant: the names it answers to, its arguments (types, choices,
//! aliases), whether it takes free-form text, how it runs, and the query a
//! read-ahead can ask for it. Validation (the catalog), dispatch,
//! `docs/modules.md` and the read-ahead all read this table.
//!
//! Adding a module is one new file, `modules/NAME.rs`, ending in a
//! `pub(crate) const MODULES: &[Module]`, and its line in `REGISTRY` below
//! (with the `mod NAME;` beside it: declared in plain sight, not by a
//! macro, so that rustfmt and `cargo fmt --check` reach the file).

use std::future::Future;
use std::pin::Pin;

use drover_playbook::catalog::{ArgumentKind, ArgumentSpec};

use crate::arguments::Arguments;
use crate::read_ahead::PathQuery;
use crate::{Error, ModuleContext, ModuleResult};

/// A module's run, as the registry holds it.
pub(crate) type Run = for<'a> fn(
    &'a str,
    &'a Arguments<'a>,
    &'a ModuleContext<'a>,
)
    -> Pin<Box<dyn Future<Output = Result<ModuleResult, Error>> + 'a>>;

/// The query a module starts with, given its templated arguments; `None`
/// when it starts otherwise (or its arguments are wrong, which it reports
/// when it runs).
pub(crate) type FirstQuery =
    for<'a> fn(&'a Arguments<'a>, &'a ModuleContext<'a>) -> Option<PathQuery>;

/// Everything about one module.
#[derive(Clone, Copy)]
pub(crate) struct Module {
    /// The names it answers to; the first is its own.
    pub(crate) names: &'static [&'static str],
    /// Its arguments, in groups: its own, and those it shares with other
    /// modules (file attributes, package lists).
    pub(crate) arguments: &'static [&'static [ArgumentSpec]],
    /// Free text (`command: ls -l`) is its `_raw_params`.
    pub(crate) free_form: bool,
    /// It takes any argument (`set_fact`).
    pub(crate) any_arguments: bool,
    /// Runs it; the first argument is the name it was called by.
    pub(crate) run: Run,
    /// Its first query, when a read-ahead can ask it.
    pub(crate) first_query: Option<FirstQuery>,
    /// It runs on the controller alone: nothing on the host.
    pub(crate) on_controller: bool,
    /// What it changes cannot be known before it runs (`command`).
    pub(crate) opaque: bool,
    /// Its source file (`module_path!()`), for the documentation.
    pub(crate) source: &'static str,
}

impl Module {
    /// A module called `names`, taking `arguments`, run by `run`.
    pub(crate) const fn new(
        names: &'static [&'static str],
        arguments: &'static [&'static [ArgumentSpec]],
        run: Run,
        source: &'static str,
    ) -> Self {
        Self {
            names,
            arguments,
            free_form: false,
            any_arguments: false,
            run,
            first_query: None,
            on_controller: false,
            opaque: false,
            source,
        }
    }

    /// It takes free-form text.
    pub(crate) const fn free_form(mut self) -> Self {
        self.free_form = true;
        self
    }

    /// It takes any argument.
    pub(crate) const fn any_arguments(mut self) -> Self {
        self.any_arguments = true;
        self
    }

    /// It runs on the controller alone.
    pub(crate) const fn on_controller(mut self) -> Self {
        self.on_controller = true;
        self
    }

    /// What it changes cannot be known before it runs.
    pub(crate) const fn opaque(mut self) -> Self {
        self.opaque = true;
        self
    }

    /// A read-ahead can ask its first query.
    pub(crate) const fn reads_ahead(mut self, first_query: FirstQuery) -> Self {
        self.first_query = Some(first_query);
        self
    }

    /// The file it is written in (`command` for `shell`).
    pub(crate) fn file(&self) -> &'static str {
        self.source.rsplit("::").next().unwrap_or(self.source)
    }
}

/// The arguments every module that writes a file takes.
pub(crate) const ATTRIBUTES: [ArgumentSpec; 3] = [
    ArgumentSpec::new("mode", ArgumentKind::Raw),
    ArgumentSpec::new("owner", ArgumentKind::String),
    ArgumentSpec::new("group", ArgumentKind::String),
];

/// The packages, and the state wanted of them: what every package module
/// takes (`package` too).
pub(crate) const PACKAGES: [ArgumentSpec; 2] = [
    ArgumentSpec::new("name", ArgumentKind::List).aliases(&["pkg", "package"]),
    ArgumentSpec::new("state", ArgumentKind::String).choices(&[
        "present",
        "installed",
        "absent",
        "removed",
        "latest",
    ]),
];

/// What a package manager module (`apt`, `dnf`) takes besides.
pub(crate) const PACKAGE_MANAGER: [ArgumentSpec; 3] = [
    ArgumentSpec::new("update_cache", ArgumentKind::Bool).aliases(&["update-cache"]),
    ArgumentSpec::new("autoremove", ArgumentKind::Bool),
    ArgumentSpec::new("lock_timeout", ArgumentKind::Integer),
];

/// Declares a module of this file: the names it answers to, its argument
/// groups, and its `run`: `async fn run(arguments, context)`; with
/// `named`, `run(name, arguments, context)` (the name it was called by);
/// with `sync`, a plain `fn run(arguments, context)`.
macro_rules! module {
    ($names:expr, $arguments:expr, run) => {
        $crate::modules::Module::new(
            $names,
            $arguments,
            |_, arguments, context| Box::pin(run(arguments, context)),
            module_path!(),
        )
    };
    ($names:expr, $arguments:expr, named run) => {
        $crate::modules::Module::new(
            $names,
            $arguments,
            |name, arguments, context| Box::pin(run(name, arguments, context)),
            module_path!(),
        )
    };
    ($names:expr, $arguments:expr, sync run) => {
        $crate::modules::Module::new(
            $names,
            $arguments,
            |_, arguments, context| Box::pin(std::future::ready(run(arguments, context))),
            module_path!(),
        )
        .on_controller()
    };
}

/// The module called `name`.
pub(crate) fn find(name: &str) -> Option<&'static Module> {
    REGISTRY
        .iter()
        .flat_map(|modules| modules.iter())
        .find(|module| module.names.contains(&name))
}

pub(crate) mod add_host;
pub(crate) mod alternatives;
pub(crate) mod apk;
pub(crate) mod apt;
pub(crate) mod apt_key;
pub(crate) mod apt_repository;
pub(crate) mod assemble;
pub(crate) mod assert;
pub(crate) mod async_status;
pub(crate) mod authorized_key;
pub(crate) mod blockinfile;
pub(crate) mod command;
pub(crate) mod compose;
pub(crate) mod container;
pub(crate) mod container_image;
pub(crate) mod copy;
pub(crate) mod cron;
pub(crate) mod deb822_repository;
pub(crate) mod debconf;
pub(crate) mod debug;
pub(crate) mod dnf;
pub(crate) mod docker_network;
pub(crate) mod docker_node;
pub(crate) mod docker_stack;
pub(crate) mod docker_swarm;
pub(crate) mod docker_swarm_service;
pub(crate) mod docker_volume;
pub(crate) mod dpkg_selections;
pub(crate) mod fail;
pub(crate) mod feature;
pub(crate) mod fetch;
pub(crate) mod file;
pub(crate) mod find;
pub(crate) mod firewalld;
pub(crate) mod gem;
pub(crate) mod get_url;
pub(crate) mod getent;
pub(crate) mod git;
pub(crate) mod group;
pub(crate) mod group_by;
pub(crate) mod health_check;
pub(crate) mod hostname;
pub(crate) mod include_vars;
pub(crate) mod ini_file;
pub(crate) mod iptables;
pub(crate) mod known_hosts;
pub(crate) mod lineinfile;
pub(crate) mod locale_gen;
pub(crate) mod modprobe;
pub(crate) mod mount;
pub(crate) mod mysql_db;
pub(crate) mod mysql_replication;
pub(crate) mod mysql_user;
pub(crate) mod npm;
pub(crate) mod package;
pub(crate) mod package_facts;
pub(crate) mod pacman;
pub(crate) mod pam_limits;
pub(crate) mod pause;
pub(crate) mod ping;
pub(crate) mod pip;
pub(crate) mod pkgng;
pub(crate) mod postgresql_db;
pub(crate) mod postgresql_privs;
pub(crate) mod postgresql_user;
pub(crate) mod quadlet;
pub(crate) mod reboot;
pub(crate) mod replace;
pub(crate) mod rpm_key;
pub(crate) mod script;
pub(crate) mod seboolean;
pub(crate) mod selinux;
pub(crate) mod service;
pub(crate) mod service_facts;
pub(crate) mod set_fact;
pub(crate) mod setup;
pub(crate) mod slurp;
pub(crate) mod stat;
pub(crate) mod sysctl;
pub(crate) mod tempfile;
pub(crate) mod template;
pub(crate) mod timezone;
pub(crate) mod ufw;
pub(crate) mod unarchive;
pub(crate) mod uri;
pub(crate) mod user;
pub(crate) mod wait_for;
pub(crate) mod wait_for_connection;
pub(crate) mod yum_repository;
pub(crate) mod zypper;
pub(crate) mod zypper_repository;

/// Every module, by file: the one list of them.
pub(crate) static REGISTRY: &[&[Module]] = &[
    add_host::MODULES,
    alternatives::MODULES,
    apk::MODULES,
    apt::MODULES,
    apt_key::MODULES,
    apt_repository::MODULES,
    assemble::MODULES,
    async_status::MODULES,
    assert::MODULES,
    authorized_key::MODULES,
    blockinfile::MODULES,
    command::MODULES,
    compose::MODULES,
    container::MODULES,
    container_image::MODULES,
    copy::MODULES,
    cron::MODULES,
    deb822_repository::MODULES,
    debconf::MODULES,
    debug::MODULES,
    dnf::MODULES,
    docker_network::MODULES,
    docker_node::MODULES,
    docker_stack::MODULES,
    docker_swarm::MODULES,
    docker_swarm_service::MODULES,
    docker_volume::MODULES,
    dpkg_selections::MODULES,
    fail::MODULES,
    feature::MODULES,
    fetch::MODULES,
    file::MODULES,
    find::MODULES,
    firewalld::MODULES,
    gem::MODULES,
    get_url::MODULES,
    getent::MODULES,
    git::MODULES,
    group::MODULES,
    group_by::MODULES,
    health_check::MODULES,
    hostname::MODULES,
    include_vars::MODULES,
    ini_file::MODULES,
    iptables::MODULES,
    known_hosts::MODULES,
    lineinfile::MODULES,
    locale_gen::MODULES,
    modprobe::MODULES,
    mount::MODULES,
    mysql_db::MODULES,
    mysql_replication::MODULES,
    mysql_user::MODULES,
    npm::MODULES,
    package::MODULES,
    package_facts::MODULES,
    pacman::MODULES,
    pam_limits::MODULES,
    pause::MODULES,
    ping::MODULES,
    pip::MODULES,
    pkgng::MODULES,
    postgresql_db::MODULES,
    postgresql_privs::MODULES,
    postgresql_user::MODULES,
    quadlet::MODULES,
    reboot::MODULES,
    replace::MODULES,
    rpm_key::MODULES,
    script::MODULES,
    seboolean::MODULES,
    selinux::MODULES,
    service::MODULES,
    service_facts::MODULES,
    set_fact::MODULES,
    setup::MODULES,
    slurp::MODULES,
    stat::MODULES,
    sysctl::MODULES,
    template::MODULES,
    timezone::MODULES,
    ufw::MODULES,
    tempfile::MODULES,
    unarchive::MODULES,
    uri::MODULES,
    user::MODULES,
    wait_for::MODULES,
    wait_for_connection::MODULES,
    yum_repository::MODULES,
    zypper::MODULES,
    zypper_repository::MODULES,
];
