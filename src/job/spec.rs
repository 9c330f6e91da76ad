//! The job spec as written: every key, its type and default; parsing is
//! strict, so a typo never silently falls back to a default.

pub use crate::engine::boundary::Boundary;
use crate::store::{Compression, Dtype, Format};
use anyhow::Context;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Input Zarr array or dataset group.
    pub input: PathBuf,
    /// Variable of a dataset group (default: its only ≥2-D array).
    #[serde(default)]
    pub variable: Option<String>,
    /// Edge handling at the volume faces.
    #[serde(default)]
    pub boundary: Boundary,
    /// Worker threads; 0 = all cores.
    #[serde(default)]
    pub workers: usize,
    /// Sample interval in ms, overriding the input's metadata.
    #[serde(default)]
    pub sample_interval: Option<f64>,
    /// Memory for decoded input chunks, in MiB.
    #[serde(default)]
    pub cache_mb: Option<u64>,
    /// Memory the whole run may use, in MiB (default: a share of the
    /// scheduler's allocation or of the machine's memory).
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Samples equal to this value are null, besides NaN and the fill
    /// values the input's metadata declares.
    #[serde(default)]
    pub null_value: Option<f64>,
    /// Whether live traces holding only zeros are data or missing.
    #[serde(default)]
    pub dead_traces: DeadTraces,
    /// Refuse input chunks missing from the store instead of reading them
    /// as the fill value (Zarr's rule; in a survey, usually a lost file).
    #[serde(default)]
    pub strict_input: bool,
    /// Attributes to compute (or, instead, a `classify` section).
    #[serde(default)]
    pub outputs: Vec<OutputSpec>,
    /// Facies classification of the input's variables.
    #[serde(default)]
    pub classify: Option<ClassifySpec>,
    /// Maps on horizons: the input or an attribute at a horizon, or a
    /// statistic of it over a window about it or down to a second one.
    #[serde(default)]
    pub maps: Vec<MapSpec>,
    /// Object storage settings for s3:// paths, beside the AWS environment.
    #[serde(default)]
    pub storage: Option<crate::store::remote::Settings>,
    /// The survey grid on the map, where the input has no cdp_x/cdp_y (or
    /// to override them): for dips in physical units and azimuths.
    #[serde(default)]
    pub geometry: Option<super::geometry::GeometrySpec>,
}

impl JobSpec {
    /// Where `path` (a store the job names) lies, reached with the job's
    /// `storage:` settings: decided here, once per path.
    pub fn locate(&self, path: &Path) -> anyhow::Result<crate::store::Location> {
        crate::store::Location::parse(path, &self.storage.clone().unwrap_or_default())
    }
}

/// One map (or several: one per statistic) on a horizon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSpec {
    /// A horizon dataset (`attr horizon import`, `attr synth`) or a horizon
    /// file, placed on the input's traces.
    pub horizon: PathBuf,
    /// The attribute mapped; default the input's values.
    #[serde(default)]
    pub attribute: Option<String>,
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The window about the horizon, `[above, below]` in the sample axis'
    /// unit (negative above): `[-20, 40]`.
    #[serde(default)]
    pub window: Option<[f64; 2]>,
    /// Instead of `window`: down to a second horizon.
    #[serde(default)]
    pub base: Option<BaseSpec>,
    /// What is mapped: `value` at the horizon, or statistics of the window.
    #[serde(default, alias = "statistic", deserialize_with = "one_or_many")]
    pub statistics: Vec<Statistic>,
    /// How `value` is read between samples.
    #[serde(default)]
    pub interpolation: Interpolation,
    /// Window statistics read the trace this many times per sample
    /// interval, with `interpolation` (xtgeo's `ndiv`); 1 reads the samples.
    #[serde(default = "one_reading")]
    pub refine: u32,
    /// The map dataset (2-D: inline, crossline).
    pub path: PathBuf,
    /// The variable's name (with `_STATISTIC` when there are several);
    /// default from the attribute.
    #[serde(default)]
    pub name: Option<String>,
}

fn one_reading() -> u32 {
    1
}

/// A window's base: a second horizon, moved by `offset`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseSpec {
    pub horizon: PathBuf,
    #[serde(default)]
    pub offset: f64,
}

