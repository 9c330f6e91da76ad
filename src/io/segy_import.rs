//! `attr convert segy`: a post-stack SEG-Y volume to a Zarr dataset that
//! `attr run`, `attr view` and `xarray.open_zarr` read.

use crate::io::segy::{scaled, Keys, Segy, TraceField};
use crate::progress::Progress;
use crate::store::dtype::Sample;
use crate::store::{ArraySpec, Compression, Dtype, Format, NewDataset};
use crate::with_dtype;
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;
use zarrs::array::ArraySubset;

pub struct ImportOptions {
    /// Where the geometry is in the trace headers.
    pub keys: Keys,
    /// Sub-volume: inclusive line-number ranges and a sample selection.
    pub inlines: Option<Span>,
    pub crosslines: Option<Span>,
    pub samples: Option<Span>,
    /// Sample selection by time, ms (inclusive).
    pub time: Option<(f64, f64)>,
    pub native: bool,
    pub chunks: Option<Vec<u64>>,
    pub format: Format,
    pub compression: Compression,
    pub fill: Option<f64>,
    /// Traces of only zeros are missing.
    pub dead_as_missing: bool,
    pub overwrite: bool,
    pub quiet: bool,
}

/// `A:B[:STEP]`, inclusive at both ends, as `--inlines 100:300:2` gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub first: i64,
    pub last: i64,
    pub step: i64,
}

impl std::str::FromStr for Span {
    type Err = String;
    fn from_str(v: &str) -> std::result::Result<Span, String> {
        let parts: Vec<&str> = v.split(':').collect();
        let num = |p: &str| {
            p.trim()
                .parse::<i64>()
                .map_err(|_| format!("'{v}': '{p}' is not a whole number (give A:B or A:B:STEP)"))
        };
        let (first, last, step) = match parts.as_slice() {
            [a, b] => (num(a)?, num(b)?, 1),
            [a, b, c] => (num(a)?, num(b)?, num(c)?),
            _ => return Err(format!("'{v}': give A:B or A:B:STEP (inclusive)")),
        };
        if step <= 0 || last < first {
            return Err(format!("'{v}': need A <= B and a positive STEP"));
        }
        Ok(Span { first, last, step })
    }
}

