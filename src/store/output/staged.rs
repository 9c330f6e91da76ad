//! What an output dataset is while a job writes it, wherever it lies: its
//! skeleton, the staged dataset with its ledger and lease, and the
//! variables chunks are written to.

use crate::store::adapters::checksummed::Checksummed;
use crate::store::adapters::write_behind::WriteBehind;
use crate::store::dataset::{ArraySpec, DatasetWriter};
use crate::store::dtype::Sample;
use crate::store::ledger::Ledger;
use crate::store::metadata::null_fill;
use crate::store::owner::{self, Lease};
use crate::store::placement::discard;
use crate::store::{Compression, Dtype, Format, Input};
use crate::with_dtype;
use anyhow::{Context, Result};
use ndarray::{s, Array3, ArrayView3, IxDyn};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::codec::{ShardingCodecOptions, SubchunkWriteOrder};
use zarrs::array::{Array, CodecSpecificOptions};

/// How to lay out one output variable.
#[derive(Clone)]
pub struct VariableSpec {
    pub name: String,
    pub dtype: Dtype,
    /// Stored value = round(value × scale) (integer dtypes).
    pub scale: Option<f64>,
    /// What is written at once: a chunk, or a shard where `inner` is given.
    pub chunks: [u64; 3],
    /// The chunks inside each shard.
    pub inner: Option<[u64; 3]>,
    pub compression: Compression,
    pub attributes: Map<String, Value>,
    /// The value stored for null, declared as the fill value (default: the
    /// type's null, see [`null_fill`]).
    pub fill: Option<f64>,
}

pub struct OutputDataset {
    /// Where the chunks go until published: a staging directory, or the
    /// output location itself in an object store (see `remote_output`).
    pub staging: PathBuf,
    pub format: Format,
    pub ledger: Ledger,
    pub(crate) store: Arc<Checksummed>,
    /// None in an object store, where nothing is renamed away under a writer.
    pub(crate) lease: Option<Lease>,
    /// In an object store: the chunk writes in flight.
    pub(crate) behind: Option<Arc<WriteBehind>>,
}

/// Another job took the output over (`--overwrite`) while this run wrote it.
#[derive(Debug, thiserror::Error)]
#[error("another job took '{}' over ({by}): this run stopped without publishing", path.display())]
pub struct Superseded {
    pub path: PathBuf,
    pub by: String,
}

/// The grid an output dataset's variables lie on, with what it carries
/// beside them: a volume's (its input's grid, coordinates and trace mask),
/// or a map's (the lateral axes of a survey, with its per-trace arrays).
#[derive(Clone)]
pub struct Layout {
    /// As (inline, crossline, sample); a 2-D grid is (1, a, b).
    pub shape: [u64; 3],
    pub ndim: usize,
    pub dims: Vec<String>,
    pub coords: Vec<crate::store::Coordinate>,
    /// Per trace (the first two stored axes of a volume), whether live.
    pub live_traces: Option<Arc<Vec<bool>>>,
    /// Further arrays on the grid, written whole (a map's cdp_x, cdp_y).
    pub extras: Vec<(String, ndarray::ArrayD<f64>)>,
}

impl Layout {
    /// The grid of the volume `input`.
    pub fn of(input: &Input) -> Layout {
        Layout {
            shape: input.shape,
            ndim: input.ndim,
            dims: input.dims.clone(),
            coords: input.coords.clone(),
            live_traces: input.live_traces.clone(),
            extras: Vec::new(),
        }
    }
}

/// What a dataset of `attr run` (or a classification) is made of: the
/// skeleton written before any chunk, and the fingerprint of its job.
#[derive(Clone, Copy)]
pub struct Skeleton<'a> {
    pub format: Format,
    /// The grid it lies on.
    pub layout: &'a Layout,
    /// The group's attributes.
    pub attributes: &'a Map<String, Value>,
    pub variables: &'a [VariableSpec],
    pub fingerprint: &'a Value,
}

/// What opening a dataset found.
pub enum Opened {
    /// Created by this process.
    Created(OutputDataset),
    /// Started by another process (or an earlier run) of the same job.
    Joined(OutputDataset),
    /// Already finished by the same job.
    Complete,
}

pub struct OutputVariable {
    scale: Option<f64>,
    staging: PathBuf,
    store: Arc<Checksummed>,
    pub name: String,
    pub dtype: Dtype,
    pub chunks: [u64; 3],
    /// Whether `chunks` are shards (of chunks a reader reads alone).
    sharded: bool,
    shape: [u64; 3],
    ndim: usize,
    array: Array<Checksummed>,
    ledger: Ledger,
    behind: Option<Arc<WriteBehind>>,
}

