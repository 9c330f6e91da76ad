//! Writing a dataset: the group and its attributes, arrays, coordinates and
//! whole small arrays, in a directory. One writer for every command that
//! makes a dataset — `attr run` into its resumable staging, the converters
//! and `attr synth` into a private build that [`NewDataset::publish`] renames
//! into place when complete.

use super::atomic::AtomicFiles;
use super::metadata::{consolidate, write_array, write_group, ArrayMeta};
use super::output::{replace_with, PrivateStaging};
use super::{Compression, Dtype, Format};
use anyhow::{bail, Context, Result};
use ndarray::ArrayD;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use zarrs::array::{Array, Element};

/// One array to declare.
pub struct ArraySpec<'a> {
    pub shape: &'a [u64],
    pub chunks: &'a [u64],
    pub dtype: Dtype,
    pub dims: &'a [String],
    pub attributes: Map<String, Value>,
    /// Declare the type's null as the fill value (see [`ArrayMeta`]).
    pub null_fill: bool,
    /// Instead of the dataset's compression.
    pub compression: Option<Compression>,
    /// A fill value of its own (see [`ArrayMeta`]).
    pub fill: Option<f64>,
}

/// Writes into one dataset directory.
pub struct DatasetWriter {
    dir: PathBuf,
    format: Format,
    compression: Compression,
    store: OnceLock<Arc<AtomicFiles>>,
}

impl DatasetWriter {
    pub fn new(dir: &Path, format: Format, compression: Compression) -> DatasetWriter {
        DatasetWriter {
            dir: dir.to_path_buf(),
            format,
            compression,
            store: OnceLock::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The group, with its attributes.
    pub fn group(&self, attributes: &Map<String, Value>) -> Result<()> {
        write_group(&self.dir, self.format, attributes)
    }

    /// Declare array `name`; its chunks are written through [`Self::open`].
    pub fn array(&self, name: &str, spec: ArraySpec) -> Result<()> {
        let meta = ArrayMeta {
            shape: spec.shape,
            chunks: spec.chunks,
            dtype: spec.dtype,
            compression: spec.compression.unwrap_or(self.compression),
            dims: spec.dims,
            attributes: spec.attributes,
            null_fill: spec.null_fill,
            fill: spec.fill,
        };
        write_array(&self.dir.join(name), self.format, &meta)
    }

    /// The store chunks are written through: each chunk file by temp +
    /// rename, so a crash never leaves half a chunk.
    pub fn store(&self) -> Result<Arc<AtomicFiles>> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let s = Arc::new(AtomicFiles::new(self.dir.clone(), false)?);
        Ok(self.store.get_or_init(|| s).clone())
    }

    /// A declared array, to write chunks into.
    pub fn open(&self, name: &str) -> Result<Array<AtomicFiles>> {
        Array::open(self.store()?, &format!("/{name}")).with_context(|| name.to_string())
    }

    /// Write the whole of a declared array at once.
    pub fn fill<T: Element>(&self, name: &str, data: ArrayD<T>) -> Result<()> {
        let array = self.open(name)?;
        array
            .store_array_subset(&array.subset_all(), data)
            .with_context(|| name.to_string())
    }

    /// A small array in one chunk (a mask, a coordinate), declared and
    /// written at once.
    pub fn whole<T: Element>(
        &self,
        name: &str,
        dtype: Dtype,
        dims: &[String],
        data: ArrayD<T>,
        attributes: Map<String, Value>,
        compression: Option<Compression>,
    ) -> Result<()> {
        let shape: Vec<u64> = data.shape().iter().map(|&n| n as u64).collect();
        let chunks: Vec<u64> = shape.iter().map(|&n| n.max(1)).collect();
        self.array(
            name,
            ArraySpec {
                shape: &shape,
                chunks: &chunks,
                dtype,
                dims,
                attributes,
                null_fill: false,
                compression,
                fill: None,
            },
        )?;
        self.fill(name, data)
    }

    /// A 1-D coordinate named for its dimension.
    pub fn coordinate<T: Element>(
        &self,
        name: &str,
        dtype: Dtype,
        values: Vec<T>,
        attributes: Map<String, Value>,
        compression: Option<Compression>,
    ) -> Result<()> {
        let n = values.len();
        let data = ArrayD::from_shape_vec(ndarray::IxDyn(&[n]), values)?;
        self.whole(
            name,
            dtype,
            &[name.to_string()],
            data,
            attributes,
            compression,
        )
    }
}

/// A dataset one process builds in a private directory beside its path,
/// published only when complete: on any other way out the build is removed
/// and whatever was at the path stays.
pub struct NewDataset {
    writer: DatasetWriter,
    output: PathBuf,
    _build: PrivateStaging,
}

impl NewDataset {
    pub fn create(
        output: &Path,
        format: Format,
        compression: Compression,
        overwrite: bool,
    ) -> Result<NewDataset> {
        if output.exists() && !overwrite {
            bail!(
                "output '{}' already exists: pass --overwrite to replace it",
                output.display()
            );
        }
        if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create '{}'", parent.display()))?;
        }
        let build = PrivateStaging::new(output);
        Ok(NewDataset {
            writer: DatasetWriter::new(&build.path, format, compression),
            output: output.to_path_buf(),
            _build: build,
        })
    }

    /// Consolidate the metadata and rename the build over the output.
    pub fn publish(self) -> Result<()> {
        consolidate(self.writer.dir(), self.writer.format())?;
        replace_with(self.writer.dir(), &self.output)
    }
}

impl std::ops::Deref for NewDataset {
    type Target = DatasetWriter;
    fn deref(&self) -> &DatasetWriter {
        &self.writer
    }
}
