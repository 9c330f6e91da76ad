//! The global allocator and how it keeps memory.

/// Blocks and chunks are large, short-lived buffers; the system allocator
/// returns them to the kernel and faults them back in for every chunk.
///
/// mimalloc v2 (the `v2` feature of its -sys crate), not v3: with freed
/// pages kept (below), v3 left more of them resident than it reused, and
/// peaks grew by a third to two thirds over what a run held (`bench/memory.sh`: gst_planarity at 32³ chunks
/// 95 MiB against 58, eigenstructure 88 against 65), at the same speed.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc hands freed pages back to the kernel after a delay, and a job
/// frees and reallocates block-sized buffers for every work unit: each
/// came back as fresh pages the kernel had to zero (a four-output job took
/// five times the page faults and 8 % more time). Kept, they are reused at
/// once; the price is a peak about 5 % higher where buffers of different
/// sizes follow one another (86 MB chunks, `bench/big-chunks.sh`).
/// `MIMALLOC_PURGE_DELAY` in the environment still decides.
///
/// Transparent huge pages are declined: where the kernel offers them on
/// request, mimalloc asks for them, and each page of medium-sized buffers
/// (compressed chunks of 32³ to 48³ samples) then became resident 2 MiB
/// at a time, whoever used it. Peaks were 20 MiB above what the run held,
/// per worker, with no gain in speed (`bench/memory.sh`). mimalloc reads
/// its own option only before its first allocation, so the process is
/// told directly. `MIMALLOC_ALLOW_THP` in the environment still decides.
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option, which mimalloc reads at each purge
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: a flag of this process; the kernel checks it at each
        // page fault, so mappings made before it are covered too
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

/// `mi_option_purge_delay` of mimalloc.h (the same in v2 and v3), which
/// the -sys crate does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[cfg(test)]
mod allocator_tests {
    #[test]
    fn purge_delay_is_the_option_it_names() {
        // the user's value where the environment sets it; else the default,
        // 10 ms in v2 and 1000 ms in v3, which neither neighbour
        // (eager_commit_delay, 1; use_numa_nodes, 0) has
        let expected: Vec<i64> = match std::env::var("MIMALLOC_PURGE_DELAY") {
            Ok(v) => vec![v.trim().parse().expect("MIMALLOC_PURGE_DELAY is a number")],
            Err(_) => vec![10, 1000],
        };
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert!(
            expected.contains(&(delay as i64)),
            "option {} is {delay}, not purge_delay",
            super::MI_OPTION_PURGE_DELAY
        );
    }
}
