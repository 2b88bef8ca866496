//! Compose files a `docker_stack` task deploys from the controller (its
//! `src`), checked when the playbook loads, so that a bad stack file stops
//! the run before any host changes: YAML that does not parse, a key the
//! compose format does not have (with the nearest one it does), a service
//! without an image (a stack builds nothing), and, for the service a play
//! rolls out, an image without a tag (a bare image means `latest`, which
//! names no release to roll back to).

use std::path::{Path, PathBuf};

use drover_inventory::yaml_tree::{self, Node, NodeValue};
use serde_json::Value as Json;

use crate::error::{Error, SourceLocation};
use crate::loader::Loader;
use crate::model::{Task, Vars};
use crate::task::Context;

const TOP: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "configs", "secrets",
];

/// Every key of a compose service (the compose specification's), including
/// those `docker stack deploy` ignores, which it only warns about.
const SERVICE: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "networks",
    "network_mode",
    "deploy",
    "healthcheck",
    "labels",
    "logging",
    "configs",
    "secrets",
    "hostname",
    "domainname",
    "user",
    "working_dir",
    "stop_grace_period",
    "stop_signal",
    "init",
    "cap_add",
    "cap_drop",
    "devices",
    "dns",
    "dns_search",
    "dns_opt",
    "extra_hosts",
    "ulimits",
    "sysctls",
    "read_only",
    "stdin_open",
    "tty",
    "privileged",
    "security_opt",
    "isolation",
    "credential_spec",
    "build",
    "container_name",
    "depends_on",
    "restart",
    "links",
    "external_links",
    "cgroup_parent",
    "cgroupns_mode",
    "ipc",
    "pid",
    "userns_mode",
    "mac_address",
    "shm_size",
    "platform",
    "profiles",
    "pull_policy",
    "runtime",
    "scale",
    "storage_opt",
    "volumes_from",
    "memswap_limit",
    "mem_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "cpu_quota",
    "cpuset",
    "oom_kill_disable",
    "oom_score_adj",
    "group_add",
    "annotations",
    "attach",
];

const DEPLOY: &[&str] = &[
    "mode",
    "replicas",
    "labels",
    "update_config",
    "rollback_config",
    "restart_policy",
    "placement",
    "resources",
    "endpoint_mode",
    "max_replicas_per_node",
];

const UPDATE: &[&str] = &[
    "parallelism",
    "delay",
    "failure_action",
    "monitor",
    "max_failure_ratio",
    "order",
];

/// What a checked file says is wrong with it.
pub(crate) fn check(text: &str, path: &Path, rolled_out: &[String]) -> Vec<Error> {
    let tree = match yaml_tree::parse(text, path) {
        Ok(tree) => tree,
        Err(error) => return vec![Error::from_inventory(error)],
    };
    let mut problems = Problems {
        path,
        found: Vec::new(),
    };
    let Some(top) = problems.mapping(&tree, "a compose file", TOP) else {
        return problems.found;
    };
    match top.iter().find(|(key, _)| key.key_text() == "services") {
        Some((_, services)) => problems.services(services, rolled_out),
        None => problems.at(
            &tree,
            "the stack file has no `services`",
            "a stack deploys services: add `services:` with at least one service and its `image`",
        ),
    }
    problems.found
}

impl Loader<'_> {
    /// A `docker_stack` task's `src` files: each must exist on the
    /// controller (or the task fails when it runs), and what is in them
    /// must be a stack `docker stack deploy` takes, checked now.
    pub(crate) fn check_stack_files(
        &mut self,
        task: &Task,
        arguments: &Vars,
        context: &Context,
        here: &SourceLocation,
    ) {
        let sources: Vec<&str> = match arguments.get("src") {
            Some(Json::String(source)) => vec![source.as_str()],
            Some(Json::Array(sources)) => sources.iter().filter_map(Json::as_str).collect(),
            _ => return,
        };
        // The service the play rolls out, by its full name and by its key
        // in this stack.
        let mut rolled_out: Vec<String> = self.rolled_out_service.iter().cloned().collect();
        if let (Some(service), Some(Json::String(stack))) =
            (&self.rolled_out_service, arguments.get("name"))
            && let Some(key) = service.strip_prefix(&format!("{stack}_"))
        {
            rolled_out.push(key.to_owned());
        }
        let mut bases: Vec<PathBuf> = task.role.iter().map(|role| role.path.clone()).collect();
        bases.extend([context.base.clone(), self.base.clone()]);
        for source in sources
            .into_iter()
            .filter(|source| !drover_template::is_template(source))
        {
            let name = Path::new(source);
            let found = if name.is_absolute() {
                name.exists().then(|| name.to_path_buf())
            } else {
                bases
                    .iter()
                    .flat_map(|base| [base.join("files").join(name), base.join(name)])
                    .find(|candidate| candidate.is_file())
            };
            let Some(found) = found else {
                self.errors.defer(
                    here.clone(),
                    format!("the stack file `{source}` does not exist"),
                    Some(
                        "looked in `files/` and beside the task's file, the role and the playbook"
                            .to_owned(),
                    ),
                );
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(&found) {
                for problem in check(&text, &found, &rolled_out) {
                    self.errors.push(problem);
                }
            }
        }
    }
}