impl Span {
    /// Indices of `values` (a line-number axis) inside the span.
    fn select(&self, values: &[i32]) -> Vec<usize> {
        values
            .iter()
            .enumerate()
            .filter(|(_, &v)| {
                let v = v as i64;
                v >= self.first && v <= self.last && (v - self.first) % self.step == 0
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// The samples kept: `count` of them from `first`, every `step`.
#[derive(Clone, Copy)]
struct Samples {
    first: usize,
    step: usize,
    count: usize,
}

fn sample_selection(s: &Segy, o: &ImportOptions, name: &str) -> Result<Samples> {
    let ns = s.samples;
    let sel = match (o.samples, o.time) {
        (Some(_), Some(_)) => bail!("give --samples or --time, not both"),
        (Some(sp), None) => {
            if sp.first < 0 || sp.last >= ns as i64 {
                bail!(
                    "--samples {}:{}: '{name}' has samples 0..{} (indices, inclusive)",
                    sp.first,
                    sp.last,
                    ns - 1
                );
            }
            Samples {
                first: sp.first as usize,
                step: sp.step as usize,
                count: ((sp.last - sp.first) / sp.step + 1) as usize,
            }
        }
        (None, Some((a, b))) => {
            let times = s.times();
            let eps = s.dt_us / 1000.0 * 1e-6;
            let inside: Vec<usize> = (0..ns)
                .filter(|&k| times[k] >= a - eps && times[k] <= b + eps)
                .collect();
            if inside.is_empty() || b < a {
                bail!(
                    "--time {a}:{b}: '{name}' records {} .. {} ms",
                    times[0],
                    times[ns - 1]
                );
            }
            Samples {
                first: inside[0],
                step: 1,
                count: inside.len(),
            }
        }
        (None, None) => Samples {
            first: 0,
            step: 1,
            count: ns,
        },
    };
    Ok(sel)
}

/// A trace converted exactly to the output type.
trait FromSegy: Sized {
    fn trace(s: &Segy, t: usize, scratch: &mut [f64], out: &mut [Self]);
}

macro_rules! from_segy_via_f64 {
    ($($t:ty),*) => {$(
        impl FromSegy for $t {
            fn trace(s: &Segy, t: usize, scratch: &mut [f64], out: &mut [Self]) {
                s.trace_f64(t, scratch);
                for (o, v) in out.iter_mut().zip(scratch.iter()) {
                    *o = *v as $t;
                }
            }
        }
    )*};
}
from_segy_via_f64!(i8, i16, i32, u8, u16, u32, f64);

// the common case, decoded straight to f32
impl FromSegy for f32 {
    fn trace(s: &Segy, t: usize, scratch: &mut [f64], out: &mut [Self]) {
        if !s.trace_f32(t, out) {
            s.trace_f64(t, scratch);
            for (o, v) in out.iter_mut().zip(scratch.iter()) {
                *o = *v as f32;
            }
        }
    }
}

/// Summary of one trace: min, max, sum and count of the finite values, and
/// whether every value is zero. Eight lanes without branches, so it vectorises.
fn trace_stats<T: Sample>(v: &[T]) -> (f32, f32, f64, u64, bool) {
    let mut lo = [f32::INFINITY; 8];
    let mut hi = [f32::NEG_INFINITY; 8];
    let mut sum = [0f32; 8];
    let mut count = [0u32; 8];
    let mut nonzero = [false; 8];
    for c in v.chunks(8) {
        for (l, x) in c.iter().enumerate() {
            let x = x.to_f32();
            let finite = x.is_finite();
            lo[l] = lo[l].min(if finite { x } else { f32::INFINITY });
            hi[l] = hi[l].max(if finite { x } else { f32::NEG_INFINITY });
            sum[l] += if finite { x } else { 0.0 };
            count[l] += finite as u32;
            nonzero[l] |= x != 0.0;
        }
    }
    (
        lo.iter().copied().fold(f32::INFINITY, f32::min),
        hi.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        sum.iter().map(|&v| v as f64).sum(),
        count.iter().map(|&v| v as u64).sum(),
        !nonzero.contains(&true),
    )
}

// 64-bit integers bypass f64, which cannot hold them all
impl FromSegy for i64 {
    fn trace(s: &Segy, t: usize, _: &mut [f64], out: &mut [Self]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = s.sample_u64_bits(t, k) as i64;
        }
    }
}

impl FromSegy for u64 {
    fn trace(s: &Segy, t: usize, _: &mut [f64], out: &mut [Self]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = s.sample_u64_bits(t, k);
        }
    }
}

/// What of the file goes into the dataset: the lines, samples and offsets
/// selected, as indices into the file's axes and as their values.
struct Selection {
    isel: Vec<usize>,
    xsel: Vec<usize>,
    samples: Samples,
    inlines: Vec<i32>,
    crosslines: Vec<i32>,
    times: Vec<f64>,
    /// Offsets per cell (1 for post-stack).
    offsets: usize,
    /// Pre-stack: an offset axis between crossline and sample.
    gathers: bool,
    /// A 2-D line keyed by cdp: no crossline axis.
    line: bool,
}

impl Selection {
    fn new(s: &Segy, o: &ImportOptions, name: &str) -> Result<Selection> {
        let pick = |span: &Option<Span>, values: &[i32], what: &str| -> Result<Vec<usize>> {
            let Some(sp) = span else {
                return Ok((0..values.len()).collect());
            };
            let v = sp.select(values);
            if v.is_empty() {
                bail!(
                    "--{what} {}:{}:{} selects none of '{name}'s {what} ({}..{})",
                    sp.first,
                    sp.last,
                    sp.step,
                    values[0],
                    values[values.len() - 1]
                );
            }
            Ok(v)
        };
        if s.line && o.crosslines.is_some() {
            bail!("--crosslines: a 2-D line has no crosslines; select traces with --inlines (the trace key)");
        }
        let isel = pick(&o.inlines, &s.inlines, "inlines")?;
        let xsel = pick(&o.crosslines, &s.crosslines, "crosslines")?;
        let samples = sample_selection(s, o, name)?;
        let all_times = s.times();
        Ok(Selection {
            inlines: isel.iter().map(|&i| s.inlines[i]).collect(),
            crosslines: xsel.iter().map(|&j| s.crosslines[j]).collect(),
            times: (0..samples.count)
                .map(|k| all_times[samples.first + k * samples.step])
                .collect(),
            isel,
            xsel,
            samples,
            offsets: s.offsets.len(),
            gathers: o.keys.offset.is_some(),
            line: s.line,
        })
    }

    fn shape(&self) -> (usize, usize, usize) {
        (
            self.inlines.len(),
            self.crosslines.len(),
            self.samples.count,
        )
    }

    fn cells(&self) -> usize {
        self.inlines.len() * self.crosslines.len() * self.offsets
    }

    /// The trace at (inline, crossline, offset) of the selection, if present.
    fn trace(&self, s: &Segy, i: usize, j: usize, k: usize) -> Option<usize> {
        s.trace_at_offset(self.isel[i], self.xsel[j], k)
    }

    fn key_axis(&self) -> &'static str {
        if self.line {
            "cdp"
        } else {
            "inline"
        }
    }

    /// Whole traces, unsubsampled: decoded straight into the output.
    fn whole_trace(&self, s: &Segy) -> bool {
        self.samples.first == 0 && self.samples.step == 1 && self.samples.count == s.samples
    }
}

/// Per cell: whether a trace is there; per position: its coordinates
/// (with the coordinate scalar; a gather's from its first offset present).
struct TraceTable {
    mask: Vec<u8>,
    cdp_x: Vec<f64>,
    cdp_y: Vec<f64>,
}

impl TraceTable {
    fn read(s: &Segy, sel: &Selection) -> TraceTable {
        let (ni, nx, _) = sel.shape();
        let no = sel.offsets;
        let mut t = TraceTable {
            mask: vec![0u8; sel.cells()],
            cdp_x: vec![f64::NAN; ni * nx],
            cdp_y: vec![f64::NAN; ni * nx],
        };
        let (co_scal, cdp_x, cdp_y) = (
            s.field(TraceField::CoordinateScalar),
            s.field(TraceField::CdpX),
            s.field(TraceField::CdpY),
        );
        // release the header pages read, a few thousand at a time
        let mut touched = (usize::MAX, 0usize, 0usize);
        for i in 0..ni {
            for j in 0..nx {
                for k in (0..no).rev() {
                    let Some(tr) = sel.trace(s, i, j, k) else {
                        continue;
                    };
                    touched = (touched.0.min(tr), touched.1.max(tr), touched.2 + 1);
                    if touched.2 == 4096 {
                        s.release(touched.0, touched.1);
                        touched = (usize::MAX, 0, 0);
                    }
                    let sc = s.value_of(tr, &co_scal);
                    t.mask[(i * nx + j) * no + k] = 1;
                    t.cdp_x[i * nx + j] = scaled(s.value_of(tr, &cdp_x), sc);
                    t.cdp_y[i * nx + j] = scaled(s.value_of(tr, &cdp_y), sc);
                }
            }
        }
        if touched.2 > 0 {
            s.release(touched.0, touched.1);
        }
        t
    }

