//! The YAML job spec: what to read, which attributes, where to write.
//!
//! Parsing is strict (unknown keys, wrong types and bad values are errors
//! that name the line and column), so a typo never silently falls back to a
//! default. `spec` is the spec as written; `resolve` checks it against the input and plans the
//! work.

pub mod geometry;
mod resolve;
mod sharding;
mod spec;

pub use resolve::{
    chunk_total, fingerprint, geometry_note, prepare, provenance, Prepared, Resolved,
};
pub use sharding::Sharding;
pub use spec::{
    load, parse, BaseSpec, Boundary, ClassifySpec, DeadTraces, Feature, Init, Interpolation,
    JobSpec, MapSpec, Method, OutputSpec, SampleSize, ScalerKind, Statistic,
};
