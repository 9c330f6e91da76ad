//! Intermediates shared by the kernels of one family on one block.

use std::any::Any;
use std::collections::HashMap;

/// A per-block memo: the first kernel that needs, say, the analytic trace
/// computes it; the others of its family reuse it. The engine makes one per
/// block view, so a key always refers to the same input data.
#[derive(Default)]
pub struct Shared {
    items: HashMap<&'static str, Box<dyn Any + Send>>,
}

impl Shared {
    pub fn new() -> Self {
        Self::default()
    }

    /// The intermediate `key`, if a kernel has computed it.
    pub fn get<T: Any + Send>(&self, key: &'static str) -> Option<&T> {
        self.items.get(key).and_then(|b| b.downcast_ref::<T>())
    }

    /// Get the intermediate `key`, computing it with `make` the first time.
    pub fn get_or_insert<T: Any + Send>(
        &mut self,
        key: &'static str,
        make: impl FnOnce() -> T,
    ) -> &T {
        self.items
            .entry(key)
            .or_insert_with(|| Box::new(make()))
            .downcast_ref::<T>()
            .expect("one type per shared key")
    }
}