impl OutputDataset {
    /// The dataset with this process's lease on it.
    pub(crate) fn with_lease(mut self, lease: Lease) -> OutputDataset {
        self.lease = Some(lease);
        self
    }

    /// Wait until every chunk written and its record are stored; the first
    /// write that failed, if any. (Immediate on a filesystem.)
    pub fn flush(&self) -> Result<()> {
        match &self.behind {
            Some(b) => b.flush(),
            None => Ok(()),
        }
    }

    /// Keep this process's lease fresh.
    pub fn renew(&self) {
        if let Some(l) = &self.lease {
            l.renew();
        }
    }

    /// Write the whole skeleton of the dataset into `dir`: the group, the
    /// input's coordinates and trace mask, each variable's metadata, and
    /// the ledger its chunks will be recorded in.
    pub(crate) fn build(dir: &Path, skeleton: &Skeleton) -> Result<()> {
        let Skeleton {
            format,
            layout: input,
            attributes,
            variables,
            fingerprint,
        } = *skeleton;
        // the variables carry their own compression; coordinates none
        let w = DatasetWriter::new(dir, format, Compression::None);
        w.group(attributes)?;
        for c in &input.coords {
            write_coordinate(&w, c)?;
        }
        let ndim = input.ndim;
        let stored = |a: [u64; 3]| -> Vec<u64> {
            if ndim == 2 {
                a[1..].to_vec()
            } else {
                a.to_vec()
            }
        };
        for spec in variables {
            let inner = spec.inner.map(stored);
            let mut attributes = spec.attributes.clone();
            if !spec.dtype.is_float() {
                // CF's marker, which xarray masks for V2 and V3 alike
                attributes.insert(
                    "_FillValue".into(),
                    serde_json::json!(spec.fill.map_or(null_fill(spec.dtype), |f| f)),
                );
            }
            w.array(
                &spec.name,
                ArraySpec {
                    shape: &stored(input.shape),
                    chunks: &stored(spec.chunks),
                    inner: inner.as_deref(),
                    dtype: spec.dtype,
                    dims: &input.dims,
                    attributes,
                    null_fill: true,
                    compression: Some(spec.compression),
                    fill: spec.fill,
                },
            )?;
        }
        if let Some(live) = &input.live_traces {
            // the input's live traces, carried over (uint8, 1 = live); a
            // map's traces are its cells
            let traces = if ndim == 2
                && input.shape[0] == 1
                && live.len() as u64 == input.shape[1] * input.shape[2]
            {
                &input.shape[1..]
            } else {
                &input.shape[3 - ndim..2]
            };
            let shape: Vec<usize> = traces.iter().map(|&n| n as usize).collect();
            let v: Vec<u8> = live.iter().map(|&l| u8::from(l)).collect();
            w.whole(
                "trace_mask",
                Dtype::Uint8,
                &input.dims[..shape.len()],
                ndarray::ArrayD::from_shape_vec(IxDyn(&shape), v)?,
                Map::new(),
                Some(Compression::Zstd),
            )?;
        }
        for (name, values) in &input.extras {
            let dims = &input.dims[..values.ndim()];
            w.whole(name, Dtype::Float64, dims, values.clone(), Map::new(), None)?;
        }
        let names: Vec<String> = variables.iter().map(|v| v.name.clone()).collect();
        Ledger::create(dir, fingerprint, &names)?;
        Ok(())
    }

    /// Open variable `name` for writing chunks.
    pub fn variable(&self, spec: &VariableSpec, input: &Layout) -> Result<OutputVariable> {
        let array = Array::open(self.store.clone(), &format!("/{}", spec.name))
            .with_context(|| {
                format!(
                    "output variable '{}' of '{}'",
                    spec.name,
                    self.staging.display()
                )
            })?
            // a shard's chunks in order, not as their encoders finish: the
            // same job writes the same bytes
            .with_codec_specific_options(&CodecSpecificOptions::default().with_option(
                ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
            ));
        Ok(OutputVariable {
            scale: spec.scale,
            staging: self.staging.clone(),
            store: self.store.clone(),
            name: spec.name.clone(),
            dtype: spec.dtype,
            chunks: spec.chunks,
            sharded: spec.inner.is_some(),
            shape: input.shape,
            ndim: input.ndim,
            array,
            ledger: self.ledger.clone(),
            behind: self.behind.clone(),
        })
    }
}

