//! How much context a kernel needs around its output, per axis.

/// How much context a kernel needs around the output region on one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halo {
    /// This many samples on each side.
    Depth(usize),
    /// The whole axis (e.g. an FFT over the whole trace).
    Full,
}

/// The halo of a centred window of these (odd) sizes.
pub fn centred(window: [usize; 3]) -> [Halo; 3] {
    window.map(|w| Halo::Depth(w / 2))
}

impl Halo {
    pub fn describe(&self) -> String {
        match self {
            Halo::Depth(d) => d.to_string(),
            Halo::Full => "full".to_string(),
        }
    }
}
