//! Health checks with Kubernetes probe semantics: an `http`, `tcp` or
//! `command` probe, repeated every `period` after an `initial_delay`, each
//! allowed `timeout`; healthy after `success_threshold` successes in a row,
//! unhealthy after `failure_threshold` failures in a row. Probes run on the
//! target (curl there), or on the controller with `from: controller`.
//!
//! Used by the `health_check` module and by `container`'s `health:`.

use std::time::Duration;

use drover_ssh::{ExecRequest, HostSession, quote};
use serde_json::{Map, Value as Json, json};

use crate::Error;

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// An HTTP GET: the status must match, the body may have to contain a text.
    Http {
        /// The URL.
        url: String,
        /// The expected status code.
        status: u16,
        /// A text the body must contain.
        body_contains: Option<String>,
    },
    /// A TCP connection that must open.
    Tcp {
        /// The host to connect to.
        host: String,
        /// The port.
        port: u16,
    },
    /// A shell command that must exit 0.
    Command(String),
}

/// A probe and its timing.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSpec {
    /// What to probe.
    pub probe: Probe,
    /// Before the first probe.
    pub initial_delay: Duration,
    /// Between the starts of two probes.
    pub period: Duration,
    /// For one probe.
    pub timeout: Duration,
    /// Successes in a row that make it healthy.
    pub success_threshold: u32,
    /// Failures in a row that make it unhealthy.
    pub failure_threshold: u32,
    /// Probe from the controller rather than from the target.
    pub from_controller: bool,
}

/// How a health check ended.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthOutcome {
    /// Whether the success threshold was reached.
    pub healthy: bool,
    /// How many probes ran.
    pub probes: u32,
    /// What the last probe found.
    pub last: String,
}

impl HealthOutcome {
    /// As a module result value.
    pub fn to_json(&self) -> Json {
        json!({"healthy": self.healthy, "probes": self.probes, "last": self.last})
    }
}

/// `30`, `"30s"`, `"500ms"`, `"2m"` as a duration.
pub fn duration(value: &Json) -> Option<Duration> {
    match value {
        Json::Number(number) => number
            .as_f64()
            .filter(|seconds| *seconds >= 0.0)
            .map(Duration::from_secs_f64),
        Json::String(text) => {
            let text = text.trim();
            let (number, unit) = text
                .find(|character: char| character.is_ascii_alphabetic())
                .map_or((text, "s"), |at| (&text[..at], &text[at..]));
            let number: f64 = number
                .trim()
                .parse()
                .ok()
                .filter(|number: &f64| *number >= 0.0)?;
            let seconds = match unit {
                "ms" => number / 1000.0,
                "s" => number,
                "m" => number * 60.0,
                "h" => number * 3600.0,
                _ => return None,
            };
            Some(Duration::from_secs_f64(seconds))
        }
        _ => None,
    }
}

impl HealthSpec {
    /// Reads a `health:` mapping.
    pub fn parse(value: &Json) -> Result<Self, Error> {
        let Json::Object(map) = value else {
            return Err(Error::Arguments(
                "a health check must be a mapping with `http`, `tcp` or `command`".to_owned(),
            ));
        };
        let probe = if let Some(http) = map.get("http") {
            let http = as_map(http, "http")?;
            Probe::Http {
                url: text(http, "url")?
                    .ok_or_else(|| Error::Arguments("`http` needs `url`".to_owned()))?,
                status: number(http, "status")?.unwrap_or(200),
                body_contains: text(http, "body_contains")?,
            }
        } else if let Some(tcp) = map.get("tcp") {
            let tcp = as_map(tcp, "tcp")?;
            Probe::Tcp {
                host: text(tcp, "host")?.unwrap_or_else(|| "127.0.0.1".to_owned()),
                port: number(tcp, "port")?
                    .ok_or_else(|| Error::Arguments("`tcp` needs `port`".to_owned()))?,
            }
        } else if let Some(command) = map.get("command") {
            Probe::Command(drover_template::as_text(command))
        } else {
            return Err(Error::Arguments(
                "a health check needs `http`, `tcp` or `command`".to_owned(),
            ));
        };
        let time = |key: &str, default: f64| -> Result<Duration, Error> {
            map.get(key)
                .map_or(Ok(Duration::from_secs_f64(default)), |value| {
                    duration(value).ok_or_else(|| {
                        Error::Arguments(format!(
                            "`{key}` must be a duration such as 5, \"5s\" or \"500ms\""
                        ))
                    })
                })
        };
        let from_controller = match map.get("from").and_then(Json::as_str) {
            None | Some("target") => false,
            Some("controller") => true,
            Some(other) => {
                return Err(Error::Arguments(format!(
                    "`from` must be target or controller, not `{other}`"
                )));
            }
        };
        Ok(Self {
            probe,
            initial_delay: time("initial_delay", 0.0)?,
            period: time("period", 1.0)?,
            timeout: time("timeout", 1.0)?,
            success_threshold: number(map, "success_threshold")?.unwrap_or(1).max(1),
            failure_threshold: number(map, "failure_threshold")?.unwrap_or(3).max(1),
            from_controller,
        })
    }

