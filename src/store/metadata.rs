//! Zarr metadata documents (V2 and V3) for the groups and arrays we create.
//!
//! We write the JSON ourselves, in the exact form zarr-python writes, and let
//! zarrs open the result: one code path for both formats, and the files are
//! what Python users expect to see.

use anyhow::Context;

use super::Dtype;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The Zarr format of what we write: 3, or 2 for older Python stacks. One
/// type for the CLI (`--format 2`) and jobs (`format: 2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "u8")]
pub enum Format {
    V2,
    V3,
}

impl TryFrom<u8> for Format {
    type Error = String;
    fn try_from(f: u8) -> Result<Self, String> {
        match f {
            2 => Ok(Format::V2),
            3 => Ok(Format::V3),
            f => Err(format!("the Zarr format must be 2 or 3, got {f}")),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<u8>()
            .map_err(|_| format!("the Zarr format must be 2 or 3, got '{s}'"))?
            .try_into()
    }
}

impl Format {
    pub fn number(self) -> u8 {
        match self {
            Format::V2 => 2,
            Format::V3 => 3,
        }
    }
}

/// Compression of output chunks, written `zstd`, `zstd:LEVEL`, `blosc`,
/// `gzip` or `none` on the command line and in jobs alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Compression {
    /// zstd at level 1: fast, and most of the gain on seismic floats.
    Zstd,
    /// zstd at a chosen level.
    ZstdLevel(i32),
    Blosc,
    Gzip,
    None,
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(c: &str) -> Result<Self, String> {
        match c {
            "zstd" => Ok(Compression::Zstd),
            "blosc" => Ok(Compression::Blosc),
            "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            c => match c.strip_prefix("zstd:").map(str::parse::<i32>) {
                Some(Ok(l)) if (-7..=22).contains(&l) => Ok(Compression::ZstdLevel(l)),
                Some(_) => Err(format!(
                    "'{c}': the zstd level must be a whole number from -7 to 22"
                )),
                None => Err(format!("'{c}': give zstd, zstd:LEVEL, blosc, gzip or none")),
            },
        }
    }
}

impl TryFrom<String> for Compression {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// Description of one array to create.
pub struct ArrayMeta<'a> {
    pub shape: &'a [u64],
    /// The chunk grid: chunks, or shards where `inner` is given.
    pub chunks: &'a [u64],
    /// The chunks inside each shard (V3's `sharding_indexed` codec).
    pub inner: Option<&'a [u64]>,
    pub dtype: Dtype,
    pub compression: Compression,
    pub dims: &'a [String],
    pub attributes: Map<String, Value>,
    /// Declare the null of the type ([`null_fill`]) as the fill value, so
    /// that readers mask nulls; otherwise 0 (V3) or none (V2), so that a
    /// real zero or a full-scale pixel is never taken for missing.
    pub null_fill: bool,
    /// A fill value of its own instead (e.g. -1 for "no class").
    pub fill: Option<f64>,
}

/// The value written where an output is null: NaN for floats, the most
/// negative value of a signed type, the largest of an unsigned one.
pub fn null_fill(dtype: Dtype) -> f64 {
    match dtype {
        Dtype::Float32 | Dtype::Float64 => f64::NAN,
        Dtype::Int8 => i8::MIN as f64,
        Dtype::Int16 => i16::MIN as f64,
        Dtype::Int32 => i32::MIN as f64,
        Dtype::Int64 => i64::MIN as f64,
        Dtype::Uint8 => u8::MAX as f64,
        Dtype::Uint16 => u16::MAX as f64,
        Dtype::Uint32 => u32::MAX as f64,
        Dtype::Uint64 => u64::MAX as f64,
    }
}

/// The fill value metadata writes: [`null_fill`] or a plain zero.
fn fill_value(meta: &ArrayMeta, v2: bool) -> Value {
    if let Some(f) = meta.fill {
        return if meta.dtype.is_float() {
            json!(f)
        } else {
            json!(f as i64)
        };
    }
    if !meta.null_fill {
        return match (v2, meta.dtype.is_float()) {
            (true, _) => Value::Null,
            (false, true) => json!(0.0),
            (false, false) => json!(0),
        };
    }
    match meta.dtype {
        Dtype::Float32 | Dtype::Float64 => json!("NaN"),
        Dtype::Int8 => json!(i8::MIN),
        Dtype::Int16 => json!(i16::MIN),
        Dtype::Int32 => json!(i32::MIN),
        Dtype::Int64 => json!(i64::MIN),
        Dtype::Uint8 => json!(u8::MAX),
        Dtype::Uint16 => json!(u16::MAX),
        Dtype::Uint32 => json!(u32::MAX),
        Dtype::Uint64 => json!(u64::MAX),
    }
}

fn v3_codecs(dtype: Dtype, compression: Compression) -> Value {
    let mut codecs = vec![json!({"name": "bytes", "configuration": {"endian": "little"}})];
    match compression {
        Compression::Zstd => codecs.push(json!({"name": "zstd", "configuration": {"level": 1, "checksum": false}})),
        Compression::ZstdLevel(l) => codecs.push(json!({"name": "zstd", "configuration": {"level": l, "checksum": false}})),
        Compression::Blosc => codecs.push(json!({"name": "blosc", "configuration": {
            "cname": "zstd", "clevel": 3, "shuffle": "shuffle", "typesize": dtype.size(), "blocksize": 0}})),
        Compression::Gzip => codecs.push(json!({"name": "gzip", "configuration": {"level": 1}})),
        Compression::None => {}
    }
    Value::Array(codecs)
}

