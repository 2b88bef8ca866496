//! Interfaces, addresses and routes (`network`), shaped as Ansible's
//! Linux network facts are.

use std::net::Ipv4Addr;

use serde_json::{Map, Value as Json, json};

use super::Values;

/// One interface as `/sys/class/net` describes it.
struct Interface<'a> {
    name: &'a str,
    fact: Json,
}

/// Every network fact.
pub(super) fn facts(values: &Values<'_>) -> Map<String, Json> {
    let mut interfaces: Vec<Interface<'_>> = values
        .all("interface")
        .into_iter()
        .filter_map(interface)
        .collect();
    let all_ipv4 = add_addresses(values, &mut interfaces, 4);
    let all_ipv6 = add_addresses(values, &mut interfaces, 6);
    let mut facts = Map::new();
    facts.insert(
        "default_ipv4".to_owned(),
        default_route(values, &interfaces, 4),
    );
    facts.insert(
        "default_ipv6".to_owned(),
        default_route(values, &interfaces, 6),
    );
    facts.insert("all_ipv4_addresses".to_owned(), Json::Array(all_ipv4));
    facts.insert("all_ipv6_addresses".to_owned(), Json::Array(all_ipv6));
    facts.insert(
        "locally_reachable_ips".to_owned(),
        json!({"ipv4": values.all("local4"), "ipv6": values.all("local6")}),
    );
    let mut names: Vec<&str> = interfaces.iter().map(|entry| entry.name).collect();
    names.sort_unstable();
    facts.insert("interfaces".to_owned(), json!(names));
    for entry in interfaces {
        facts.insert(entry.name.replace(['-', ':', '.'], "_"), entry.fact);
    }
    facts
}

/// Adds each address of `family` to its interface (IPv4: the first as
/// `ipv4`, the rest as `ipv4_secondaries`); returns every address but the
/// loopback ones.
fn add_addresses(values: &Values<'_>, interfaces: &mut [Interface<'_>], family: u8) -> Vec<Json> {
    let mut all = Vec::new();
    for line in values.all(if family == 4 { "ipv4" } else { "ipv6" }) {
        let [device, address, prefix, extra] = line.split_whitespace().collect::<Vec<_>>()[..]
        else {
            continue;
        };
        let entry = interfaces.iter_mut().find(|entry| entry.name == device);
        if family == 6 {
            if address != "::1" {
                all.push(json!(address));
            }
            if let Some(entry) = entry {
                let fact = json!({"address": address, "prefix": prefix, "scope": extra});
                push(&mut entry.fact, "ipv6", fact);
            }
            continue;
        }
        let address: Ipv4Addr = address.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
        if !address.is_loopback() {
            all.push(json!(address.to_string()));
        }
        let ipv4 = ipv4_fact(address, prefix.parse().unwrap_or(32), extra);
        match entry {
            Some(entry) if entry.fact.get("ipv4").is_none() => entry.fact["ipv4"] = ipv4,
            Some(entry) => push(&mut entry.fact, "ipv4_secondaries", ipv4),
            None => {}
        }
    }
    all
}

/// `NAME TYPE MTU FLAGS ADDRESS KIND SPEED`, `-` for what is missing.
fn interface(line: &str) -> Option<Interface<'_>> {
    let [name, kind, mtu, flags, address, special, speed] =
        line.split_whitespace().collect::<Vec<_>>()[..]
    else {
        return None;
    };
    let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
    let kind = match (special, kind) {
        ("bridge" | "bonding", _) => special,
        (_, "1") => "ether",
        (_, "32") => "infiniband",
        (_, "512") => "ppp",
        (_, "772") => "loopback",
        (_, "65534") => "tunnel",
        _ => "unknown",
    };
    let mut fact = json!({
        "device": name,
        "active": flags & 0x1 != 0,
        "promisc": flags & 0x100 != 0,
        "type": kind,
    });
    if let Ok(mtu) = mtu.parse::<u64>() {
        fact["mtu"] = json!(mtu);
    }
    if address != "-" && address != "00:00:00:00:00:00" {
        fact["macaddress"] = json!(address);
    }
    if let Ok(speed) = speed.parse::<i64>() {
        fact["speed"] = json!(speed);
    }
    Some(Interface { name, fact })
}

fn push(fact: &mut Json, key: &str, value: Json) {
    match fact.get_mut(key) {
        Some(Json::Array(list)) => list.push(value),
        _ => fact[key] = json!([value]),
    }
}

/// An address with its prefix length, mask, network and the broadcast
/// address `ip` shows ("" when it shows none, as Ansible reports it).
fn ipv4_fact(address: Ipv4Addr, prefix: u32, broadcast: &str) -> Json {
    let mask = u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0);
    json!({
        "address": address.to_string(),
        "netmask": Ipv4Addr::from(mask).to_string(),
        "network": Ipv4Addr::from(u32::from(address) & mask).to_string(),
        "broadcast": if broadcast == "-" { "" } else { broadcast },
        "prefix": prefix.to_string(),
    })
}

/// `ansible_default_ipv4` or `_ipv6`: the default route's interface, its
/// (first global) address, the gateway, MAC, MTU and type; empty when
/// there is no default route.
fn default_route(values: &Values<'_>, interfaces: &[Interface<'_>], family: u8) -> Json {
    let (device_key, gateway_key) = if family == 4 {
        ("default_interface", "gateway")
    } else {
        ("default_interface6", "gateway6")
    };
    let device = values.get(device_key);
    let Some(entry) = interfaces.iter().find(|entry| entry.name == device) else {
        return json!({});
    };
    let address = if family == 4 {
        entry.fact.get("ipv4").cloned()
    } else {
        entry.fact.get("ipv6").and_then(|list| {
            list.as_array()?
                .iter()
                .find(|address| address["scope"] == "global")
                .cloned()
        })
    };
    let mut fact = address.unwrap_or_else(|| json!({}));
    fact["interface"] = json!(device);
    fact["alias"] = json!(device);
    fact["gateway"] = json!(values.get(gateway_key));
    for key in ["macaddress", "mtu", "type"] {
        if let Some(value) = entry.fact.get(key) {
            fact[key] = value.clone();
        }
    }
    fact
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_addresses_and_the_default_route() {
        let text = "interface=eth0 1 1500 0x1003 9e:41:93:a7:5c:51 - 10000\n\
                    interface=lo 772 65536 0x9 00:00:00:00:00:00 - -\n\
                    gateway=10.0.0.1\ndefault_interface=eth0\n\
                    ipv4=lo 127.0.0.1 8 -\nipv4=eth0 10.0.0.5 16 10.0.255.255\n\
                    ipv6=eth0 fe80::1 64 link\nlocal4=10.0.0.5\n";
        let facts = facts(&Values::new(text));
        assert_eq!(facts["eth0"]["speed"], 10000);
        assert_eq!(facts["eth0"]["type"], "ether");
        assert!(facts["lo"].get("macaddress").is_none());
        assert_eq!(facts["lo"]["ipv4"]["broadcast"], "");
        assert_eq!(facts["default_ipv4"]["broadcast"], "10.0.255.255");
        assert_eq!(facts["default_ipv4"]["mtu"], 1500);
        assert_eq!(facts["default_ipv6"], json!({}));
        assert_eq!(facts["all_ipv4_addresses"], json!(["10.0.0.5"]));
        assert_eq!(facts["eth0"]["ipv6"][0]["scope"], "link");
    }
}
