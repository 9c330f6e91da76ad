//! Zarr datasets through zarrs: opening the input volume (a plain array or
//! an xarray-style group) on a filesystem, in a zip file or in an object
//! store, and creating output groups.

pub mod adapters;
pub mod cf_units;
pub mod chunk_check;
mod dataset;
pub mod dtype;
pub mod file_budget;
mod input;
pub mod input_state;
mod ledger;
mod location;
pub mod metadata;
pub mod null_values;
pub mod output;
pub mod owner;
pub mod placement;
pub mod process;
pub mod remote;
mod remote_tree;

pub use dataset::{ArraySpec, NewDataset};
pub use dtype::Dtype;
pub use input::{array_names, read_whole, Coordinate, Input};
pub use ledger::Ledger;
pub use location::{
    node_kind, node_kind_in, read_json, read_key, split_variable, stored_bytes, Location, NodeKind,
    ReadStore,
};
pub use metadata::{Compression, Format};
pub use output::{
    publish, published_by, staging_path, stagings, Layout, Opened, OutputDataset, OutputVariable,
    Skeleton, Superseded, VariableSpec,
};
pub use placement::private_sibling;
