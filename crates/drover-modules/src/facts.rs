//! Facts about a host, gathered in one command (`setup` and `gather_facts`).
//!
//! One POSIX shell script prints `key=value` lines (and the environment,
//! NUL-separated, at the end); nothing but core utilities, `ip` when
//! present, and `/proc` is read. The names and shapes follow Ansible's
//! `setup` module, so playbooks written against Ansible's facts work.

use drover_ssh::{ExecRequest, HostSession};
use serde_json::{Map, Value as Json, json};

use crate::Error;

/// What every subset needs: platform, distribution, package and service
/// managers, user, date and time, DNS, and the environment (Ansible's `min`).
const MINIMUM: &str = r#"
kv() { printf '%s=%s\n' "$1" "$2"; }
kv hostname "$(hostname 2>/dev/null || uname -n)"
kv fqdn "$(hostname -f 2>/dev/null || hostname 2>/dev/null || uname -n)"
kv kernel "$(uname -r)"
kv kernel_version "$(uname -v)"
kv architecture "$(uname -m)"
kv system "$(uname -s)"
kv user_id "$(id -un)"
kv user_uid "$(id -u)"
kv user_gid "$(id -g)"
kv user_dir "$HOME"
kv user_shell "$(getent passwd "$(id -un)" 2>/dev/null | cut -d: -f7)"
kv machine_id "$(cat /etc/machine-id 2>/dev/null)"
kv epoch "$(date +%s)"
kv date_time "$(date '+%Y-%m-%d %H:%M:%S %Z %z %A %B %j %W')"
if [ -r /etc/os-release ]; then
  ( . /etc/os-release; kv os_id "$ID"; kv os_like "$ID_LIKE"; kv os_version "$VERSION_ID"; kv os_codename "$VERSION_CODENAME"; kv os_name "$NAME" )
fi
[ -r /etc/debian_version ] && kv debian_version "$(cat /etc/debian_version)"
for m in apt-get dnf yum zypper apk pacman; do command -v $m >/dev/null 2>&1 && { kv pkg_mgr $m; break; }; done
if [ -d /run/systemd/system ]; then kv service_mgr systemd; else kv service_mgr "$(cat /proc/1/comm 2>/dev/null || echo service)"; fi
awk '$1=="nameserver"{print "nameserver="$2} $1=="search"{for(i=2;i<=NF;i++) print "search="$i}' /etc/resolv.conf 2>/dev/null
"#;

/// Addresses, interfaces and the default route (Ansible's `network`).
const NETWORK: &str = r#"
if command -v ip >/dev/null 2>&1; then
  ip -4 route show default 2>/dev/null | awk '{for(i=1;i<NF;i++){if($i=="via")print "gateway="$(i+1); if($i=="dev")print "default_interface="$(i+1)}; exit}'
  ip -4 -o addr show 2>/dev/null | awk '{split($4,a,"/"); print "ipv4="$2" "a[1]" "a[2]}'
  ip -6 -o addr show 2>/dev/null | awk '{split($4,a,"/"); print "ipv6="$2" "a[1]}'
  ip -o link show 2>/dev/null | awk '{n=$2; sub(/:$/,"",n); sub(/@.*/,"",n); for(i=3;i<NF;i++) if($i ~ /^link\//) print "mac="n" "$(i+1)}'
else
  for d in /sys/class/net/*; do [ -r "$d/address" ] && kv mac "${d##*/} $(cat "$d/address")"; done
fi
"#;

/// Memory and processors (Ansible's `hardware`).
const HARDWARE: &str = r#"
awk '/^MemTotal:/{print "memtotal_kb="$2} /^MemFree:/{print "memfree_kb="$2} /^SwapTotal:/{print "swaptotal_kb="$2}' /proc/meminfo 2>/dev/null
kv processor_vcpus "$(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
kv processor_count "$(grep '^physical id' /proc/cpuinfo 2>/dev/null | sort -u | wc -l)"
kv processor_cores "$(grep -m1 '^cpu cores' /proc/cpuinfo 2>/dev/null | cut -d: -f2)"
kv uptime_seconds "$(cut -d. -f1 /proc/uptime 2>/dev/null)"
"#;

