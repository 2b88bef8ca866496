//! Gathering facts in one command: what the `setup` module reports most often.

use serde_json::{Value as Json, json};

use crate::Vars;

/// A POSIX shell script printing `key=value` lines.
pub(crate) const SCRIPT: &str = r#"
echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname)"
echo "kernel=$(uname -r)"
echo "architecture=$(uname -m)"
echo "system=$(uname -s)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_dir=$HOME"
echo "processor_vcpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
echo "memtotal_mb=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo 2>/dev/null)"
if [ -r /etc/os-release ]; then . /etc/os-release; echo "os_id=$ID"; echo "os_like=$ID_LIKE"; echo "os_version=$VERSION_ID"; echo "os_pretty=$PRETTY_NAME"; echo "os_codename=$VERSION_CODENAME"; fi
for m in apt-get dnf yum zypper apk pacman; do if command -v $m >/dev/null 2>&1; then echo "pkg_mgr=$m"; break; fi; done
if [ -d /run/systemd/system ]; then echo "service_mgr=systemd"; else echo "service_mgr=service"; fi
echo "default_ipv4=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i=1;i<NF;i++) if ($i=="src") print $(i+1)}')"
"#;

/// Turns the script's output into Ansible-named facts.
pub(crate) fn parse(output: &str) -> Vars {
    let get = |key: &str| {
        output
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let os_id = get("os_id");
    let like = get("os_like");
    let family = match () {
        () if os_id == "debian" || os_id == "ubuntu" || like.contains("debian") => "Debian",
        () if ["rhel", "centos", "fedora", "rocky", "almalinux"].contains(&os_id.as_str())
            || like.contains("rhel")
            || like.contains("fedora") =>
        {
            "RedHat"
        }
        () if os_id == "alpine" => "Alpine",
        () if os_id.contains("suse") => "Suse",
        () if os_id == "arch" => "Archlinux",
        () => "",
    };
    let distribution = match os_id.as_str() {
        "debian" => "Debian".to_owned(),
        "ubuntu" => "Ubuntu".to_owned(),
        "fedora" => "Fedora".to_owned(),
        "centos" => "CentOS".to_owned(),
        other => {
            let mut characters = other.chars();
            characters.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(characters).collect()
            })
        }
    };
    let version = get("os_version");
    let number = |key: &str| get(key).parse::<u64>().map_or(Json::Null, Json::from);
    let pkg_mgr = match get("pkg_mgr").as_str() {
        "apt-get" => "apt".to_owned(),
        other => other.to_owned(),
    };
    let facts = json!({
        "hostname": get("hostname"),
        "nodename": get("hostname"),
        "fqdn": get("fqdn"),
        "kernel": get("kernel"),
        "architecture": get("architecture"),
        "system": get("system"),
        "user_id": get("user_id"),
        "user_uid": number("user_uid"),
        "user_dir": get("user_dir"),
        "processor_vcpus": number("processor_vcpus"),
        "memtotal_mb": number("memtotal_mb"),
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split('.').next().unwrap_or_default(),
        "distribution_release": get("os_codename"),
        "os_family": family,
        "pkg_mgr": pkg_mgr,
        "service_mgr": get("service_mgr"),
        "default_ipv4": {"address": get("default_ipv4")},
    });
    match facts {
        Json::Object(map) => map,
        _ => Vars::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debian_output_becomes_ansible_facts() {
        let facts = super::parse(
            "hostname=web1\nos_id=debian\nos_version=12\nos_codename=bookworm\npkg_mgr=apt-get\nservice_mgr=systemd\nprocessor_vcpus=2\n",
        );
        assert_eq!(facts["os_family"], "Debian");
        assert_eq!(facts["distribution"], "Debian");
        assert_eq!(facts["distribution_major_version"], "12");
        assert_eq!(facts["pkg_mgr"], "apt");
        assert_eq!(facts["processor_vcpus"], 2);
    }
}
