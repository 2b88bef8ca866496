//! The play-level `rollout:` keyword: which hosts change when, and the
//! readiness gate between batches.

use serde_json::Value as Json;

use crate::model::Batch;

/// How a rollout orders its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `batch` hosts at a time.
    Rolling,
    /// Cumulative `steps`, the first a canary.
    Canary,
    /// The idle slot (or group) deployed, then traffic switched.
    BlueGreen,
    /// Every host at once.
    BigBang,
    /// A feature flag turned on by `steps`.
    Toggle,
}

impl Strategy {
    const ALL: [Self; 5] = [
        Self::Rolling,
        Self::Canary,
        Self::BlueGreen,
        Self::BigBang,
        Self::Toggle,
    ];

    /// Its name in a playbook.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rolling => "rolling",
            Self::Canary => "canary",
            Self::BlueGreen => "blue_green",
            Self::BigBang => "big_bang",
            Self::Toggle => "toggle",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|strategy| strategy.name() == name)
    }
}

/// What a rollout does when more hosts fail than `max_failures` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Roll back every host changed so far, the last batch first.
    Rollback,
    /// Wait for `drover rollout promote` or `abort`.
    Pause,
    /// Go on without the failed hosts.
    Continue,
}

/// A play's `rollout:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// How hosts are ordered.
    pub strategy: Strategy,
    /// The application's name: it names the blue-green slot record on each
    /// host and the pause file `drover rollout promote` releases.
    pub app: Option<String>,
    /// `blue_green`: the two slots' names and ports, blue first.
    pub slots: Vec<(String, u16)>,
    /// `blue_green` across groups: the two slots' names and inventory groups.
    pub groups: Vec<(String, String)>,
    /// rolling: hosts at a time.
    pub batch: Batch,
    /// canary and toggle: how many hosts have changed after each step (cumulative).
    pub steps: Vec<Batch>,
    /// Seconds to wait between batches.
    pub pause: f64,
    /// `pause: manual`: wait between batches for `drover rollout promote`.
    pub manual: bool,
    /// A health check (see `drover_modules::health`) each host of a batch must pass.
    pub readiness: Option<Json>,
    /// A health check every host deployed so far must keep passing, after
    /// each batch and after each pause; a failure counts as one.
    pub liveness: Option<Json>,
    /// How many hosts may fail readiness before `on_failure` acts.
    pub max_failures: Batch,
    /// What happens when too many hosts fail.
    pub on_failure: OnFailure,
    /// A Swarm service to roll out: its replicas are the batches, not the
    /// play's hosts (which run the play's tasks as usual, on a manager).
    pub service: Option<String>,
}

const KEYS: [&str; 12] = [
    "strategy",
    "service",
    "app",
    "slots",
    "groups",
    "batch",
    "steps",
    "pause",
    "readiness",
    "liveness",
    "max_failures",
    "on_failure",
];

/// Reads `rollout:`; an error explains what is wrong or not built.
pub fn parse(value: &Json) -> Result<Rollout, String> {
    let Json::Object(map) = value else {
        return Err("`rollout` must be a mapping with `strategy`".to_owned());
    };
    if let Some(key) = map.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(format!(
            "`rollout` has no key `{key}` (it takes {})",
            KEYS.join(", ")
        ));
    }
    let name = map
        .get("strategy")
        .and_then(Json::as_str)
        .unwrap_or("rolling");
    let strategy = Strategy::parse(name).ok_or_else(|| {
        format!(
            "unknown rollout strategy `{name}`; use rolling, canary, blue_green, big_bang or toggle"
        )
    })?;
    let app = map.get("app").and_then(Json::as_str).map(str::to_owned);
    let slots = map.get("slots").map_or(Ok(Vec::new()), parse_slots)?;
    let groups = map.get("groups").map_or(Ok(Vec::new()), parse_groups)?;
    if strategy == Strategy::BlueGreen && (app.is_none() || slots.is_empty() == groups.is_empty()) {
        return Err(
            "the blue_green strategy needs `app` and either `slots` (on each host, such as `{blue: 8081, green: 8082}`) \
             or `groups` (across groups of hosts, such as `{blue: web_blue, green: web_green}`)"
                .to_owned(),
        );
    }
    let batch = map.get("batch").map_or(Ok(Batch::Count(1)), parse_batch)?;
    let steps = parse_steps(map.get("steps"))?;
    if matches!(strategy, Strategy::Canary | Strategy::Toggle)
        && steps.is_empty()
        && !map.contains_key("service")
    {
        return Err(format!(
            "the {} strategy needs `steps`, such as [1, \"50%\", \"100%\"]",
            strategy.name()
        ));
    }
    let (pause, manual) = parse_pause(map.get("pause"))?;
    let on_failure = parse_on_failure(map.get("on_failure"))?;
    Rollout {
        strategy,
        app,
        slots,
        groups,
        batch,
        steps,
        pause,
        manual,
        readiness: map.get("readiness").cloned(),
        liveness: map.get("liveness").cloned(),
        max_failures: map
            .get("max_failures")
            .map_or(Ok(Batch::Count(0)), parse_batch)?,
        on_failure,
        service: None,
    }
    .for_service(map.get("service"))
}