/// The one codec of a sharded array, as zarr-python writes it: the chunks'
/// own codecs inside, and the index at the end with a checksum, so a torn
/// or damaged index is told from a valid one.
fn sharded(inner: &[u64], codecs: Value) -> Value {
    json!([{"name": "sharding_indexed", "configuration": {
        "chunk_shape": inner,
        "codecs": codecs,
        "index_codecs": [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "crc32c"}
        ],
        "index_location": "end"
    }}])
}

fn v2_compressor(compression: Compression) -> Value {
    match compression {
        Compression::Zstd => json!({"id": "zstd", "level": 1}),
        Compression::ZstdLevel(l) => json!({"id": "zstd", "level": l}),
        Compression::Blosc => {
            json!({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1, "blocksize": 0})
        }
        Compression::Gzip => json!({"id": "gzip", "level": 1}),
        Compression::None => Value::Null,
    }
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("cannot write '{}'", path.display()))
}

/// Create a group directory with its metadata and attributes.
pub fn write_group(
    dir: &Path,
    format: Format,
    attributes: &Map<String, Value>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    match format {
        Format::V3 => write_json(
            &dir.join("zarr.json"),
            &json!({"zarr_format": 3, "node_type": "group", "attributes": attributes}),
        ),
        Format::V2 => {
            write_json(&dir.join(".zgroup"), &json!({"zarr_format": 2}))?;
            write_json(&dir.join(".zattrs"), &Value::Object(attributes.clone()))
        }
    }
}

/// Create an array directory with its metadata (no chunks yet).
pub fn write_array(dir: &Path, format: Format, meta: &ArrayMeta) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    match format {
        Format::V3 => write_json(
            &dir.join("zarr.json"),
            &json!({
                "zarr_format": 3,
                "node_type": "array",
                "shape": meta.shape,
                "data_type": meta.dtype.v3_name(),
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": meta.chunks}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": fill_value(meta, false),
                "codecs": match meta.inner {
                    None => v3_codecs(meta.dtype, meta.compression),
                    Some(inner) => sharded(inner, v3_codecs(meta.dtype, meta.compression)),
                },
                "attributes": meta.attributes,
                "dimension_names": meta.dims,
            }),
        ),
        Format::V2 if meta.inner.is_some() => {
            anyhow::bail!("'{}': sharding needs Zarr format 3", dir.display())
        }
        Format::V2 => {
            write_json(
                &dir.join(".zarray"),
                &json!({
                    "zarr_format": 2,
                    "shape": meta.shape,
                    "chunks": meta.chunks,
                    "dtype": meta.dtype.v2_name(),
                    "compressor": v2_compressor(meta.compression),
                    // xarray reads a V2 fill value as the missing-value
                    // marker: the null of the type, never a real zero
                    "fill_value": fill_value(meta, true),
                    "order": "C",
                    "filters": null,
                    "dimension_separator": ".",
                }),
            )?;
            let mut attrs = meta.attributes.clone();
            attrs.insert("_ARRAY_DIMENSIONS".into(), json!(meta.dims));
            write_json(&dir.join(".zattrs"), &Value::Object(attrs))
        }
    }
}

/// Whether a store key names a metadata document (of either format), not
/// a chunk.
pub fn is_metadata_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or("");
    matches!(
        name,
        "zarr.json" | ".zarray" | ".zattrs" | ".zgroup" | ".zmetadata"
    )
}

/// Consolidate the metadata of a group in its format.
pub fn consolidate(dir: &Path, format: Format) -> anyhow::Result<()> {
    match format {
        Format::V2 => consolidate_v2(dir),
        Format::V3 => consolidate_v3(dir),
    }
}

/// Names of the sub-directories of `dir` holding a `file`, sorted.
fn children_with(dir: &Path, file: &str) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().join(file).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Inline consolidated metadata in a V3 group's `zarr.json`, as
/// zarr-python 3 writes it, so `xarray.open_zarr` opens it without a warning.
fn consolidate_v3(dir: &Path) -> anyhow::Result<()> {
    let group_file = dir.join("zarr.json");
    let mut group: Value = serde_json::from_str(&std::fs::read_to_string(&group_file)?)?;
    let mut metadata = Map::new();
    for name in children_with(dir, "zarr.json")? {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&name).join("zarr.json"))?)?;
        metadata.insert(name, v);
    }
    group["consolidated_metadata"] =
        json!({"kind": "inline", "must_understand": false, "metadata": metadata});
    write_json(&group_file, &group)
}

/// Write consolidated metadata for a V2 group (`.zmetadata`), so that
/// `xarray.open_zarr` opens it without a warning.
fn consolidate_v2(dir: &Path) -> anyhow::Result<()> {
    let mut metadata = Map::new();
    let mut add = |key: String, file: &Path| -> anyhow::Result<()> {
        if file.is_file() {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
            metadata.insert(key, v);
        }
        Ok(())
    };
    add(".zgroup".into(), &dir.join(".zgroup"))?;
    add(".zattrs".into(), &dir.join(".zattrs"))?;
    for name in children_with(dir, ".zarray")? {
        add(format!("{name}/.zarray"), &dir.join(&name).join(".zarray"))?;
        add(format!("{name}/.zattrs"), &dir.join(&name).join(".zattrs"))?;
    }
    write_json(
        &dir.join(".zmetadata"),
        &json!({"zarr_consolidated_format": 1, "metadata": metadata}),
    )
}
