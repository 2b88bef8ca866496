//! Replacing a running container without stranding its host.
//!
//! The new release is created beside the old one under a temporary name
//! (`NAME.drover-next`) and started; only then is the old one stopped and
//! removed and the new one given its name. Where the two cannot run side by
//! side (they publish the same host port, or share the host's network), the
//! old one is stopped first, and if the new one then fails to start it is
//! removed and the old one started again, within the same command.
//!
//! The whole replacement is one shell script on the host. It ignores
//! hang-ups and broken pipes and writes its report to a file until it ends,
//! so a controller that is killed, or a connection that drops, in the middle
//! of it leaves the script to finish: the host ends with one of the two
//! releases running, never with neither.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use drover_ssh::quote;
use serde_json::Value as Json;

/// The suffix of a release being started beside the live one.
pub(crate) const NEXT_SUFFIX: &str = ".drover-next";

/// The temporary name of `name`'s next release.
pub(crate) fn next_name(name: &str) -> String {
    format!("{name}{NEXT_SUFFIX}")
}

/// How the old and the new container may overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Start the new one, then retire the old one.
    StartBeforeStop,
    /// Stop the old one, start the new one, and start the old one again if
    /// the new one does not start.
    StopThenStart,
    /// No old container: start the new one.
    Fresh,
}

/// The host ports a container configuration publishes, or `None` when it
/// cannot be told (the host's network, or no configuration known).
fn host_ports(configuration: Option<&Json>) -> Option<BTreeSet<String>> {
    let configuration = configuration?;
    if configuration["network"] == "host" {
        return None;
    }
    let ports = configuration["ports"].as_array()?;
    Some(
        ports
            .iter()
            .filter_map(Json::as_str)
            .filter_map(host_port)
            .collect(),
    )
}

/// The host side of one `-p` value (`8080:80`, `127.0.0.1:8080:80/udp`,
/// `8000-8010:80-90`), with its protocol; `None` for a container port alone
/// (docker picks a free host port for it).
fn host_port(published: &str) -> Option<String> {
    let (mapping, protocol) = published.rsplit_once('/').unwrap_or((published, "tcp"));
    // The container port is last; before it, the host port and any address.
    let (host, _container) = mapping.rsplit_once(':')?;
    (!host.is_empty()).then(|| format!("{host}/{protocol}"))
}

/// Whether the new release can start while the old one runs.
pub(crate) fn order(exists: bool, running: bool, old: Option<&Json>, new: &Json) -> Order {
    if !exists {
        return Order::Fresh;
    }
    // A stopped container holds no port: the new one can start first.
    if !running {
        return Order::StartBeforeStop;
    }
    match (host_ports(old), host_ports(Some(new))) {
        (Some(old), Some(new)) if old.is_disjoint(&new) => Order::StartBeforeStop,
        _ => Order::StopThenStart,
    }
}

/// What the replacement script reported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// The new release runs under the container's name.
    pub(crate) replaced: bool,
    /// The old container was stopped (or removed) along the way.
    pub(crate) touched_old: bool,
    /// The step that failed (`create`, `start`, `rename`), if one did.
    pub(crate) failed_step: Option<String>,
    /// The old release runs again after the new one failed to start.
    pub(crate) restored: bool,
    /// What the engine said, when a step failed.
    pub(crate) reason: String,
}

const MARK: &str = "drover:";

impl Report {
    /// Reads the script's output: its own `drover:KEY=VALUE` lines, and
    /// everything else as the engine's words.
    pub(crate) fn parse(output: &str) -> Self {
        let mut report = Self::default();
        let mut reason = Vec::new();
        for line in output.lines() {
            match line
                .strip_prefix(MARK)
                .and_then(|line| line.split_once('='))
            {
                Some(("outcome", "replaced")) => report.replaced = true,
                Some(("outcome", "restored")) => report.restored = true,
                Some(("step", "old-stopped")) => report.touched_old = true,
                Some(("failed", step)) => report.failed_step = Some(step.to_owned()),
                None if !line.trim().is_empty() => reason.push(line.trim()),
                Some(_) | None => {}
            }
        }
        report.reason = reason.join("; ");
        report
    }