impl Rollout {
    /// With `service:`, a rollout of a Swarm service's replicas: only what
    /// Swarm can do is accepted.
    fn for_service(mut self, service: Option<&Json>) -> Result<Self, String> {
        let Some(service) = service else {
            return Ok(self);
        };
        let Some(name) = service.as_str().filter(|name| !name.trim().is_empty()) else {
            return Err(
                "`service` names the Swarm service to roll out, such as `web` or `app_web`"
                    .to_owned(),
            );
        };
        if !matches!(self.strategy, Strategy::Rolling | Strategy::Canary) {
            return Err(format!(
                "a Swarm service rolls out with the rolling or canary strategy, not {}; \
                 Swarm replaces a service's replicas in place",
                self.strategy.name()
            ));
        }
        let unbuilt = [
            ("liveness", self.liveness.is_some()),
            ("pause: manual", self.manual),
            (
                "on_failure other than rollback",
                self.on_failure != OnFailure::Rollback,
            ),
            (
                "slots or groups",
                !self.slots.is_empty() || !self.groups.is_empty(),
            ),
        ];
        if let Some((what, _)) = unbuilt.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{what} is not built for a Swarm service's rollout; it takes strategy, batch, \
                 readiness, pause (seconds), max_failures and on_failure: rollback"
            ));
        }
        self.service = Some(name.trim().to_owned());
        Ok(self)
    }
}

/// `pause` between batches: a duration, or `manual` (wait for `drover
/// rollout promote`); its seconds, and whether it is manual.
fn parse_pause(value: Option<&Json>) -> Result<(f64, bool), String> {
    match value {
        None => Ok((0.0, false)),
        Some(Json::String(word)) if word == "manual" => Ok((0.0, true)),
        Some(value) => seconds(value)
            .map(|seconds| (seconds, false))
            .ok_or_else(|| {
                "`pause` must be a duration such as 30 or \"30s\", or `manual`".to_owned()
            }),
    }
}

/// `on_failure`: `rollback` (the default), `pause` or `continue`.
fn parse_on_failure(value: Option<&Json>) -> Result<OnFailure, String> {
    match value.and_then(Json::as_str).unwrap_or("rollback") {
        "rollback" => Ok(OnFailure::Rollback),
        "pause" => Ok(OnFailure::Pause),
        "continue" => Ok(OnFailure::Continue),
        other => Err(format!(
            "`on_failure` must be rollback, pause or continue, not `{other}`"
        )),
    }
}

/// `steps`: one batch or a list of them.
fn parse_steps(value: Option<&Json>) -> Result<Vec<Batch>, String> {
    match value {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items.iter().map(parse_batch).collect(),
        Some(single) => Ok(vec![parse_batch(single)?]),
    }
}

