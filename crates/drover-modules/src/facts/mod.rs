//! Facts about a host, gathered in one command (`setup` and `gather_facts`).
//!
//! One POSIX shell script ([`script`]) prints `key=value` lines (and the
//! environment at the end); nothing but core utilities, `ip` when present,
//! `/proc` and `/sys` is read, and Python only to report Python itself. The names and shapes follow Ansible's
//! `setup` module, so playbooks written against Ansible's facts work.

mod hardware;
mod network;
mod script;
mod system;

use drover_ssh::{ExecRequest, HostSession};
use serde_json::{Map, Value as Json};

use crate::Error;

/// Which groups of facts to gather, from `gather_subset` (`all`, `min`,
/// `network`, `hardware`, and `!name` to leave one out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subset {
    /// Addresses, interfaces and the default route.
    pub network: bool,
    /// Memory and processors.
    pub hardware: bool,
}

impl Subset {
    /// Everything (Ansible's default, `all`).
    pub const ALL: Self = Self {
        network: true,
        hardware: true,
    };

    /// Reads `gather_subset`'s names; unknown ones are an error naming
    /// them. As in Ansible, naming a subset (or `min`, or `!all`) starts
    /// from the minimum; only negations alone start from everything.
    pub fn parse(names: &[String]) -> Result<Self, Error> {
        let mut added = Self {
            network: false,
            hardware: false,
        };
        let mut removed = Self {
            network: false,
            hardware: false,
        };
        let mut from_everything = true;
        for name in names {
            let (negated, bare) = name
                .strip_prefix('!')
                .map_or((false, name.as_str()), |rest| (true, rest));
            let target = if negated { &mut removed } else { &mut added };
            match bare {
                "all" if negated => from_everything = false,
                "all" => *target = Self::ALL,
                "network" | "interfaces" | "default_ipv4" | "all_ipv4_addresses" => {
                    target.network = true;
                }
                "hardware" | "devices" | "memory" | "processor" => target.hardware = true,
                // Part of every subset here, or not gathered by drover at all.
                "min" | "virtual" | "facter" | "ohai" | "platform" | "distribution" | "env"
                | "date_time" | "dns" | "user" | "pkg_mgr" | "service_mgr" | "local" => {}
                other => {
                    return Err(Error::Arguments(format!(
                        "`gather_subset` has no subset `{other}`; use all, min, network or hardware"
                    )));
                }
            }
            if !negated {
                from_everything = false;
            }
        }
        let base = if from_everything {
            Self::ALL
        } else {
            Self {
                network: false,
                hardware: false,
            }
        };
        Ok(Self {
            network: (base.network || added.network) && !removed.network,
            hardware: (base.hardware || added.hardware) && !removed.hardware,
        })
    }

    /// The shell script that gathers this subset.
    pub fn script(self) -> String {
        let mut script = String::from(script::MINIMUM);
        if self.network {
            script.push_str(script::NETWORK);
        }
        if self.hardware {
            script.push_str(script::HARDWARE);
        }
        script.push_str(script::ENVIRONMENT);
        script
    }
}

/// Gathers the subset `names` asks for, in one round trip; returns the
/// facts without the `ansible_` prefix, as they appear under `ansible_facts`.
/// The script goes through the long-lived shell, which it usually starts:
/// the first tasks' commands then find it running.
pub async fn gather(session: &HostSession, names: &[String]) -> Result<Map<String, Json>, Error> {
    let subset = Subset::parse(names)?;
    let request = ExecRequest {
        reuse_shell: true,
        ..ExecRequest::new(subset.script())
    };
    let output = session.exec(&request).await?;
    let mut facts = parse(&output.stdout);
    record_subset(&mut facts, names);
    Ok(facts)
}

/// `gather_subset` and `module_setup`, which Ansible's `setup` adds to
/// what it gathered.
pub fn record_subset(facts: &mut Map<String, Json>, names: &[String]) {
    let names = if names.is_empty() {
        vec![Json::from("all")]
    } else {
        names.iter().map(|name| Json::from(name.as_str())).collect()
    };
    facts.insert("gather_subset".to_owned(), Json::Array(names));
    facts.insert("module_setup".to_owned(), Json::Bool(true));
}

