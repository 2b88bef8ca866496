//! The bridge the full hosts sit on, and NAT so that their apt reaches the mirror.

use std::net::Ipv4Addr;
use std::path::Path;

use super::command::{Result, read, run, run_quietly, write};

/// The bridge's name.
pub(crate) const BRIDGE: &str = "drover0";
/// The nftables table holding the test bed's NAT rule.
const TABLE: &str = "drover_testbed";
/// The controller's address on the bridge; the hosts' default gateway.
pub(crate) const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 1);
/// The prefix length of the bridge's network, 10.231.0.0/16.
pub(crate) const PREFIX: u8 = 16;

/// The address of host `index` (counted from 1): 10.231.1.1, 10.231.1.2, ...
pub(crate) fn host_address(index: usize) -> Ipv4Addr {
    let offset = index.saturating_sub(1);
    let high = u8::try_from(1 + offset / 250).unwrap_or(u8::MAX);
    let low = u8::try_from(1 + offset % 250).unwrap_or(u8::MAX);
    Ipv4Addr::new(10, 231, high, low)
}

/// Kernel settings the test bed raises, with where their old values are kept.
const SETTINGS: [(&str, &str); 2] = [
    // Forwarding, for the hosts' traffic to the mirror.
    ("net.ipv4.ip_forward", "1"),
    // Every booted systemd takes several inotify instances; the default of
    // 128 stops boots at about 18 hosts.
    ("fs.inotify.max_user_instances", "8192"),
];

/// Creates the bridge and the NAT rule, keeping the old kernel settings in `state`.
pub(crate) fn up(state: &Path) -> Result<()> {
    if run("ip", &["link", "show", BRIDGE]).is_err() {
        run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        run(
            "ip",
            &["addr", "add", &format!("{GATEWAY}/{PREFIX}"), "dev", BRIDGE],
        )?;
    }
    run("ip", &["link", "set", BRIDGE, "up"])?;
    for (key, value) in SETTINGS {
        let saved = state.join(format!("sysctl.{key}"));
        if !saved.exists() {
            let old = run("sysctl", &["-n", key])?;
            write(&saved, old.trim())?;
        }
        run("sysctl", &["-qw", &format!("{key}={value}")])?;
    }
    run_quietly("nft", &["delete", "table", "ip", TABLE]);
    let network = format!("{}/{PREFIX}", Ipv4Addr::new(10, 231, 0, 0));
    let rules = format!(
        "table ip {TABLE} {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    \
         ip saddr {network} ip daddr != {network} masquerade\n  }}\n}}\n"
    );
    let file = state.join("nat.nft");
    write(&file, rules)?;
    run("nft", &["-f", file.to_str().unwrap_or_default()])?;
    Ok(())
}

/// Removes the bridge and the rule, and restores the kernel settings.
pub(crate) fn down(state: &Path) {
    run_quietly("nft", &["delete", "table", "ip", TABLE]);
    run_quietly("ip", &["link", "del", BRIDGE]);
    for (key, _) in SETTINGS {
        if let Ok(old) = read(&state.join(format!("sysctl.{key}"))) {
            run_quietly("sysctl", &["-qw", &format!("{key}={}", old.trim())]);
        }
    }
}
