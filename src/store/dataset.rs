//! Writing a dataset: the group and its attributes, arrays, coordinates and
//! whole small arrays, in a directory. One writer for every command that
//! makes a dataset — `attr run` into its resumable staging, the converters
//! and `attr synth` into a private build that [`NewDataset::publish`] renames
//! into place when complete. Into an object store, the chunks go straight
//! to their place and the metadata, kept locally, is uploaded when complete
//! with the root group's last.

use super::adapters::atomic::AtomicFiles;
use super::adapters::split::Split;
use super::metadata::{consolidate, write_array, write_group, ArrayMeta};
use super::placement::{replace_with, PrivateStaging};
use super::remote::Remote;
use super::remote_tree::{discard, root_files, walk, TempDir};
use super::{Compression, Dtype, Format, Location};
use anyhow::{bail, Context, Result};
use ndarray::ArrayD;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use zarrs::array::{Array, Element};
use zarrs::storage::ReadableWritableListableStorageTraits;

type Store = Arc<dyn ReadableWritableListableStorageTraits>;

/// One array to declare.
pub struct ArraySpec<'a> {
    pub shape: &'a [u64],
    /// Chunks, or shards where `inner` is given.
    pub chunks: &'a [u64],
    /// The chunks inside each shard.
    pub inner: Option<&'a [u64]>,
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
    store: OnceLock<Store>,
    /// Where the chunks go instead of `dir`, in an object store.
    remote: Option<Remote>,
}

impl DatasetWriter {
    pub fn new(dir: &Path, format: Format, compression: Compression) -> DatasetWriter {
        DatasetWriter {
            dir: dir.to_path_buf(),
            format,
            compression,
            store: OnceLock::new(),
            remote: None,
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
            inner: spec.inner,
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
    pub fn store(&self) -> Result<Store> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let local: Store = Arc::new(AtomicFiles::new(self.dir.clone(), false)?);
        let s = match &self.remote {
            Some(r) => Arc::new(Split::new(local, r.storage())),
            None => local,
        };
        Ok(self.store.get_or_init(|| s).clone())
    }

    /// A declared array, to write chunks into.
    pub fn open(&self, name: &str) -> Result<Array<dyn ReadableWritableListableStorageTraits>> {
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
                inner: None,
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

/// Marks a conversion in progress in an object store.
const CLAIM: &str = ".attr/converting";

/// A dataset one process builds in a private directory beside its path,
/// published only when complete: on any other way out the build is removed
/// and whatever was at the path stays.
pub struct NewDataset {
    writer: DatasetWriter,
    output: PathBuf,
    _build: Option<PrivateStaging>,
    /// In an object store: the metadata's local directory.
    _meta: Option<TempDir>,
}

impl NewDataset {
    pub fn create(
        at: &Location,
        format: Format,
        compression: Compression,
        overwrite: bool,
    ) -> Result<NewDataset> {
        let output = match at {
            Location::S3(r) => return Self::create_remote(r, format, compression, overwrite),
            Location::Zip { shown, .. } => bail!(
                "output '{}': attr reads zip files but writes directories or s3:// locations: give a path without .zip",
                shown.display()
            ),
            Location::Dir(output) => output,
        };
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
            _build: Some(build),
            _meta: None,
        })
    }

    /// A dataset at an `s3://` location: chunks written in place, the
    /// metadata kept in a local directory until published. A published
    /// dataset there is removed first with `overwrite` (nothing can be
    /// renamed over it); so is the leftover of an unfinished conversion.
    fn create_remote(
        r: &Remote,
        format: Format,
        compression: Compression,
        overwrite: bool,
    ) -> Result<NewDataset> {
        r.check()?;
        let published = r.exists("zarr.json")? || r.exists(".zgroup")? || r.exists(".zarray")?;
        if published && !overwrite {
            bail!(
                "output '{}' already exists: pass --overwrite to replace it",
                r.url
            );
        }
        let unfinished = r.exists(CLAIM)?;
        if !published && !unfinished && !r.list("")?.is_empty() {
            bail!(
                "output '{}' holds objects but no Zarr store: refusing to write into it, choose another prefix or remove them yourself",
                r.url
            );
        }
        if published || unfinished {
            discard(r)?;
        }
        r.put(CLAIM, super::process::tag().into_bytes())?;
        let meta = TempDir::new()?;
        let mut writer = DatasetWriter::new(&meta.0.join("dataset"), format, compression);
        writer.remote = Some(r.clone());
        Ok(NewDataset {
            writer,
            output: r.path().to_path_buf(),
            _build: None,
            _meta: Some(meta),
        })
    }

    /// Consolidate the metadata and rename the build over the output (or,
    /// in an object store, upload the metadata, the root group's last).
    pub fn publish(self) -> Result<()> {
        consolidate(self.writer.dir(), self.writer.format())?;
        let Some(r) = &self.writer.remote else {
            return replace_with(self.writer.dir(), &self.output);
        };
        let roots = root_files(self.writer.format());
        let mut files = Vec::new();
        walk(self.writer.dir(), self.writer.dir(), &mut files);
        files.sort_by_key(|(rel, _)| roots.iter().position(|f| f == rel));
        for (rel, file) in files {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read '{}'", file.display()))?;
            r.put(&rel, bytes)?;
        }
        r.delete(CLAIM)
    }
}

impl std::ops::Deref for NewDataset {
    type Target = DatasetWriter;
    fn deref(&self) -> &DatasetWriter {
        &self.writer
    }
}
