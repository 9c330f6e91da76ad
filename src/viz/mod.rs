//! Pictures: slices of volumes as PNG with axes and a colour bar.

pub mod render;
pub mod slice_view;