/// A map's statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    Value,
    Mean,
    Rms,
    Min,
    Max,
    Maxabs,
    Sum,
    Variance,
    Stdev,
    MeanPositive,
    MeanNegative,
    MeanAbsolute,
    SumPositive,
    SumNegative,
    SumAbsolute,
    ZOfMax,
    ZOfMin,
    Count,
    /// The window's samples about the horizon, a volume on (inline,
    /// crossline, relative sample): a sub-cube, or one flattened on it.
    Samples,
}

impl Statistic {
    pub fn name(self) -> &'static str {
        use Statistic::*;
        match self {
            Value => "value",
            Mean => "mean",
            Rms => "rms",
            Min => "min",
            Max => "max",
            Maxabs => "maxabs",
            Sum => "sum",
            Variance => "variance",
            Stdev => "stdev",
            MeanPositive => "mean_positive",
            MeanNegative => "mean_negative",
            MeanAbsolute => "mean_absolute",
            SumPositive => "sum_positive",
            SumNegative => "sum_negative",
            SumAbsolute => "sum_absolute",
            ZOfMax => "z_of_max",
            ZOfMin => "z_of_min",
            Count => "count",
            Samples => "samples",
        }
    }
}

/// How a value between samples is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    Nearest,
    #[default]
    Linear,
    /// Keys' cubic convolution (a = -0.5) over four samples.
    Cubic,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Statistic>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Statistic),
        Many(Vec<Statistic>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// How features are brought to comparable units before clustering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalerKind {
    /// (x − mean) / std, population std (scikit-learn's StandardScaler).
    Standard,
    /// (x − median) / IQR (scikit-learn's RobustScaler).
    Robust,
    /// The features' own units.
    None,
}

/// `classify:`: k-means facies of feature variables on one grid, fitted
/// here or taken from an earlier result (`model`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifySpec {
    /// Variables of the input, or `{path, variable}` on the same grid.
    #[serde(default)]
    pub features: Vec<Feature>,
    #[serde(default)]
    pub method: Method,
    #[serde(default)]
    pub clusters: Option<usize>,
    #[serde(default = "standard")]
    pub scaler: ScalerKind,
    /// Training samples drawn from the live ones, or `all` (default:
    /// 1,000,000, or every live sample when there are fewer).
    #[serde(default)]
    pub sample: Option<SampleSize>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub init: Init,
    #[serde(default = "max_iter")]
    pub max_iter: usize,
    #[serde(default = "tol")]
    pub tol: f64,
    /// Restarts from k-means++; the lowest inertia is kept.
    #[serde(default = "one")]
    pub n_init: usize,
    /// A classification written before: its features, scaler and centres.
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// The output dataset.
    pub path: PathBuf,
    #[serde(default)]
    pub chunks: Option<Vec<u64>>,
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default)]
    pub compression: Option<Compression>,
}

fn standard() -> ScalerKind {
    ScalerKind::Standard
}
fn max_iter() -> usize {
    300
}
fn tol() -> f64 {
    1e-4
}
fn one() -> usize {
    1
}

/// A feature: a variable of the input, or of another dataset on its grid.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Feature {
    Name(String),
    Source {
        path: PathBuf,
        variable: String,
    },
    /// An attribute of the input volume, computed on the fly.
    Attribute {
        attribute: String,
        #[serde(default)]
        params: Map<String, Value>,
    },
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Kmeans,
}

/// How many training samples: a number, or every live sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleSize {
    Count(usize),
    All,
}

impl Default for SampleSize {
    fn default() -> Self {
        SampleSize::Count(1_000_000)
    }
}

impl<'de> Deserialize<'de> for SampleSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // any number or word is read, so that every wrong one gets this
        // message rather than serde's "no variant matched"
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            F(f64),
            Word(String),
        }
        let bad = |got: String| {
            serde::de::Error::custom(format!(
                "sample: give a positive number of samples or `all`, got {got}"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::N(n) if n > 0 => Ok(SampleSize::Count(n as usize)),
            Raw::N(n) => Err(bad(n.to_string())),
            Raw::F(x) => Err(bad(x.to_string())),
            Raw::Word(w) if w == "all" => Ok(SampleSize::All),
            Raw::Word(w) => Err(bad(format!("'{w}'"))),
        }
    }
}

/// The initial centres: k-means++ from the seed, or given (scaled units).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Init {
    #[default]
    KMeansPlusPlus,
    Centres(Vec<Vec<f64>>),
}