    fn live(&self) -> usize {
        self.mask.iter().filter(|&&m| m == 1).count()
    }
}

/// The dataset's grid: the axes ahead of the samples (name, length, chunk)
/// and the chunk shape per (key axis, crossline, sample).
struct Grid {
    lead: Vec<(&'static str, u64, u64)>,
    /// Trace positions: the lead axes without the offset.
    positions: usize,
    chunks: [u64; 3],
}

impl Grid {
    fn new(o: &ImportOptions, sel: &Selection) -> Result<Grid> {
        let (ni, nx, ns) = sel.shape();
        let chunks: [u64; 3] = match (&o.chunks, sel.line) {
            (Some(c), false) if c.len() == 3 && !c.contains(&0) => [c[0], c[1], c[2]],
            (Some(c), true) if c.len() == 2 && !c.contains(&0) => [c[0], 1, c[1]],
            (Some(c), false) => {
                bail!("--chunks {c:?}: give three positive sizes, e.g. --chunks 64,64,128")
            }
            (Some(c), true) => {
                bail!("--chunks {c:?}: a 2-D line takes two positive sizes (traces, samples), e.g. --chunks 1024,128")
            }
            (None, false) => [64, 64, 128],
            (None, true) => [1024, 1, 128],
        };
        let chunks = [
            chunks[0].min(ni as u64),
            chunks[1].min(nx as u64),
            chunks[2].min(ns as u64),
        ];
        let mut lead = vec![(sel.key_axis(), ni as u64, chunks[0])];
        if !sel.line {
            lead.push(("crossline", nx as u64, chunks[1]));
        }
        let positions = lead.len();
        if sel.gathers {
            lead.push(("offset", sel.offsets as u64, sel.offsets as u64));
        }
        Ok(Grid {
            lead,
            positions,
            chunks,
        })
    }

