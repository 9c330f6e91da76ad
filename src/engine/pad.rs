//! Where each position of a padded block comes from, by boundary mode.
//!
//! Exactly Dask's `map_overlap` boundary semantics, which per axis are those
//! of `np.pad`: `reflect` is numpy's `symmetric` (edge sample repeated),
//! `periodic` is `wrap`, `nearest` is `edge`, a constant fills. Because the
//! rule is applied per axis independently, corners come out as `np.pad`'s
//! axis-by-axis padding does.

use crate::job::Boundary;
use attributes::window::symmetric_index;

/// The volume index feeding position `g` of an axis of length `n`, or `None`
/// where the boundary fills a constant.
#[inline]
pub fn source_index(g: i64, n: u64, boundary: Boundary) -> Option<u64> {
    let ni = n as i64;
    if (0..ni).contains(&g) {
        return Some(g as u64);
    }
    match boundary {
        Boundary::Reflect => Some(symmetric_index(g as isize, n as usize) as u64),
        Boundary::Periodic => Some(g.rem_euclid(ni) as u64),
        Boundary::Nearest => Some(g.clamp(0, ni - 1) as u64),
        Boundary::Constant(_) | Boundary::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(b: Boundary) -> Vec<Option<u64>> {
        (-5..9).map(|g| source_index(g, 4, b)).collect()
    }

    #[test]
    fn modes_match_np_pad() {
        // np.pad(np.arange(4), 5, mode=...)
        let s = |v: &[u64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(
            row(Boundary::Reflect),
            s(&[3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0])
        );
        assert_eq!(
            row(Boundary::Periodic),
            s(&[3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0])
        );
        assert_eq!(
            row(Boundary::Nearest),
            s(&[0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3])
        );
        assert_eq!(row(Boundary::Constant(1.0))[4], None);
    }
}
