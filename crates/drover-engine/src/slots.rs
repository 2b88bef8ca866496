//! A blue-green rollout's state on one host: its two slots, which is live,
//! and the record that says so. Plain data, low in the dependency order:
//! a host's state (`host.rs`) holds it, and the rollout code
//! (`play/rollout/`) acts on it.

use serde_json::{Value as Json, json};

/// A slot: its name and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) port: u16,
}

/// One host's slots in this rollout.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    /// The app's record as it was before this run (`null`: never switched).
    pub(crate) record: Json,
    /// The slot serving now, if any.
    pub(crate) live: Option<Slot>,
    /// The slot this run deploys to and switches to.
    pub(crate) target: Slot,
    /// The switch tasks ran (or started to) on this host.
    pub(crate) switched: bool,
}

impl Slots {
    /// The slots from a host's record: deploy to the one not live (undo:
    /// to the previous one).
    pub(crate) fn from_record(
        record: Json,
        configured: &[(String, u16)],
        undo: bool,
    ) -> Option<Self> {
        let slot = |value: &Json| {
            let name = value["slot"].as_str()?;
            configured
                .iter()
                .find(|(configured, _)| configured == name)
                .map(|(name, port)| Slot {
                    name: name.clone(),
                    port: *port,
                })
        };
        let live = slot(&record["current"]);
        let target = if undo {
            slot(&record["previous"])?
        } else {
            let (name, port) = configured
                .iter()
                .find(|(name, _)| live.as_ref().is_none_or(|live| &live.name != name))?;
            Slot {
                name: name.clone(),
                port: *port,
            }
        };
        Some(Self {
            record,
            live,
            target,
            switched: false,
        })
    }

    /// The record once `target` is live; `image` is what this run deployed
    /// there, if anything.
    pub(crate) fn switched_record(&self, app: &str, image: Option<&str>) -> Json {
        let live = json!({"slot": self.target.name, "port": self.target.port});
        switched_record(app, live, &self.target.name, image, &self.record, true)
    }
}

/// A blue-green app's record once the `slot` in `live` serves: `image` is
/// what this run deployed there; without one, and when
/// `reuse_previous_image`, the image the slot ran when it was last live.
/// The record replaced, `before`, becomes `previous`.
pub(crate) fn switched_record(
    app: &str,
    mut live: Json,
    slot: &str,
    image: Option<&str>,
    before: &Json,
    reuse_previous_image: bool,
) -> Json {
    let image = image.map(str::to_owned).or_else(|| {
        let previous = &before["previous"];
        (reuse_previous_image && previous["slot"].as_str() == Some(slot))
            .then(|| previous["image"].as_str().map(str::to_owned))
            .flatten()
    });
    live["image"] = json!(image);
    let mut record = drover_modules::releases::record(app, live, Some(before));
    record["strategy"] = json!("blue_green");
    record
}
