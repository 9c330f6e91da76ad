//! `attr export segy`: a variable of a dataset (e.g. an attribute result)
//! as a SEG-Y file, with the original headers when the dataset came from
//! SEG-Y, in IEEE (format 5) or IBM (format 1) floats.

use crate::io::segy::writer::{minimal_textual_header, Encoder};
use crate::io::segy::{Choice, Keys, SampleFormat, Segy};
use crate::store::Input;
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use ndarray::Array3;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct ExportOptions {
    pub variable: Option<String>,
    /// [`SampleFormat::Ieee`] or [`SampleFormat::Ibm`].
    pub format: SampleFormat,
    pub overwrite: bool,
    /// A SEG-Y file whose textual, binary and trace headers to reuse (traces
    /// matched by inline and crossline), for a dataset that doesn't carry them.
    pub template: Option<PathBuf>,
}

fn attr_b64(input: &Input, key: &str) -> Option<Vec<u8>> {
    let s = input.group_attributes.get(key)?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// The volume to write and its grid.
struct Volume {
    data: Input,
    ilines: Vec<i32>,
    xlines: Vec<i32>,
    samples: usize,
    dt_us: u16,
}

impl Volume {
    fn open(path: &Path, variable: Option<&str>) -> Result<Volume> {
        let at = crate::store::Location::parse(path, &Default::default())?;
        let data = Input::open(&at, variable)?;
        if data.ndim != 3 {
            bail!(
                "'{}': export writes 3-D volumes (inline, crossline, sample)",
                path.display()
            );
        }
        let [ni, nx, ns] = data.shape.map(|v| v as usize);
        if ns > u16::MAX as usize {
            bail!("{ns} samples per trace do not fit a SEG-Y binary header (at most 65535)");
        }
        let coord = |name: &str, n: usize| -> Vec<i32> {
            data.coords
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.values.iter().map(|&v| v as i32).collect())
                .unwrap_or_else(|| (1..=n as i32).collect())
        };
        let (ilines, xlines) = (coord(&data.dims[0], ni), coord(&data.dims[1], nx));
        let dt_us = data
            .sample_interval_ms()
            .map_or(4000, |ms| (ms * 1000.0).round() as u16);
        Ok(Volume {
            ilines,
            xlines,
            samples: ns,
            dt_us,
            data,
        })
    }

    /// Another variable of the same dataset (trace headers, mask), if there.
    fn sibling(&self, name: &str) -> Option<Input> {
        Input::open(&self.data.location, Some(name)).ok()
    }
}

/// The textual and binary headers: the template's, or those the dataset
/// kept from SEG-Y, with the sample count, interval and format updated;
/// minimal ones otherwise. Also whether the kept trace headers still fit.
fn file_headers(vol: &Volume, template: Option<&Segy>, enc: &Encoder) -> (Vec<u8>, Vec<u8>, bool) {
    let text = match template {
        Some(t) => Some(t.textual_header().to_vec()),
        None => attr_b64(&vol.data, "textual_header_raw_base64"),
    }
    .filter(|t| t.len() == 3200 && t.iter().any(|&b| b != 0x40))
    .unwrap_or_else(minimal_textual_header);
    let original = match template {
        Some(t) => Some(t.binary_header().to_vec()),
        None => attr_b64(&vol.data, "binary_header_raw_base64"),
    }
    .filter(|b| b.len() == 400);
    let mut binary = original.clone().unwrap_or_else(|| vec![0; 400]);
    enc.put_u16(&mut binary, 16, vol.dt_us);
    enc.put_u16(&mut binary, 20, vol.samples as u16);
    enc.put_u16(&mut binary, 24, enc.format.code());
    enc.put_u16(&mut binary, 304, 0); // no extended textual headers are written
    if binary[300] >= 2 {
        enc.put_u16(&mut binary, 306, 0); // nor additional trace headers
    }
    // kept trace headers are rewritten only where the layout changed
    let same_layout = original
        .as_ref()
        .is_some_and(|b| b[16..18] == binary[16..18] && b[20..22] == binary[20..22]);
    (text, binary, same_layout)
}

/// Where each trace's header comes from: the template's trace at the same
/// inline and crossline, the dataset's kept headers, or a minimal one.
struct TraceHeaders<'a> {
    template: Option<&'a Segy>,
    kept: Option<Input>,
    same_layout: bool,
}

impl TraceHeaders<'_> {
    /// Fill `out` (240 bytes) for trace `j` of inline `i`; `kept` is the
    /// inline's slab of kept headers, `n` the trace's number in the file.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        out: &mut [u8],
        vol: &Volume,
        enc: &Encoder,
        kept: Option<&Array3<f32>>,
        i: usize,
        j: usize,
        n: usize,
    ) {
        let from_template = self.template.and_then(|t| {
            let a = t.inlines.binary_search(&vol.ilines[i]).ok()?;
            let b = t.crosslines.binary_search(&vol.xlines[j]).ok()?;
            t.trace_at(a, b).map(|n| t.trace_header(n))
        });
        let minimal = match (from_template, kept) {
            (Some(h), _) => {
                out.copy_from_slice(h);
                false
            }
            (None, Some(h)) => {
                for (k, b) in out.iter_mut().enumerate() {
                    *b = h[[0, j, k]] as u8;
                }
                false
            }
            (None, None) => {
                out.fill(0);
                enc.put_i32(out, 188, vol.ilines[i]);
                enc.put_i32(out, 192, vol.xlines[j]);
                enc.put_i32(out, 0, (n + 1) as i32);
                true
            }
        };
        if minimal || !self.same_layout {
            enc.put_u16(out, 114, vol.samples as u16);
            enc.put_u16(out, 116, vol.dt_us);
        }
    }
}