struct Problems<'a> {
    path: &'a Path,
    found: Vec<Error>,
}

impl Problems<'_> {
    fn at(&mut self, node: &Node, message: impl Into<String>, hint: impl Into<String>) {
        self.found.push(Error::Invalid {
            location: SourceLocation::new(self.path, node.line, node.column),
            message: message.into(),
            hint: Some(hint.into()),
        });
    }

    /// `node`'s entries when it is a mapping whose keys are all `known`
    /// (or extensions, `x-…`); every other key is a problem.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&str],
    ) -> Option<&'n [(Node, Node)]> {
        let NodeValue::Mapping(entries) = &node.value else {
            self.at(
                node,
                format!("{what} must be a mapping, not a {}", node.type_name()),
                "write `key: value` lines",
            );
            return None;
        };
        for (key, _) in entries {
            let name = key.key_text();
            if name.starts_with("x-") || known.contains(&name.as_str()) {
                continue;
            }
            let nearest = known
                .iter()
                .map(|candidate| (strsim::jaro_winkler(candidate, &name), candidate))
                .max_by(|left, right| left.0.total_cmp(&right.0))
                .filter(|(score, _)| *score > 0.8)
                .map(|(_, candidate)| format!("did you mean `{candidate}`? "))
                .unwrap_or_default();
            self.at(
                key,
                format!("{what} has no key `{name}`"),
                format!("{nearest}it takes {}", known.join(", ")),
            );
        }
        Some(entries)
    }

    fn services(&mut self, services: &Node, rolled_out: &[String]) {
        let NodeValue::Mapping(entries) = &services.value else {
            self.at(
                services,
                "`services` must be a mapping of services by name",
                "such as `web: {image: app:1}`",
            );
            return;
        };
        for (key, service) in entries {
            let name = key.key_text();
            let Some(fields) = self.mapping(service, &format!("the service `{name}`"), SERVICE)
            else {
                continue;
            };
            let field = |wanted: &str| {
                fields
                    .iter()
                    .find(|(key, _)| key.key_text() == wanted)
                    .map(|(_, value)| value)
            };
            match field("image") {
                None => self.at(
                    key,
                    format!("the service `{name}` has no `image`"),
                    "a stack builds nothing: give every service an `image`, such as app:1.4.2",
                ),
                Some(image) if rolled_out.contains(&name) && !tagged(image) => self.at(
                    image,
                    format!("the image of `{name}`, which the play rolls out, has no tag"),
                    "pin a tag, such as app:1.4.2 or app:${VERSION}: a bare image means `latest`, \
                     which names no release to roll back to",
                ),
                Some(_) => {}
            }
            let Some(deploy) = field("deploy") else {
                continue;
            };
            let Some(settings) = self.mapping(deploy, &format!("`deploy` of `{name}`"), DEPLOY)
            else {
                continue;
            };
            for (key, value) in settings {
                let setting = key.key_text();
                if setting == "update_config" || setting == "rollback_config" {
                    self.mapping(value, &format!("`{setting}` of `{name}`"), UPDATE);
                }
            }
        }
    }
}

/// Whether an image names its tag (or digest); one made of variables may.
fn tagged(image: &Node) -> bool {
    let Some(text) = image.as_scalar_text() else {
        return true;
    };
    let last = text.rsplit('/').next().unwrap_or(&text);
    text.contains('@') || text.contains("${") || last.contains(':')
}

#[cfg(test)]
mod tests {
    use super::check;
    use std::path::Path;

    fn problems(text: &str) -> Vec<String> {
        check(text, Path::new("stack.yml"), &["web".to_owned()])
            .iter()
            .map(|error| {
                let hint = match error {
                    crate::Error::Invalid {
                        hint: Some(hint), ..
                    } => hint.as_str(),
                    _ => "",
                };
                let location = error
                    .location()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                format!("{location}: {error} ({hint})")
            })
            .collect()
    }

    #[test]
    fn issue_20_a_bad_stack_file_is_named_at_its_line() {
        assert_eq!(
            problems("services:\n  web:\n    image: app:1\n"),
            Vec::<String>::new()
        );
        let unknown = problems("services:\n  web:\n    image: app:1\n    replica: 3\n");
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].starts_with("stack.yml:4:5"), "{unknown:?}");
        let yaml = problems("services:\n  web: [\n");
        assert!(yaml[0].contains("stack.yml:"), "{yaml:?}");
        let bare = problems("services:\n  web:\n    image: app\n  db:\n    image: postgres\n");
        assert_eq!(
            bare.len(),
            1,
            "only the service rolled out needs a tag: {bare:?}"
        );
        assert!(bare[0].starts_with("stack.yml:3:12"), "{bare:?}");
        let tagged = problems("services:\n  web:\n    image: \"registry:5000/app:${VERSION}\"\n");
        assert!(tagged.is_empty(), "{tagged:?}");
        let no_image = problems("services:\n  web:\n    deploy: {replicas: 2}\n");
        assert!(no_image[0].contains("no `image`"), "{no_image:?}");
        let update = problems(
            "services:\n  web:\n    image: a:1\n    deploy:\n      update_config: {paralelism: 1}\n",
        );
        assert!(
            update[0].contains("did you mean `parallelism`"),
            "{update:?}"
        );
    }
}
