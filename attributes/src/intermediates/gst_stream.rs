//! The smoothed structure tensor of a block without nulls, streamed plane
//! by plane along the first axis. The separable passes are those of
//! [`crate::gst`]'s whole-array version, but each plane of every stage is
//! made when the next stage first needs it and kept only while a window of
//! that stage reads it: the working set is a few rings of planes that stay
//! in the processor's cache, instead of a dozen block-sized arrays written
//! and read back through memory. The results differ from the whole-array
//! passes only in the rounding of the first axis's sums.

use crate::convolve::{
    combine, combine_rows, dilate, fill_line, gaussian_radius, gaussian_taps, origin, parity,
    shift, Parity, Region, ROWS,
};
use crate::window::symmetric_index;
use ndarray::{s, Array3, ArrayView3};

/// The six distinct tensor components, as index pairs of the gradient.
pub(crate) const PAIRS: [(usize, usize); 6] = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)];

/// Planes of one stage, the last `slots` made, each `plane` samples long,
/// in one buffer so that a pass along the first axis reads them as rows.
struct Ring {
    data: Vec<f32>,
    plane: usize,
    slots: usize,
    /// The next plane to make.
    next: usize,
}

impl Ring {
    fn new(slots: usize, plane: usize, first: usize) -> Ring {
        Ring {
            data: vec![0f32; slots * plane],
            plane,
            slots,
            next: first,
        }
    }

    /// Where plane `p` starts in `data`.
    fn at(&self, p: usize) -> usize {
        (p % self.slots) * self.plane
    }

    fn slot_mut(&mut self, p: usize) -> &mut [f32] {
        let at = self.at(p);
        &mut self.data[at..at + self.plane]
    }
}

/// The taps of a Gaussian pass and their symmetry.
struct Taps {
    w: Vec<f32>,
    parity: Parity,
}

impl Taps {
    fn new(sigma: f64, order: usize) -> Taps {
        let w = gaussian_taps(sigma, order);
        let parity = parity(&w);
        Taps { w, parity }
    }
}

/// Row offsets of a pass along an axis of `n` samples: for each output
/// position `start + o`, the rows `symmetric(start + o + m − r)` times
/// `stride`, m over the taps.
fn row_offsets(start: usize, count: usize, taps: usize, n: usize, stride: usize) -> Vec<usize> {
    let r = (taps / 2) as isize;
    let mut offs = Vec::with_capacity(count * taps);
    for o in 0..count {
        for m in 0..taps {
            offs.push(symmetric_index((start + o + m) as isize - r, n) * stride);
        }
    }
    offs
}

