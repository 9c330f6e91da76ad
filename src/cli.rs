//! Command-line interface: each subcommand is documented here, so `--help`
//! is the manual.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "attr",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ATTR_COMMIT"), ")"),
    about = "Seismic attributes on Zarr volumes, block by block, in parallel",
    long_about = "Seismic attributes on Zarr volumes, block by block, in parallel.\n\n\
        A YAML job names the input volume, the attributes and the outputs; `attr run` reads each \
        output chunk plus the halo its kernel needs, pads the volume faces like Dask's \
        map_overlap, computes and writes xarray-readable Zarr datasets."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a shell completion script: `attr completions bash > /etc/bash_completion.d/attr`,
    /// `attr completions zsh > "${fpath[1]}/_attr"`, `attr completions fish >
    /// ~/.config/fish/completions/attr.fish`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `attr man > attr.1; man ./attr.1`.
    Man,
    /// Write a deterministic synthetic survey: folded reflectors (random
    /// reflectivity convolved with a 30 Hz Ricker wavelet at 4 ms), three
    /// normal faults with throw, a meandering channel, noise, and an
    /// irregular outline of missing traces (NaN, trace_mask 0). The same
    /// seed gives the same bytes, whatever the chunks or threads.
    Synth {
        /// Output dataset: amplitude, trace_mask, inline/crossline/time.
        output: PathBuf,
        /// inlines,crosslines,samples.
        #[arg(long, value_delimiter = ',', default_value = "128,96,256")]
        shape: Vec<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Noise, relative to a unit reflection coefficient.
        #[arg(long, default_value_t = 0.05)]
        noise: f32,
        #[arg(long, value_delimiter = ',', default_value = "64,64,128")]
        chunks: Vec<u64>,
        /// No outline: every trace live, a plain rectangle (for benchmarks
        /// and comparisons with tools that do not skip missing traces).
        #[arg(long)]
        full: bool,
        #[arg(long)]
        overwrite: bool,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a job spec: compute its attributes and write its outputs.
    Run {
        /// The YAML job spec (docs/job-spec.md).
        job: PathBuf,
        /// Worker threads (default: the job's `workers`, else all cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Replace outputs that already exist.
        #[arg(long)]
        overwrite: bool,
        /// Check the job and show the work without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// No progress and no summary.
        #[arg(long, short)]
        quiet: bool,
        /// Compute only shard I of N (0-based). Without it, a Slurm or LSF
        /// array task takes its shard from the environment.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Number of shards, for an array task whose environment does not
        /// give it (an LSF array that is not [1-N]).
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
        /// Skip chunks a previous run completed (default when the scheduler
        /// requeued the job: LSB_RESTART=Y or SLURM_RESTART_COUNT > 0).
        #[arg(long)]
        resume: bool,
        /// Check a published output's chunks against their recorded
        /// checksums and rewrite those that are damaged or missing
        /// (`--resume` does the same on a published output).
        #[arg(long)]
        repair: bool,
    },
    /// List the attributes with their parameters, defaults, halos and units.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// The attribute table as Markdown (docs/attributes.md).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Show the work a job will do, without doing it: chunks, halos, tasks,
    /// bytes to read and write, decodes, memory, and the split into shards.
    Plan {
        /// The job spec.
        job: PathBuf,
        /// Workers to plan for (default as `attr run`).
        #[arg(long)]
        workers: Option<usize>,
        /// Show how the work splits over N shards.
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
        /// Draw the block graph: .dot, or .png/.svg/.pdf with Graphviz installed.
        #[arg(long, value_name = "FILE")]
        graph: Option<PathBuf>,
    },
    /// Convert data to a Zarr dataset.
    Convert {
        #[command(subcommand)]
        what: ConvertWhat,
    },
    /// Write data out.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Draw a slice of a volume (Zarr array, dataset or SEG-Y file) as a
    /// PNG: axes in coordinate units, sample axis downwards, a colour bar.
    View {
        /// Zarr array or dataset, or a .sgy/.segy file.
        path: PathBuf,
        /// Variable(s) of a dataset, comma-separated: drawn side by side.
        #[arg(long, value_delimiter = ',')]
        variable: Vec<String>,
        /// Inline slice, by inline number.
        #[arg(long, group = "slice")]
        inline: Option<f64>,
        /// Crossline slice, by crossline number.
        #[arg(long, group = "slice")]
        crossline: Option<f64>,
        /// Time (or depth) slice, by coordinate value (ms).
        #[arg(long, group = "slice", alias = "time")]
        sample: Option<f64>,
        /// Inline slice by index (0-based).
        #[arg(long, group = "slice")]
        index_inline: Option<usize>,
        /// Crossline slice by index.
        #[arg(long, group = "slice")]
        index_crossline: Option<usize>,
        /// Sample slice by index.
        #[arg(long, group = "slice")]
        index_sample: Option<usize>,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        /// Colour map (default: seismic for data of both signs, else viridis).
        #[arg(long, value_enum)]
        cmap: Option<crate::render::Cmap>,
        /// Clip at this percentile (symmetric about 0 for amplitude-like data).
        #[arg(long, default_value_t = 99.0)]
        clip: f64,
        /// Fixed colour range LO,HI instead of clipping.
        #[arg(long, value_name = "LO,HI", allow_hyphen_values = true)]
        range: Option<String>,
        /// Other volumes on the same grid, drawn side by side (PATH, or
        /// PATH:VARIABLE for a variable of a dataset).
        #[arg(long, value_name = "PATH")]
        compare: Vec<PathBuf>,
        /// SEG-Y inline header byte.
        #[arg(long, default_value_t = 189)]
        iline_byte: usize,
        /// SEG-Y crossline header byte.
        #[arg(long, default_value_t = 193)]
        xline_byte: usize,
    },
    /// How far a job has got: chunks done per output, incomplete shards;
    /// exits non-zero unless everything is complete.
    Status {
        /// The job spec, or an output dataset.
        target: PathBuf,
        /// Check that every chunk is present and decodes.
        #[arg(long)]
        verify: bool,
        /// Report incomplete shards for this shard count (default: the
        /// count the last sharded run used).
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
    },
    /// Write and submit an LSF or Slurm job array that runs a job in N
    /// shards, plus a finalize job that verifies the result.
    Submit {
        /// The job spec.
        job: PathBuf,
        #[arg(long, value_enum)]
        scheduler: crate::submit::Scheduler,
        /// Number of array elements (shards).
        #[arg(long)]
        shards: usize,
        /// Queue (LSF -q) or partition (Slurm -p).
        #[arg(long)]
        queue: Option<String>,
        /// Cores per element (LSF -n, Slurm --cpus-per-task); attr uses them all.
        #[arg(long)]
        cores: Option<usize>,
        /// Memory per element, GB.
        #[arg(long, value_name = "GB")]
        memory: Option<u32>,
        /// Wall-clock limit per element, HH:MM.
        #[arg(long, value_name = "HH:MM")]
        walltime: Option<String>,
        /// Project / account to charge (LSF -P, Slurm -A).
        #[arg(long)]
        project: Option<String>,
        /// At most this many elements running at once.
        #[arg(long, value_name = "K")]
        max_running: Option<usize>,
        /// GPUs per element.
        #[arg(long)]
        gpus: Option<usize>,
        /// Print the scripts instead of submitting them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Describe a Zarr array or dataset: shape, dtype, chunks, codecs, dims, attributes.
    Info {
        /// Path of a Zarr array or group.
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum ExportWhat {
    /// A 3-D variable of a dataset as SEG-Y, with the original textual,
    /// binary and trace headers when the dataset came from `attr convert
    /// segy` (sample count, interval and format updated); missing traces
    /// (trace_mask) are skipped.
    Segy {
        input: PathBuf,
        output: PathBuf,
        /// The variable to write (default: the dataset's volume).
        #[arg(long)]
        variable: Option<String>,
        /// Sample format: 5 (IEEE float) or 1 (IBM float).
        #[arg(long, default_value_t = 5)]
        format: u16,
        /// Reuse this SEG-Y file's textual, binary and trace headers (traces
        /// matched by inline/crossline), e.g. for a dataset made by `attr
        /// convert images` or another tool.
        #[arg(long, value_name = "ORIG.sgy")]
        template: Option<PathBuf>,
        #[arg(long)]
        overwrite: bool,
    },
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum ConvertWhat {
    /// A stack of PNG or TIFF slices (8/16-bit grey, 32-bit float TIFF,
    /// multi-page TIFF) as one 3-D variable `image`, stacked along axis 0
    /// in natural order ("slice_2" before "slice_10"), dtype preserved.
    Images {
        /// Files, directories or glob patterns, then the output dataset.
        #[arg(required = true, num_args = 2..)]
        paths: Vec<String>,
        /// Dimension names, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "slice,row,column")]
        dims: Vec<String>,
        /// Chunk shape (default 16,256,256).
        #[arg(long, value_delimiter = ',')]
        chunks: Option<Vec<u64>>,
        /// Zarr format: 3, or 2 for older Python stacks.
        #[arg(long, default_value = "3")]
        format: crate::store::Format,
        /// zstd (level 1), zstd:LEVEL, blosc, gzip or none.
        #[arg(long, default_value = "zstd")]
        compression: crate::store::Compression,
        /// Worker threads (default: the cores available to the job).
        #[arg(long)]
        threads: Option<usize>,
        #[arg(long)]
        overwrite: bool,
        #[arg(long, short)]
        quiet: bool,
    },
    /// A post-stack 3-D SEG-Y file: amplitude (inline, crossline, time),
    /// coordinates, trace_mask, cdp_x/cdp_y, raw trace headers, and the
    /// textual and binary headers as metadata.
    Segy {
        input: PathBuf,
        output: PathBuf,
        /// Header byte layout: standard (inline 189, crossline 193), petrel
        /// or su (5, 21), or cdp (a 2-D line keyed by cdp at byte 21, stored
        /// as (cdp, time)). Default: the file's rev 2.1 XML trace-header
        /// layout when it has one, su for .su files, else standard.
        #[arg(long, value_parser = ["standard", "petrel", "su", "cdp"])]
        preset: Option<String>,
        /// Inline header byte, overriding the preset, as BYTE or BYTE:TYPE
        /// (int4 by default; int2, int8, uint2, uint4, uint8); with --preset
        /// cdp, the line's trace key.
        #[arg(long, value_name = "BYTE[:TYPE]")]
        iline_byte: Option<crate::segy::Field>,
        /// Crossline header byte, overriding the preset: BYTE or BYTE:TYPE.
        #[arg(long, value_name = "BYTE[:TYPE]")]
        xline_byte: Option<crate::segy::Field>,
        /// Only these inlines (cdps for a 2-D line): A:B or A:B:STEP, line
        /// numbers, inclusive.
        #[arg(long, value_name = "A:B[:STEP]")]
        inlines: Option<crate::convert::Span>,
        /// Only these crosslines: A:B or A:B:STEP, inclusive.
        #[arg(long, value_name = "A:B[:STEP]")]
        crosslines: Option<crate::convert::Span>,
        /// Only these samples: indices A:B or A:B:STEP, inclusive, from 0.
        #[arg(long, value_name = "A:B[:STEP]")]
        samples: Option<crate::convert::Span>,
        /// Only the samples between these times, ms, inclusive (e.g. 500:1500).
        #[arg(long, value_name = "A:B", value_parser = parse_time_range)]
        time: Option<(f64, f64)>,
        /// Worker threads (default: the cores available to the job).
        #[arg(long)]
        threads: Option<usize>,
        /// Byte order, instead of detecting it (from the 3297-3300 constant,
        /// else the order that makes the format code valid).
        #[arg(long, value_parser = ["big", "little"])]
        byte_order: Option<String>,
        /// Offset header byte (usually 37): pre-stack gathers, stored as
        /// (inline, crossline, offset, time). BYTE or BYTE:TYPE.
        #[arg(long, value_name = "BYTE[:TYPE]")]
        offset_byte: Option<crate::segy::Field>,
        /// Sample type: float32, or native (the file's own type).
        #[arg(long, default_value = "float32", value_parser = ["float32", "native"])]
        dtype: String,
        /// Chunk shape inline,crossline,sample (default 64,64,128: cubes
        /// that lateral attribute windows read few of, with traces long
        /// enough for FFTs); a 2-D line takes traces,sample (default 1024,128).
        #[arg(long, value_delimiter = ',')]
        chunks: Option<Vec<u64>>,
        /// Zarr format: 3, or 2 for older Python stacks.
        #[arg(long, default_value = "3")]
        format: crate::store::Format,
        /// zstd (level 1), zstd:LEVEL, blosc, gzip or none.
        #[arg(long, default_value = "zstd")]
        compression: crate::store::Compression,
        /// Value for missing traces (default NaN; needed for native integers).
        #[arg(long)]
        fill: Option<f64>,
        /// Treat traces of only zeros (as Petrel pads a survey's outline) as
        /// missing: filled like absent traces and 0 in trace_mask.
        #[arg(long)]
        dead_as_missing: bool,
        #[arg(long)]
        overwrite: bool,
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Run `f` on a pool of `threads` workers (default: the cores available).
fn with_threads<T>(
    threads: Option<usize>,
    f: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T>
where
    T: Send,
{
    let n = match threads {
        Some(0) => anyhow::bail!("--threads 0: give at least 1"),
        Some(n) => n,
        None => crate::shard::default_workers(&crate::shard::process_env).0,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?
        .install(f)
}

fn parse_time_range(v: &str) -> Result<(f64, f64), String> {
    let (a, b) = v
        .split_once(':')
        .ok_or_else(|| format!("'{v}': give START:END in ms, e.g. 500:1500"))?;
    let num = |p: &str| {
        p.trim()
            .parse::<f64>()
            .map_err(|_| format!("'{v}': '{p}' is not a number of ms"))
    };
    let (a, b) = (num(a)?, num(b)?);
    if b < a {
        return Err(format!("'{v}': the end is before the start"));
    }
    Ok((a, b))
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            job,
            workers,
            overwrite,
            dry_run,
            quiet,
            shard,
            shards,
            resume,
            repair,
        } => {
            crate::console::keep_going();
            crate::runner::run(
                &job,
                &crate::runner::RunOptions {
                    workers,
                    overwrite,
                    dry_run,
                    quiet,
                    shard,
                    shards,
                    resume,
                    repair,
                },
            )
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "attr",
                &mut buf,
            );
            crate::outln!("{}", String::from_utf8_lossy(&buf).trim_end());
            Ok(())
        }
        Command::Synth {
            output,
            shape,
            seed,
            noise,
            chunks,
            full,
            overwrite,
            quiet,
        } => {
            let (&[i, x, t], &[a, b, c]) = (shape.as_slice(), chunks.as_slice()) else {
                anyhow::bail!(
                    "--shape and --chunks take three sizes each, e.g. --shape 128,96,256"
                );
            };
            crate::synth::synth(
                &output,
                &crate::synth::Options {
                    shape: [i, x, t],
                    chunks: [a, b, c],
                    seed,
                    noise,
                    full,
                    overwrite,
                    quiet,
                },
            )
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut buf)?;
            crate::outln!("{}", String::from_utf8_lossy(&buf).trim_end());
            Ok(())
        }
        Command::List { markdown: true, .. } => {
            let md = crate::list::markdown();
            crate::outln!("{}", md.trim_end_matches('\n'));
            Ok(())
        }
        Command::List { json, .. } => crate::list::print(json),
        Command::Info { path } => crate::info::print(&path),
        Command::Export {
            what:
                ExportWhat::Segy {
                    input,
                    output,
                    variable,
                    format,
                    template,
                    overwrite,
                },
        } => crate::export::segy(
            &input,
            &output,
            &crate::export::Options {
                variable,
                format,
                overwrite,
                template,
            },
        ),
        Command::Convert {
            what:
                ConvertWhat::Images {
                    mut paths,
                    dims,
                    chunks,
                    format,
                    compression,
                    threads,
                    overwrite,
                    quiet,
                },
        } => {
            let output = PathBuf::from(paths.pop().expect("at least two paths"));
            let dims: [String; 3] = dims.try_into().map_err(|d: Vec<String>| {
                anyhow::anyhow!("--dims needs 3 names, got {}", d.len())
            })?;
            let options = crate::images::Options {
                dims,
                chunks,
                format,
                compression,
                overwrite,
                quiet,
            };
            with_threads(threads, || {
                crate::images::convert(&paths, &output, &options)
            })
        }
        Command::Convert {
            what:
                ConvertWhat::Segy {
                    input,
                    output,
                    preset,
                    iline_byte,
                    xline_byte,
                    offset_byte,
                    inlines,
                    crosslines,
                    samples,
                    time,
                    threads,
                    byte_order,
                    dtype,
                    chunks,
                    format,
                    compression,
                    fill,
                    dead_as_missing,
                    overwrite,
                    quiet,
                },
        } => {
            use crate::segy::{Field, Keys};
            let su_file = input
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("su"));
            // explicit bytes, else the preset, else (None) the file's XML
            // layout or the standard bytes
            let (il, xl) = match preset.as_deref() {
                Some("petrel") | Some("su") => (Some(5), Some(21)),
                Some("cdp") => (Some(21), None),
                Some(_) => (Some(189), Some(193)),
                None if su_file => (Some(5), Some(21)),
                None => (None, None),
            };
            let line = preset.as_deref() == Some("cdp");
            if line && xline_byte.is_some() {
                anyhow::bail!("--xline-byte: a 2-D line (--preset cdp) has no crossline");
            }
            let keys = Keys {
                iline: iline_byte.or(il.map(Field::int4)),
                xline: xline_byte.or(xl.map(Field::int4)),
                offset: offset_byte,
                line,
                big_endian: byte_order.map(|b| b == "big"),
            };
            let options = crate::convert::Options {
                keys,
                inlines,
                crosslines,
                samples,
                time,
                native: dtype == "native",
                chunks,
                format,
                compression,
                fill,
                dead_as_missing,
                overwrite,
                quiet,
            };
            with_threads(threads, || crate::convert::segy(&input, &output, &options))
        }
        Command::View {
            path,
            variable,
            inline,
            crossline,
            sample,
            index_inline,
            index_crossline,
            index_sample,
            output,
            cmap,
            clip,
            range,
            compare,
            iline_byte,
            xline_byte,
        } => {
            use crate::view::Position;
            let (axis, position) = match (inline, crossline, sample, index_inline, index_crossline, index_sample) {
                (Some(v), ..) => (0, Position::Value(v)),
                (_, Some(v), ..) => (1, Position::Value(v)),
                (_, _, Some(v), ..) => (2, Position::Value(v)),
                (_, _, _, Some(i), ..) => (0, Position::Index(i)),
                (_, _, _, _, Some(i), _) => (1, Position::Index(i)),
                (_, _, _, _, _, Some(i)) => (2, Position::Index(i)),
                // a 2-D line has one "inline": draw it whole
                _ if crate::store::Input::open(&path, variable.first().map(String::as_str)).is_ok_and(|i| i.ndim == 2) => {
                    (0, Position::Index(0))
                }
                _ => anyhow::bail!("say which slice: --inline N, --crossline N, --sample MS (or --index-inline I, ...)"),
            };
            if !(50.0..=100.0).contains(&clip) {
                anyhow::bail!("--clip {clip}: give a percentile between 50 and 100");
            }
            let range = match range {
                None => None,
                Some(r) => {
                    let v: Vec<f32> = r.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                    match v.as_slice() {
                        [lo, hi] if hi > lo => Some((*lo, *hi)),
                        _ => anyhow::bail!("--range '{r}': expected LO,HI with LO < HI"),
                    }
                }
            };
            let mut paths = vec![path];
            paths.extend(compare);
            crate::view::view(&crate::view::Request {
                paths,
                variables: variable,
                axis,
                position,
                output,
                cmap,
                clip,
                range,
                iline_byte,
                xline_byte,
            })
        }
        Command::Plan {
            job,
            workers,
            shards,
            graph,
        } => crate::planview::print(&job, workers, shards, graph.as_deref()),
        Command::Status {
            target,
            verify,
            shards,
        } => {
            if crate::status::report(&target, verify, shards)? {
                Ok(())
            } else {
                anyhow::bail!(
                    "{} is not complete{}",
                    target.display(),
                    if verify { " or not verified" } else { "" }
                )
            }
        }
        Command::Submit {
            job,
            scheduler,
            shards,
            queue,
            cores,
            memory,
            walltime,
            project,
            max_running,
            gpus,
            dry_run,
        } => {
            // refuse a bad job now, not in N array elements later
            crate::runner::prepare(&job, Some(1), 1)?;
            let abs =
                |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            let request = crate::submit::Request {
                scheduler,
                name: format!(
                    "attr-{}",
                    job.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "job".into())
                ),
                attr: std::env::current_exe()?,
                job: abs(&job),
                workdir: abs(&std::env::current_dir()?),
                shards,
                queue,
                cores,
                memory_gb: memory,
                walltime,
                project,
                max_running,
                gpus,
            };
            crate::submit::submit(&request, dry_run)
        }
    }
}