#[allow(clippy::unnecessary_cast)] // one cast for every dtype, a no-op for f64
fn write_coordinate(w: &DatasetWriter, c: &crate::store::Coordinate) -> Result<()> {
    with_dtype!(c.dtype, T, {
        let v: Vec<T> = c.values.iter().map(|&x| x as T).collect();
        w.coordinate(&c.name, c.dtype, v, c.attributes.clone(), None)
            .with_context(|| format!("coordinate '{}'", c.name))?;
    });
    Ok(())
}

impl OutputVariable {
    /// Write chunk `idx` (promoted 3-D grid); `data` covers the part of the
    /// chunk inside the volume. Recorded as done once the file is in place.
    pub fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        if self.behind.is_none() {
            // (in an object store a running job is never taken over)
            stop_if_superseded(&self.staging, &self.staging)?;
        }
        // another process of the same job wrote it: the same bytes
        if self.ledger.is_done(&self.name, idx) {
            return Ok(());
        }
        let c = self.chunks.map(|c| c as usize);
        let d = data.dim();
        debug_assert!((0..3).all(|a| idx[a] * self.chunks[a] < self.shape[a]));
        let stored_idx: Vec<u64> = if self.ndim == 2 {
            idx[1..].to_vec()
        } else {
            idx.to_vec()
        };
        let store = |samples: &[f32]| {
            // borrowed, zarrs encodes them in place (an owned vector it
            // would copy once more, into bytes)
            self.array
                .store_chunk(&stored_idx, samples)
                .with_context(|| format!("writing chunk {:?} of '{}'", stored_idx, self.name))
        };
        let whole = [d.0, d.1, d.2] == c;
        match data.as_slice() {
            // f32 samples of a whole chunk, contiguous: written as they are
            Some(samples) if whole && self.dtype == Dtype::Float32 => store(samples)?,
            _ => {
                // else the chunk is copied once; one at the volume's end is
                // padded (a shard with null: the chunks wholly outside the
                // volume are then empty, and not stored)
                let full = if whole {
                    data.as_standard_layout().into_owned()
                } else {
                    let pad = if self.sharded { f32::NAN } else { 0.0 };
                    let mut full = Array3::<f32>::from_elem((c[0], c[1], c[2]), pad);
                    full.slice_mut(s![..d.0, ..d.1, ..d.2]).assign(&data);
                    full
                };
                let (v, _) = full.into_raw_vec_and_offset();
                if self.dtype == Dtype::Float32 {
                    store(&v)?;
                } else {
                    self.store_converted(&stored_idx, v)?;
                }
            }
        }
        let key = self.array.chunk_key(&stored_idx);
        let sum = self.store.take_checksum(key.as_str());
        match &self.behind {
            Some(b) => {
                let (record, text) = self.ledger.record(&self.name, idx, sum);
                b.then_put(key.as_str(), record, text);
                Ok(())
            }
            None => self.ledger.mark_done(&self.name, idx, sum),
        }
    }

    /// Store f32 samples as the variable's other type: floats converted,
    /// integers scaled, rounded and saturated, NaN to the declared fill.
    fn store_converted(&self, stored_idx: &[u64], v: Vec<f32>) -> Result<()> {
        let fill = null_fill(self.dtype);
        let integer = !self.dtype.is_float();
        let scale = self.scale.unwrap_or(1.0);
        with_dtype!(self.dtype, T, {
            let v: Vec<T> = v
                .into_iter()
                .map(|x| {
                    if !integer {
                        T::from_f32(x)
                    } else if x.is_nan() {
                        // an integer type has no NaN: its declared fill value
                        T::from_f64(fill)
                    } else {
                        // rounded and saturated, clear of the fill value
                        let (lo, hi) = (
                            T::from_f64(f64::MIN).to_f64(),
                            T::from_f64(f64::MAX).to_f64(),
                        );
                        let r = (x as f64 * scale).round().clamp(lo, hi);
                        T::from_f64(if r == fill {
                            r + if fill < 0.0 { 1.0 } else { -1.0 }
                        } else {
                            r
                        })
                    }
                })
                .collect();
            self.array
                .store_chunk(stored_idx, &v[..])
                .with_context(|| format!("writing chunk {:?} of '{}'", stored_idx, self.name))?;
        });
        Ok(())
    }
}

/// If another job took the staged dataset over, discard it and stop (the
/// error names `shown`).
pub(crate) fn stop_if_superseded(staging: &Path, shown: &Path) -> Result<()> {
    match owner::superseded_by(staging) {
        Some(by) => {
            let _ = discard(staging);
            Err(Superseded {
                path: shown.to_path_buf(),
                by,
            }
            .into())
        }
        None => Ok(()),
    }
}