/// The environment comes last, after this marker: for each variable a
/// `NAME LENGTH` line, then its value (values may hold newlines, and the
/// NUL bytes `env -0` would use do not survive the shell's command
/// substitution). `LC_ALL=C` makes awk count bytes; the caller's own
/// `LC_ALL` is reported before it.
const ENVIRONMENT: &str = r#"
echo "__drover_lc_all__=${LC_ALL-__unset__}"
echo __drover_env__
LC_ALL=C awk 'BEGIN { for (name in ENVIRON) if (name != "LC_ALL") printf "%s %d\n%s\n", name, length(ENVIRON[name]), ENVIRON[name] }'
"#;

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
        let mut script = String::from(MINIMUM);
        if self.network {
            script.push_str(NETWORK);
        }
        if self.hardware {
            script.push_str(HARDWARE);
        }
        script.push_str(ENVIRONMENT);
        script
    }
}

/// Gathers `subset` in one round trip; returns the facts without the
/// `ansible_` prefix, as they appear under `ansible_facts`.
pub async fn gather(session: &HostSession, subset: Subset) -> Result<Map<String, Json>, Error> {
    let output = session.exec(&ExecRequest::new(subset.script())).await?;
    Ok(parse(&output.stdout))
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
    let mut values: Vec<(&str, &str)> = Vec::new();
    for line in lines.lines() {
        if let Some((key, value)) = line.split_once('=') {
            values.push((key, value.trim()));
        }
    }
    let get = |key: &str| {
        values
            .iter()
            .find(|(name, _)| *name == key)
            .map_or("", |(_, value)| *value)
            .to_owned()
    };
    let all = |key: &str| -> Vec<&str> {
        values
            .iter()
            .filter(|(name, _)| *name == key)
            .map(|(_, value)| *value)
            .collect()
    };
    let mut facts = platform_facts(&get);
    facts.extend(distribution_facts(&get));
    facts.insert(
        "env".to_owned(),
        environment_fact(environment, &get("__drover_lc_all__")),
    );
    facts.insert(
        "dns".to_owned(),
        json!({"nameservers": all("nameserver"), "search": all("search")}),
    );
    if values.iter().any(|(key, _)| *key == "memtotal_kb") {
        facts.extend(hardware_facts(&get));
    }
    if values
        .iter()
        .any(|(key, _)| *key == "ipv4" || *key == "mac")
    {
        facts.extend(network_facts(&values));
    }
    facts
}

fn number(text: &str) -> Json {
    text.trim().parse::<u64>().map_or(Json::Null, Json::from)
}