impl<'de> Deserialize<'de> for Init {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Centres(Vec<Vec<f64>>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "k-means++" => Ok(Init::KMeansPlusPlus),
            Raw::Centres(c) if !c.is_empty() => Ok(Init::Centres(c)),
            _ => Err(serde::de::Error::custom(
                "init: give `k-means++` or the centres, [[...], [...], ...]",
            )),
        }
    }
}

/// What a trace of zeros is: Petrel and other exports pad a survey's
/// outline with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadTraces {
    /// Zeros are data.
    #[default]
    Data,
    /// Traces of zeros are missing, as if the trace mask said so.
    Missing,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The attribute (or, instead, an `expression`).
    #[serde(default)]
    pub attribute: String,
    /// Arithmetic on the input, attributes and the job's other outputs.
    #[serde(default)]
    pub expression: Option<String>,
    pub path: PathBuf,
    /// Variable name in the output dataset (default: the attribute name).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub dtype: Option<Dtype>,
    /// For an integer dtype: stored value = round(value × scale), recorded
    /// as CF `scale_factor` = 1/scale so that readers decode it.
    #[serde(default)]
    pub scale: Option<f64>,
    #[serde(default)]
    pub chunks: Option<Vec<u64>>,
    /// Chunks gathered into shards (Zarr V3): a shard shape, or `auto`.
    #[serde(default)]
    pub sharding: Option<super::Sharding>,
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default)]
    pub compression: Option<Compression>,
}

/// Parse a job spec; errors name the file, line and column.
pub fn parse(text: &str, file: &Path) -> anyhow::Result<JobSpec> {
    let spec: JobSpec = serde_saphyr::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), one_line(&e.to_string())))?;
    let kinds = [
        !spec.outputs.is_empty(),
        spec.classify.is_some(),
        !spec.maps.is_empty(),
    ];
    match kinds {
        [false, false, false] => anyhow::bail!(
            "{}: `outputs` is empty: name at least one attribute to compute (or give `classify` or `maps`)",
            file.display()
        ),
        [_, true, true] | [true, true, _] => anyhow::bail!(
            "{}: a `classify` job computes facies alone: give `outputs` (volumes) and `maps` (maps on horizons) in another job",
            file.display()
        ),
        _ => {}
    }
    if let Some(v) = spec.null_value {
        if !v.is_finite() {
            anyhow::bail!(
                "{}: null_value must be a finite number (NaN is always null), got {v}",
                file.display()
            );
        }
    }
    if let Some(dt) = spec.sample_interval {
        if !(dt > 0.0 && dt.is_finite()) {
            anyhow::bail!(
                "{}: sample_interval must be a positive number of ms, got {dt}",
                file.display()
            );
        }
    }
    for (i, o) in spec.outputs.iter().enumerate() {
        match (o.attribute.is_empty(), &o.expression) {
            (true, None) => anyhow::bail!(
                "{}: outputs[{i}] names no `attribute` (or `expression`): give one",
                file.display()
            ),
            (false, Some(_)) => anyhow::bail!(
                "{}: outputs[{i}] gives both `attribute` and `expression`: give one",
                file.display()
            ),
            (true, Some(_)) if o.name.is_none() => anyhow::bail!(
                "{}: outputs[{i}] is an expression: give it a `name:`",
                file.display()
            ),
            (true, Some(_)) if !o.params.is_empty() => anyhow::bail!(
                "{}: outputs[{i}] is an expression, which takes no `params`: the attributes it names take theirs from the outputs that compute them",
                file.display()
            ),
            _ => {}
        }
        if let Some(sc) = o.scale {
            if !(sc.is_finite() && sc > 0.0) {
                anyhow::bail!(
                    "{}: outputs[{i}].scale must be a positive number, got {sc}",
                    file.display()
                );
            }
            if o.dtype.is_none_or(|d| d.is_float()) {
                anyhow::bail!(
                    "{}: outputs[{i}].scale applies to integer dtypes (int8 ... uint64): give one, or drop scale",
                    file.display()
                );
            }
        }
        if let Some(c) = &o.chunks {
            if c.contains(&0) {
                anyhow::bail!(
                    "{}: outputs[{i}].chunks must be positive, got {c:?}",
                    file.display()
                );
            }
        }
    }
    Ok(spec)
}

