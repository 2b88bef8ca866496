//! Memory, processors, firmware (DMI), load and mounts (`hardware`).

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use super::{Values, number, object};

/// SMBIOS chassis types, by number, as Ansible names them for `form_factor`.
const FORM_FACTORS: [&str; 37] = [
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// Every hardware fact.
pub(super) fn facts(values: &Values<'_>) -> Map<String, Json> {
    let mut facts = memory(values);
    facts.extend(processors(values));
    facts.extend(firmware(values));
    facts.insert("mounts".to_owned(), Json::Array(mounts(values)));
    facts.insert("device_links".to_owned(), device_links(values));
    facts.insert("hostnqn".to_owned(), json!(values.get("hostnqn")));
    facts.insert("iscsi_iqn".to_owned(), json!(values.get("iscsi_iqn")));
    facts.insert(
        "fibre_channel_wwn".to_owned(),
        json!(values.all("fibre_channel_wwn")),
    );
    if values.has("lvm") {
        facts.insert("lvm".to_owned(), json!(values.get("lvm")));
    }
    facts.insert(
        "uptime_seconds".to_owned(),
        number(values.get("uptime_seconds")),
    );
    let load: Vec<f64> = values
        .get("loadavg")
        .split_whitespace()
        .filter_map(|value| value.parse().ok())
        .collect();
    if let [one, five, fifteen] = load[..] {
        facts.insert(
            "loadavg".to_owned(),
            json!({"1m": one, "5m": five, "15m": fifteen}),
        );
    }
    facts
}

fn memory(values: &Values<'_>) -> Map<String, Json> {
    let kilobytes = |key: &str| values.get(key).parse::<u64>().unwrap_or(0);
    let megabytes = |key: &str| kilobytes(key) / 1024;
    let (total, free) = (megabytes("memtotal_kb"), megabytes("memfree_kb"));
    let (swap_total, swap_free) = (megabytes("swaptotal_kb"), megabytes("swapfree_kb"));
    // Ansible adds the buffers and the page cache to free memory in kB,
    // then converts.
    let nocache_free =
        (kilobytes("memfree_kb") + kilobytes("buffers_kb") + kilobytes("cached_kb")) / 1024;
    object(json!({
        "memtotal_mb": total,
        "memfree_mb": free,
        "swaptotal_mb": swap_total,
        "swapfree_mb": swap_free,
        "memory_mb": {
            "real": {"total": total, "free": free, "used": total.saturating_sub(free)},
            "nocache": {"free": nocache_free, "used": total.saturating_sub(nocache_free)},
            "swap": {
                "total": swap_total, "free": swap_free,
                "used": swap_total.saturating_sub(swap_free),
                "cached": megabytes("swapcached_kb"),
            },
        },
    }))
}

fn processors(values: &Values<'_>) -> Map<String, Json> {
    let vcpus = number(values.get("processor_vcpus"));
    let count = match number(values.get("processor_count")) {
        Json::Number(count) if count.as_u64() != Some(0) => Json::Number(count),
        _ => vcpus.clone(),
    };
    let cores = values.get("processor_cores").parse::<u64>().unwrap_or(1);
    let siblings = values.get("siblings").parse::<u64>().unwrap_or(cores);
    let flags: Vec<&str> = values.get("flags").split_whitespace().collect();
    let mut facts = object(json!({
        "processor": values.all("cpu"),
        "processor_vcpus": vcpus,
        "processor_nproc": number(values.get("processor_nproc")),
        "processor_count": count,
        "processor_cores": cores,
        "processor_threads_per_core": (siblings / cores.max(1)).max(1),
    }));
    if !flags.is_empty() {
        facts.insert("flags".to_owned(), json!(flags));
    }
    facts
}

/// DMI strings, `NA` where the firmware gives none or only root may read
/// them, as in Ansible.
fn firmware(values: &Values<'_>) -> Map<String, Json> {
    let value = |key: &str| {
        let found = values.get(&format!("dmi_{key}"));
        json!(if found.is_empty() { "NA" } else { found })
    };
    let mut facts = Map::new();
    for key in [
        "bios_date",
        "bios_vendor",
        "bios_version",
        "board_asset_tag",
        "board_name",
        "board_serial",
        "board_vendor",
        "board_version",
        "chassis_asset_tag",
        "chassis_serial",
        "chassis_vendor",
        "chassis_version",
        "product_name",
        "product_serial",
        "product_uuid",
        "product_version",
    ] {
        facts.insert(key.to_owned(), value(key));
    }
    facts.insert("system_vendor".to_owned(), value("sys_vendor"));
    let form_factor = values
        .get("dmi_chassis_type")
        .parse::<usize>()
        .ok()
        .and_then(|index| FORM_FACTORS.get(index))
        .copied()
        .unwrap_or("NA");
    facts.insert("form_factor".to_owned(), json!(form_factor));
    facts
}

/// `ansible_mounts`: each mounted device, with its file system's sizes.
fn mounts(values: &Values<'_>) -> Vec<Json> {
    let uuids: HashMap<&str, &str> = values
        .all("uuid")
        .into_iter()
        .filter_map(|line| line.split_once(' '))
        .collect();
    let binds = values.all("bind");
    let mut found: Vec<Json> = Vec::new();
    for line in values.all("mount") {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [device, mount, fstype, options, dump, passno, sizes @ ..] = &fields[..] else {
            continue;
        };
        let mount = decode_octal(mount);
        let mut options = (*options).to_owned();
        if binds.contains(&mount.as_str()) && !options.contains("bind") {
            options.push_str(",bind");
        }
        let mut fact = json!({
            "device": decode_octal(device), "mount": mount, "fstype": fstype,
            "options": options,
            "dump": number(dump), "passno": number(passno),
            "uuid": uuids.get(device).copied().unwrap_or("N/A"),
        });
        add_sizes(&mut fact, sizes);
        // A mount point mounted over keeps its place and takes the last
        // mount's details, as in Ansible.
        match found
            .iter_mut()
            .find(|earlier| earlier["mount"] == fact["mount"])
        {
            Some(earlier) => *earlier = fact,
            None => found.push(fact),
        }
    }
    found
}

/// `ansible_device_links`: the `/dev/disk/by-*` names of each device, and
/// the devices stacked on each (`masters`).
fn device_links(values: &Values<'_>) -> Json {
    let mut links = json!({"ids": {}, "labels": {}, "masters": {}, "uuids": {}});
    for line in values.all("device_link") {
        let [kind, device, name] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            continue;
        };
        let Some(Json::Object(kind)) = links.get_mut(kind) else {
            continue;
        };
        if let Json::Array(names) = kind.entry(device).or_insert_with(|| json!([])) {
            names.push(json!(name));
        }
    }
    links
}

