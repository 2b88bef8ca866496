//! Facts about the system itself: platform, user, date and time,
//! distribution, security modules, software and virtualization.

use serde_json::{Map, Value as Json, json};

use super::{Values, number, object};

/// Host names, kernel, user and date and time.
pub(super) fn platform(values: &Values<'_>) -> Map<String, Json> {
    let hostname = values.get("hostname");
    let fqdn = values.get("fqdn");
    let domain = fqdn.split_once('.').map_or("", |(_, domain)| domain);
    let architecture = values.get("architecture");
    let bits = values.get("userspace_bits");
    let userspace = match (architecture, bits) {
        ("x86_64", "32") => "i386",
        ("aarch64", "32") => "arm",
        (other, _) => other,
    };
    let service_manager = match values.get("service_mgr") {
        "init" => "sysvinit",
        other => other,
    };
    let mut facts = object(json!({
        "hostname": hostname.split('.').next().unwrap_or_default(),
        "nodename": hostname,
        "fqdn": fqdn,
        "domain": domain,
        "kernel": values.get("kernel"),
        "kernel_version": values.get("kernel_version"),
        "architecture": architecture,
        "machine": architecture,
        "userspace_architecture": userspace,
        "userspace_bits": bits,
        "system": values.get("system"),
        "machine_id": values.get("machine_id"),
        "user_id": values.get("user_id"),
        "user_uid": number(values.get("user_uid")),
        "user_gid": number(values.get("user_gid")),
        "effective_user_id": number(values.get("user_uid")),
        "effective_group_id": number(values.get("user_gid")),
        "real_user_id": number(values.get("real_user_id")),
        "real_group_id": number(values.get("real_group_id")),
        "user_dir": values.get("user_dir"),
        "user_shell": values.get("user_shell"),
        "user_gecos": values.get("user_gecos"),
        "service_mgr": service_manager,
        "date_time": date_time(values),
    }));
    if values.has("is_chroot") {
        facts.insert(
            "is_chroot".to_owned(),
            Json::Bool(values.get("is_chroot") == "true"),
        );
    }
    facts
}

