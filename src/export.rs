//! `attr export segy`: a variable of a dataset (e.g. an attribute result)
//! as a SEG-Y file, with the original headers when the dataset came from
//! SEG-Y, in IEEE (format 5) or IBM (format 1) floats.

use crate::segy::writer::{minimal_textual_header, Encoder};
use crate::segy::{Choice, Keys, SampleFormat, Segy};
use crate::store::Input;
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use std::io::Write;
use std::path::Path;

pub struct Options {
    pub variable: Option<String>,
    /// 5 (IEEE float) or 1 (IBM float).
    pub format: u16,
    pub overwrite: bool,
    /// A SEG-Y file whose textual, binary and trace headers to reuse (traces
    /// matched by inline and crossline), for a dataset that doesn't carry them.
    pub template: Option<std::path::PathBuf>,
}

fn attr_b64(input: &Input, key: &str) -> Option<Vec<u8>> {
    let s = input.group_attributes.get(key)?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[allow(clippy::needless_range_loop)] // i and j index the grid and its coordinates alike
pub fn segy(input_path: &Path, output: &Path, o: &Options) -> Result<()> {
    if o.format != 1 && o.format != 5 {
        bail!(
            "--format {}: give 5 (IEEE float) or 1 (IBM float)",
            o.format
        );
    }
    if output.exists() && !o.overwrite {
        bail!(
            "output '{}' already exists: pass --overwrite to replace it",
            output.display()
        );
    }
    let vol = Input::open(input_path, o.variable.as_deref())?;
    if vol.ndim != 3 {
        bail!(
            "'{}': export writes 3-D volumes (inline, crossline, sample)",
            input_path.display()
        );
    }
    let [ni, nx, ns] = vol.shape.map(|v| v as usize);
    if ns > u16::MAX as usize {
        bail!("{ns} samples per trace do not fit a SEG-Y binary header (at most 65535)");
    }
    let template = match &o.template {
        Some(p) => {
            let keys = Keys::resolve(p, &Choice::default()).map_err(anyhow::Error::msg)?;
            Some(Segy::open_keys(p, &keys)?)
        }
        None => None,
    };
    let big = match &template {
        Some(t) => t.big_endian,
        None => {
            vol.group_attributes
                .get("byte_order")
                .and_then(|v| v.as_str())
                != Some("little")
        }
    };
    let coord = |name: &str, n: usize| -> Vec<i32> {
        vol.coords
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values.iter().map(|&v| v as i32).collect())
            .unwrap_or_else(|| (1..=n as i32).collect())
    };
    let (ilines, xlines) = (coord(&vol.dims[0], ni), coord(&vol.dims[1], nx));
    let dt_us = vol
        .sample_interval_ms()
        .map_or(4000, |ms| (ms * 1000.0).round() as u16);
    // headers from the dataset when it came from SEG-Y, else minimal ones
    let group = |name: &str| Input::open(input_path, Some(name)).ok();
    let text = match &template {
        Some(t) => Some(t.textual_header().to_vec()),
        None => attr_b64(&vol, "textual_header_raw_base64"),
    }
    .filter(|t| t.len() == 3200 && t.iter().any(|&b| b != 0x40))
    .unwrap_or_else(minimal_textual_header);
    let original = match &template {
        Some(t) => Some(t.binary_header().to_vec()),
        None => attr_b64(&vol, "binary_header_raw_base64"),
    }
    .filter(|b| b.len() == 400);
    let mut binary = original.clone().unwrap_or_else(|| vec![0; 400]);
    let enc = Encoder {
        big_endian: big,
        format: if o.format == 1 {
            SampleFormat::Ibm
        } else {
            SampleFormat::Ieee
        },
    };
    let put16 = |buf: &mut [u8], at: usize, v: u16| enc.put_u16(buf, at, v);
    let put32 = |buf: &mut [u8], at: usize, v: i32| enc.put_i32(buf, at, v);
    put16(&mut binary, 16, dt_us);
    put16(&mut binary, 20, ns as u16);
    put16(&mut binary, 24, o.format);
    put16(&mut binary, 304, 0); // no extended textual headers are written
    if binary[300] >= 2 {
        put16(&mut binary, 306, 0); // nor additional trace headers
    }
    let headers = group("trace_headers")
        .filter(|h| template.is_none() && h.shape == [ni as u64, nx as u64, 240]);
    // the template's trace at the output's (inline, crossline), if any
    let template_trace = |i: usize, j: usize| -> Option<&[u8]> {
        let t = template.as_ref()?;
        let a = t.inlines.binary_search(&ilines[i]).ok()?;
        let b = t.crosslines.binary_search(&xlines[j]).ok()?;
        t.trace_at(a, b).map(|n| t.trace_header(n))
    };
    // kept trace headers are rewritten only where the layout changed
    let same_layout = original
        .as_ref()
        .is_some_and(|b| b[16..18] == binary[16..18] && b[20..22] == binary[20..22]);
    let mask =
        group("trace_mask").filter(|m| m.ndim == 2 && m.shape[1..] == [ni as u64, nx as u64]);
    let tmp = output.with_file_name(format!(
        "{}.partial",
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let result = (|| -> Result<usize> {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create '{}'", tmp.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        w.write_all(&text)?;
        w.write_all(&binary)?;
        let mut written = 0;
        let mut trace = vec![0u8; 240 + 4 * ns];
        for i in 0..ni {
            let slab = vol.read_region([i as u64, 0, 0], [i as u64 + 1, nx as u64, ns as u64])?;
            let hdr = match &headers {
                Some(h) => Some(h.read_region([i as u64, 0, 0], [i as u64 + 1, nx as u64, 240])?),
                None => None,
            };
            let live = match &mask {
                Some(m) => Some(m.read_region([0, i as u64, 0], [1, i as u64 + 1, nx as u64])?),
                None => None,
            };
            for j in 0..nx {
                if live.as_ref().is_some_and(|m| m[[0, 0, j]] == 0.0) {
                    continue;
                }
                let from_template = template_trace(i, j);
                match &hdr {
                    _ if from_template.is_some() => {
                        trace[..240].copy_from_slice(from_template.expect("checked"));
                    }
                    Some(h) => {
                        for (k, b) in trace[..240].iter_mut().enumerate() {
                            *b = h[[0, j, k]] as u8;
                        }
                    }
                    None => {
                        trace[..240].fill(0);
                        put32(&mut trace, 188, ilines[i]);
                        put32(&mut trace, 192, xlines[j]);
                        put32(&mut trace, 0, (written + 1) as i32);
                    }
                }
                if (hdr.is_none() && from_template.is_none()) || !same_layout {
                    put16(&mut trace, 114, ns as u16);
                    put16(&mut trace, 116, dt_us);
                }
                enc.samples((0..ns).map(|k| slab[[0, j, k]]), &mut trace[240..]);
                w.write_all(&trace)?;
                written += 1;
            }
        }
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(written)
    })();
    match result {
        Ok(n) => {
            std::fs::rename(&tmp, output)?;
            crate::noteln!(
                "attr: wrote {}: {n} traces of {ns} samples, format {} ({} endian)",
                output.display(),
                o.format,
                if big { "big" } else { "little" }
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
