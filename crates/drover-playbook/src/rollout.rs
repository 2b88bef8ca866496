//! The play-level `rollout:` keyword: which hosts change when, and the
//! readiness gate between batches.

use serde_json::Value as Json;

use crate::model::Batch;

/// A play's `rollout:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// `rolling`, `canary`, `big_bang` or `toggle`.
    pub strategy: String,
    /// rolling: hosts at a time.
    pub batch: Batch,
    /// canary and toggle: how many hosts have changed after each step (cumulative).
    pub steps: Vec<Batch>,
    /// Seconds to wait between batches.
    pub pause: f64,
    /// A health check (see `drover_modules::health`) each host of a batch must pass.
    pub readiness: Option<Json>,
    /// How many hosts may fail readiness before `on_failure` acts.
    pub max_failures: Batch,
    /// `rollback`, `pause` or `continue`.
    pub on_failure: String,
}

const KEYS: [&str; 7] = [
    "strategy",
    "batch",
    "steps",
    "pause",
    "readiness",
    "max_failures",
    "on_failure",
];

/// Reads `rollout:`; an error explains what is wrong or not built.
pub(crate) fn parse(value: &Json) -> Result<Rollout, String> {
    let Json::Object(map) = value else {
        return Err("`rollout` must be a mapping with `strategy`".to_owned());
    };
    if let Some(key) = map.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(format!(
            "`rollout` has no key `{key}` (it takes {})",
            KEYS.join(", ")
        ));
    }
    let strategy = map
        .get("strategy")
        .and_then(Json::as_str)
        .unwrap_or("rolling")
        .to_owned();
    match strategy.as_str() {
        "rolling" | "canary" | "big_bang" | "toggle" => {}
        "blue_green" => {
            return Err(
                "the blue_green strategy is not built yet; use rolling or canary".to_owned(),
            );
        }
        other => {
            return Err(format!(
                "unknown rollout strategy `{other}`; use rolling, canary, big_bang or toggle"
            ));
        }
    }
    let batch = map.get("batch").map_or(Ok(Batch::Count(1)), parse_batch)?;
    let steps = match map.get("steps") {
        None => Vec::new(),
        Some(Json::Array(items)) => items.iter().map(parse_batch).collect::<Result<_, _>>()?,
        Some(single) => vec![parse_batch(single)?],
    };
    if matches!(strategy.as_str(), "canary" | "toggle") && steps.is_empty() {
        return Err(format!(
            "the {strategy} strategy needs `steps`, such as [1, \"50%\", \"100%\"]"
        ));
    }
    let pause = match map.get("pause") {
        None => 0.0,
        Some(Json::String(text)) if text == "manual" => {
            return Err(
                "`pause: manual` (with `drover rollout promote`) is not built yet; give a duration"
                    .to_owned(),
            );
        }
        Some(value) => seconds(value).ok_or("`pause` must be a duration such as 30 or \"30s\"")?,
    };
    let on_failure = map
        .get("on_failure")
        .and_then(Json::as_str)
        .unwrap_or("rollback")
        .to_owned();
    if !["rollback", "pause", "continue"].contains(&on_failure.as_str()) {
        return Err(format!(
            "`on_failure` must be rollback, pause or continue, not `{on_failure}`"
        ));
    }
    Ok(Rollout {
        strategy,
        batch,
        steps,
        pause,
        readiness: map.get("readiness").cloned(),
        max_failures: map
            .get("max_failures")
            .map_or(Ok(Batch::Count(0)), parse_batch)?,
        on_failure,
    })
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

#[cfg(test)]
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
        assert_eq!(rolling.on_failure, "rollback");
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
                .contains("not built yet")
        );
        assert!(
            parse(&json!({"strategy": "rolling", "pause": "manual"}))
                .unwrap_err()
                .contains("not built yet")
        );
        assert!(
            parse(&json!({"strategy": "rolling", "bach": 1}))
                .unwrap_err()
                .contains("no key `bach`")
        );
    }
}