/// Write every live trace, an inline at a time, into `file`; returns the
/// number written.
fn write_traces(
    file: std::fs::File,
    vol: &Volume,
    enc: &Encoder,
    (text, binary): (&[u8], &[u8]),
    headers: &TraceHeaders,
    sync: bool,
) -> Result<usize> {
    let [ni, nx, ns] = vol.data.shape.map(|v| v as usize);
    let mask = vol
        .sibling("trace_mask")
        .filter(|m| m.ndim == 2 && m.shape[1..] == [ni as u64, nx as u64]);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    w.write_all(text)?;
    w.write_all(binary)?;
    let mut written = 0;
    let mut trace = vec![0u8; 240 + 4 * ns];
    for i in 0..ni {
        let (i0, i1) = (i as u64, i as u64 + 1);
        let slab = vol
            .data
            .read_region([i0, 0, 0], [i1, nx as u64, ns as u64])?;
        let kept = match &headers.kept {
            Some(h) => Some(h.read_region([i0, 0, 0], [i1, nx as u64, 240])?),
            None => None,
        };
        let live = match &mask {
            Some(m) => Some(m.read_region([0, i0, 0], [1, i1, nx as u64])?),
            None => None,
        };
        for j in 0..nx {
            if live.as_ref().is_some_and(|m| m[[0, 0, j]] == 0.0) {
                continue;
            }
            headers.fill(&mut trace[..240], vol, enc, kept.as_ref(), i, j, written);
            enc.samples((0..ns).map(|k| slab[[0, j, k]]), &mut trace[240..]);
            w.write_all(&trace)?;
            written += 1;
        }
    }
    w.flush()?;
    if sync {
        w.get_ref().sync_all()?;
    }
    Ok(written)
}

pub fn segy(input_path: &Path, output: &Path, o: &ExportOptions) -> Result<()> {
    if !matches!(o.format, SampleFormat::Ibm | SampleFormat::Ieee) {
        bail!(
            "--format {}: give 5 (IEEE float) or 1 (IBM float)",
            o.format.code()
        );
    }
    let target = Target::of(output)?;
    if target == Target::Existing && !o.overwrite {
        bail!(
            "output '{}' already exists: pass --overwrite to replace it",
            output.display()
        );
    }
    let vol = Volume::open(input_path, o.variable.as_deref())?;
    let template = match &o.template {
        Some(p) => {
            let keys = Keys::resolve(p, &Choice::default()).map_err(anyhow::Error::msg)?;
            Some(Segy::open_keys(p, &keys)?)
        }
        None => None,
    };
    let big_endian = match &template {
        Some(t) => t.big_endian,
        None => {
            vol.data
                .group_attributes
                .get("byte_order")
                .and_then(|v| v.as_str())
                != Some("little")
        }
    };
    let enc = Encoder {
        big_endian,
        format: o.format,
    };
    let (text, binary, same_layout) = file_headers(&vol, template.as_ref(), &enc);
    let [ni, nx, _] = vol.data.shape;
    let headers = TraceHeaders {
        template: template.as_ref(),
        kept: vol
            .sibling("trace_headers")
            .filter(|h| template.is_none() && h.shape == [ni, nx, 240]),
        same_layout,
    };
    let shown = output.display();
    // a failed write (a full disk) names the file; a failed read names its own
    let write = |file| {
        write_traces(
            file,
            &vol,
            &enc,
            (&text, &binary),
            &headers,
            target != Target::Stream,
        )
        .map_err(|e| match e.downcast_ref::<std::io::Error>() {
            Some(_) => e.context(format!("cannot write '{shown}'")),
            None => e,
        })
    };
    let n = if target == Target::Stream {
        // a device or a pipe is written into, never replaced
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(output)
            .with_context(|| format!("cannot open '{shown}' for writing"))?;
        write(file)?
    } else {
        // written beside the output under this process's own name, and
        // renamed over it only when complete: two exports never mix
        let tmp = crate::store::private_sibling(output, "exporting");
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create '{}'", tmp.display()))?;
        match write(file).and_then(|n| {
            std::fs::rename(&tmp, output)
                .with_context(|| format!("cannot move the export into place as '{shown}'"))?;
            Ok(n)
        }) {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    };
    crate::noteln!(
        "attr: wrote {shown}: {n} traces of {} samples, format {} ({} endian)",
        vol.samples,
        o.format.code(),
        if big_endian { "big" } else { "little" }
    );
    Ok(())
}

/// What the export's output path is now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Nothing: the file is created.
    New,
    /// A regular file, replaced whole with `--overwrite`.
    Existing,
    /// A device or a pipe: written into as it is.
    Stream,
}

impl Target {
    fn of(output: &Path) -> Result<Target> {
        use std::os::unix::fs::FileTypeExt;
        let Ok(meta) = std::fs::metadata(output) else {
            return Ok(Target::New);
        };
        let t = meta.file_type();
        if t.is_dir() {
            bail!(
                "output '{}' is a directory: give the SEG-Y file's name (e.g. '{}')",
                output.display(),
                output.join("export.sgy").display()
            );
        }
        if t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket() {
            return Ok(Target::Stream);
        }
        Ok(Target::Existing)
    }
}
