//! Gathering a block: the task's region plus halo, from the input chunks,
//! padded at the volume faces by the boundary mode.

use super::cache::ChunkCache;
use super::pad::source_index;
use crate::job::Boundary;
use ndarray::{s, Array3};

/// For one axis: the positions of the block grouped by the input chunk they
/// come from, each as (position in block, position in chunk).
type AxisMap = Vec<(u64, Vec<(usize, usize)>)>;

fn axis_map(start: i64, end: i64, n: u64, chunk: u64, boundary: Boundary) -> AxisMap {
    let mut groups: AxisMap = Vec::new();
    for (pos, g) in (start..end).enumerate() {
        let Some(src) = source_index(g, n, boundary) else {
            continue;
        };
        let (c, local) = (src / chunk, (src % chunk) as usize);
        match groups.iter_mut().find(|(k, _)| *k == c) {
            Some((_, v)) => v.push((pos, local)),
            None => groups.push((c, vec![(pos, local)])),
        }
    }
    groups.sort_by_key(|(c, _)| *c);
    groups
}

/// Assemble the block covering `start..end` (volume coordinates, possibly
/// outside the volume). Returns the block and the input chunks it read.
pub fn gather(
    cache: &ChunkCache,
    shape: [u64; 3],
    chunks: [u64; 3],
    start: [i64; 3],
    end: [i64; 3],
    boundary: Boundary,
) -> anyhow::Result<(Array3<f32>, Vec<[u64; 3]>)> {
    let len = [0, 1, 2].map(|a| (end[a] - start[a]) as usize);
    let fill = match boundary {
        Boundary::Constant(v) => v,
        _ => 0.0,
    };
    let mut block = Array3::<f32>::from_elem((len[0], len[1], len[2]), fill);
    let maps = [0, 1, 2].map(|a| axis_map(start[a], end[a], shape[a], chunks[a], boundary));
    let mut used = Vec::new();
    for (c0, p0) in &maps[0] {
        for (c1, p1) in &maps[1] {
            for (c2, p2) in &maps[2] {
                let idx = [*c0, *c1, *c2];
                let chunk = cache.get(idx)?;
                used.push(idx);
                // a contiguous run along the trace is the common case
                let contiguous = p2
                    .windows(2)
                    .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1);
                for &(b0, l0) in p0 {
                    for &(b1, l1) in p1 {
                        let src = chunk.slice(s![l0, l1, ..]);
                        let mut dst = block.slice_mut(s![b0, b1, ..]);
                        if contiguous {
                            let (b, l, n) = (p2[0].0, p2[0].1, p2.len());
                            dst.slice_mut(s![b..b + n]).assign(&src.slice(s![l..l + n]));
                        } else {
                            for &(b2, l2) in p2 {
                                dst[b2] = src[l2];
                            }
                        }
                    }
                }
            }
        }
    }
    Ok((block, used))
}
