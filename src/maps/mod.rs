//! Maps on horizons: where a horizon lies on a survey's traces, and the
//! statistics of a trace at it or over a window about it.

pub mod horizon_on_survey;
pub mod window_stats;
