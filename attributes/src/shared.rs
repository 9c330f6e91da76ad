//! Intermediates shared by the kernels of one family on one block.

use std::any::Any;
use std::collections::HashMap;

/// A per-block memo: the first kernel that needs, say, the analytic trace
/// computes it; the others of its family reuse it. The engine makes one per
/// block view, so a key always refers to the same input data; a key names
/// the parameters the intermediate depends on (e.g. "gst:1:2,2,2").
#[derive(Default)]
pub struct Shared {
    items: HashMap<String, Box<dyn Any + Send>>,
    /// Whether the block holds null samples, once someone has looked.
    nulls: Option<bool>,
}

impl Shared {
    pub fn new() -> Self {
        Self::default()
    }

    /// A memo for a block already known to hold (or not) null samples.
    pub fn with_nulls(nulls: bool) -> Self {
        Self {
            nulls: Some(nulls),
            ..Self::default()
        }
    }

    pub(crate) fn nulls_known(&self) -> Option<bool> {
        self.nulls
    }

    pub(crate) fn set_nulls(&mut self, nulls: bool) {
        self.nulls = Some(nulls);
    }

    /// The intermediate `key`, if a kernel has computed it.
    pub fn get<T: Any + Send>(&self, key: &str) -> Option<&T> {
        self.items.get(key).and_then(|b| b.downcast_ref::<T>())
    }

    /// Get the intermediate `key`, computing it with `make` the first time.
    pub fn get_or_insert<T: Any + Send>(&mut self, key: &str, make: impl FnOnce() -> T) -> &T {
        if !self.items.contains_key(key) {
            self.items.insert(key.to_string(), Box::new(make()));
        }
        self.items
            .get(key)
            .expect("just inserted")
            .downcast_ref::<T>()
            .expect("one type per shared key")
    }
}