    /// The lead axes' lengths, then `inner`.
    fn shape(&self, inner: &[u64]) -> Vec<u64> {
        let mut v: Vec<u64> = self.lead.iter().map(|a| a.1).collect();
        v.extend_from_slice(inner);
        v
    }

    /// The lead axes' names, then `last`.
    fn dims(&self, last: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = self.lead.iter().map(|a| a.0.to_string()).collect();
        v.extend(last.iter().map(|s| s.to_string()));
        v
    }

    /// The lead axes' chunks, then `inner`.
    fn chunks(&self, inner: u64) -> Vec<u64> {
        let mut v: Vec<u64> = self.lead.iter().map(|a| a.2).collect();
        v.push(inner);
        v
    }

    fn position_shape(&self) -> Vec<u64> {
        self.lead[..self.positions].iter().map(|a| a.1).collect()
    }

    fn position_dims(&self) -> Vec<String> {
        self.lead[..self.positions]
            .iter()
            .map(|a| a.0.to_string())
            .collect()
    }
}

/// The dataset's attributes: where it came from, the SEG-Y headers as
/// text and raw, and how the geometry was read.
fn attributes(s: &Segy, input: &Path, sel: &Selection) -> Map<String, Value> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (ni, nx, _) = sel.shape();
    let ssel = &sel.samples;
    let mut attrs = Map::new();
    attrs.insert(
        "source_file".into(),
        json!(input.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    attrs.insert(
        "sample_interval_ms".into(),
        json!(s.dt_us / 1000.0 * ssel.step as f64),
    );
    attrs.insert("t0_ms".into(), json!(sel.times[0]));
    attrs.insert("sample_format".into(), json!(s.format.code()));
    attrs.insert(
        "byte_order".into(),
        json!(if s.big_endian { "big" } else { "little" }),
    );
    attrs.insert(
        "textual_header".into(),
        json!(crate::io::segy::decode_text(s.textual_header())),
    );
    attrs.insert(
        "textual_header_raw_base64".into(),
        json!(b64.encode(s.textual_header())),
    );
    attrs.insert(
        "binary_header_raw_base64".into(),
        json!(b64.encode(s.binary_header())),
    );
    let ext: Vec<String> = s
        .extended_headers()
        .chunks(3200)
        .map(crate::io::segy::decode_text)
        .collect();
    if !ext.is_empty() {
        attrs.insert("extended_textual_headers".into(), json!(ext));
        attrs.insert(
            "extended_textual_headers_raw_base64".into(),
            json!(b64.encode(s.extended_headers())),
        );
    }
    attrs.insert(
        if sel.line { "cdp_byte" } else { "iline_byte" }.into(),
        json!(s.iline_field.byte),
    );
    if let Some(x) = s.xline_field {
        attrs.insert("xline_byte".into(), json!(x.byte));
    }
    if s.layout.is_some() {
        attrs.insert(
            "trace_header_layout".into(),
            json!("SEG-Y rev 2.1 XML layout"),
        );
    }
    if ni < s.inlines.len() || nx < s.crosslines.len() || ssel.count < s.samples {
        attrs.insert(
            "subvolume".into(),
            json!({"inlines": [sel.inlines[0], sel.inlines[ni - 1]],
                   "crosslines": [sel.crosslines[0], sel.crosslines[nx - 1]],
                   "samples": [ssel.first, ssel.first + (ssel.count - 1) * ssel.step, ssel.step]}),
        );
    }
    attrs
}

/// Declare the arrays and write the small ones: axes, mask, coordinates.
fn write_skeleton(
    ds: &NewDataset,
    s: &Segy,
    sel: &Selection,
    grid: &Grid,
    table: &TraceTable,
    dtype: Dtype,
) -> Result<()> {
    let (ni, nx, ns) = sel.shape();
    let arr = |name: &str,
               shape: &[u64],
               chunks: &[u64],
               dtype: Dtype,
               dims: &[String],
               attributes: Map<String, Value>| {
        let spec = ArraySpec {
            shape,
            chunks,
            inner: None,
            dtype,
            dims,
            attributes,
            null_fill: false,
            compression: None,
            fill: None,
        };
        ds.array(name, spec)
    };
    let mut amp_attrs = Map::new();
    amp_attrs.insert("long_name".into(), json!("amplitude"));
    arr(
        "amplitude",
        &grid.shape(&[ns as u64]),
        &grid.chunks(grid.chunks[2]),
        dtype,
        &grid.dims(&["time"]),
        amp_attrs,
    )?;
    let mut hdr_attrs = Map::new();
    hdr_attrs.insert(
        "description".into(),
        json!("the 240-byte trace headers as stored in the file (byte order as the file)"),
    );
    arr(
        "trace_headers",
        &grid.shape(&[240]),
        &grid.chunks(240),
        Dtype::Uint8,
        &grid.dims(&["header_byte"]),
        hdr_attrs,
    )?;
    let usize_shape = |v: Vec<u64>| v.iter().map(|&n| n as usize).collect::<Vec<_>>();
    let mask_shape = grid.shape(&[]);
    ds.whole(
        "trace_mask",
        Dtype::Uint8,
        &grid.dims(&[]),
        ArrayD::from_shape_vec(IxDyn(&usize_shape(mask_shape)), table.mask.clone())?,
        Map::new(),
        None,
    )?;
    let positions = IxDyn(&usize_shape(grid.position_shape()));
    for (name, v) in [("cdp_x", &table.cdp_x), ("cdp_y", &table.cdp_y)] {
        let data = ArrayD::from_shape_vec(positions.clone(), v.clone())?;
        ds.whole(
            name,
            Dtype::Float64,
            &grid.position_dims(),
            data,
            Map::new(),
            None,
        )?;
    }
    ds.coordinate(
        sel.key_axis(),
        Dtype::Int32,
        sel.inlines.clone(),
        Map::new(),
        None,
    )?;
    if !sel.line {
        ds.coordinate(
            "crossline",
            Dtype::Int32,
            sel.crosslines.clone(),
            Map::new(),
            None,
        )?;
    }
    let mut ms = Map::new();
    ms.insert("units".into(), json!("ms"));
    ds.coordinate("time", Dtype::Float64, sel.times.clone(), ms, None)?;
    if sel.gathers {
        ds.coordinate("offset", Dtype::Int32, s.offsets.clone(), Map::new(), None)?;
    }
    debug_assert_eq!(ni * nx * sel.offsets, table.mask.len());
    Ok(())
}

/// Amplitude range, sum and count of the live samples, and dead traces.
type TraceSummary = (f64, f64, f64, u64, usize);

/// A column of chunks: inlines `i`, crosslines `j`, every sample.
struct Column {
    i: std::ops::Range<usize>,
    j: std::ops::Range<usize>,
}

/// Read the traces of `col` into `data` (`samples` values per cell, cells
/// inline-major, offsets innermost) and their headers into `headers`; a
/// missing trace, and a dead one when asked, becomes `fill`. Returns the
/// column's summary and the first and last trace read.
#[allow(clippy::too_many_arguments)]
fn read_column<T: Sample + FromSegy>(
    s: &Segy,
    sel: &Selection,
    o: &ImportOptions,
    col: &Column,
    fill: f64,
    data: &mut [T],
    headers: &mut [u8],
    dead_cells: &std::sync::Mutex<Vec<usize>>,
) -> (TraceSummary, usize, usize) {
    let (_, nx, ns) = sel.shape();
    let no = sel.offsets;
    let (i0, j0, cols) = (col.i.start, col.j.start, col.j.len());
    let whole_trace = sel.whole_trace(s);
    let ssel = &sel.samples;
    let mut st = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0u64, 0usize);
    let (mut first, mut last) = (usize::MAX, 0);
    let fill = T::from_f64(fill);
    let mut scratch = vec![0f64; s.samples];
    let mut full: Vec<T> = if whole_trace {
        Vec::new()
    } else {
        vec![T::from_f32(0.0); s.samples]
    };
    for i in col.i.clone() {
        for j in col.j.clone() {
            for k in 0..no {
                let cell = ((i - i0) * cols + (j - j0)) * no + k;
                let base = cell * ns;
                let Some(t) = sel.trace(s, i, j, k) else {
                    data[base..base + ns].fill(fill);
                    continue;
                };
                first = first.min(t);
                last = last.max(t);
                let out = &mut data[base..base + ns];
                if whole_trace {
                    T::trace(s, t, &mut scratch, out);
                } else {
                    T::trace(s, t, &mut scratch, &mut full);
                    for (q, v) in out.iter_mut().enumerate() {
                        *v = full[ssel.first + q * ssel.step];
                    }
                }
                let (lo, hi, sum, n, zero) = trace_stats(out);
                if zero && o.dead_as_missing {
                    out.fill(fill);
                    dead_cells
                        .lock()
                        .expect("dead cells")
                        .push(((i * nx + j) * no) + k);
                }
                st = (
                    st.0.min(lo as f64),
                    st.1.max(hi as f64),
                    st.2 + sum,
                    st.3 + n,
                    st.4 + usize::from(zero),
                );
                headers[cell * 240..(cell + 1) * 240].copy_from_slice(s.trace_header(t));
            }
        }
    }
    (st, first, last)
}

/// The traces, a column of chunks at a time, in parallel: memory is
/// bounded by (threads × column), never the whole file. Returns the summary
/// and, with `--dead-as-missing`, the cells whose traces held only zeros.
fn write_traces(
    ds: &NewDataset,
    s: &Segy,
    o: &ImportOptions,
    sel: &Selection,
    grid: &Grid,
    dtype: Dtype,
    fill: f64,
) -> Result<(TraceSummary, Vec<usize>)> {
    let (ni, nx, ns) = sel.shape();
    let no = sel.offsets;
    let chunks = grid.chunks;
    let amp = ds.open("amplitude")?;
    let hdr = ds.open("trace_headers")?;
    let dead_cells = std::sync::Mutex::new(Vec::<usize>::new());
    // tasks: columns of chunks (chunk-thick in inline and crossline, all
    // samples), so every chunk is written whole, once
    let tasks: Vec<(usize, usize)> = (0..ni)
        .step_by(chunks[0] as usize)
        .flat_map(|i0| (0..nx).step_by(chunks[1] as usize).map(move |j0| (i0, j0)))
        .collect();
    let progress = Progress::counting(sel.cells() as u64, "convert", o.quiet, "traces");
    // each worker reuses its buffers: fresh ones cost a page fault and a
    // zeroed page per 4 KiB, a sizeable share of a conversion
    type Buffers = (Option<Box<dyn std::any::Any + Send>>, Vec<u8>);
    let stats = tasks
        .par_iter()
        .map_init(
            || -> Buffers { (None, Vec::new()) },
            |(typed, headers), &(i0, j0)| -> Result<TraceSummary> {
                let st: TraceSummary;
                let (first, last): (usize, usize);
                let i1 = (i0 + chunks[0] as usize).min(ni);
                let j1 = (j0 + chunks[1] as usize).min(nx);
                let (rows, cols) = (i1 - i0, j1 - j0);
                headers.clear();
                headers.resize(rows * cols * no * 240, 0);
                // the task's region and shape, with `inner` values per trace
                let region = |inner: u64| -> (ArraySubset, Vec<usize>) {
                    let mut shape = grid.shape(&[inner]);
                    let mut ranges: Vec<std::ops::Range<u64>> =
                        shape.iter().map(|&n| 0..n).collect();
                    shape[0] = rows as u64;
                    ranges[0] = i0 as u64..i1 as u64;
                    if !sel.line {
                        shape[1] = cols as u64;
                        ranges[1] = j0 as u64..j1 as u64;
                    }
                    (
                        ArraySubset::new_with_ranges(&ranges),
                        shape.iter().map(|&v| v as usize).collect(),
                    )
                };
                with_dtype!(dtype, T, {
                    let data: &mut Vec<T> = typed
                        .get_or_insert_with(|| Box::new(Vec::<T>::new()))
                        .downcast_mut()
                        .expect("one dtype per conversion");
                    // every cell below is written (a trace or the fill):
                    // the buffer is not zeroed again for each column
                    data.resize(rows * cols * no * ns, T::from_f32(0.0));
                    let column = Column {
                        i: i0..i1,
                        j: j0..j1,
                    };
                    (st, first, last) =
                        read_column(s, sel, o, &column, fill, data, headers, &dead_cells);
                    let (subset, shape) = region(ns as u64);
                    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
                    amp.store_array_subset(&subset, &data[..])
                        .context("amplitude")?;
                });
                let (subset, _) = region(240);
                hdr.store_array_subset(&subset, &headers[..])
                    .context("trace_headers")?;
                // an inline-sorted file read in columns touches each page once
                // per column: dropping whole-inline spans only when the column
                // is the last of its row keeps the pages for the next column
                if first <= last {
                    s.release(first, last);
                }
                progress.advance(
                    (rows * cols * no) as u64,
                    (rows * cols * no * ns * dtype.size()) as u64,
                );
                Ok(st)
            },
        )
        .collect::<Result<Vec<_>>>()?;
    progress.finish();
    let summary = stats.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0u64, 0usize),
        |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3 + b.3, a.4 + b.4),
    );
    Ok((summary, dead_cells.into_inner().expect("dead cells")))
}

