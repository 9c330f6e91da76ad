//! Store wrappers, each changing one part of zarrs' storage traits and
//! passing the rest on (`delegate`): chunk files written whole (`atomic`),
//! sizes and checksums recorded (`checksummed`), object-store PUTs behind
//! the computation (`write_behind`) and GETs ahead of it (`prefetch`), a
//! converter's metadata local with its chunks remote (`split`), deflated
//! zip entries inflated (`zip_entries`).

pub mod atomic;
pub mod checksummed;
mod delegate;
pub mod prefetch;
pub mod split;
pub mod write_behind;
pub mod zip_entries;