/// `ansible_date_time`, from one `date` call: local parts as printed, the
/// ISO 8601 forms in UTC as Ansible gives them.
fn date_time(values: &Values<'_>) -> Json {
    let parts: Vec<&str> = values.get("date_time").split_whitespace().collect();
    let part = |index: usize| parts.get(index).copied().unwrap_or_default();
    let (date, time, epoch) = (part(0), part(1), part(7));
    let nanoseconds = part(8);
    let micro = if nanoseconds.len() >= 6 && nanoseconds.bytes().all(|b| b.is_ascii_digit()) {
        &nanoseconds[..6]
    } else {
        "000000"
    };
    let mut pieces = date.split('-');
    let (year, month, day) = (
        pieces.next().unwrap_or_default(),
        pieces.next().unwrap_or_default(),
        pieces.next().unwrap_or_default(),
    );
    let mut clock = time.split(':');
    let (hour, minute, second) = (
        clock.next().unwrap_or_default(),
        clock.next().unwrap_or_default(),
        clock.next().unwrap_or_default(),
    );
    let utc = epoch
        .parse::<i64>()
        .map_or_else(|_| String::new(), utc_timestamp);
    let tz = part(2);
    let dst = values.get("tz_dst");
    let basic_short = format!("{}T{}", date.replace('-', ""), time.replace(':', ""));
    json!({
        "date": date, "time": time, "year": year, "month": month, "day": day,
        "hour": hour, "minute": minute, "second": second,
        "tz": tz, "tz_dst": if dst.is_empty() { tz } else { dst }, "tz_offset": part(3),
        "weekday": part(4), "weekday_number": part(5), "weeknumber": part(6),
        "epoch": epoch, "epoch_int": epoch,
        "iso8601": format!("{utc}Z"),
        "iso8601_micro": format!("{utc}.{micro}Z"),
        "iso8601_basic": format!("{basic_short}{micro}"),
        "iso8601_basic_short": basic_short,
    })
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC for seconds since the epoch (the civil
/// calendar from a day count, as in Howard Hinnant's `civil_from_days`).
fn utc_timestamp(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let seconds = epoch.rem_euclid(86_400);
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// The distribution, its family and version, and the package manager.
pub(super) fn distribution(values: &Values<'_>) -> Map<String, Json> {
    let id = values.get("os_id");
    let like = values.get("os_like");
    let family = match () {
        () if id == "debian" || id == "ubuntu" || like.contains("debian") => "Debian",
        () if ["rhel", "centos", "fedora", "rocky", "almalinux", "ol"].contains(&id)
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
    let distribution = match id {
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
    let debian = values.get("debian_version");
    let version = if id == "debian" && debian.starts_with(|c: char| c.is_ascii_digit()) {
        debian
    } else {
        values.get("os_version")
    };
    let mut facts = object(json!({
        "os_family": family,
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split('.').next().unwrap_or_default(),
        "distribution_minor_version": version.split('.').nth(1).unwrap_or_default(),
        "distribution_release": values.get("os_codename"),
        "pkg_mgr": match values.get("pkg_mgr") { "apt-get" => "apt", other => other },
    }));
    // Ansible names the file it parsed; for Debian's family it is os-release.
    if family == "Debian" && !id.is_empty() {
        facts.insert("distribution_file_parsed".to_owned(), Json::Bool(true));
        facts.insert(
            "distribution_file_path".to_owned(),
            json!("/etc/os-release"),
        );
        facts.insert("distribution_file_variety".to_owned(), json!("Debian"));
    }
    facts
}

/// The security modules (`AppArmor`, `SELinux`), FIPS mode and the
/// process's capabilities.
pub(super) fn security(values: &Values<'_>) -> Map<String, Json> {
    // Ansible reads SELinux through libselinux, whether Python has a binding or not.
    let selinux_library = values.has("libselinux");
    let selinux = if values.has("selinux_enforce") {
        let mode = if values.get("selinux_enforce") == "1" {
            "enforcing"
        } else {
            "permissive"
        };
        json!({
            "status": "enabled",
            "mode": mode,
            "config_mode": values.get("selinux_config"),
            "type": values.get("selinux_type"),
            "policyvers": number(values.get("selinux_policyvers")),
        })
    } else if !selinux_library {
        json!({"status": "Missing selinux Python library"})
    } else {
        json!({"status": "disabled"})
    };
    let mut facts = object(json!({
        "apparmor": {"status": if values.has("apparmor") { "enabled" } else { "disabled" }},
        "selinux": selinux,
        "fips": values.get("fips") == "1",
    }));
    facts.insert(
        "selinux_python_present".to_owned(),
        Json::Bool(selinux_library),
    );
    if values.has("capabilities") {
        // As Ansible reads `capsh --print`'s `Current:` line.
        let current = values.get("capabilities");
        let enforced = if current == "=ep" { "False" } else { "True" };
        let list: Vec<&str> = current
            .split_once('=')
            .map_or(current, |(_, rest)| rest)
            .split(',')
            .map(str::trim)
            .collect();
        facts.insert("system_capabilities".to_owned(), json!(list));
        facts.insert("system_capabilities_enforced".to_owned(), json!(enforced));
    }
    facts
}

/// The `python=` line's eight fields, when the host has Python.
fn python_fields<'a>(values: &Values<'a>) -> Option<Vec<&'a str>> {
    let fields: Vec<&str> = values.get("python").split_whitespace().collect();
    (fields.len() == 8).then_some(fields)
}

/// The kernel command line, DNS, SSH host keys, systemd, LSB and Python.
pub(super) fn software(values: &Values<'_>) -> Map<String, Json> {
    let mut facts = Map::new();
    let (cmdline, proc_cmdline) = command_line(values.get("cmdline"));
    facts.insert("cmdline".to_owned(), cmdline);
    facts.insert("proc_cmdline".to_owned(), proc_cmdline);
    let mut dns = json!({"nameservers": values.all("nameserver")});
    for (key, name) in [("search", "search"), ("dns_option", "options")] {
        let found = values.all(key);
        if !found.is_empty() {
            dns[name] = json!(found);
        }
    }
    if values.has("dns_domain") {
        dns["domain"] = json!(values.get("dns_domain"));
    }
    facts.insert("dns".to_owned(), dns);
    for line in values.all("ssh_key") {
        let mut fields = line.split_whitespace();
        let (Some(file), Some(kind), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let name = file
            .trim_start_matches("ssh_host_")
            .trim_end_matches("_key.pub");
        facts.insert(format!("ssh_host_key_{name}_public"), json!(key));
        facts.insert(format!("ssh_host_key_{name}_public_keytype"), json!(kind));
    }
    if values.has("systemd_version") {
        facts.insert(
            "systemd".to_owned(),
            json!({"version": number(values.get("systemd_version")), "features": values.get("systemd_features")}),
        );
    }
    facts.insert("lsb".to_owned(), lsb(values));
    facts.insert("ansible_local".to_owned(), local_facts(values));
    if let Some(fields) = python_fields(values) {
        facts.extend(python(&fields));
    }
    facts
}

/// `ansible_cmdline` (the last value of each word) and
/// `ansible_proc_cmdline` (a list where a word repeats).
fn command_line(line: &str) -> (Json, Json) {
    let mut last = Map::new();
    let mut every = Map::new();
    for word in line.split_whitespace() {
        let (key, value) = word
            .split_once('=')
            .map_or((word, Json::Bool(true)), |(key, value)| (key, json!(value)));
        last.insert(key.to_owned(), value.clone());
        match every.get_mut(key) {
            Some(Json::Array(list)) => list.push(value),
            Some(existing) => *existing = json!([existing.clone(), value]),
            None => {
                every.insert(key.to_owned(), value);
            }
        }
    }
    (Json::Object(last), Json::Object(every))
}

/// `ansible_local`: each `/etc/ansible/facts.d/NAME.fact` (its content,
/// or a script's output) as JSON, else as INI, else Ansible's error text.
fn local_facts(values: &Values<'_>) -> Json {
    use base64::Engine as _;
    let mut local = Map::new();
    for line in values.all("local_fact") {
        let (name, encoded) = line.split_once(' ').unwrap_or((line, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let fact = serde_json::from_str(&text)
            .ok()
            .or_else(|| ini_fact(&text))
            .unwrap_or_else(|| json!("error loading facts as JSON or ini - please check content"));
        local.insert(name.to_owned(), fact);
    }
    Json::Object(local)
}

/// An INI fact: each section a mapping of its (lower-cased) keys.
fn ini_fact(text: &str) -> Option<Json> {
    let mut sections = Map::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            sections.insert(name.to_owned(), json!({}));
            current = Some(name.to_owned());
            continue;
        }
        let (key, value) = line.split_once(['=', ':'])?;
        let section = sections.get_mut(current.as_ref()?)?.as_object_mut()?;
        section.insert(key.trim().to_ascii_lowercase(), json!(value.trim()));
    }
    (!sections.is_empty()).then_some(Json::Object(sections))
}

fn lsb(values: &Values<'_>) -> Json {
    if !values.has("lsb_id") {
        return json!({});
    }
    let release = values.get("lsb_release");
    json!({
        "id": values.get("lsb_id"),
        "description": values.get("lsb_description"),
        "release": release,
        "codename": values.get("lsb_codename"),
        "major_release": release.split('.').next().unwrap_or_default(),
    })
}

fn python(fields: &[&str]) -> Map<String, Json> {
    let integer = |index: usize| fields[index].parse::<u64>().map_or(Json::Null, Json::from);
    let version = format!("{}.{}.{}", fields[1], fields[2], fields[3]);
    object(json!({
        "python": {
            "executable": fields[0],
            "has_sslcontext": fields[7] == "True",
            "type": fields[6],
            "version": {
                "major": integer(1), "minor": integer(2), "micro": integer(3),
                "releaselevel": fields[4], "serial": integer(5),
            },
            "version_info": [integer(1), integer(2), integer(3), fields[4], integer(5)],
        },
        "python_version": version,
    }))
}

/// Containers found as Ansible finds them: cgroups, PID 1's environment
/// (root only), `OpenVZ` and systemd's `container` file.
pub(super) fn virtualization(values: &Values<'_>) -> Map<String, Json> {
    let mut guests: Vec<&str> = values.all("guest");
    let hosts: Vec<&str> = values.all("host_tech");
    let (kind, role) = match (guests.first(), hosts.first()) {
        (Some(guest), _) => (*guest, "guest"),
        (None, Some(host)) => (*host, "host"),
        (None, None) => ("NA", "NA"),
    };
    guests.sort_unstable();
    guests.dedup();
    object(json!({
        "virtualization_type": kind,
        "virtualization_role": role,
        "virtualization_tech_guest": guests,
        "virtualization_tech_host": hosts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_facts_read_json_and_ini() {
        use base64::Engine as _;
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        let text = format!(
            "local_fact=app {}\nlocal_fact=site {}\nlocal_fact=bad {}\n",
            encode(r#"{"version": 3}"#),
            encode("[general]\nName = web\n"),
            encode("not [ valid")
        );
        let local = local_facts(&Values::new(&text));
        assert_eq!(local["app"]["version"], 3);
        assert_eq!(local["site"]["general"]["name"], "web");
        assert!(
            local["bad"]
                .as_str()
                .unwrap_or_default()
                .starts_with("error loading")
        );
    }

    #[test]
    fn epoch_seconds_become_utc_timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00");
        assert_eq!(utc_timestamp(1_796_034_979), "2026-11-30T10:36:19");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00");
    }

    #[test]
    fn the_kernel_command_line_keeps_every_value_of_a_repeated_word() {
        let (last, every) = command_line("ro console=tty0 console=ttyS0 quiet");
        assert_eq!(last["console"], "ttyS0");
        assert_eq!(every["console"], json!(["tty0", "ttyS0"]));
        assert_eq!(last["quiet"], true);
    }
}
