//! What several families compute once per block and share through the
//! per-block memo (`shared`): the analytic trace and its rates, the
//! structure tensor, streamed plane by plane.

pub mod analytic;
pub mod gst;
pub mod gst_stream;
pub mod shared;