/// The script's `key=value` lines, in order; a key may repeat.
pub(super) struct Values<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Values<'a> {
    fn new(text: &'a str) -> Self {
        let pairs = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key, value.trim()))
            .collect();
        Self { pairs }
    }

    /// The first value of `key` ("" when there is none).
    pub(super) fn get(&self, key: &str) -> &'a str {
        self.pairs
            .iter()
            .find(|(name, _)| *name == key)
            .map_or("", |(_, value)| value)
    }

    /// Every value of `key`, in order.
    pub(super) fn all(&self, key: &str) -> Vec<&'a str> {
        self.pairs
            .iter()
            .filter(|(name, _)| *name == key)
            .map(|(_, value)| *value)
            .collect()
    }

    /// Whether `key` was printed at all.
    pub(super) fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(name, _)| *name == key)
    }
}

/// Turns the script's output into Ansible-named facts.
pub fn parse(output: &[u8]) -> Map<String, Json> {
    let marker = b"__drover_env__\n";
    let (lines, environment) = output
        .windows(marker.len())
        .position(|window| window == marker)
        .map_or((output, &[][..]), |at| {
            (&output[..at], &output[at + marker.len()..])
        });
    let lines = String::from_utf8_lossy(lines);
    let values = Values::new(&lines);
    let mut facts = system::platform(&values);
    facts.extend(system::distribution(&values));
    facts.extend(system::security(&values));
    facts.extend(system::software(&values));
    facts.extend(system::virtualization(&values));
    facts.insert(
        "env".to_owned(),
        environment_fact(environment, values.get("__drover_lc_all__")),
    );
    if values.has("memtotal_kb") {
        facts.extend(hardware::facts(&values));
    }
    if values.has("interface") || values.has("ipv4") {
        facts.extend(network::facts(&values));
    }
    facts
}

/// A whole number, or null when the host printed none.
pub(super) fn number(text: &str) -> Json {
    text.trim().parse::<u64>().map_or(Json::Null, Json::from)
}

/// A `json!` object as a map.
pub(super) fn object(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

fn environment_fact(raw: &[u8], lc_all: &str) -> Json {
    let mut environment = Map::new();
    let mut rest = raw;
    while let Some(end) = rest.iter().position(|byte| *byte == b'\n') {
        let header = String::from_utf8_lossy(&rest[..end]);
        let Some((name, length)) = header.rsplit_once(' ') else {
            break;
        };
        let Ok(length) = length.parse::<usize>() else {
            break;
        };
        let start = end + 1;
        let Some(value) = rest.get(start..start + length) else {
            break;
        };
        environment.insert(
            name.to_owned(),
            Json::from(String::from_utf8_lossy(value).into_owned()),
        );
        rest = rest.get(start + length + 1..).unwrap_or_default();
    }
    if lc_all != "__unset__" && !lc_all.is_empty() {
        environment.insert("LC_ALL".to_owned(), Json::from(lc_all));
    }
    Json::Object(environment)
}

#[cfg(test)]
mod tests {
    use super::{Subset, parse};

    #[test]
    fn environment_values_keep_their_newlines_and_backslashes() {
        let output = b"hostname=web1\n__drover_lc_all__=__unset__\n__drover_env__\nHOME 5\n/root\nSCRIPT 17\nline one\nline\\two\n";
        let facts = parse(output);
        assert_eq!(facts["env"]["HOME"], "/root");
        assert_eq!(facts["env"]["SCRIPT"], "line one\nline\\two");
        assert!(facts["env"].get("LC_ALL").is_none());
        assert_eq!(facts["hostname"], "web1");
    }

    #[test]
    fn subsets_add_and_remove_groups() {
        let names = |list: &[&str]| {
            list.iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(Subset::parse(&[]).unwrap(), Subset::ALL);
        let minimal = Subset::parse(&names(&["min"])).unwrap();
        assert!(!minimal.network && !minimal.hardware);
        let network = Subset::parse(&names(&["!all", "network"])).unwrap();
        assert!(network.network && !network.hardware);
        let no_hardware = Subset::parse(&names(&["all", "!hardware"])).unwrap();
        assert!(no_hardware.network && !no_hardware.hardware);
        assert!(Subset::parse(&names(&["everything"])).is_err());
    }

    #[test]
    fn debian_output_becomes_ansible_facts() {
        let facts = parse(b"hostname=web1\nos_id=debian\nos_version=12\ndebian_version=12.7\nos_codename=bookworm\npkg_mgr=apt-get\nservice_mgr=systemd\nmemtotal_kb=2048000\nprocessor_vcpus=2\n");
        assert_eq!(facts["os_family"], "Debian");
        assert_eq!(facts["distribution_version"], "12.7");
        assert_eq!(facts["distribution_major_version"], "12");
        assert_eq!(facts["pkg_mgr"], "apt");
        assert_eq!(facts["processor_vcpus"], 2);
        assert_eq!(facts["memtotal_mb"], 2000);
    }
}
