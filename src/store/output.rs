//! Output datasets: xarray-style groups with one variable per attribute.
//!
//! A dataset is built in a staging directory next to its final path and
//! renamed into place only when every chunk is written, so a failed or
//! interrupted run never leaves something that looks like a result. Chunks
//! are written through zarrs' atomic-write adapter (temporary file + rename).

use super::metadata::{consolidate_v2, consolidate_v3, write_array, write_group, ArrayMeta};
use super::{Compression, Dtype, Format, Input};
use crate::store::dtype::Sample;
use crate::with_dtype;
use anyhow::{anyhow, bail, Result};
use ndarray::{s, Array3, ArrayView3, IxDyn};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::Array;
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::storage_adapter::atomic_write::AtomicWriteStorageAdapter;

type Store = AtomicWriteStorageAdapter<FilesystemStore>;

/// How to lay out one output variable.
pub struct VariableSpec {
    pub name: String,
    pub dtype: Dtype,
    pub chunks: [u64; 3],
    pub compression: Compression,
    pub attributes: Map<String, Value>,
}

pub struct OutputDataset {
    pub path: PathBuf,
    pub staging: PathBuf,
    pub format: Format,
    store: Arc<Store>,
}

pub struct OutputVariable {
    pub name: String,
    pub dtype: Dtype,
    pub chunks: [u64; 3],
    shape: [u64; 3],
    ndim: usize,
    array: Array<Store>,
}

/// Where a dataset is assembled before it is renamed to `path`.
pub fn staging_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.partial"))
}

impl OutputDataset {
    /// Check that `path` may be written (refusing to replace it unless
    /// `overwrite`), without touching anything.
    pub fn check_target(path: &Path, overwrite: bool) -> Result<()> {
        if path.exists() && !overwrite {
            bail!(
                "output '{}' already exists: pass --overwrite to replace it",
                path.display()
            );
        }
        if path.exists() && super::node_kind(path).is_err() {
            bail!(
                "output '{}' exists and is not a Zarr store: refusing to replace it, remove it yourself",
                path.display()
            );
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                anyhow!(
                    "cannot create output '{}': its directory '{}': {e}",
                    path.display(),
                    parent.display()
                )
            })?;
        }
        Ok(())
    }

    /// Start a dataset: group metadata and the input's coordinates.
    pub fn create(
        path: &Path,
        format: Format,
        input: &Input,
        attributes: Map<String, Value>,
    ) -> Result<Self> {
        let staging = staging_path(path);
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .map_err(|e| anyhow!("cannot remove leftover '{}': {e}", staging.display()))?;
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                anyhow!("cannot create output directory '{}': {e}", parent.display())
            })?;
        }
        write_group(&staging, format, &attributes)
            .map_err(|e| anyhow!("cannot create output '{}': {e}", path.display()))?;
        let fs = FilesystemStore::new(&staging)
            .map_err(|e| anyhow!("cannot open '{}': {e}", staging.display()))?;
        let ds = OutputDataset {
            path: path.to_path_buf(),
            staging,
            format,
            store: Arc::new(AtomicWriteStorageAdapter::new(Arc::new(fs))),
        };
        for c in &input.coords {
            ds.write_coordinate(c)?;
        }
        Ok(ds)
    }

    #[allow(clippy::unnecessary_cast)] // one cast for every dtype, a no-op for f64
    fn write_coordinate(&self, c: &super::Coordinate) -> Result<()> {
        let len = c.values.len() as u64;
        let dims = vec![c.name.clone()];
        let meta = ArrayMeta {
            shape: &[len],
            chunks: &[len.max(1)],
            dtype: c.dtype,
            compression: Compression::None,
            dims: &dims,
            attributes: c.attributes.clone(),
        };
        write_array(&self.staging.join(&c.name), self.format, &meta)?;
        let array = Array::open(self.store.clone(), &format!("/{}", c.name))
            .map_err(|e| anyhow!("coordinate '{}': {e}", c.name))?;
        with_dtype!(c.dtype, T, {
            let v: Vec<T> = c.values.iter().map(|&x| x as T).collect();
            let a = ndarray::ArrayD::from_shape_vec(IxDyn(&[v.len()]), v)?;
            array
                .store_array_subset(&array.subset_all(), a)
                .map_err(|e| anyhow!("coordinate '{}': {e}", c.name))?;
        });
        Ok(())
    }

    /// Add a variable shaped like the input volume.
    pub fn add_variable(&self, spec: &VariableSpec, input: &Input) -> Result<OutputVariable> {
        let ndim = input.ndim;
        let stored = |a: [u64; 3]| -> Vec<u64> {
            if ndim == 2 {
                a[1..].to_vec()
            } else {
                a.to_vec()
            }
        };
        let shape = stored(input.shape);
        let chunks = stored(spec.chunks);
        let meta = ArrayMeta {
            shape: &shape,
            chunks: &chunks,
            dtype: spec.dtype,
            compression: spec.compression,
            dims: &input.dims,
            attributes: spec.attributes.clone(),
        };
        let dir = self.staging.join(&spec.name);
        if dir.exists() {
            bail!(
                "two outputs write variable '{}' of '{}': give one a different `name:`",
                spec.name,
                self.path.display()
            );
        }
        write_array(&dir, self.format, &meta)?;
        let array = Array::open(self.store.clone(), &format!("/{}", spec.name))
            .map_err(|e| anyhow!("output variable '{}': {e}", spec.name))?;
        Ok(OutputVariable {
            name: spec.name.clone(),
            dtype: spec.dtype,
            chunks: spec.chunks,
            shape: input.shape,
            ndim,
            array,
        })
    }

    /// Publish the finished dataset at its final path.
    pub fn finish(&self) -> Result<()> {
        match self.format {
            Format::V2 => consolidate_v2(&self.staging)?,
            Format::V3 => consolidate_v3(&self.staging)?,
        }
        if self.path.exists() {
            std::fs::remove_dir_all(&self.path)
                .map_err(|e| anyhow!("cannot replace '{}': {e}", self.path.display()))?;
        }
        std::fs::rename(&self.staging, &self.path)
            .map_err(|e| anyhow!("cannot move '{}' into place: {e}", self.staging.display()))
    }

    /// Remove the staging directory after a failure.
    pub fn abandon(&self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

impl OutputVariable {
    /// Write chunk `idx` (promoted 3-D grid); `data` covers the part of the
    /// chunk inside the volume.
    pub fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        let c = self.chunks.map(|c| c as usize);
        let mut full = Array3::<f32>::zeros((c[0], c[1], c[2]));
        let d = data.dim();
        full.slice_mut(s![..d.0, ..d.1, ..d.2]).assign(&data);
        debug_assert!((0..3).all(|a| idx[a] * self.chunks[a] < self.shape[a]));
        let (stored_idx, dims): (Vec<u64>, Vec<usize>) = if self.ndim == 2 {
            (idx[1..].to_vec(), vec![c[1], c[2]])
        } else {
            (idx.to_vec(), c.to_vec())
        };
        with_dtype!(self.dtype, T, {
            let (v, _) = full.into_raw_vec_and_offset();
            let v: Vec<T> = v.into_iter().map(T::from_f32).collect();
            let a = ndarray::ArrayD::from_shape_vec(IxDyn(&dims), v)?;
            self.array
                .store_chunk(&stored_idx, a)
                .map_err(|e| anyhow!("writing chunk {:?} of '{}': {e}", stored_idx, self.name))?;
        });
        Ok(())
    }
}