/// `attr convert segy`: open, select, lay out, write, publish, summarise.
pub fn segy(input: &Path, output: &Path, o: &ImportOptions) -> Result<()> {
    let s = Segy::open_keys(input, &o.keys)?;
    let name = input.display().to_string();
    let sel = Selection::new(&s, o, &name)?;
    let mut table = TraceTable::read(&s, &sel);
    let live = table.live();
    let cells = sel.cells();
    let dtype = if o.native {
        s.native_dtype()
    } else {
        Dtype::Float32
    };
    if o.fill.is_none() && !dtype.is_float() && live < cells {
        bail!("'{name}' has missing traces and native integer samples: give --fill VALUE for them");
    }
    let fill = o.fill.unwrap_or(f64::NAN);
    let grid = Grid::new(o, &sel)?;
    let at = crate::store::Location::parse(output, &Default::default())?;
    let ds = NewDataset::create(&at, o.format, o.compression, o.overwrite)?;
    ds.group(&attributes(&s, input, &sel))?;
    write_skeleton(&ds, &s, &sel, &grid, &table, dtype)?;
    let ((lo, hi, sum, n, dead), dead_cells) = write_traces(&ds, &s, o, &sel, &grid, dtype, fill)?;
    if !dead_cells.is_empty() {
        for c in &dead_cells {
            table.mask[*c] = 0;
        }
        let shape: Vec<usize> = grid.shape(&[]).iter().map(|&n| n as usize).collect();
        ds.fill(
            "trace_mask",
            ArrayD::from_shape_vec(IxDyn(&shape), table.mask)?,
        )?;
    }
    ds.publish()?;
    if !o.quiet {
        let (ni, nx, ns) = sel.shape();
        let (inl, xl) = (&sel.inlines, &sel.crosslines);
        let geometry = if sel.line {
            format!("{ni} traces (cdp {}..{})", inl[0], inl[ni - 1])
        } else {
            format!(
                "{ni} inlines ({}..{}) × {nx} crosslines ({}..{})",
                inl[0],
                inl[ni - 1],
                xl[0],
                xl[nx - 1]
            )
        };
        crate::noteln!(
            "attr: {} -> {}: {geometry}{} × {ns} samples ({} ms from {} ms), format {} ({} endian), {} live traces, {dead} dead (all zero), {} missing; amplitudes {lo} .. {hi}, mean {:.6}; stored as {}",
            input.display(),
            output.display(),
            if sel.gathers { format!(" × {} offsets", sel.offsets) } else { String::new() },
            s.dt_us / 1000.0 * sel.samples.step as f64,
            sel.times[0],
            s.format.code(),
            if s.big_endian { "big" } else { "little" },
            live - dead,
            cells - live,
            sum / n.max(1) as f64,
            dtype.v3_name()
        );
    }
    Ok(())
}
