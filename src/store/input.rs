//! The input volume: one array, plus what surrounds it in its dataset
//! (dimension names, coordinate arrays, user attributes).

use super::adapters::prefetch::Prefetching;
use super::null_values::Decoding;
use super::{node_kind_in, read_json, read_key, Dtype, Format, Location, NodeKind, ReadStore};
use crate::store::dtype::{identical, Sample};
use crate::with_dtype;
use anyhow::{anyhow, bail, Context, Result};
use ndarray::{Array3, ArrayD, Ix3, IxDyn};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::Array;
use zarrs::storage::{ListableStorageTraits, ReadableListableStorageTraits, StorePrefix};

/// A 1-D coordinate array of the input's dataset, kept as raw values.
#[derive(Clone, Debug)]
pub struct Coordinate {
    pub name: String,
    pub dtype: Dtype,
    /// Values as f64 (exact for every integer type we read).
    pub values: Vec<f64>,
    pub attributes: Map<String, Value>,
}

pub struct Input {
    /// Where the store lies; its path as written names it in messages.
    pub location: Location,
    pub path: PathBuf,
    /// Name of the variable inside a dataset group, `None` for a plain array.
    pub variable: Option<String>,
    pub format: Format,
    pub dtype: Dtype,
    /// Number of dimensions in the store (2 or 3).
    pub ndim: usize,
    /// Shape as (inline, crossline, sample); a 2-D line is (1, trace, sample).
    pub shape: [u64; 3],
    pub chunks: [u64; 3],
    /// Dimension names, one per stored dimension.
    pub dims: Vec<String>,
    pub coords: Vec<Coordinate>,
    /// Attributes of the group (for a dataset) and of the array.
    pub group_attributes: Map<String, Value>,
    pub array_attributes: Map<String, Value>,
    /// Stored values to kernel values: fill values to NaN, CF scaling.
    pub decoding: Decoding,
    /// Per trace (inline-major), whether it is live; `None`: all are.
    pub live_traces: Option<Arc<Vec<bool>>>,
    store: ReadStore,
    /// In an object store: fetches chunks ahead of their decode.
    prefetch: Option<Arc<Prefetching>>,
    array: Array<dyn ReadableListableStorageTraits>,
    /// The chunks found missing from the store while reading (read as the
    /// fill value, Zarr's rule), and whether that is refused instead.
    missing: std::sync::Mutex<std::collections::BTreeSet<[u64; 3]>>,
    strict: bool,
}

impl Input {
    /// Open the store at `at` (a plain array or a dataset group) and pick
    /// `variable`.
    pub fn open(at: &Location, variable: Option<&str>) -> Result<Input> {
        let path = at.path();
        let (store, prefetch) = at.open_prefetching()?;
        let kind = node_kind_in(&store, "", &path.display().to_string())?;
        let (format, name, group_attributes) = match kind {
            NodeKind::Array(f) => {
                if let Some(v) = variable {
                    bail!(
                        "input '{}' is a plain array, not a dataset: remove `variable: {v}`",
                        path.display()
                    );
                }
                (f, None, Map::new())
            }
            NodeKind::Group(f) => {
                let arrays = list_arrays(&store, path)?;
                let name = pick_variable(path, &arrays, variable)?;
                (f, Some(name), read_group_attributes(&store, path, f)?)
            }
        };
        let array_path = match &name {
            Some(n) => format!("/{n}"),
            None => "/".to_string(),
        };
        let array = Array::open(store.clone(), &array_path)
            .with_context(|| format!("cannot open array '{}{}'", path.display(), array_path))?;
        let shown = path.join(name.as_deref().unwrap_or(""));
        let dtype = Dtype::from_zarrs(array.data_type()).ok_or_else(|| {
            anyhow!(
                "'{}': unsupported data type {}; supported: int8/16/32/64, uint8/16/32/64, float32/64",
                shown.display(),
                array.data_type()
            )
        })?;
        let ndim = array.dimensionality();
        if !(2..=3).contains(&ndim) {
            bail!(
                "'{}' has {ndim} dimensions: attr works on 2-D lines (trace, sample) and 3-D volumes (inline, crossline, sample)",
                shown.display()
            );
        }
        let zero = vec![0u64; ndim];
        let chunk_shape: Vec<u64> = array
            .chunk_shape(&zero)
            .with_context(|| format!("'{}'", shown.display()))?
            .iter()
            .map(|c| c.get())
            .collect();
        let (shape, chunks) = promote(array.shape(), &chunk_shape);
        let mut array_attributes = array.attributes().clone();
        let v2_dims = array_attributes.remove("_ARRAY_DIMENSIONS");
        let dims = dimension_names(&array, v2_dims, ndim);
        let coords = match &name {
            Some(_) => read_coordinates(&store, path, &dims, array.shape())?,
            None => Vec::new(),
        };
        let decoding = Decoding::from_metadata(
            stored_fill_value(&store, name.as_deref()).as_ref(),
            &array_attributes,
        );
        let live_traces = match &name {
            Some(n) if n != "trace_mask" => read_trace_mask(&store, path, shape)?,
            _ => None,
        };
        Ok(Input {
            location: at.clone(),
            path: path.to_path_buf(),
            variable: name,
            format,
            dtype,
            ndim,
            shape,
            chunks,
            dims,
            coords,
            group_attributes,
            array_attributes,
            decoding,
            live_traces,
            store,
            prefetch,
            array,
            missing: Default::default(),
            strict: false,
        })
    }