/// `stat -f`'s block size, fragment size, blocks, free, available, inodes
/// and free inodes, in Ansible's terms.
fn add_sizes(fact: &mut Json, sizes: &[&str]) {
    let numbers: Vec<u64> = sizes
        .iter()
        .filter_map(|value| value.parse().ok())
        .collect();
    let [
        block_size,
        fragment_size,
        blocks,
        _free,
        available,
        inodes,
        free_inodes,
    ] = numbers[..]
    else {
        return;
    };
    fact["size_total"] = json!(fragment_size * blocks);
    fact["size_available"] = json!(fragment_size * available);
    fact["block_size"] = json!(block_size);
    fact["block_total"] = json!(blocks);
    fact["block_available"] = json!(available);
    // As Ansible counts them: used is what is not available to users.
    fact["block_used"] = json!(blocks.saturating_sub(available));
    fact["inode_total"] = json!(inodes);
    fact["inode_available"] = json!(free_inodes);
    fact["inode_used"] = json!(inodes.saturating_sub(free_inodes));
}

/// `/proc/mounts` writes a space as `\040` (and a tab, newline and
/// backslash likewise).
fn decode_octal(text: &str) -> String {
    let mut decoded = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        decoded.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match code {
            Some(byte) => {
                decoded.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                decoded.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_carry_their_sizes_and_uuid_and_the_last_mount_wins() {
        let text = "mount=/dev/vda /srv\\040data ext4 rw,relatime 0 0 4096 4096 100 40 30 50 20\n\
                    uuid=/dev/vda 1234-abcd\n\
                    mount=/dev/vda /srv\\040data ext4 rw,relatime 0 0 4096 4096 100 40 30 50 20\n";
        let values = Values::new(text);
        let mounts = mounts(&values);
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0]["mount"], "/srv data");
        assert_eq!(mounts[0]["size_total"], 409_600);
        assert_eq!(mounts[0]["block_used"], 70);
        assert_eq!(mounts[0]["inode_used"], 30);
        assert_eq!(mounts[0]["uuid"], "1234-abcd");
        assert_eq!(mounts[0]["options"], "rw,relatime");
    }
}