    /// Why the replacement failed, in a sentence.
    pub(crate) fn message(&self, name: &str) -> String {
        let step = self.failed_step.as_deref().unwrap_or("replace");
        let reason = if self.reason.is_empty() {
            "no reason given"
        } else {
            &self.reason
        };
        let after = if self.restored {
            format!("; the previous release of {name} runs again")
        } else if self.touched_old {
            format!("; the previous release of {name} could not be started again")
        } else {
            format!("; the previous release of {name} was not touched")
        };
        format!("the new release of {name} failed to {step}: {reason}{after}")
    }
}

/// How to replace one container.
pub(crate) struct Plan<'a> {
    pub(crate) runtime: &'a str,
    pub(crate) name: &'a str,
    /// Creates the new release (a command with `--name NAME.drover-next`).
    pub(crate) create: &'a str,
    pub(crate) order: Order,
    /// Start the new release (`state: started`).
    pub(crate) start: bool,
    pub(crate) stop_timeout: u64,
    /// Shell run once the new release has the name (it records the release).
    pub(crate) on_success: &'a str,
}

/// The script that carries out `plan`.
pub(crate) fn script(plan: &Plan<'_>) -> String {
    let Plan {
        runtime,
        name,
        create,
        order,
        start,
        stop_timeout,
        on_success,
    } = *plan;
    let lock = name;
    let next = quote(&next_name(name));
    let name = quote(name);
    let mut body = format!(
        "rt={runtime}\n\
         $rt rm -f {next} >/dev/null 2>&1\n\
         {create} >/dev/null || {{ echo '{MARK}failed=create'; exit 1; }}\n"
    );
    let stop_old = format!(
        "$rt stop -t {stop_timeout} {name} >/dev/null 2>&1; echo '{MARK}step=old-stopped'\n"
    );
    let retire_old = format!(
        "$rt stop -t {stop_timeout} {name} >/dev/null 2>&1; $rt rm -f {name} >/dev/null 2>&1; \
         echo '{MARK}step=old-stopped'\n"
    );
    let give_name = format!(
        "$rt rename {next} {name} || {{ echo '{MARK}failed=rename'; exit 1; }}\n\
         echo '{MARK}outcome=replaced'\n"
    );
    let start_next = |on_failure: &str| {
        format!(
            "if ! $rt start {next} >/dev/null; then\n\
             echo '{MARK}failed=start'\n\
             $rt rm -f {next} >/dev/null 2>&1\n\
             {on_failure}exit 1\n\
             fi\n"
        )
    };
    match (order, start) {
        (Order::Fresh, true) => body.push_str(&start_next("")),
        (Order::Fresh, false) => {}
        (Order::StartBeforeStop, true) => {
            body.push_str(&start_next(""));
            body.push_str(&retire_old);
        }
        (Order::StopThenStart, true) => {
            body.push_str(&stop_old);
            body.push_str(&start_next(&format!(
                "$rt start {name} >/dev/null && echo '{MARK}outcome=restored'\n"
            )));
            let _ = writeln!(body, "$rt rm -f {name} >/dev/null 2>&1");
        }
        (_, false) => body.push_str(&retire_old),
    }
    body.push_str(&give_name);
    // The release runs either way: a record that cannot be written is
    // reported, not a failed replacement.
    let _ = writeln!(body, "{{ {on_success}; }} || echo '{MARK}record=failed'");
    wrapped(&locked(lock, &body))
}

/// The lock a replacement of `name` holds on the host, so that a second run
/// (after drover was killed, say) waits for a replacement still going on
/// instead of working against it.
fn lock_path(name: &str) -> String {
    format!("{}/{name}.lock", crate::releases::RELEASES)
}

/// `body` run by `sh -c` under `name`'s lock where the host has `flock`
/// (util-linux), which holds the lock itself (`-o`: the containers the body
/// starts do not inherit it) until the body ends.
fn locked(name: &str, body: &str) -> String {
    let lock = quote(&lock_path(name));
    let body = quote(body);
    format!(
        "if command -v flock >/dev/null 2>&1 && mkdir -p {directory}; \
         then flock -o -w 600 {lock} sh -c {body}; else sh -c {body}; fi",
        directory = crate::releases::RELEASES,
    )
}

/// Shell that waits (up to ten minutes) for a replacement of `name` going
/// on on the host to end. It changes nothing: without a lock file there is
/// nothing to wait for.
pub(crate) fn wait_script(name: &str) -> String {
    let lock = quote(&lock_path(name));
    format!(
        "if [ -e {lock} ] && command -v flock >/dev/null 2>&1; then flock -s -w 600 {lock} true; fi"
    )
}

