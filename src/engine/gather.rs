//! Gathering a block: the task's region plus halo, from the input chunks,
//! padded at the volume faces by the boundary mode.

use super::boundary::Boundary;
use super::cache::ChunkCache;
use ndarray::Array3;

/// For one axis: the positions of the block grouped by the input chunk they
/// come from, each as (position in block, position in chunk).
type AxisMap = Vec<(u64, Vec<(usize, usize)>)>;

fn axis_map(start: i64, end: i64, n: u64, chunk: u64, boundary: Boundary) -> AxisMap {
    let mut groups: AxisMap = Vec::new();
    for (pos, g) in (start..end).enumerate() {
        let Some(src) = boundary.source(g, n) else {
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
    let maps = [0, 1, 2].map(|a| axis_map(start[a], end[a], shape[a], chunks[a], boundary));
    // every sample comes from a chunk unless the boundary pads with a
    // constant here: only then is the block filled first (a fill of the
    // whole block was a sizeable share of the light attributes)
    let covered = (0..3).all(|a| maps[a].iter().map(|(_, v)| v.len()).sum::<usize>() == len[a]);
    let mut block = Array3::<f32>::uninit((len[0], len[1], len[2]));
    if !covered {
        block.fill(std::mem::MaybeUninit::new(boundary.fill()));
    }
    let mut used = Vec::new();
    // every chunk the block reads, by its groups on the three axes
    let mut todo: Vec<[usize; 3]> = Vec::new();
    for g0 in 0..maps[0].len() {
        for g1 in 0..maps[1].len() {
            todo.extend((0..maps[2].len()).map(|g2| [g0, g1, g2]));
        }
    }
    // a chunk another worker is decoding is copied after the others (and
    // after decoding those), instead of waiting for it in turn
    for wait in [false, true] {
        let mut busy = Vec::new();
        for g in todo {
            let [(c0, p0), (c1, p1), (c2, p2)] = [0, 1, 2].map(|a| &maps[a][g[a]]);
            let idx = [*c0, *c1, *c2];
            let chunk = if wait {
                cache.get(idx)?
            } else {
                match cache.get_unless_busy(idx) {
                    Some(chunk) => chunk?,
                    None => {
                        busy.push(g);
                        continue;
                    }
                }
            };
            used.push(idx);
            // a contiguous run along the trace is the common case
            let contiguous = p2
                .windows(2)
                .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1);
            // rows as plain slices: both arrays are in standard layout
            let (cd, bd) = (chunk.dim(), block.dim());
            let chunk = chunk.as_standard_layout();
            let src = chunk.as_slice().expect("standard layout");
            let dst = block.as_slice_mut().expect("standard layout");
            for &(b0, l0) in p0 {
                for &(b1, l1) in p1 {
                    let s0 = (l0 * cd.1 + l1) * cd.2;
                    let d0 = (b0 * bd.1 + b1) * bd.2;
                    if contiguous {
                        let (b, l, n) = (p2[0].0, p2[0].1, p2.len());
                        let (to, from) = (&mut dst[d0 + b..d0 + b + n], &src[s0 + l..s0 + l + n]);
                        for (d, s) in to.iter_mut().zip(from) {
                            d.write(*s);
                        }
                    } else {
                        for &(b2, l2) in p2 {
                            dst[d0 + b2].write(src[s0 + l2]);
                        }
                    }
                }
            }
        }
        todo = busy;
    }
    // SAFETY: each position of the block is either in every axis map (the
    // product of the maps' positions, written above from a chunk) or was
    // filled first: the maps cover the block, or `covered` is false
    Ok((unsafe { block.assume_init() }, used))
}

#[cfg(test)]
pub(crate) mod tests {
    //! The gathered blocks against Dask's `overlap` and `np.pad`
    //! (fixtures made by `tests/fixtures/overlap/make_fixtures.py`).
    use super::*;
    use crate::engine::ChunkSource;
    use ndarray::s;
    use ndarray::{ArrayD, Ix3};
    use ndarray_npy::read_npy;
    use serde_json::Value;
    use std::path::PathBuf;

    pub(crate) struct Memory {
        pub data: Array3<f32>,
        pub chunks: [u64; 3],
    }

    impl ChunkSource for Memory {
        fn shape(&self) -> [u64; 3] {
            let d = self.data.dim();
            [d.0 as u64, d.1 as u64, d.2 as u64]
        }
        fn chunks(&self) -> [u64; 3] {
            self.chunks
        }
        fn read_chunk(&self, idx: [u64; 3]) -> anyhow::Result<Array3<f32>> {
            let c = self.chunks.map(|c| c as usize);
            let mut out = Array3::zeros((c[0], c[1], c[2]));
            let sh = self.shape();
            let s = [0, 1, 2].map(|a| (idx[a] * self.chunks[a]) as usize);
            let e = [0, 1, 2].map(|a| ((idx[a] + 1) * self.chunks[a]).min(sh[a]) as usize);
            out.slice_mut(s![..e[0] - s[0], ..e[1] - s[1], ..e[2] - s[2]])
                .assign(&self.data.slice(s![s[0]..e[0], s[1]..e[1], s[2]..e[2]]));
            Ok(out)
        }
    }

    fn to3(a: ArrayD<f32>) -> Array3<f32> {
        let sh = a.shape().to_vec();
        let s3 = if sh.len() == 2 {
            vec![1, sh[0], sh[1]]
        } else {
            sh
        };
        a.into_shape_with_order(s3)
            .unwrap()
            .into_dimensionality::<Ix3>()
            .unwrap()
    }

    fn three(v: &Value, pad: u64) -> [u64; 3] {
        let v: Vec<u64> = serde_json::from_value(v.clone()).unwrap();
        if v.len() == 2 {
            [pad, v[0], v[1]]
        } else {
            [v[0], v[1], v[2]]
        }
    }

    fn boundary(name: &str) -> Boundary {
        match name {
            "reflect" => Boundary::Reflect,
            "periodic" => Boundary::Periodic,
            "nearest" => Boundary::Nearest,
            "none" => Boundary::None,
            _ => Boundary::Constant(2.5),
        }
    }

    #[test]
    fn gathered_blocks_equal_dask_overlap_and_np_pad() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/overlap");
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap())
                .unwrap();
        assert!(cases.len() >= 20);
        let mut blocks_checked = 0;
        for (n, case) in cases.iter().enumerate() {
            let input = to3(read_npy(dir.join(format!("case{n}_input.npy"))).unwrap());
            let expected = to3(read_npy(dir.join(format!("case{n}_expected.npy"))).unwrap());
            let chunks = three(&case["chunks"], 1);
            let depth = three(&case["depth"], 0);
            let b = boundary(case["boundary"].as_str().unwrap());
            let src = Memory {
                data: input,
                chunks,
            };
            let shape = src.shape();
            let grid = [0, 1, 2].map(|a| shape[a].div_ceil(chunks[a]));
            let cache = ChunkCache::new(
                &src,
                vec![u32::MAX; (grid[0] * grid[1] * grid[2]) as usize],
                1 << 30,
            );
            // offsets of the expected blocks along each axis (dask kind)
            let offsets: Option<[Vec<usize>; 3]> = (case["kind"] == "dask").then(|| {
                let ec: Vec<Vec<usize>> =
                    serde_json::from_value(case["expected_chunks"].clone()).unwrap();
                let ec = if ec.len() == 2 {
                    vec![vec![1], ec[0].clone(), ec[1].clone()]
                } else {
                    ec
                };
                [0, 1, 2].map(|a| {
                    let mut acc = vec![0];
                    for c in &ec[a] {
                        acc.push(acc.last().unwrap() + c);
                    }
                    acc
                })
            });
            for i in 0..grid[0] {
                for j in 0..grid[1] {
                    for k in 0..grid[2] {
                        let idx = [i, j, k];
                        let mut start = [0i64; 3];
                        let mut end = [0i64; 3];
                        for a in 0..3 {
                            let s0 = (idx[a] * chunks[a]) as i64;
                            let e0 = (((idx[a] + 1) * chunks[a]).min(shape[a])) as i64;
                            let d = depth[a] as i64;
                            (start[a], end[a]) = b.widen(s0, e0, d, shape[a] as i64);
                        }
                        let (got, _) = gather(&cache, shape, chunks, start, end, b).unwrap();
                        let want = match &offsets {
                            Some(o) => expected
                                .slice(s![
                                    o[0][i as usize]..o[0][i as usize + 1],
                                    o[1][j as usize]..o[1][j as usize + 1],
                                    o[2][k as usize]..o[2][k as usize + 1]
                                ])
                                .to_owned(),
                            None => {
                                let p = [0, 1, 2].map(|a| (start[a] + depth[a] as i64) as usize);
                                let q = [0, 1, 2].map(|a| (end[a] + depth[a] as i64) as usize);
                                expected
                                    .slice(s![p[0]..q[0], p[1]..q[1], p[2]..q[2]])
                                    .to_owned()
                            }
                        };
                        assert_eq!(got, want, "case {n} ({case}) chunk {idx:?}");
                        blocks_checked += 1;
                    }
                }
            }
        }
        assert!(blocks_checked > 300, "{blocks_checked}");
    }
}