fn platform_facts(get: &dyn Fn(&str) -> String) -> Map<String, Json> {
    let hostname = get("hostname");
    let fqdn = get("fqdn");
    let domain = fqdn
        .split_once('.')
        .map_or_else(String::new, |(_, domain)| domain.to_owned());
    let short = hostname.split('.').next().unwrap_or_default().to_owned();
    let date: Vec<String> = get("date_time")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let part = |index: usize| date.get(index).cloned().unwrap_or_default();
    let day = part(0);
    let mut pieces = day.split('-');
    let (year, month, day_of_month) = (
        pieces.next().unwrap_or_default().to_owned(),
        pieces.next().unwrap_or_default().to_owned(),
        pieces.next().unwrap_or_default().to_owned(),
    );
    let service_manager = get("service_mgr");
    let facts = json!({
        "hostname": short,
        "nodename": hostname,
        "fqdn": fqdn,
        "domain": domain,
        "kernel": get("kernel"),
        "kernel_version": get("kernel_version"),
        "architecture": get("architecture"),
        "machine": get("architecture"),
        "system": get("system"),
        "machine_id": get("machine_id"),
        "user_id": get("user_id"),
        "user_uid": number(&get("user_uid")),
        "user_gid": number(&get("user_gid")),
        "user_dir": get("user_dir"),
        "user_shell": get("user_shell"),
        "service_mgr": if service_manager == "init" { "sysvinit".to_owned() } else { service_manager },
        "date_time": {
            "epoch": get("epoch"),
            "date": day,
            "time": part(1),
            "tz": part(2),
            "tz_offset": part(3),
            "weekday": part(4),
            "month": month,
            "year": year,
            "day": day_of_month,
            "hour": part(1).split(':').next().unwrap_or_default(),
            "minute": part(1).split(':').nth(1).unwrap_or_default(),
            "second": part(1).split(':').nth(2).unwrap_or_default(),
            "weekday_number": "",
            "julian_day": part(6),
            "weeknumber": part(7),
            "iso8601": format!("{}T{}", part(0), part(1)),
        },
    });
    match facts {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

fn distribution_facts(get: &dyn Fn(&str) -> String) -> Map<String, Json> {
    let id = get("os_id");
    let like = get("os_like");
    let family = match () {
        () if id == "debian" || id == "ubuntu" || like.contains("debian") => "Debian",
        () if ["rhel", "centos", "fedora", "rocky", "almalinux", "ol"].contains(&id.as_str())
            || like.contains("rhel")
            || like.contains("fedora") =>
        {
            "RedHat"
        }
        () if id == "alpine" => "Alpine",
        () if id.contains("suse") => "Suse",
        () if id == "arch" => "Archlinux",
        () => "",
    };
    let distribution = match id.as_str() {
        "debian" => "Debian".to_owned(),
        "ubuntu" => "Ubuntu".to_owned(),
        "fedora" => "Fedora".to_owned(),
        "centos" => "CentOS".to_owned(),
        "rhel" => "RedHat".to_owned(),
        "almalinux" => "AlmaLinux".to_owned(),
        "rocky" => "Rocky".to_owned(),
        other => {
            let mut characters = other.chars();
            characters.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(characters).collect()
            })
        }
    };
    // Debian's /etc/debian_version carries the point release (12.7), as Ansible reports it.
    let debian = get("debian_version");
    let version = if id == "debian" && debian.starts_with(|c: char| c.is_ascii_digit()) {
        debian
    } else {
        get("os_version")
    };
    let major = version.split('.').next().unwrap_or_default().to_owned();
    let minor = version.split('.').nth(1).unwrap_or_default().to_owned();
    let package_manager = match get("pkg_mgr").as_str() {
        "apt-get" => "apt".to_owned(),
        other => other.to_owned(),
    };
    let facts = json!({
        "os_family": family,
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": major,
        "distribution_minor_version": minor,
        "distribution_release": get("os_codename"),
        "pkg_mgr": package_manager,
    });
    match facts {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

fn hardware_facts(get: &dyn Fn(&str) -> String) -> Map<String, Json> {
    let megabytes = |key: &str| {
        get(key)
            .parse::<u64>()
            .map_or(Json::Null, |kilobytes| Json::from(kilobytes / 1024))
    };
    let vcpus = number(&get("processor_vcpus"));
    let count = match number(&get("processor_count")) {
        Json::Number(count) if count.as_u64() != Some(0) => Json::Number(count),
        _ => vcpus.clone(),
    };
    let cores = match number(&get("processor_cores")) {
        Json::Null => Json::from(1),
        cores => cores,
    };
    let facts = json!({
        "memtotal_mb": megabytes("memtotal_kb"),
        "memfree_mb": megabytes("memfree_kb"),
        "swaptotal_mb": megabytes("swaptotal_kb"),
        "processor_vcpus": vcpus,
        "processor_count": count,
        "processor_cores": cores,
        "uptime_seconds": number(&get("uptime_seconds")),
    });
    match facts {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

/// `ansible_default_ipv4.*` (`ipv4` of an interface): an address with
/// its prefix length, mask, network and broadcast.
fn ipv4_fact(address: std::net::Ipv4Addr, prefix: u32) -> Json {
    let mask = u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0);
    json!({
        "address": address.to_string(),
        "netmask": std::net::Ipv4Addr::from(mask).to_string(),
        "network": std::net::Ipv4Addr::from(u32::from(address) & mask).to_string(),
        "broadcast": std::net::Ipv4Addr::from(u32::from(address) | !mask).to_string(),
        "prefix": prefix.to_string(),
    })
}

/// `ansible_default_ipv4`: the default route's interface, its address,
/// gateway and MAC; empty when there is no default route.
fn default_ipv4(
    interface: &str,
    gateway: &str,
    per_interface: &Map<String, Json>,
    macs: &Map<String, Json>,
) -> Json {
    let mut fact = per_interface
        .get(interface)
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Json::Object(map) = &mut fact
        && !interface.is_empty()
    {
        map.insert("interface".to_owned(), Json::from(interface));
        map.insert("alias".to_owned(), Json::from(interface));
        map.insert("gateway".to_owned(), Json::from(gateway));
        if let Some(mac) = macs.get(interface) {
            map.insert("macaddress".to_owned(), mac.clone());
        }
    }
    fact
}

/// `ansible_DEVICE`: an interface, its MAC and its first IPv4 address.
fn interface_fact(device: &str, mac: Option<&Json>, ipv4: Option<&Json>) -> Json {
    let mut fact = json!({
        "device": device,
        "active": true,
        "macaddress": mac.cloned().unwrap_or(Json::Null),
    });
    if let Some(ipv4) = ipv4 {
        fact["ipv4"] = ipv4.clone();
    }
    fact
}

fn network_facts(values: &[(&str, &str)]) -> Map<String, Json> {
    let lines = |key: &str| -> Vec<Vec<&str>> {
        values
            .iter()
            .filter(|(name, _)| *name == key)
            .map(|(_, value)| value.split_whitespace().collect())
            .collect()
    };
    let single = |key: &str| {
        values
            .iter()
            .find(|(name, _)| *name == key)
            .map_or("", |(_, value)| *value)
    };
    let macs: Map<String, Json> = lines("mac")
        .into_iter()
        .filter(|fields| fields.len() == 2)
        .map(|fields| (fields[0].to_owned(), Json::from(fields[1])))
        .collect();
    let mut interfaces: Vec<String> = macs.keys().cloned().collect();
    let mut facts = Map::new();
    let mut all_ipv4 = Vec::new();
    let mut per_interface: Map<String, Json> = Map::new();
    for fields in lines("ipv4") {
        let [device, address, prefix] = fields[..] else {
            continue;
        };
        let address: std::net::Ipv4Addr =
            address.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let ipv4 = ipv4_fact(address, prefix.parse().unwrap_or(32));
        if !address.is_loopback() {
            all_ipv4.push(Json::from(address.to_string()));
        }
        if !interfaces.iter().any(|name| name == device) {
            interfaces.push(device.to_owned());
        }
        per_interface.entry(device.to_owned()).or_insert(ipv4);
    }
    let all_ipv6: Vec<Json> = lines("ipv6")
        .into_iter()
        .filter(|fields| fields.len() == 2 && fields[1] != "::1")
        .map(|fields| Json::from(fields[1]))
        .collect();
    for device in &interfaces {
        let fact = interface_fact(device, macs.get(device), per_interface.get(device));
        facts.insert(device.replace(['-', ':', '.'], "_"), fact);
    }
    let default_ipv4 = default_ipv4(
        single("default_interface"),
        single("gateway"),
        &per_interface,
        &macs,
    );
    interfaces.sort();
    facts.insert("interfaces".to_owned(), json!(interfaces));
    facts.insert("default_ipv4".to_owned(), default_ipv4);
    facts.insert("all_ipv4_addresses".to_owned(), Json::Array(all_ipv4));
    facts.insert("all_ipv6_addresses".to_owned(), Json::Array(all_ipv6));
    facts
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