/// The largest job file read: a job is a page of YAML, and a path to
/// something endless (`/dev/zero`) must not fill the memory.
const MAX_JOB_BYTES: u64 = 4 << 20;

/// Read and parse a job file, once (it may be a pipe: `<(cat job.yaml)`).
pub fn load(path: &Path) -> anyhow::Result<JobSpec> {
    let text = read_job_file(path)?;
    parse(&text, path)
}

/// The text of a job file: a regular file or a pipe, at most
/// [`MAX_JOB_BYTES`], UTF-8.
fn read_job_file(path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read job file '{}'", path.display()))?;
    let kind = meta.file_type();
    if !(kind.is_file() || kind.is_fifo()) {
        anyhow::bail!(
            "job file '{}' is not a file (a directory or a device): give the YAML job spec",
            path.display()
        );
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_JOB_BYTES + 1).read_to_end(&mut bytes))
        .with_context(|| format!("cannot read job file '{}'", path.display()))?;
    if bytes.len() as u64 > MAX_JOB_BYTES {
        anyhow::bail!(
            "job file '{}' is larger than {} MiB: a job spec is a page of YAML; is this the right file?",
            path.display(),
            MAX_JOB_BYTES >> 20
        );
    }
    String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "job file '{}' is not text (UTF-8): give the YAML job spec",
            path.display()
        )
    })
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("job.yaml")).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_documented_shape() {
        let spec = parse(
            "input: a.zarr\nboundary: {constant: 2.5}\noutputs:\n  - attribute: semblance\n    params: {window: [3, 3, 9]}\n    path: o.zarr\n    format: 2\n    compression: blosc\n",
            Path::new("j.yaml"),
        )
        .unwrap();
        assert_eq!(spec.boundary, Boundary::Constant(2.5));
        assert_eq!(spec.outputs[0].format, Some(Format::V2));
        assert_eq!(spec.outputs[0].compression, Some(Compression::Blosc));
        assert_eq!(
            spec.outputs[0].params["window"],
            serde_json::json!([3, 3, 9])
        );
    }

    /// `compression` and `format` take what the command line takes.
    #[test]
    fn compression_and_format_read_as_on_the_command_line() {
        let job = |v: &str| {
            format!("input: a.zarr\noutputs:\n  - attribute: copy\n    path: o.zarr\n    {v}\n")
        };
        let spec = parse(&job("compression: zstd:5"), Path::new("j.yaml")).unwrap();
        assert_eq!(spec.outputs[0].compression, Some(Compression::ZstdLevel(5)));
        assert_eq!("zstd:5".parse(), Ok(Compression::ZstdLevel(5)));
        for (v, needle) in [
            ("compression: zstd:23", "-7 to 22"),
            ("compression: lz4", "zstd:LEVEL"),
            ("format: 4", "2 or 3"),
        ] {
            let e = err(&job(v));
            assert!(e.contains(needle) && e.contains("line 5"), "{v}: {e}");
        }
    }

    #[test]
    fn unknown_key_names_line() {
        let e = err(
            "input: a.zarr\noutputs:\n  - attribute: envelope\n    path: o.zarr\n    colour: red\n",
        );
        assert!(e.contains("colour"), "{e}");
        assert!(e.contains("line 5"), "{e}");
    }

    #[test]
    fn bad_boundary_is_explained() {
        let e =
            err("input: a.zarr\nboundary: mirror\noutputs:\n  - {attribute: copy, path: o.zarr}\n");
        assert!(e.contains("mirror") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn wrong_type_names_line() {
        let e =
            err("input: a.zarr\nworkers: many\noutputs:\n  - {attribute: copy, path: o.zarr}\n");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn null_value_must_be_a_number() {
        let e =
            err("input: a.zarr\nnull_value: none\noutputs:\n  - {attribute: copy, path: o.zarr}\n");
        assert!(e.contains("line 2") && e.contains("null_value"), "{e}");
        let e = err(
            "input: a.zarr\ndead_traces: maybe\noutputs:\n  - {attribute: copy, path: o.zarr}\n",
        );
        assert!(e.contains("line 2") && e.contains("missing"), "{e}");
    }

    #[test]
    fn empty_outputs_refused() {
        assert!(err("input: a.zarr\noutputs: []\n").contains("empty"));
    }
}