    /// Refuse chunks missing from the store (`strict_input`) instead of
    /// reading them as the fill value.
    pub fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// With `strict_input`, refuse a store with chunks missing before any
    /// work: counted by listing, then the first missing one found.
    pub fn check_strict(&self) -> Result<()> {
        if !self.strict {
            return Ok(());
        }
        let total: u64 = self.grid().iter().product();
        let Some(stored) = self.stored_chunk_count() else {
            return Ok(()); // sharded: each chunk is checked as it is read
        };
        if stored >= total {
            return Ok(());
        }
        let g = self.grid();
        let first = (0..g[0])
            .flat_map(|i| (0..g[1]).flat_map(move |j| (0..g[2]).map(move |k| [i, j, k])))
            .find(|&idx| self.stored_chunk_size(idx).is_none());
        bail!(
            "'{}': {} of {total} chunks are missing from the store (first: {:?}), and strict_input refuses them: restore them, or drop strict_input to read them as the fill value",
            self.path.display(),
            total - stored,
            first.map(|i| i[3 - self.ndim..].to_vec()).unwrap_or_default()
        )
    }

    /// The chunks found missing so far (promoted grid), in order.
    pub fn missing_chunks(&self) -> Vec<[u64; 3]> {
        self.missing
            .lock()
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many chunks the store holds of the grid's, counted by listing
    /// (`None` for a sharded array, whose chunks live inside shards).
    pub fn stored_chunk_count(&self) -> Option<u64> {
        let meta = serde_json::to_string(self.array.metadata()).unwrap_or_default();
        if meta.contains("sharding_indexed") {
            return None;
        }
        let dir = self
            .variable
            .as_ref()
            .map_or(String::new(), |v| format!("{v}/"));
        let prefix = zarrs::storage::StorePrefix::new(dir).ok()?;
        let keys = self.store.list_prefix(&prefix).ok()?;
        let meta_names = ["zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"];
        Some(
            keys.iter()
                .filter(|k| {
                    let name = k.as_str().rsplit('/').next().unwrap_or("");
                    !meta_names.contains(&name)
                })
                .count() as u64,
        )
    }

    /// Treat samples equal to `v` as null (the job's `null_value`).
    pub fn set_null_value(&mut self, v: Option<f64>) {
        self.decoding.null_value = v.map(|v| v as f32);
    }

    /// Whether the volume certainly holds no live sample: every trace is
    /// masked, or no chunk is stored and the fill value is null. (Cheap: it
    /// reads no chunk.)
    pub fn entirely_null(&self) -> bool {
        if self
            .live_traces
            .as_ref()
            .is_some_and(|m| !m.iter().any(|&l| l))
        {
            return true;
        }
        let fill = stored_fill_value(&self.store, self.variable.as_deref())
            .as_ref()
            .and_then(super::null_values::json_number)
            .unwrap_or(0.0);
        let null_fill = fill.is_nan() || self.decoding.decode(fill).is_nan();
        if !null_fill {
            return false;
        }
        let g = self.grid();
        !(0..g[0]).any(|a| (0..g[1]).any(|b| (0..g[2]).any(|c| self.chunk_exists([a, b, c]))))
    }

    /// Mark traces that hold only zeros (and nulls) as missing: dead traces
    /// padding a survey's outline. Reads the whole volume once, a chunk per
    /// worker at a time.
    pub fn mark_dead_traces_missing(&mut self, workers: usize) -> Result<usize> {
        use rayon::prelude::*;
        let grid = self.grid();
        let [ni, nx] = [self.shape[0] as usize, self.shape[1] as usize];
        let columns: Vec<[u64; 2]> = (0..grid[0])
            .flat_map(|a| (0..grid[1]).map(move |b| [a, b]))
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers.max(1))
            .build()?;
        let found: Vec<Vec<(usize, bool)>> = pool.install(|| {
            columns
                .par_iter()
                .map(|&[a, b]| -> Result<Vec<(usize, bool)>> {
                    let mut any = std::collections::BTreeMap::<usize, bool>::new();
                    for c in 0..grid[2] {
                        let chunk = self.read_chunk([a, b, c])?;
                        for ((i, j, _), v) in chunk.indexed_iter() {
                            let (gi, gj) = (
                                a as usize * self.chunks[0] as usize + i,
                                b as usize * self.chunks[1] as usize + j,
                            );
                            if gi < ni && gj < nx {
                                let e = any.entry(gi * nx + gj).or_insert(false);
                                *e |= *v != 0.0 && !v.is_nan();
                            }
                        }
                    }
                    Ok(any.into_iter().collect())
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut live = match &self.live_traces {
            Some(m) => m.as_ref().clone(),
            None => vec![true; ni * nx],
        };
        let mut dead = 0;
        for (t, any) in found.into_iter().flatten() {
            if live[t] && !any {
                live[t] = false;
                dead += 1;
            }
        }
        self.live_traces = Some(Arc::new(live));
        Ok(dead)
    }

    /// Decode stored values and blank the missing traces of a block that
    /// starts at `origin` (promoted coordinates).
    fn to_kernel_values<T: Sample>(&self, a: ArrayD<T>, origin: [u64; 3]) -> Result<Array3<f32>> {
        let a = if self.decoding.is_identity() {
            match identical::<ArrayD<T>, ArrayD<f32>>(a) {
                Ok(f) => f,
                Err(a) => a.mapv(|v| v.to_f32()),
            }
        } else {
            a.mapv(|v| self.decoding.decode(v.to_f64()))
        };
        let shape = a.shape().to_vec();
        let s3 = if shape.len() == 2 {
            vec![1, shape[0], shape[1]]
        } else {
            shape
        };
        let mut out = a.into_shape_with_order(s3)?.into_dimensionality::<Ix3>()?;
        if let Some(live) = &self.live_traces {
            let (ni, nx) = (self.shape[0] as usize, self.shape[1] as usize);
            let (n0, n1, _) = out.dim();
            for i in 0..n0 {
                for j in 0..n1 {
                    let (gi, gj) = (origin[0] as usize + i, origin[1] as usize + j);
                    if gi < ni && gj < nx && !live[gi * nx + gj] {
                        out.slice_mut(ndarray::s![i, j, ..]).fill(f32::NAN);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Number of chunks along each axis.
    pub fn grid(&self) -> [u64; 3] {
        [0, 1, 2].map(|a| self.shape[a].div_ceil(self.chunks[a]))
    }

    /// Uncompressed size of the volume in bytes.
    pub fn bytes(&self) -> u64 {
        self.shape.iter().product::<u64>() * self.dtype.size() as u64
    }

    /// Decode the chunk at `idx` (in the promoted 3-D grid) as f32, with the
    /// full chunk shape (edge chunks include the fill beyond the volume).
    pub fn read_chunk(&self, idx: [u64; 3]) -> Result<Array3<f32>> {
        let stored: Vec<u64> = if self.ndim == 2 {
            idx[1..].to_vec()
        } else {
            idx.to_vec()
        };
        with_dtype!(self.dtype, T, {
            let at = || format!("'{}': chunk {:?}", self.path.display(), stored);
            let a: ArrayD<T> = match self
                .array
                .retrieve_chunk_if_exists(&stored)
                .with_context(at)?
            {
                Some(a) => a,
                None => {
                    if self.strict {
                        bail!(
                            "{}: missing from the store (strict_input): restore the chunk, or drop strict_input to read it as the fill value",
                            at()
                        );
                    }
                    if let Ok(mut m) = self.missing.lock() {
                        m.insert(idx);
                    }
                    self.array.retrieve_chunk(&stored).with_context(at)?
                }
            };
            let origin = [0, 1, 2].map(|x| idx[x] * self.chunks[x]);
            self.to_kernel_values(a, origin)
        })
    }

    /// Decode the region `start..end` (promoted 3-D coordinates) as f32,
    /// reading only the chunks it touches.
    pub fn read_region(&self, start: [u64; 3], end: [u64; 3]) -> Result<Array3<f32>> {
        let lo = if self.ndim == 2 { 1 } else { 0 };
        let ranges: Vec<std::ops::Range<u64>> = (lo..3).map(|a| start[a]..end[a]).collect();
        let subset = zarrs::array::ArraySubset::new_with_ranges(&ranges);
        with_dtype!(self.dtype, T, {
            let a: ArrayD<T> = self.array.retrieve_array_subset(&subset).with_context(|| {
                format!("'{}': reading {:?}..{:?}", self.path.display(), start, end)
            })?;
            let shape = [0, 1, 2].map(|x| (end[x] - start[x]) as usize);
            let a = a.into_shape_with_order(IxDyn(&shape))?;
            self.to_kernel_values(a, start)
        })
    }

    /// Start reading chunk `idx` (promoted grid) ahead of its decode, where
    /// that hides latency (an object store).
    pub fn prefetch(&self, idx: [u64; 3]) {
        if let Some(p) = &self.prefetch {
            p.hint(&self.chunk_key(idx));
        }
    }

    /// How many chunks to fetch ahead: enough requests in flight to hide
    /// an object store's latency, within a bounded memory (compressed
    /// chunks held until decoded).
    pub fn read_ahead(&self) -> usize {
        if self.prefetch.is_none() {
            return 0;
        }
        let chunk = self.chunks.iter().product::<u64>() * self.dtype.size() as u64;
        ((256u64 << 20) / chunk.max(1)).clamp(2, 64) as usize
    }

    /// Whether chunk `idx` (promoted grid) is stored.
    pub fn chunk_exists(&self, idx: [u64; 3]) -> bool {
        self.stored_chunk_size(idx).is_some()
    }

    /// The stored size of chunk `idx` (promoted grid), `None` when absent.
    pub fn stored_chunk_size(&self, idx: [u64; 3]) -> Option<u64> {
        self.store.size_key(&self.chunk_key(idx)).ok().flatten()
    }

    /// The stored bytes of chunk `idx` (promoted grid), `None` when absent.
    pub fn stored_chunk(&self, idx: [u64; 3]) -> Result<Option<Vec<u8>>> {
        Ok(self.store.get(&self.chunk_key(idx))?.map(|b| b.to_vec()))
    }

    fn chunk_key(&self, idx: [u64; 3]) -> zarrs::storage::StoreKey {
        let stored: Vec<u64> = if self.ndim == 2 {
            idx[1..].to_vec()
        } else {
            idx.to_vec()
        };
        self.array.chunk_key(&stored)
    }

    /// Sample interval in ms from the metadata, if recorded.
    pub fn sample_interval_ms(&self) -> Option<f64> {
        let attrs = [&self.array_attributes, &self.group_attributes];
        for a in attrs {
            for (key, scale) in [
                ("sample_interval_ms", 1.0),
                ("sample_interval", 1.0),
                ("sample_interval_s", 1000.0),
                ("sample_interval_us", 0.001),
            ] {
                if let Some(v) = a.get(key).and_then(|v| v.as_f64()) {
                    if v > 0.0 {
                        return Some(v * scale);
                    }
                }
            }
        }
        // a regular time/depth coordinate on the sample axis
        let sample_dim = self.dims.last()?;
        let c = self.coords.iter().find(|c| &c.name == sample_dim)?;
        let unit = c
            .attributes
            .get("units")
            .and_then(|u| u.as_str())
            .unwrap_or("");
        if c.values.len() >= 2 && matches!(unit, "ms" | "millisecond" | "milliseconds") {
            let d = c.values[1] - c.values[0];
            if d > 0.0 {
                return Some(d);
            }
        }
        None
    }
}

/// Treat a 2-D (trace, sample) array as one inline of a 3-D volume.
fn promote(shape: &[u64], chunks: &[u64]) -> ([u64; 3], [u64; 3]) {
    if shape.len() == 2 {
        ([1, shape[0], shape[1]], [1, chunks[0], chunks[1]])
    } else {
        (
            [shape[0], shape[1], shape[2]],
            [chunks[0], chunks[1], chunks[2]],
        )
    }
}

fn dimension_names(
    array: &Array<dyn ReadableListableStorageTraits>,
    v2_dims: Option<Value>,
    ndim: usize,
) -> Vec<String> {
    let from_v3: Option<Vec<String>> = array.dimension_names().as_ref().and_then(|names| {
        names
            .iter()
            .map(|n| n.as_ref().map(|s| s.to_string()))
            .collect()
    });
    let from_v2: Option<Vec<String>> = v2_dims.and_then(|v| serde_json::from_value(v).ok());
    from_v3
        .or(from_v2)
        .filter(|d| d.len() == ndim)
        .unwrap_or_else(|| default_dims(ndim))
}

pub fn default_dims(ndim: usize) -> Vec<String> {
    let names: &[&str] = if ndim == 2 {
        &["trace", "sample"]
    } else {
        &["inline", "crossline", "sample"]
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// Names of the arrays directly inside a group, with their ranks.
pub(super) fn list_arrays(store: &ReadStore, path: &Path) -> Result<Vec<(String, usize)>> {
    let listed = store
        .list_dir(&StorePrefix::root())
        .with_context(|| format!("cannot list '{}'", path.display()))?;
    let mut out = Vec::new();
    for p in listed.prefixes() {
        let name = p.as_str().trim_end_matches('/').to_string();
        let Some(v) = read_json(store, &format!("{name}/zarr.json"))
            .or_else(|| read_json(store, &format!("{name}/.zarray")))
        else {
            continue;
        };
        if v.get("node_type")
            .and_then(|n| n.as_str())
            .is_some_and(|n| n != "array")
        {
            continue;
        }
        let rank = v
            .get("shape")
            .and_then(|s| s.as_array())
            .map_or(0, |s| s.len());
        out.push((name, rank));
    }
    out.sort();
    Ok(out)
}

fn pick_variable(path: &Path, arrays: &[(String, usize)], wanted: Option<&str>) -> Result<String> {
    if let Some(w) = wanted {
        if arrays.iter().any(|(n, _)| n == w) {
            return Ok(w.to_string());
        }
        let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
        bail!(
            "variable '{w}' is not in '{}': it holds {}",
            path.display(),
            if names.is_empty() {
                "no arrays".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    // the volume: the only array of the highest rank (a 3-D amplitude beside
    // a 2-D trace mask), or the only >= 2-D one
    let top = arrays
        .iter()
        .filter(|(n, _)| n != "trace_headers")
        .map(|(_, r)| *r)
        .max()
        .unwrap_or(0);
    // (a SEG-Y dataset's raw trace headers are not a volume)
    let candidates: Vec<&str> = arrays
        .iter()
        .filter(|(n, r)| *r >= 2 && *r == top && n != "trace_headers")
        .map(|(n, _)| n.as_str())
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!("'{}' is a group with no 2-D or 3-D array to process", path.display()),
        many => bail!(
            "'{}' holds several volumes ({}): pick one (`variable:` in a job, --variable on the command line)",
            path.display(),
            many.join(", ")
        ),
    }
}

fn read_group_attributes(
    store: &ReadStore,
    path: &Path,
    format: Format,
) -> Result<Map<String, Value>> {
    let key = match format {
        Format::V3 => "zarr.json",
        Format::V2 => ".zattrs",
    };
    let Some(bytes) = read_key(store, key)? else {
        return Ok(Map::new());
    };
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("'{}' is not valid JSON", path.join(key).display()))?;
    let attrs = match format {
        Format::V3 => v.get("attributes").cloned().unwrap_or(Value::Null),
        Format::V2 => v,
    };
    Ok(match attrs {
        Value::Object(m) => m,
        _ => Map::new(),
    })
}

/// Whether the node `name` of the store has array metadata.
fn has_array(store: &ReadStore, name: &str) -> bool {
    [format!("{name}/zarr.json"), format!("{name}/.zarray")]
        .iter()
        .any(|k| read_key(store, k).ok().flatten().is_some())
}

/// The 1-D arrays named after the variable's dimensions, with matching lengths.
#[allow(clippy::unnecessary_cast)] // one cast for every dtype, a no-op for f64
fn read_coordinates(
    store: &ReadStore,
    path: &Path,
    dims: &[String],
    shape: &[u64],
) -> Result<Vec<Coordinate>> {
    let mut coords = Vec::new();
    for (dim, &len) in dims.iter().zip(shape) {
        if !has_array(store, dim) {
            continue;
        }
        let Ok(array) = Array::open(store.clone(), &format!("/{dim}")) else {
            continue;
        };
        if array.shape() != [len] {
            continue;
        }
        let Some(dtype) = Dtype::from_zarrs(array.data_type()) else {
            continue;
        };
        let values: Vec<f64> = with_dtype!(dtype, T, {
            let v: Vec<T> = array
                .retrieve_array_subset(&array.subset_all())
                .with_context(|| format!("'{}': coordinate '{dim}'", path.display()))?;
            v.into_iter().map(|x| x as f64).collect()
        });
        let mut attributes = array.attributes().clone();
        attributes.remove("_ARRAY_DIMENSIONS");
        coords.push(Coordinate {
            name: dim.clone(),
            dtype,
            values,
            attributes,
        });
    }
    Ok(coords)
}

/// The array `name` of the dataset at `at` (`""`: the store is the
/// array), whole, as f64 with its shape (`None` when there is no such
/// array). For small per-trace arrays (cdp_x, a horizon), whose values f32
/// would round.
#[allow(clippy::unnecessary_cast)] // one cast for every dtype, a no-op for f64
pub fn read_whole(at: &super::Location, name: &str) -> Result<Option<(Vec<u64>, Vec<f64>)>> {
    let store = at.open_readable()?;
    let root = name.is_empty();
    let found = match root {
        true => matches!(
            node_kind_in(&store, "", &at.to_string()),
            Ok(NodeKind::Array(_))
        ),
        false => has_array(&store, name),
    };
    if !found {
        return Ok(None);
    }
    let array = Array::open(store, &format!("/{name}"))
        .with_context(|| format!("'{at}': cannot open '{name}'"))?;
    let dtype = Dtype::from_zarrs(array.data_type())
        .ok_or_else(|| anyhow!("'{at}/{name}': unsupported data type {}", array.data_type()))?;
    let values: Vec<f64> = with_dtype!(dtype, T, {
        let v: Vec<T> = array
            .retrieve_array_subset(&array.subset_all())
            .with_context(|| format!("'{at}/{name}'"))?;
        v.into_iter().map(|x| x as f64).collect()
    });
    Ok(Some((array.shape().to_vec(), values)))
}

/// The Zarr `fill_value` of the array `name` (`None`: the store's root).
fn stored_fill_value(store: &ReadStore, name: Option<&str>) -> Option<Value> {
    let dir = name.map_or(String::new(), |n| format!("{n}/"));
    ["zarr.json", ".zarray"].iter().find_map(|f| {
        read_json(store, &format!("{dir}{f}"))?
            .get("fill_value")
            .cloned()
    })
}

/// The dataset's `trace_mask` (live: non-zero integers, floats ≥ 0.5), one value per trace of the
/// volume, if it has one; a mask of another shape is an error.
fn read_trace_mask(
    store: &ReadStore,
    path: &Path,
    shape: [u64; 3],
) -> Result<Option<Arc<Vec<bool>>>> {
    let dir = path.join("trace_mask");
    if !has_array(store, "trace_mask") {
        return Ok(None);
    }
    let shown = dir.display();
    let array = Array::open(store.clone(), "/trace_mask")
        .with_context(|| format!("'{shown}': cannot open the trace mask"))?;
    let traces: Vec<u64> = if shape[0] == 1 && array.shape().len() == 1 {
        vec![shape[1]]
    } else {
        vec![shape[0], shape[1]]
    };
    // a map (inline, crossline) with the survey's mask on its own grid:
    // its cells are already null where the mask says so
    if shape[0] == 1 && array.shape() == [shape[1], shape[2]] {
        return Ok(None);
    }
    if array.shape() != traces.as_slice() {
        bail!(
            "'{shown}' has shape {:?} but the volume has {:?} traces: fix or remove the trace mask",
            array.shape(),
            traces
        );
    }
    let dtype = Dtype::from_zarrs(array.data_type())
        .ok_or_else(|| anyhow!("'{shown}': unsupported data type {}", array.data_type()))?;
    let live: Vec<bool> = with_dtype!(dtype, T, {
        let v: Vec<T> = array
            .retrieve_array_subset(&array.subset_all())
            .with_context(|| format!("'{shown}'"))?;
        // integers: non-zero is live; floats: at least 0.5 (so NaN, and a
        // mask that was interpolated or averaged, read as missing below it)
        if dtype.is_float() {
            v.into_iter().map(|x| x.to_f32() >= 0.5).collect()
        } else {
            v.into_iter().map(|x| x.to_f32() != 0.0).collect()
        }
    });
    Ok(Some(Arc::new(live)))
}

/// The names of the arrays directly inside the group at `at`, sorted
/// (none when it cannot be read).
pub fn array_names(at: &Location) -> Vec<String> {
    at.open_readable()
        .and_then(|s| list_arrays(&s, at.path()))
        .map(|v| v.into_iter().map(|(name, _)| name).collect())
        .unwrap_or_default()
}
