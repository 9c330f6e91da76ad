//! How many files a job may write: every chunk is a file (or an object),
//! and a chunk shape far too small for the volume (`chunks: [1, 1, 1]`)
//! asks for more files than a file system has inodes.

use anyhow::{bail, Result};
use std::path::Path;

/// Chunk files a job writes without `--force`.
pub const WITHOUT_FORCE: u64 = 2_000_000;

/// Refuse more than [`WITHOUT_FORCE`] chunk files unless forced.
pub fn check_count(files: u64, force: bool) -> Result<()> {
    if files > WITHOUT_FORCE && !force {
        bail!(
            "the job writes {files} chunk files, more than {WITHOUT_FORCE}: give the outputs larger `chunks:` (each chunk is a file), or pass --force"
        );
    }
    Ok(())
}

/// Refuse `files` new files on the file system holding `path` (or its
/// nearest existing ancestor) when it has fewer free inodes.
pub fn check_inodes(path: &Path, files: u64) -> Result<()> {
    let mut dir = path.to_path_buf();
    while !dir.exists() {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p.to_path_buf(),
            _ => dir = ".".into(),
        }
    }
    let Some(free) = free_inodes(&dir) else {
        return Ok(());
    };
    // a file system without inode accounting reports 0 of 0
    if free > 0 && files > free {
        bail!(
            "'{}' needs {files} files for its chunks, but its file system has only {free} free inodes: give the outputs larger `chunks:`",
            path.display()
        );
    }
    Ok(())
}

fn free_inodes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_favail as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_beyond_the_bound_need_force_and_inodes_are_checked() {
        assert!(check_count(WITHOUT_FORCE, false).is_ok());
        assert!(check_count(WITHOUT_FORCE + 1, false).is_err());
        assert!(check_count(WITHOUT_FORCE + 1, true).is_ok());
        assert!(check_inodes(Path::new("/tmp/no/such/dir/x.zarr"), 10).is_ok());
        let free = free_inodes(Path::new("/tmp")).unwrap();
        if free > 0 {
            let e = check_inodes(Path::new("/tmp/x.zarr"), free + 1).unwrap_err();
            assert!(e.to_string().contains("free inodes"), "{e}");
        }
    }
}
