//! `attr convert segy`: a post-stack SEG-Y volume to a Zarr dataset that
//! `attr run`, `attr view` and `xarray.open_zarr` read.

use crate::segy::Segy;
use crate::store::atomic::AtomicFiles;
use crate::store::dtype::Sample;
use crate::store::metadata::{write_array, write_group, ArrayMeta};
use crate::store::{publish_staged, staging_path, Compression, Dtype, Format};
use crate::with_dtype;
use anyhow::{anyhow, bail, Result};
use base64::Engine as _;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;
use zarrs::array::{Array, ArraySubset};

pub struct Options {
    pub iline_byte: usize,
    /// Offset header byte: pre-stack gathers, an offset axis before the samples.
    pub offset_byte: Option<usize>,
    pub xline_byte: usize,
    pub native: bool,
    pub chunks: Option<Vec<u64>>,
    pub format: Format,
    pub compression: Compression,
    pub fill: Option<f64>,
    pub overwrite: bool,
    pub quiet: bool,
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
from_segy_via_f64!(i8, i16, i32, u8, u16, u32, f32, f64);

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

fn write_whole<T: zarrs::array::Element>(
    store: &Arc<AtomicFiles>,
    name: &str,
    data: ArrayD<T>,
) -> Result<()> {
    let array =
        Array::open(store.clone(), &format!("/{name}")).map_err(|e| anyhow!("{name}: {e}"))?;
    array
        .store_array_subset(&array.subset_all(), data)
        .map_err(|e| anyhow!("{name}: {e}"))?;
    Ok(())
}

pub fn segy(input: &Path, output: &Path, o: &Options) -> Result<()> {
    let s = Segy::open_gathers(input, o.iline_byte, o.xline_byte, o.offset_byte)?;
    let (ni, nx, ns) = (s.inlines.len(), s.crosslines.len(), s.samples);
    // pre-stack: an offset axis between crossline and sample
    let gathers = o.offset_byte.is_some();
    let no = s.offsets.len();
    let cells = ni * nx * no;
    let live = (0..cells)
        .filter(|&c| {
            s.trace_at_offset(c / (nx * no), c / no % nx, c % no)
                .is_some()
        })
        .count();
    // shapes: (inline, crossline[, offset]) followed by `inner`
    let grid = |inner: &[u64]| -> Vec<u64> {
        let mut v = vec![ni as u64, nx as u64];
        if gathers {
            v.push(no as u64);
        }
        v.extend_from_slice(inner);
        v
    };
    if output.exists() && !o.overwrite {
        bail!(
            "output '{}' already exists: pass --overwrite to replace it",
            output.display()
        );
    }
    let dtype = if o.native {
        s.native_dtype()
    } else {
        Dtype::Float32
    };
    if o.fill.is_none() && !dtype.is_float() && live < cells {
        bail!(
            "'{}' has missing traces and native integer samples: give --fill VALUE for them",
            input.display()
        );
    }
    let fill = o.fill.unwrap_or(f64::NAN);
    let chunks: [u64; 3] = match &o.chunks {
        Some(c) if c.len() == 3 && !c.contains(&0) => [c[0], c[1], c[2]],
        Some(c) => bail!("--chunks {c:?}: give three positive sizes, e.g. --chunks 64,64,128"),
        None => [64, 64, 128],
    };
    let chunks = [
        chunks[0].min(ni as u64),
        chunks[1].min(nx as u64),
        chunks[2].min(ns as u64),
    ];
    let staging = staging_path(output);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let dt_ms = s.dt_us as f64 / 1000.0;
    let mut attrs = Map::new();
    attrs.insert(
        "source_file".into(),
        json!(input.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    attrs.insert("sample_interval_ms".into(), json!(dt_ms));
    attrs.insert("t0_ms".into(), json!(s.t0_ms));
    attrs.insert("sample_format".into(), json!(s.format));
    attrs.insert(
        "byte_order".into(),
        json!(if s.big_endian { "big" } else { "little" }),
    );
    attrs.insert(
        "textual_header".into(),
        json!(crate::segy::decode_text(s.textual_header())),
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
        .map(crate::segy::decode_text)
        .collect();
    if !ext.is_empty() {
        attrs.insert("extended_textual_headers".into(), json!(ext));
        attrs.insert(
            "extended_textual_headers_raw_base64".into(),
            json!(b64.encode(s.extended_headers())),
        );
    }
    attrs.insert("iline_byte".into(), json!(o.iline_byte));
    attrs.insert("xline_byte".into(), json!(o.xline_byte));
    write_group(&staging, o.format, &attrs)?;
    let names = |last: &[&str]| -> Vec<String> {
        let mut v = vec!["inline".to_string(), "crossline".to_string()];
        if gathers {
            v.push("offset".into());
        }
        v.extend(last.iter().map(|s| s.to_string()));
        v
    };
    let (dims3, dims_mask) = (names(&["time"]), names(&[]));
    let dims2: Vec<String> = dims3[..2].to_vec();
    let (sh3, sh_mask, sh2) = (grid(&[ns as u64]), grid(&[]), [ni as u64, nx as u64]);
    let mut amp_chunks = vec![chunks[0], chunks[1]];
    if gathers {
        amp_chunks.push(no as u64);
    }
    amp_chunks.push(chunks[2]);
    let mut amp_attrs = Map::new();
    amp_attrs.insert("long_name".into(), json!("amplitude"));
    let arr = |name: &str,
               shape: &[u64],
               chunks: &[u64],
               dtype: Dtype,
               dims: &[String],
               attributes: Map<String, Value>| {
        let meta = ArrayMeta {
            shape,
            chunks,
            dtype,
            compression: o.compression,
            dims,
            attributes,
        };
        write_array(&staging.join(name), o.format, &meta)
    };
    arr("amplitude", &sh3, &amp_chunks, dtype, &dims3, amp_attrs)?;
    arr(
        "trace_mask",
        &sh_mask,
        &sh_mask,
        Dtype::Uint8,
        &dims_mask,
        Map::new(),
    )?;
    for c in ["cdp_x", "cdp_y"] {
        arr(c, &sh2, &sh2, Dtype::Float64, &dims2, Map::new())?;
    }
    let hdr_dims = names(&["header_byte"]);
    let mut hdr_attrs = Map::new();
    hdr_attrs.insert(
        "description".into(),
        json!("the 240-byte trace headers as stored in the file (byte order as the file)"),
    );
    let mut hdr_chunks = amp_chunks.clone();
    *hdr_chunks.last_mut().expect("non-empty") = 240;
    arr(
        "trace_headers",
        &grid(&[240]),
        &hdr_chunks,
        Dtype::Uint8,
        &hdr_dims,
        hdr_attrs,
    )?;
    let one = |name: &str, len: usize, dtype: Dtype, units: Option<&str>| {
        let mut a = Map::new();
        if let Some(u) = units {
            a.insert("units".into(), json!(u));
        }
        arr(
            name,
            &[len as u64],
            &[len.max(1) as u64],
            dtype,
            &[name.to_string()],
            a,
        )
    };
    one("inline", ni, Dtype::Int32, None)?;
    one("crossline", nx, Dtype::Int32, None)?;
    one("time", ns, Dtype::Float64, Some("ms"))?;
    if gathers {
        one("offset", no, Dtype::Int32, None)?;
    }
    let store = Arc::new(AtomicFiles::new(staging.clone(), false).map_err(|e| anyhow!(e))?);
    write_whole(
        &store,
        "inline",
        ArrayD::from_shape_vec(IxDyn(&[ni]), s.inlines.clone())?,
    )?;
    write_whole(
        &store,
        "crossline",
        ArrayD::from_shape_vec(IxDyn(&[nx]), s.crosslines.clone())?,
    )?;
    write_whole(
        &store,
        "time",
        ArrayD::from_shape_vec(IxDyn(&[ns]), s.times())?,
    )?;
    if gathers {
        write_whole(
            &store,
            "offset",
            ArrayD::from_shape_vec(IxDyn(&[no]), s.offsets.clone())?,
        )?;
    }
    // per trace: mask, coordinates (scalar at byte 71: 0 means 1), headers
    let mut mask = vec![0u8; cells];
    let mut cx = vec![f64::NAN; ni * nx];
    let mut cy = vec![f64::NAN; ni * nx];
    for i in 0..ni {
        for j in 0..nx {
            for k in (0..no).rev() {
                if let Some(t) = s.trace_at_offset(i, j, k) {
                    let sc = s.header_i16(t, 71) as f64;
                    let scale = |v: i32| match sc {
                        x if x > 0.0 => v as f64 * x,
                        x if x < 0.0 => v as f64 / -x,
                        _ => v as f64,
                    };
                    // a gather's position: from its first offset present
                    mask[(i * nx + j) * no + k] = 1;
                    cx[i * nx + j] = scale(s.header_i32(t, 181));
                    cy[i * nx + j] = scale(s.header_i32(t, 185));
                }
            }
        }
    }
    let mask_shape: Vec<usize> = sh_mask.iter().map(|&v| v as usize).collect();
    write_whole(
        &store,
        "trace_mask",
        ArrayD::from_shape_vec(IxDyn(&mask_shape), mask)?,
    )?;
    write_whole(
        &store,
        "cdp_x",
        ArrayD::from_shape_vec(IxDyn(&[ni, nx]), cx)?,
    )?;
    write_whole(
        &store,
        "cdp_y",
        ArrayD::from_shape_vec(IxDyn(&[ni, nx]), cy)?,
    )?;
    // the traces, a slab of chunk-thick inlines at a time, in parallel
    let amp = Array::open(store.clone(), "/amplitude").map_err(|e| anyhow!("amplitude: {e}"))?;
    let hdr =
        Array::open(store.clone(), "/trace_headers").map_err(|e| anyhow!("trace_headers: {e}"))?;
    let slabs: Vec<usize> = (0..ni).step_by(chunks[0] as usize).collect();
    // amplitude summary per slab: min, max, sum, count, dead (all-zero) traces
    let stats = slabs
        .par_iter()
        .map(|&i0| -> Result<(f64, f64, f64, u64, usize)> {
            let mut st = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0u64, 0usize);
            let i1 = (i0 + chunks[0] as usize).min(ni);
            let rows = i1 - i0;
            let mut headers = vec![0u8; rows * nx * no * 240];
            // the slab's region and shape, with `last` samples per trace
            let region = |last: u64| -> (ArraySubset, Vec<usize>) {
                let mut shape = grid(&[last]);
                shape[0] = rows as u64;
                let ranges: Vec<std::ops::Range<u64>> = shape
                    .iter()
                    .enumerate()
                    .map(|(a, &n)| if a == 0 { i0 as u64..i1 as u64 } else { 0..n })
                    .collect();
                (
                    ArraySubset::new_with_ranges(&ranges),
                    shape.iter().map(|&v| v as usize).collect(),
                )
            };
            with_dtype!(dtype, T, {
                let mut data: Vec<T> = vec![T::from_f32(0.0); rows * nx * no * ns];
                let mut scratch = vec![0f64; ns];
                for i in i0..i1 {
                    for j in 0..nx {
                        for k in 0..no {
                            let cell = ((i - i0) * nx + j) * no + k;
                            let base = cell * ns;
                            match s.trace_at_offset(i, j, k) {
                                Some(t) => {
                                    T::trace(&s, t, &mut scratch, &mut data[base..base + ns]);
                                    let mut all_zero = true;
                                    for v in &data[base..base + ns] {
                                        let v = v.to_f32() as f64;
                                        if v.is_finite() {
                                            st = (
                                                st.0.min(v),
                                                st.1.max(v),
                                                st.2 + v,
                                                st.3 + 1,
                                                st.4,
                                            );
                                        }
                                        all_zero &= v == 0.0;
                                    }
                                    st.4 += usize::from(all_zero);
                                    headers[cell * 240..(cell + 1) * 240]
                                        .copy_from_slice(s.trace_header(t));
                                }
                                None => data[base..base + ns].fill(fill as T),
                            }
                        }
                    }
                }
                let (subset, shape) = region(ns as u64);
                amp.store_array_subset(&subset, ArrayD::from_shape_vec(IxDyn(&shape), data)?)
                    .map_err(|e| anyhow!("amplitude: {e}"))?;
            });
            let (subset, shape) = region(240);
            hdr.store_array_subset(&subset, ArrayD::from_shape_vec(IxDyn(&shape), headers)?)
                .map_err(|e| anyhow!("trace_headers: {e}"))?;
            Ok(st)
        })
        .collect::<Result<Vec<_>>>()?;
    let (lo, hi, sum, n, dead) = stats.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0u64, 0usize),
        |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3 + b.3, a.4 + b.4),
    );
    publish_staged(&staging, output, o.format)?;
    if !o.quiet {
        eprintln!(
            "attr: {} -> {}: {ni} inlines ({}..{}) × {nx} crosslines ({}..{}){} × {ns} samples ({} ms from {} ms), format {} ({} endian), {} live traces, {dead} dead (all zero), {} missing; amplitudes {lo} .. {hi}, mean {:.6}; stored as {}",
            input.display(),
            output.display(),
            s.inlines[0],
            s.inlines[ni - 1],
            s.crosslines[0],
            s.crosslines[nx - 1],
            if gathers { format!(" × {no} offsets") } else { String::new() },
            dt_ms,
            s.t0_ms,
            s.format,
            if s.big_endian { "big" } else { "little" },
            live - dead,
            cells - live,
            sum / n.max(1) as f64,
            dtype.v3_name()
        );
    }
    Ok(())
}
