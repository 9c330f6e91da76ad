//! Output datasets of `attr run`, staged, joined, resumed and published:
//! on a filesystem (`local`: a staging directory renamed into place) or
//! in an object store (`s3`: written in place, the root metadata last).

pub mod local;
pub mod s3;
