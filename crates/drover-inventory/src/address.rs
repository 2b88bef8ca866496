//! Splitting `host:port`, `[v6::addr]:port` and plain host names, as Ansible does.
//!
//! A port is only taken when what remains is a valid host name or address
//! (ranges allowed). Anything else is kept whole as the host's name, which is
//! how Ansible treats odd names such as `user@host`.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use regex::Regex;

/// A range inside a host-name label, `[01:10]` or `[a:f]`, with an optional step.
const LABEL_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const NUMERIC_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";

static BRACKETED_HOST_PORT: LazyLock<Regex> = LazyLock::new(|| compile(r"^\[(.+)\]:([0-9]+)$"));

static HOST_PORT: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$"));

static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let component = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    compile(&format!(r"(?i)^(?:{component}\.){{3}}{component}$"))
});

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    // A label may not end in `_` or `-`; a one-character label may not be `_`.
    let label = format!(
        r"(?:(?:[^\W_]|{LABEL_RANGE})|(?:\w|{LABEL_RANGE})(?:[\w-]|{LABEL_RANGE})*(?:[^\W_]|{LABEL_RANGE}))"
    );
    compile(&format!(r"(?i)^{label}(?:\.{label})*$"))
});

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("address patterns are valid regular expressions")
}

/// A host identifier and the port written with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    /// The host name or address, possibly holding ranges.
    pub(crate) host: String,
    /// The port, when one was written.
    pub(crate) port: Option<u64>,
}

/// Parses `text` as a host with an optional port, or `None` when it is not a
/// valid host identifier (callers then keep the whole text as the name).
pub(crate) fn parse(text: &str) -> Option<Address> {
    let mut host = text.to_owned();
    let mut port = None;
    for pattern in [&*BRACKETED_HOST_PORT, &*HOST_PORT] {
        if let Some(captures) = pattern.captures(&host.clone()) {
            captures[1].clone_into(&mut host);
            port = Some(captures[2].parse().ok()?);
        }
    }
    let valid =
        IPV4.is_match(&host) || host.parse::<Ipv6Addr>().is_ok() || HOSTNAME.is_match(&host);
    valid.then_some(Address { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)]
    fn address(host: &str, port: Option<u64>) -> Option<Address> {
        Some(Address {
            host: host.to_owned(),
            port,
        })
    }

    #[test]
    fn ports_are_split_off_names_and_addresses() {
        assert_eq!(parse("web1:2222"), address("web1", Some(2222)));
        assert_eq!(parse("10.0.0.1:22"), address("10.0.0.1", Some(22)));
        assert_eq!(parse("[::1]:2200"), address("::1", Some(2200)));
        assert_eq!(
            parse("web[01:09].lan:22"),
            address("web[01:09].lan", Some(22))
        );
    }

    #[test]
    fn plain_names_and_bare_ipv6_have_no_port() {
        assert_eq!(parse("web1.example.com"), address("web1.example.com", None));
        assert_eq!(parse("fe80::1"), address("fe80::1", None));
        assert_eq!(parse("db-[a:f]"), address("db-[a:f]", None));
    }

    #[test]
    fn invalid_names_are_refused() {
        assert_eq!(parse("user@host:22"), None);
        assert_eq!(parse("bad_-"), None);
        assert_eq!(parse("_"), None);
        assert_eq!(parse("a..b"), None);
    }
}