/// `slots: {blue: 8081, green: 8082}`: exactly two named ports.
fn parse_slots(value: &Json) -> Result<Vec<(String, u16)>, String> {
    let wrong = || {
        "`slots` must name two slots with their ports, such as {blue: 8081, green: 8082}".to_owned()
    };
    let Json::Object(map) = value else {
        return Err(wrong());
    };
    let slots = map
        .iter()
        .map(|(name, port)| {
            let port = match port {
                Json::Number(number) => number.as_u64(),
                Json::String(text) => text.trim().parse().ok(),
                _ => None,
            };
            port.and_then(|port| u16::try_from(port).ok())
                .map(|port| (name.clone(), port))
                .ok_or_else(wrong)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if slots.len() != 2 || slots[0].0 == slots[1].0 || slots[0].1 == slots[1].1 {
        return Err(wrong());
    }
    Ok(slots)
}

/// `groups: {blue: web_blue, green: web_green}`: two named inventory groups.
fn parse_groups(value: &Json) -> Result<Vec<(String, String)>, String> {
    let wrong = || {
        "`groups` must name two slots with their inventory groups, such as {blue: web_blue, green: web_green}".to_owned()
    };
    let Json::Object(map) = value else {
        return Err(wrong());
    };
    let groups = map
        .iter()
        .map(|(name, group)| {
            group
                .as_str()
                .map(|group| (name.clone(), group.to_owned()))
                .ok_or_else(wrong)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if groups.len() != 2 || groups[0].0 == groups[1].0 || groups[0].1 == groups[1].1 {
        return Err(wrong());
    }
    Ok(groups)
}

fn parse_batch(value: &Json) -> Result<Batch, String> {
    let parsed = match value {
        Json::Number(number) => number
            .as_u64()
            .and_then(|count| usize::try_from(count).ok())
            .map(Batch::Count),
        Json::String(text) => match text.trim().strip_suffix('%') {
            Some(percent) => percent.trim().parse().ok().map(Batch::Percent),
            None => text.trim().parse().ok().map(Batch::Count),
        },
        _ => None,
    };
    parsed.ok_or_else(|| format!("`{value}` is neither a number of hosts nor a percentage"))
}

fn seconds(value: &Json) -> Option<f64> {
    match value {
        Json::Number(number) => number.as_f64(),
        Json::String(text) => {
            let text = text.trim();
            let (number, scale) = if let Some(number) = text.strip_suffix("ms") {
                (number, 0.001)
            } else if let Some(number) = text.strip_suffix('s') {
                (number, 1.0)
            } else if let Some(number) = text.strip_suffix('m') {
                (number, 60.0)
            } else {
                (text, 1.0)
            };
            number
                .trim()
                .parse::<f64>()
                .ok()
                .map(|number| number * scale)
        }
        _ => None,
    }
    .filter(|seconds| *seconds >= 0.0)
}

// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code.
#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use serde_json::json;

    use super::parse;
    use crate::model::Batch;

    #[test]
    fn strategies_are_read_and_unbuilt_ones_refused() {
        let rolling = parse(
            &json!({"strategy": "rolling", "batch": "25%", "readiness": {"tcp": {"port": 80}}}),
        )
        .unwrap();
        assert_eq!(rolling.batch, Batch::Percent(25.0));
        assert_eq!(rolling.on_failure, super::OnFailure::Rollback);
        assert_eq!(rolling.strategy, super::Strategy::Rolling);
        let canary =
            parse(&json!({"strategy": "canary", "steps": [1, "50%", "100%"], "pause": "2s"}))
                .unwrap();
        assert_eq!(
            canary.steps,
            vec![Batch::Count(1), Batch::Percent(50.0), Batch::Percent(100.0)]
        );
        assert!((canary.pause - 2.0).abs() < f64::EPSILON);
        assert!(
            parse(&json!({"strategy": "canary"}))
                .unwrap_err()
                .contains("needs `steps`")
        );
        assert!(
            parse(&json!({"strategy": "blue_green"}))
                .unwrap_err()
                .contains("needs `app` and either `slots`")
        );
        let blue_green = parse(&json!({"strategy": "blue_green", "app": "web",
            "slots": {"blue": 8081, "green": "8082"}}))
        .unwrap();
        assert_eq!(
            blue_green.slots,
            vec![("blue".to_owned(), 8081), ("green".to_owned(), 8082)]
        );
        assert!(
            parse(
                &json!({"strategy": "blue_green", "app": "web", "slots": {"blue": 1, "green": 1}})
            )
            .unwrap_err()
            .contains("two slots")
        );
        let groups = parse(&json!({"strategy": "blue_green", "app": "shop",
            "groups": {"blue": "web_blue", "green": "web_green"}}))
        .unwrap();
        assert_eq!(
            groups.groups[1],
            ("green".to_owned(), "web_green".to_owned())
        );
        assert!(
            parse(
                &json!({"strategy": "blue_green", "app": "shop", "slots": {"blue": 1, "green": 2},
                "groups": {"blue": "a", "green": "b"}})
            )
            .is_err(),
            "slots or groups, not both"
        );
        assert!(
            parse(&json!({"strategy": "rolling", "pause": "manual"}))
                .unwrap()
                .manual
        );
        assert!(
            parse(&json!({"strategy": "rolling", "bach": 1}))
                .unwrap_err()
                .contains("no key `bach`")
        );
    }
}
