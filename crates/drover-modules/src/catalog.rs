//! The modules drover has, with their arguments, for validation before a run.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, List, Raw, String as Text},
    ArgumentSpec as A, Catalog, ModuleSpec,
};

const ATTRIBUTES: [A; 3] = [
    A::new("mode", Raw),
    A::new("owner", Text),
    A::new("group", Text),
];

const COMMAND: &[A] = &[
    A::new("cmd", Text),
    A::new("argv", List),
    A::new("creates", Text),
    A::new("removes", Text),
    A::new("chdir", Text),
    A::new("stdin", Text),
    A::new("stdin_add_newline", Bool),
    A::new("executable", Text),
    A::new("warn", Bool),
    A::new("strip_empty_ends", Bool),
];
const COPY: &[A] = &[
    A::new("src", Text),
    A::new("content", Raw),
    A::new("dest", Text).required(),
    A::new("backup", Bool),
    A::new("force", Bool).aliases(&["thirsty"]),
    A::new("validate", Text),
    A::new("remote_src", Bool),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const TEMPLATE: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("backup", Bool),
    A::new("force", Bool),
    A::new("validate", Text),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const FILE: &[A] = &[
    A::new("path", Text).aliases(&["dest", "name"]).required(),
    A::new("state", Text).choices(&["absent", "directory", "file", "hard", "link", "touch"]),
    A::new("src", Text),
    A::new("recurse", Bool),
    A::new("follow", Bool),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const LINEINFILE: &[A] = &[
    A::new("path", Text)
        .aliases(&["dest", "destfile", "name"])
        .required(),
    A::new("regexp", Text).aliases(&["regex"]),
    A::new("line", Text).aliases(&["value"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("insertafter", Text),
    A::new("insertbefore", Text),
    A::new("backrefs", Bool),
    A::new("create", Bool),
    A::new("backup", Bool),
    A::new("firstmatch", Bool),
    A::new("search_string", Text),
    A::new("validate", Text),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const BLOCKINFILE: &[A] = &[
    A::new("path", Text)
        .aliases(&["dest", "destfile", "name"])
        .required(),
    A::new("block", Text).aliases(&["content"]),
    A::new("marker", Text),
    A::new("marker_begin", Text),
    A::new("marker_end", Text),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("insertafter", Text),
    A::new("insertbefore", Text),
    A::new("create", Bool),
    A::new("backup", Bool),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const STAT: &[A] = &[
    A::new("path", Text).aliases(&["dest", "name"]).required(),
    A::new("follow", Bool),
    A::new("get_checksum", Bool),
    A::new("checksum_algorithm", Text),
    A::new("get_mime", Bool),
    A::new("get_attributes", Bool),
];
const FETCH: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("flat", Bool),
    A::new("fail_on_missing", Bool),
    A::new("validate_checksum", Bool),
];
const WAIT_FOR: &[A] = &[
    A::new("host", Text),
    A::new("port", Integer),
    A::new("path", Text),
    A::new("search_regex", Text),
    A::new("state", Text).choices(&["started", "stopped", "present", "absent", "drained"]),
    A::new("timeout", Integer),
    A::new("delay", Integer),
    A::new("sleep", Integer),
    A::new("connect_timeout", Integer),
    A::new("msg", Text),
];
const DEBUG: &[A] = &[
    A::new("msg", Raw),
    A::new("var", Text),
    A::new("verbosity", Integer),
];
const ASSERT: &[A] = &[
    A::new("that", Raw).required(),
    A::new("fail_msg", Text).aliases(&["msg"]),
    A::new("success_msg", Text),
    A::new("quiet", Bool),
];
const FAIL: &[A] = &[A::new("msg", Text)];
const PAUSE: &[A] = &[
    A::new("seconds", Raw),
    A::new("minutes", Raw),
    A::new("prompt", Text),
    A::new("echo", Bool),
];
const PING: &[A] = &[A::new("data", Text)];
const PACKAGE_COMMON: [A; 9] = [
    A::new("name", List).aliases(&["pkg", "package"]),
    A::new("state", Text).choices(&["present", "installed", "absent", "removed", "latest"]),
    A::new("update_cache", Bool).aliases(&["update-cache"]),
    A::new("autoremove", Bool),
    A::new("lock_timeout", Integer),
    A::new("install_recommends", Bool).aliases(&["install-recommends"]),
    A::new("cache_valid_time", Integer),
    A::new("purge", Bool),
    A::new("allow_downgrade", Bool),
];
const APT: &[A] = &[
    PACKAGE_COMMON[0],
    PACKAGE_COMMON[1],
    PACKAGE_COMMON[2],
    PACKAGE_COMMON[3],
    PACKAGE_COMMON[4],
    PACKAGE_COMMON[5],
    PACKAGE_COMMON[6],
    PACKAGE_COMMON[7],
    PACKAGE_COMMON[8],
    A::new("deb", Text),
    A::new("upgrade", Text),
    A::new("force_apt_get", Bool),
    A::new("dpkg_options", Text),
    A::new("update_cache_retries", Integer),
];
const DNF: &[A] = &[
    PACKAGE_COMMON[0],
    PACKAGE_COMMON[1],
    PACKAGE_COMMON[2],
    PACKAGE_COMMON[3],
    PACKAGE_COMMON[4],
    A::new("disable_gpg_check", Bool),
    A::new("enablerepo", List),
    A::new("disablerepo", List),
];
const PACKAGE: &[A] = &[PACKAGE_COMMON[0], PACKAGE_COMMON[1], A::new("use", Text)];
const SERVICE: &[A] = &[
    A::new("name", Text).aliases(&["service", "unit"]),
    A::new("state", Text).choices(&["started", "stopped", "restarted", "reloaded"]),
    A::new("enabled", Bool),
    A::new("daemon_reload", Bool).aliases(&["daemon-reload"]),
    A::new("masked", Bool),
    A::new("no_block", Bool),
    A::new("scope", Text).choices(&["system"]),
    A::new("force", Bool),
    A::new("use", Text),
    A::new("pattern", Text),
    A::new("sleep", Integer),
    A::new("arguments", Text).aliases(&["args"]),
    A::new("runlevel", Text),
];
const USER: &[A] = &[
    A::new("name", Text).aliases(&["user"]).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("uid", Integer),
    A::new("group", Text),
    A::new("groups", List),
    A::new("append", Bool),
    A::new("shell", Text),
    A::new("home", Text),
    A::new("create_home", Bool).aliases(&["createhome"]),
    A::new("move_home", Bool),
    A::new("system", Bool),
    A::new("comment", Text),
    A::new("password", Text),
    A::new("update_password", Text).choices(&["always", "on_create"]),
    A::new("remove", Bool),
    A::new("force", Bool),
    A::new("generate_ssh_key", Bool),
    A::new("ssh_key_type", Text),
    A::new("ssh_key_bits", Integer),
    A::new("ssh_key_file", Text),
    A::new("ssh_key_comment", Text),
    A::new("non_unique", Bool),
];
const GROUP: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("gid", Integer),
    A::new("system", Bool),
    A::new("force", Bool),
];
const AUTHORIZED_KEY: &[A] = &[
    A::new("user", Text).required(),
    A::new("key", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("path", Text),
    A::new("manage_dir", Bool),
    A::new("exclusive", Bool),
    A::new("key_options", Text),
    A::new("comment", Text),
    A::new("validate_certs", Bool),
    A::new("follow", Bool),
];
const URI: &[A] = &[
    A::new("url", Text).required(),
    A::new("method", Text),
    A::new("body", Raw),
    A::new("body_format", Text).choices(&["raw", "json", "form-urlencoded"]),
    A::new("headers", Raw),
    A::new("status_code", List),
    A::new("return_content", Bool),
    A::new("timeout", Integer),
    A::new("validate_certs", Bool),
    A::new("follow_redirects", Text),
    A::new("url_username", Text).aliases(&["user"]),
    A::new("url_password", Text).aliases(&["password"]),
    A::new("force_basic_auth", Bool),
];
const CRON: &[A] = &[
    A::new("name", Text).required(),
    A::new("job", Text).aliases(&["value"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("user", Text),
    A::new("minute", Text),
    A::new("hour", Text),
    A::new("day", Text).aliases(&["dom"]),
    A::new("month", Text),
    A::new("weekday", Text).aliases(&["dow"]),
    A::new("special_time", Text).choices(&[
        "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
    ]),
    A::new("disabled", Bool),
    A::new("env", Bool),
    A::new("cron_file", Text),
    A::new("backup", Bool),
];
const GET_URL: &[A] = &[
    A::new("url", Text).required(),
    A::new("dest", Text).required(),
    A::new("checksum", Text),
    A::new("force", Bool),
    A::new("timeout", Integer),
    A::new("headers", Raw),
    A::new("validate_certs", Bool),
    A::new("url_username", Text).aliases(&["username"]),
    A::new("url_password", Text).aliases(&["password"]),
    A::new("backup", Bool),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const GIT: &[A] = &[
    A::new("repo", Text)
        .aliases(&["name", "repository"])
        .required(),
    A::new("dest", Text).required(),
    A::new("version", Text),
    A::new("remote", Text),
    A::new("depth", Integer),
    A::new("clone", Bool),
    A::new("update", Bool),
    A::new("force", Bool),
    A::new("accept_hostkey", Bool),
    A::new("single_branch", Bool),
];
const HOSTNAME: &[A] = &[A::new("name", Text).required(), A::new("use", Text)];
const SYSCTL: &[A] = &[
    A::new("name", Text).aliases(&["key"]).required(),
    A::new("value", Text).aliases(&["val"]),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("sysctl_file", Text),
    A::new("reload", Bool),
    A::new("sysctl_set", Bool),
    A::new("ignoreerrors", Bool),
];
const UNARCHIVE: &[A] = &[
    A::new("src", Text).required(),
    A::new("dest", Text).required(),
    A::new("remote_src", Bool),
    A::new("creates", Text),
    A::new("extra_opts", List),
    A::new("keep_newer", Bool),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const CONTAINER: &[A] = &[
    A::new("name", Text).required(),
    A::new("image", Text),
    A::new("state", Text).choices(&["started", "stopped", "present", "absent"]),
    A::new("ports", List).aliases(&["published_ports", "publish"]),
    A::new("env", Raw),
    A::new("volumes", List),
    A::new("command", Raw),
    A::new("restart_policy", Text),
    A::new("labels", Raw),
    A::new("network", Text).aliases(&["network_mode"]),
    A::new("healthcheck", Raw),
    A::new("pull", Text).choices(&["always", "missing", "never"]),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
    A::new("stop_timeout", Integer),
    A::new("health", Raw),
];
const CONTAINER_IMAGE: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("source", Text).choices(&["pull", "load", "engine"]),
    A::new("load_path", Text),
    A::new("controller_runtime", Text).choices(&["docker", "podman", "auto"]),
    A::new("force", Bool),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
];
const COMPOSE: &[A] = &[
    A::new("project_src", Text).required(),
    A::new("project_name", Text),
    A::new("files", List),
    A::new("services", List),
    A::new("state", Text).choices(&["present", "stopped", "restarted", "absent"]),
    A::new("pull", Text).choices(&["always", "missing", "never", "policy"]),
    A::new("remove_orphans", Bool),
    A::new("remove_volumes", Bool),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
];
const QUADLET: &[A] = &[
    A::new("name", Text).required(),
    A::new("image", Text),
    A::new("content", Text),
    A::new("state", Text).choices(&["started", "stopped", "present", "absent"]),
    A::new("ports", List).aliases(&["published_ports", "publish"]),
    A::new("env", Raw),
    A::new("volumes", List).aliases(&["volume"]),
    A::new("command", Text),
    A::new("restart_policy", Text).choices(&["no", "on-failure", "always", "unless-stopped"]),
    A::new("labels", Raw),
    A::new("network", Text),
];
const HEALTH_CHECK: &[A] = &[
    A::new("http", Raw),
    A::new("tcp", Raw),
    A::new("command", Text),
    A::new("initial_delay", Raw),
    A::new("period", Raw),
    A::new("timeout", Raw),
    A::new("success_threshold", Integer),
    A::new("failure_threshold", Integer),
    A::new("from", Text).choices(&["target", "controller"]),
];
const FEATURE: &[A] = &[
    A::new("name", Text).aliases(&["flag"]).required(),
    A::new("path", Text).aliases(&["dest"]).required(),
    A::new("state", Text).choices(&["on", "off", "enabled", "disabled"]),
    A::new("format", Text).choices(&["json", "env"]),
    ATTRIBUTES[0],
    ATTRIBUTES[1],
    ATTRIBUTES[2],
];
const SETUP: &[A] = &[
    A::new("gather_subset", List),
    A::new("filter", List),
    A::new("gather_timeout", Integer),
    A::new("fact_path", Text),
];
const SCRIPT: &[A] = &[
    A::new("cmd", Text),
    A::new("creates", Text),
    A::new("removes", Text),
    A::new("chdir", Text),
    A::new("executable", Text),
];

const fn spec(name: &'static str, arguments: &'static [A], free_form: bool) -> ModuleSpec {
    ModuleSpec {
        name,
        arguments,
        free_form,
        any_arguments: false,
    }
}

/// The catalog of drover's modules.
static MODULES: [ModuleSpec; 48] = [
    spec("quadlet", QUADLET, false),
    spec("compose", COMPOSE, false),
    spec("docker_compose_v2", COMPOSE, false),
    spec("feature", FEATURE, false),
    spec("health_check", HEALTH_CHECK, false),
    spec("container", CONTAINER, false),
    spec("docker_container", CONTAINER, false),
    spec("podman_container", CONTAINER, false),
    spec("container_image", CONTAINER_IMAGE, false),
    spec("docker_image", CONTAINER_IMAGE, false),
    spec("podman_image", CONTAINER_IMAGE, false),
    spec("cron", CRON, false),
    spec("get_url", GET_URL, false),
    spec("git", GIT, false),
    spec("hostname", HOSTNAME, false),
    spec("sysctl", SYSCTL, false),
    spec("unarchive", UNARCHIVE, false),
    spec("uri", URI, false),
    spec("user", USER, false),
    spec("group", GROUP, false),
    spec("authorized_key", AUTHORIZED_KEY, false),
    spec("service", SERVICE, false),
    spec("systemd", SERVICE, false),
    spec("systemd_service", SERVICE, false),
    spec("apt", APT, false),
    spec("dnf", DNF, false),
    spec("yum", DNF, false),
    spec("package", PACKAGE, false),
    spec("setup", SETUP, false),
    spec("gather_facts", SETUP, false),
    spec("command", COMMAND, true),
    spec("shell", COMMAND, true),
    spec("raw", &[A::new("executable", Text)], true),
    spec("script", SCRIPT, true),
    spec("copy", COPY, false),
    spec("template", TEMPLATE, false),
    spec("file", FILE, false),
    spec("lineinfile", LINEINFILE, false),
    spec("blockinfile", BLOCKINFILE, false),
    spec("stat", STAT, false),
    spec("fetch", FETCH, false),
    spec("wait_for", WAIT_FOR, false),
    spec("debug", DEBUG, false),
    spec("assert", ASSERT, false),
    spec("fail", FAIL, false),
    spec("pause", PAUSE, false),
    spec("ping", PING, false),
    ModuleSpec {
        name: "set_fact",
        arguments: &[A::new("cacheable", Bool)],
        free_form: false,
        any_arguments: true,
    },
];

/// Every module drover can run.
#[derive(Debug, Default, Clone, Copy)]
pub struct ModuleCatalog;

impl Catalog for ModuleCatalog {
    fn module(&self, name: &str) -> Option<&ModuleSpec> {
        MODULES.iter().find(|spec| spec.name == name)
    }

    fn names(&self) -> Vec<&'static str> {
        MODULES.iter().map(|spec| spec.name).collect()
    }
}
