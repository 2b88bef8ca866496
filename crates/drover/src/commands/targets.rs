//! Loading the inventory and choosing hosts, shared by the commands that act on hosts.

use drover_inventory::{HostId, Inventory, LOCALHOST_NAMES};

use crate::diagnostics::inventory_report;
use crate::failure::Failure;
use crate::output::{eprint_report, print_warnings};

/// Loads the inventory and evaluates `pattern` (and `limit`) on it.
///
/// As in Ansible, `localhost` is available even when the inventory does not
/// list it. Errors are reported on stderr; `None` means "exit 1".
pub(crate) fn select_hosts(
    sources: &[String],
    pattern: &str,
    limit: Option<&str>,
) -> Result<(Inventory, Vec<HostId>), Failure> {
    if sources.is_empty() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "warning: no inventory given (no -i, no `inventory` in ansible.cfg, no /etc/ansible/hosts): \
                 only the implicit localhost is available"
            );
        }
    }
    let mut inventory = Inventory::load(sources).map_err(|error| {
        eprint_report(&inventory_report(&error));
        Failure::Reported
    })?;
    print_warnings(inventory.warnings());
    let mut hosts = evaluate(&mut inventory, pattern).ok_or(Failure::Reported)?;
    if let Some(limit) = limit {
        let allowed = evaluate(&mut inventory, limit).ok_or(Failure::Reported)?;
        hosts.retain(|host| allowed.contains(host));
    }
    Ok((inventory, hosts))
}

fn evaluate(inventory: &mut Inventory, pattern: &str) -> Option<Vec<HostId>> {
    let selection = match inventory.select(pattern) {
        Ok(selection) => selection,
        Err(error) => {
            eprint_report(&inventory_report(&error));
            return None;
        }
    };
    let mut hosts = selection.hosts;
    for term in selection.unmatched {
        if LOCALHOST_NAMES.contains(&term.as_str()) {
            if let Some(host) = inventory.host_or_implicit_localhost(&term) {
                hosts.push(host);
            }
        } else {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("warning: could not match supplied host pattern, ignoring: {term}");
            }
        }
    }
    Some(hosts)
}