    /// The shell script of one probe; it prints what it found and exits 0 only on success.
    pub fn probe_script(&self) -> String {
        let seconds = format!("{:.3}", self.timeout.as_secs_f64());
        match &self.probe {
            Probe::Http {
                url,
                status,
                body_contains,
            } => {
                let body_check = body_contains.as_ref().map_or_else(String::new, |text| {
                    format!(" && grep -qF -- {} \"$b\"", quote(text))
                });
                format!(
                    "b=$(mktemp) && trap 'rm -f \"$b\"' EXIT\n\
                     code=$(curl -s -o \"$b\" -w '%{{http_code}}' --max-time {seconds} {url})\n\
                     echo \"status $code\"\n[ \"$code\" = {status} ]{body_check}\n",
                    url = quote(url)
                )
            }
            Probe::Tcp { host, port } => format!(
                "t=$(curl -s -o /dev/null -w '%{{time_connect}}' --max-time {seconds} telnet://{}:{port} </dev/null)\n\
                 echo \"connect ${{t:-failed}}\"\ncase \"$t\" in ''|0|0.000000) exit 1;; esac\n",
                quote(host)
            ),
            Probe::Command(command) => format!("timeout {seconds} /bin/sh -c {}\n", quote(command)),
        }
    }

    /// A short name for reports: the URL, `host:port` or the command.
    pub fn describe(&self) -> String {
        match &self.probe {
            Probe::Http { url, .. } => format!("http {url}"),
            Probe::Tcp { host, port } => format!("tcp {host}:{port}"),
            Probe::Command(command) => format!("command `{command}`"),
        }
    }

    /// Probes until healthy or unhealthy, on `session` (the target), or on
    /// this machine when `from: controller`.
    pub async fn run(
        &self,
        session: &HostSession,
        request: &ExecRequest,
    ) -> Result<HealthOutcome, Error> {
        let local;
        let session = if self.from_controller {
            local = HostSession::new(
                drover_ssh::Transport::Local,
                drover_ssh::Handshakes::default(),
            );
            &local
        } else {
            session
        };
        tokio::time::sleep(self.initial_delay).await;
        let (mut successes, mut failures, mut probes) = (0, 0, 0);
        loop {
            let started = tokio::time::Instant::now();
            let probe = ExecRequest {
                command: self.probe_script(),
                // The probe's own timeout, plus a margin for the round trip.
                timeout: Some(self.timeout + Duration::from_secs(5)),
                ..request.clone()
            };
            let output = session.exec(&probe).await?;
            probes += 1;
            let last = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if output.success() {
                successes += 1;
                failures = 0;
            } else {
                failures += 1;
                successes = 0;
            }
            if successes >= self.success_threshold || failures >= self.failure_threshold {
                return Ok(HealthOutcome {
                    healthy: successes >= self.success_threshold,
                    probes,
                    last,
                });
            }
            tokio::time::sleep_until(started + self.period).await;
        }
    }
}

fn as_map<'a>(value: &'a Json, name: &str) -> Result<&'a Map<String, Json>, Error> {
    value
        .as_object()
        .ok_or_else(|| Error::Arguments(format!("`{name}` must be a mapping")))
}

fn text(map: &Map<String, Json>, key: &str) -> Result<Option<String>, Error> {
    match map.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => Ok(Some(text.clone())),
        Some(Json::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(Error::Arguments(format!("`{key}` must be text"))),
    }
}

fn number<T: TryFrom<u64>>(map: &Map<String, Json>, key: &str) -> Result<Option<T>, Error> {
    let wrong = || Error::Arguments(format!("`{key}` must be a whole number"));
    match map.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(number)) => number
            .as_u64()
            .and_then(|value| T::try_from(value).ok())
            .map(Some)
            .ok_or_else(wrong),
        Some(Json::String(text)) => text
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|value| T::try_from(value).ok())
            .map(Some)
            .ok_or_else(wrong),
        Some(_) => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::{HealthSpec, Probe, duration};

    #[test]
    fn durations_read_numbers_and_units() {
        assert_eq!(duration(&json!(2)), Some(Duration::from_secs(2)));
        assert_eq!(duration(&json!("500ms")), Some(Duration::from_millis(500)));
        assert_eq!(duration(&json!("1.5s")), Some(Duration::from_millis(1500)));
        assert_eq!(duration(&json!("2m")), Some(Duration::from_mins(2)));
        assert_eq!(duration(&json!("soon")), None);
        assert_eq!(duration(&json!(-1)), None);
    }

    #[test]
    fn specs_take_kubernetes_timing_with_defaults() {
        let spec = HealthSpec::parse(&json!({
            "http": {"url": "http://127.0.0.1:8080/healthz", "body_contains": "ok"},
            "period": "200ms", "failure_threshold": 5
        }))
        .unwrap();
        assert_eq!(
            spec.probe,
            Probe::Http {
                url: "http://127.0.0.1:8080/healthz".to_owned(),
                status: 200,
                body_contains: Some("ok".to_owned())
            }
        );
        assert_eq!(spec.period, Duration::from_millis(200));
        assert_eq!((spec.success_threshold, spec.failure_threshold), (1, 5));
        assert!(spec.probe_script().contains("grep -qF -- ok"));
        let tcp = HealthSpec::parse(&json!({"tcp": {"port": 22}, "from": "controller"})).unwrap();
        assert!(tcp.from_controller);
        assert!(tcp.probe_script().contains("telnet://127.0.0.1:22"));
        assert!(HealthSpec::parse(&json!({"period": 1})).is_err());
        assert!(HealthSpec::parse(&json!({"tcp": {"port": 22}, "from": "elsewhere"})).is_err());
    }
}