/// `gaussian_filter(g_a·g_c, st)` at `region` for the six pairs, where g
/// are the σ_gradient derivative-of-Gaussian gradients of `block`: the
/// same values as the whole-array passes, in a standard-layout array per
/// component. `sg` and `st` must be positive.
pub(crate) fn smoothed_tensor(
    block: ArrayView3<f32>,
    sg: f64,
    st: f64,
    region: &Region,
) -> Vec<Array3<f32>> {
    let (b0, b1, b2) = block.dim();
    let (rg, rt) = (gaussian_radius(sg), gaussian_radius(st));
    // the gradients are needed at `gr`, the tensor at `inner` of it
    let gr = dilate(region, [rt; 3], block.dim());
    let g = [0, 1, 2].map(|a| gr[a].len());
    let inner = shift(region, origin(&gr));
    let c = [0, 1, 2].map(|a| region[a].len());
    let (smooth, slope, tensor) = (Taps::new(sg, 0), Taps::new(sg, 1), Taps::new(st, 0));
    let (tg, tt) = (smooth.w.len(), tensor.w.len());

    // stage 1, per block plane: the sample-axis passes (smooth and
    // slope), then the crossline passes giving the three products of two
    // passes that the gradients' last (inline) passes read
    let gplane = g[1] * g[2];
    let mut stage1: [Ring; 3] =
        std::array::from_fn(|_| Ring::new(tg, gplane, gr[0].start.saturating_sub(rg)));
    let sample_offs: Vec<usize> = (0..tg).collect();
    let cross_offs = row_offsets(gr[1].start, g[1], tg, b1, g[2]);
    let (mut s2, mut d2) = (vec![0f32; b1 * g[2]], vec![0f32; b1 * g[2]]);
    let mut line = vec![0f32; g[2] + 2 * rg];
    let mut trace = Vec::with_capacity(b2);
    let first = gr[2].start as isize - rg as isize;
    let mut make_stage1 = |b: usize, rings: &mut [Ring; 3]| {
        for j in 0..b1 {
            let lane = block.slice(s![b, j, ..]);
            let whole = lane
                .as_slice()
                .filter(|_| first >= 0 && first as usize + line.len() <= b2);
            let base = match whole {
                Some(t) => &t[first as usize..first as usize + line.len()],
                None => {
                    trace.clear();
                    trace.extend(lane.iter());
                    fill_line(&mut line, &trace, first);
                    &line[..]
                }
            };
            let row = j * g[2]..(j + 1) * g[2];
            combine(
                &mut s2[row.clone()],
                base,
                &sample_offs,
                &smooth.w,
                smooth.parity,
            );
            combine(&mut d2[row], base, &sample_offs, &slope.w, slope.parity);
        }
        let passes = [(&s2, &smooth), (&s2, &slope), (&d2, &smooth)];
        for (ring, (src, taps)) in rings.iter_mut().zip(passes) {
            let dst = ring.slot_mut(b);
            for (o, row) in dst.chunks_exact_mut(g[2]).enumerate() {
                let offs = &cross_offs[o * tg..(o + 1) * tg];
                combine(row, src, offs, &taps.w, taps.parity);
            }
        }
    };

    // stage 2, per plane of `gr`: the gradients (inline passes of stage 1),
    // their six products smoothed along the sample and crossline axes
    let tplane = c[1] * c[2];
    let mut stage2: Vec<Ring> = (0..6)
        .map(|_| Ring::new(tt + ROWS - 1, tplane, inner[0].start.saturating_sub(rt)))
        .collect();
    let mut grads = vec![vec![0f32; gplane]; 3];
    let mut inline_offs = vec![0usize; tg];
    let tensor_offs: Vec<usize> = (0..tt).collect();
    let tcross_offs = row_offsets(inner[1].start, c[1], tt, g[1], c[2]);
    let mut product = vec![0f32; g[2]];
    let mut tline = vec![0f32; c[2] + 2 * rt];
    let tfirst = inner[2].start as isize - rt as isize;
    let mut smoothed = vec![0f32; g[1] * c[2]];
    let mut make_stage2 = |p: usize, rings: &mut [Ring], s1: &mut [Ring; 3]| {
        // the block plane of `gr` plane p, and the stage-1 planes it reads
        let bp = gr[0].start + p;
        let last = (bp + rg).min(b0 - 1);
        while s1[0].next <= last {
            let b = s1[0].next;
            make_stage1(b, s1);
            for r in s1.iter_mut() {
                r.next = b + 1;
            }
        }
        for (m, o) in inline_offs.iter_mut().enumerate() {
            *o = s1[0].at(symmetric_index((bp + m) as isize - rg as isize, b0));
        }
        // ∂x = D₀G₁G₂, ∂y = G₀D₁G₂, ∂z = G₀G₁D₂
        let passes = [&slope, &smooth, &smooth];
        for ((grad, ring), taps) in grads.iter_mut().zip(s1.iter()).zip(passes) {
            combine(grad, &ring.data, &inline_offs, &taps.w, taps.parity);
        }
        for (ring, &(a, b)) in rings.iter_mut().zip(&PAIRS) {
            for j in 0..g[1] {
                let row = j * g[2]..(j + 1) * g[2];
                for ((v, x), y) in product
                    .iter_mut()
                    .zip(&grads[a][row.clone()])
                    .zip(&grads[b][row])
                {
                    *v = x * y;
                }
                let base = if tfirst >= 0 && tfirst as usize + tline.len() <= g[2] {
                    &product[tfirst as usize..tfirst as usize + tline.len()]
                } else {
                    fill_line(&mut tline, &product, tfirst);
                    &tline[..]
                };
                let dst = &mut smoothed[j * c[2]..(j + 1) * c[2]];
                combine(dst, base, &tensor_offs, &tensor.w, tensor.parity);
            }
            let dst = ring.slot_mut(p);
            for (o, row) in dst.chunks_exact_mut(c[2]).enumerate() {
                let offs = &tcross_offs[o * tt..(o + 1) * tt];
                combine(row, &smoothed, offs, &tensor.w, tensor.parity);
            }
        }
    };

    // stage 3: the inline pass of the tensor, ROWS output planes at once
    let mut out: Vec<Vec<f32>> = (0..6).map(|_| vec![0f32; c[0] * tplane]).collect();
    let mut scratch = vec![0f32; ROWS * tplane];
    let mut offs = vec![0usize; tt + ROWS - 1];
    let mut q = 0;
    while q < c[0] {
        let rows = ROWS.min(c[0] - q);
        let at = inner[0].start + q;
        let last = (at + rows - 1 + rt).min(g[0] - 1);
        while stage2[0].next <= last {
            let p = stage2[0].next;
            make_stage2(p, &mut stage2, &mut stage1);
            for r in stage2.iter_mut() {
                r.next = p + 1;
            }
        }
        // rows of outputs beyond the region repeat a row read anyway
        for (u, o) in offs.iter_mut().enumerate() {
            let u = u.min(tt + rows - 2);
            *o = stage2[0].at(symmetric_index((at + u) as isize - rt as isize, g[0]));
        }
        for (ring, dst) in stage2.iter().zip(out.iter_mut()) {
            let dst = &mut dst[q * tplane..(q + rows) * tplane];
            if rows == ROWS {
                combine_rows(dst, &ring.data, &offs, &tensor.w);
            } else {
                combine_rows(&mut scratch, &ring.data, &offs, &tensor.w);
                dst.copy_from_slice(&scratch[..rows * tplane]);
            }
        }
        q += rows;
    }
    out.into_iter()
        .map(|v| Array3::from_shape_vec((c[0], c[1], c[2]), v).expect("sized"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convolve::whole;

    /// Noise with a dipping layer: every tensor component non-trivial.
    fn block(shape: (usize, usize, usize)) -> Array3<f32> {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        Array3::from_shape_fn(shape, |(i, j, k)| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            (0.4 * (k as f32 - 0.3 * i as f32 + 0.2 * j as f32)).sin() * 50.0 + noise * 10.0
        })
    }

    #[test]
    fn streamed_planes_equal_whole_array_passes() {
        // a core with its halo, a region touching the block's faces (the
        // passes reflect there), output planes not a multiple of ROWS, and
        // fewer planes than ROWS; sigmas whose radii differ
        type Case = ((usize, usize, usize), Region, f64, f64);
        let cases: [Case; 4] = [
            ((28, 30, 33), [6..22, 6..24, 6..27], 1.0, 1.5),
            ((20, 17, 25), [0..13, 3..17, 0..25], 1.0, 2.0),
            ((9, 12, 40), [3..5, 0..12, 10..30], 0.7, 1.2),
            ((16, 16, 16), whole((16, 16, 16)), 1.5, 1.0),
        ];
        for (shape, region, sg, st) in cases {
            let b = block(shape);
            let got = smoothed_tensor(b.view(), sg, st, &region);
            let want = crate::gst::smoothed_tensor_by_arrays(b.view(), sg, st, &region);
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.dim(), w.dim());
                let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (x, y) in g.iter().zip(w) {
                    assert!((x - y).abs() <= 2e-6 * scale, "{x} vs {y} ({shape:?})");
                }
            }
        }
    }
}
