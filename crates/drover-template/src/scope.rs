//! Variables as templates see them: layered, and rendered lazily.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::Value as Json;

use crate::{Error, Templar, Vars, is_template};

/// How deep variables may refer to variables before it counts as a loop.
const MAX_INDIRECTION: usize = 64;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The error from rendering a variable lazily; minijinja's lookup
    /// interface cannot return one, so it waits here for the caller.
    static LAZY_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Variables visible to a template: layers, lowest precedence first.
#[derive(Clone, Debug)]
pub struct Scope {
    object: Arc<ScopeObject>,
}

#[derive(Debug)]
pub(crate) struct ScopeObject {
    layers: Vec<Arc<Vars>>,
    templar: Templar,
}

impl Scope {
    pub(crate) fn new(layers: Vec<Arc<Vars>>, templar: Templar) -> Self {
        Self {
            object: Arc::new(ScopeObject { layers, templar }),
        }
    }

    pub(crate) fn object(&self) -> Arc<ScopeObject> {
        self.object.clone()
    }

    /// The raw (unrendered) value of a variable, from the highest layer that has it.
    pub fn raw(&self, name: &str) -> Option<&Json> {
        self.object.raw(name)
    }

    /// Whether a variable is defined in any layer.
    pub fn contains(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// The rendered value of a variable.
    pub fn get(&self, name: &str) -> Result<Option<Json>, Error> {
        match self.raw(name) {
            Some(value) => self.object.templar.render(value, self).map(Some),
            None => Ok(None),
        }
    }

    /// Renders `text` with this scope's own templar: for a keyword that
    /// may be a template, such as `become_user: "{{ postgresql_user }}"`.
    pub fn render_string(&self, text: &str) -> Result<String, Error> {
        self.object.templar.render_string(text, self)
    }

    /// A new scope with one more layer on top.
    #[must_use]
    pub fn with_layer(&self, layer: Arc<Vars>) -> Self {
        let mut layers = self.object.layers.clone();
        layers.push(layer);
        Self::new(layers, self.object.templar.clone())
    }
}

impl ScopeObject {
    fn raw(&self, name: &str) -> Option<&Json> {
        self.layers.iter().rev().find_map(|layer| layer.get(name))
    }

    fn scope(self: &Arc<Self>) -> Scope {
        Scope {
            object: self.clone(),
        }
    }
}

/// Takes the error a lazy lookup left behind, if any.
pub(crate) fn take_lazy_error() -> Option<Error> {
    LAZY_ERROR.with(|slot| slot.borrow_mut().take())
}

fn contains_template(value: &Json) -> bool {
    match value {
        Json::String(text) => is_template(text),
        Json::Array(items) => items.iter().any(contains_template),
        Json::Object(map) => crate::vaulted(map).is_some() || map.values().any(contains_template),
        _ => false,
    }
}

impl Object for ScopeObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if name == "vars" {
            return Some(Value::from_dyn_object(self.clone()));
        }
        let raw = self.raw(name)?;
        if !contains_template(raw) {
            return Some(Value::from(minijinja::value::Serde(raw)));
        }
        let depth = DEPTH.with(Cell::get);
        if depth >= MAX_INDIRECTION {
            LAZY_ERROR.with(|slot| {
                slot.borrow_mut().get_or_insert(Error::Recursion {
                    variable: name.to_owned(),
                });
            });
            return None;
        }
        DEPTH.with(|cell| cell.set(depth + 1));
        let rendered = self.templar.render(raw, &self.scope());
        DEPTH.with(|cell| cell.set(depth));
        match rendered {
            Ok(value) => Some(Value::from(minijinja::value::Serde(&value))),
            Err(error) => {
                LAZY_ERROR.with(|slot| {
                    slot.borrow_mut().get_or_insert(error.in_variable(name));
                });
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<Value> = Vec::new();
        for layer in &self.layers {
            for name in layer.keys() {
                let value = Value::from(name.as_str());
                if !names.contains(&value) {
                    names.push(value);
                }
            }
        }
        Enumerator::Values(names)
    }
}
