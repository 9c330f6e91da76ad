//! The attribute families, a file each; each lists its own attributes in
//! its `ATTRIBUTES`.

pub mod amplitude;
pub mod coherence;
pub mod complex_trace;
pub mod filters;
pub mod glcm;
pub mod identity;
pub mod instantaneous;
pub mod response;
pub mod spectral;
pub mod structure;
pub mod tensor;