/// Runs `body` in a subshell whose output goes to a file until it ends,
/// then prints that file: nothing the body does depends on the connection
/// staying up.
fn wrapped(body: &str) -> String {
    format!(
        "out=$(mktemp) || exit 1\n\
         ( trap '' HUP INT TERM PIPE\n{body} ) >\"$out\" 2>&1 </dev/null\n\
         status=$?\n\
         report=$(cat \"$out\"); rm -f \"$out\"\n\
         printf '%s\\n' \"$report\"\n\
         exit $status"
    )
}

/// Finishes a replacement a killed run left half done: a next release
/// beside the live one is removed; a next release with no live one (the
/// old one was already retired) takes the container's name.
pub(crate) fn repair_script(runtime: &str, name: &str) -> String {
    let next = quote(&next_name(name));
    let quoted = quote(name);
    let body = format!(
        "rt={runtime}\n\
         if $rt container inspect {quoted} >/dev/null 2>&1; then $rt rm -f {next} >/dev/null 2>&1; \
         else $rt rename {next} {quoted}; fi"
    );
    wrapped(&locked(name, &body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Order, Plan, Report, host_port, order, script};

    fn plan<'a>(runtime: &'a str, create: &'a str, order: Order, stop_timeout: u64) -> Plan<'a> {
        Plan {
            runtime,
            name: "app",
            create,
            order,
            start: true,
            stop_timeout,
            on_success: "record",
        }
    }

    #[test]
    fn host_ports_are_read_from_every_form() {
        assert_eq!(host_port("8080:80").as_deref(), Some("8080/tcp"));
        assert_eq!(
            host_port("127.0.0.1:8080:80/udp").as_deref(),
            Some("127.0.0.1:8080/udp")
        );
        assert_eq!(
            host_port("8000-8010:80-90").as_deref(),
            Some("8000-8010/tcp")
        );
        assert_eq!(host_port("80"), None);
    }

    #[test]
    fn releases_sharing_a_host_port_take_turns() {
        let old = json!({"ports": ["8080:8080"], "network": ""});
        let same = json!({"ports": ["8080:8080"], "network": ""});
        let other = json!({"ports": ["8081:8080"], "network": ""});
        let host = json!({"ports": [], "network": "host"});
        assert_eq!(order(true, true, Some(&old), &same), Order::StopThenStart);
        assert_eq!(
            order(true, true, Some(&old), &other),
            Order::StartBeforeStop
        );
        assert_eq!(order(true, true, Some(&old), &host), Order::StopThenStart);
        assert_eq!(order(true, true, None, &other), Order::StopThenStart);
        assert_eq!(order(false, false, None, &other), Order::Fresh);
        assert_eq!(order(true, false, None, &same), Order::StartBeforeStop);
    }

    #[test]
    fn the_new_release_starts_before_the_old_one_is_retired() {
        let text = script(&plan(
            "docker",
            "docker create --name app.drover-next img",
            Order::StartBeforeStop,
            10,
        ));
        let start = text.find("start app.drover-next").unwrap();
        let stop = text.find("stop -t 10 app ").unwrap();
        let rename = text.find("rename app.drover-next app").unwrap();
        let record = text.find("record").unwrap();
        assert!(start < stop && stop < rename && rename < record, "{text}");
        assert!(text.contains("trap '' HUP INT TERM PIPE"), "{text}");
    }

    #[test]
    fn a_new_release_that_does_not_start_brings_the_old_one_back() {
        let text = script(&plan(
            "podman",
            "podman create --name app.drover-next img",
            Order::StopThenStart,
            5,
        ));
        let stop = text.find("stop -t 5 app ").unwrap();
        let start = text.find("start app.drover-next").unwrap();
        let restore = text.find("$rt start app >/dev/null && echo").unwrap();
        assert!(stop < start && start < restore, "{text}");
    }

    #[test]
    fn reports_read_the_script_and_the_engine() {
        let report = Report::parse(
            "drover:step=old-stopped\nError: executable file `/nope` not found\ndrover:failed=start\ndrover:outcome=restored\n",
        );
        assert!(report.touched_old && report.restored && !report.replaced);
        assert_eq!(report.failed_step.as_deref(), Some("start"));
        assert_eq!(report.reason, "Error: executable file `/nope` not found");
        assert!(
            report
                .message("app")
                .ends_with("the previous release of app runs again")
        );
    }
}
