//! Intermediates shared by the kernels of one family on one block.

use std::any::Any;
use std::collections::{HashMap, HashSet};

/// A per-block memo: the first kernel that needs, say, the analytic trace
/// computes it; the others of its family reuse it. The engine makes one per
/// gathered block and tells it, before each kernel, where that kernel's
/// view of the block starts and its shape ([`Shared::set_view`]): a key
/// names the parameters the intermediate depends on (e.g. "gst:1:2") and is
/// private to the view it was computed from, unless it is kept in block
/// coordinates (`Shared::block_entry`), where kernels with different
/// halos can share it.
#[derive(Default)]
pub struct Shared {
    items: HashMap<String, Box<dyn Any + Send>>,
    /// Whether the block holds null samples, once someone has looked.
    nulls: Option<bool>,
    /// Where the current view starts in the block, and its shape.
    view: ([usize; 3], [usize; 3]),
    /// Intermediates some kernel of the block has said it will ask for
    /// ([`Shared::announce`]).
    announced: HashSet<&'static str>,
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

    /// The view the next kernel is given: it starts at `origin` of the
    /// block and has shape `dim`.
    pub fn set_view(&mut self, origin: [usize; 3], dim: [usize; 3]) {
        self.view = (origin, dim);
    }

    /// Say, before any kernel of the block runs, that an intermediate
    /// `key` will be asked for: a kernel that could make a cheaper variant
    /// of it then makes this one, which serves both (the analytic trace
    /// with its derivatives, rather than without them and then again).
    pub fn announce(&mut self, key: &'static str) {
        self.announced.insert(key);
    }

    /// Whether some kernel of the block has announced `key`.
    pub(crate) fn announced(&self, key: &str) -> bool {
        self.announced.contains(key)
    }

    /// Where the current view starts in the block.
    pub(crate) fn view_origin(&self) -> [usize; 3] {
        self.view.0
    }

    pub(crate) fn nulls_known(&self) -> Option<bool> {
        self.nulls
    }

    pub(crate) fn set_nulls(&mut self, nulls: bool) {
        self.nulls = Some(nulls);
    }

    fn scoped(&self, key: &str) -> String {
        format!("{key}@{:?}", self.view)
    }

    /// The intermediate `key` of the current view, if a kernel has computed it.
    pub fn get<T: Any + Send>(&self, key: &str) -> Option<&T> {
        self.items
            .get(&self.scoped(key))
            .and_then(|b| b.downcast_ref::<T>())
    }

    /// Get the intermediate `key` of the current view, computing it with
    /// `make` the first time.
    pub fn get_or_insert<T: Any + Send>(&mut self, key: &str, make: impl FnOnce() -> T) -> &T {
        let key = self.scoped(key);
        self.items
            .entry(key)
            .or_insert_with(|| Box::new(make()))
            .downcast_ref::<T>()
            .expect("one type per shared key")
    }

    /// The entry `key` kept in block coordinates, whatever the view (empty
    /// at first): its user places what it stores in the block itself.
    pub(crate) fn block_entry<T: Any + Send + Default>(&mut self, key: &str) -> &mut T {
        self.items
            .entry(format!("block:{key}"))
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut::<T>()
            .expect("one type per shared key")
    }
}
