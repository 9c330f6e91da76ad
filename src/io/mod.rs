//! Data in and out: SEG-Y (read, converted, exported), image stacks,
//! horizons, synthetic surveys, and what a file or store holds (`attr info`).

pub mod horizon_files;
pub mod horizon_import;
pub mod image_stack;
pub mod inspect;
pub mod map_export;
pub mod segy;
pub mod segy_export;
pub mod segy_import;
pub mod survey_grid;
pub mod synthetic;
