//! Reading SEG-Y files in place (memory-mapped): headers, sample formats,
//! byte order, and the inline/crossline geometry from trace headers.

use anyhow::{bail, Context, Result};
use memmap2::Mmap;
use std::path::Path;

pub mod binary;
pub mod format;
pub mod geometry;
pub mod keys;
pub mod layout;
pub mod text;
pub mod writer;

pub use binary::BinaryHeader;
use binary::{BINARY, TEXT, TRACE_HEADER};
pub use format::{ibm_to_f32, SampleFormat};
pub use geometry::Geometry;
pub use keys::{Choice, Keys, Preset};
pub use layout::{Field, Layout, TraceField};
pub use text::{decode_text, ebcdic_to_ascii};

/// A SEG-Y file, its layout and post-stack geometry.
pub struct Segy {
    map: Mmap,
    pub big_endian: bool,
    pub format: SampleFormat,
    pub samples: usize,
    /// Sample interval, µs (fractional from a rev 2 extended interval).
    pub dt_us: f64,
    pub t0_ms: f64,
    data_start: usize,
    /// Bytes of trace header in front of each trace (240, or more with
    /// rev 2 additional trace headers).
    header_len: usize,
    /// A Seismic Unix file: traces only, no textual or binary header.
    su: bool,
    /// The file's rev 2.1 XML trace-header layout, if it has one.
    pub layout: Option<Layout>,
    /// A 2-D line: `inlines` holds the trace keys (e.g. cdp), `crosslines` is `[0]`.
    pub line: bool,
    /// Where the geometry was read: the inline (or a line's trace key) and
    /// crossline fields, as resolved from the flags, the layout or the standard.
    pub iline_field: Field,
    pub xline_field: Option<Field>,
    pub inlines: Vec<i32>,
    pub crosslines: Vec<i32>,
    /// Offsets of a pre-stack file (one 0 for post-stack).
    pub offsets: Vec<i32>,
    /// The trace in each cell.
    grid: Geometry,
}

/// A header value with a SEG-Y scalar applied: a positive scalar
/// multiplies, a negative one divides, 0 means 1.
pub fn scaled(v: f64, scalar: f64) -> f64 {
    if scalar > 0.0 {
        v * scalar
    } else if scalar < 0.0 {
        v / -scalar
    } else {
        v
    }
}

impl Segy {
    /// Open `path` with the geometry in the header fields `keys`.
    pub fn open_keys(path: &Path, keys: &Keys) -> Result<Segy> {
        let mut seg = Self::map(path, keys)?;
        let name = path.display().to_string();
        seg.bind_layout(&name)?;
        seg.t0_ms = scaled(
            seg.value(0, TraceField::DelayTime),
            seg.value(0, TraceField::TimeScalar),
        );
        if seg.dt_us == 0.0 {
            seg.dt_us = seg.value(0, TraceField::SampleInterval);
        }
        seg.read_geometry(&name, keys)?;
        Ok(seg)
    }

    /// Map the file and read what its binary header says; no geometry yet.
    fn map(path: &Path, keys: &Keys) -> Result<Segy> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open '{}'", path.display()))?;
        // SAFETY: the file is only read; a concurrent writer could change
        // the bytes under us, which at worst gives wrong values, as any read would.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("cannot map '{}'", path.display()))?;
        let name = path.display().to_string();
        let su = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("su"));
        let h = if su {
            BinaryHeader::su(&map, &name, keys.big_endian)?
        } else {
            BinaryHeader::segy(&map, &name, keys.big_endian)?
        };
        let (samples, data_start, trace_len) = (h.samples, h.data_start, h.trace_len());
        if samples == 0
            || map.len() < data_start
            || !(map.len() - data_start).is_multiple_of(trace_len)
        {
            bail!(
                "'{name}' is truncated or inconsistent: {} bytes of traces is not a whole number of {trace_len}-byte traces ({samples} samples of format {})",
                map.len().saturating_sub(data_start),
                h.format.code()
            );
        }
        if map.len() == data_start {
            bail!("'{name}' holds no traces");
        }
        Ok(Segy {
            map,
            big_endian: h.big_endian,
            format: h.format,
            samples,
            dt_us: h.dt_us,
            t0_ms: 0.0,
            data_start,
            header_len: h.header_len,
            su,
            layout: None,
            line: keys.line,
            iline_field: Field::int4(189),
            xline_field: None,
            inlines: Vec::new(),
            crosslines: Vec::new(),
            offsets: Vec::new(),
            grid: Geometry::default(),
        })
    }

    fn traces(&self) -> usize {
        (self.map.len() - self.data_start) / (self.header_len + self.samples * self.format.size())
    }

    /// The file's rev 2.1 XML trace-header layout, if it carries one, bound
    /// to the extension headers by their names in the first trace.
    fn bind_layout(&mut self, name: &str) -> Result<()> {
        let Some(xml) = layout::find_stanza(self.extended_headers()) else {
            return Ok(());
        };
        let at = format!("'{name}'");
        let mut l = Layout::parse(&xml, &at)?;
        let names: Vec<[u8; 8]> = (1..self.header_len / TRACE_HEADER)
            .map(|k| {
                let o = self.trace_offset(0) + k * TRACE_HEADER + 232;
                let mut n = [0u8; 8];
                n.copy_from_slice(&self.map[o..o + 8]);
                n
            })
            .collect();
        l.bind(&names, &at)?;
        self.layout = Some(l);
        Ok(())
    }

    /// Every trace's (inline, crossline, offset) from the fields `keys`
    /// name (else the layout's or the standard ones), and the grid they
    /// make.
    fn read_geometry(&mut self, name: &str, keys: &Keys) -> Result<()> {
        for f in [&keys.iline, &keys.xline, &keys.offset]
            .into_iter()
            .flatten()
        {
            if f.byte == 0 || f.byte + f.kind.size() - 1 > TRACE_HEADER {
                bail!(
                    "header byte {}: a {}-byte value must start between byte 1 and {} of the 240-byte trace header",
                    f.byte,
                    f.kind.size(),
                    TRACE_HEADER + 1 - f.kind.size()
                );
            }
        }
        let iline = keys
            .iline
            .unwrap_or_else(|| self.field(TraceField::Iline).0);
        let xline = if keys.line {
            None
        } else {
            Some(
                keys.xline
                    .unwrap_or_else(|| self.field(TraceField::Xline).0),
            )
        };
        let key = |t: usize, f: &Field| -> Result<i32> {
            let v = self.read(t, f);
            if v.fract() != 0.0 || v < i32::MIN as f64 || v > i32::MAX as f64 {
                bail!(
                    "'{name}': trace {t} has {v} at {}, which is not a line or offset number; check the header bytes",
                    f.describe()
                );
            }
            Ok(v as i32)
        };
        // a page per trace header: give them back as the scan goes, so
        // resident memory doesn't grow with the file
        let traces = self.traces();
        let mut keys3: Vec<(i32, i32, i32)> = Vec::with_capacity(traces);
        for t in 0..traces {
            keys3.push((
                key(t, &iline)?,
                xline.as_ref().map_or(Ok(0), |f| key(t, f))?,
                keys.offset.as_ref().map_or(Ok(0), |f| key(t, f))?,
            ));
            if t % 4096 == 4095 {
                self.release(t - 4095, t);
            }
        }
        let done = traces / 4096 * 4096;
        if done < traces {
            self.release(done, traces - 1);
        }
        let at = match &xline {
            Some(x) => format!(
                "inline at {} / crossline at {}",
                iline.describe(),
                x.describe()
            ),
            None => format!("the line's trace key at {}", iline.describe()),
        };
        let reading = geometry::Reading {
            name,
            at,
            key: iline.describe(),
            line: keys.line,
            offsets: keys.offset.is_some(),
        };
        let mut grid = Geometry::build(&keys3, &reading)?;
        self.iline_field = iline;
        self.xline_field = xline;
        self.inlines = std::mem::take(&mut grid.inlines);
        self.crosslines = std::mem::take(&mut grid.crosslines);
        self.offsets = std::mem::take(&mut grid.offsets);
        self.grid = grid;
        Ok(())
    }

    /// The field `name` (from the XML layout when the file has one, else its
    /// standard place), with the extension fields that replace it when non-zero.
    pub fn field(&self, f: TraceField) -> (Field, Vec<Field>) {
        self.layout
            .as_ref()
            .and_then(|l| l.lookup(f.layout_name()))
            .unwrap_or_else(|| (f.standard(), Vec::new()))
    }

    /// The value of field `f` in trace `t`'s headers.
    pub fn value(&self, t: usize, f: TraceField) -> f64 {
        self.value_of(t, &self.field(f))
    }

    /// The value of a field found by [`Segy::field`] (look it up once for
    /// a loop over traces): the first non-zero override, else the field.
    pub fn value_of(&self, t: usize, (std, over): &(Field, Vec<Field>)) -> f64 {
        over.iter()
            .map(|f| self.read(t, f))
            .find(|&v| v != 0.0)
            .unwrap_or_else(|| self.read(t, std))
    }

    /// A field of trace `t`'s headers.
    pub fn read(&self, t: usize, f: &Field) -> f64 {
        let o = self.trace_offset(t) + f.header * TRACE_HEADER + f.byte - 1;
        let n = f.kind.size();
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&self.map[o..o + n]);
        if !self.big_endian {
            b[..n].reverse();
        }
        f.decode(&b[..n])
    }

    fn trace_offset(&self, t: usize) -> usize {
        self.data_start + t * (self.header_len + self.samples * self.format.size())
    }

    /// Sample `k` of trace `t` as f32.
    pub fn sample(&self, t: usize, k: usize) -> f32 {
        self.sample_f64(t, k) as f32
    }

    /// All samples of trace `t` as f64 (exact but for 64-bit integers beyond
    /// 2^53), decoded with the format test outside the loop.
    pub fn trace_f64(&self, t: usize, out: &mut [f64]) {
        let o = self.trace_offset(t) + self.header_len;
        let raw = &self.map[o..o + self.samples * self.format.size()];
        self.format.decode_trace(raw, self.big_endian, out);
    }

    /// Trace `t` decoded straight to f32 for the float formats (1, 4, 5);
    /// false, leaving `out` alone, for the others.
    pub fn trace_f32(&self, t: usize, out: &mut [f32]) -> bool {
        if !self.format.is_single_float() {
            return false;
        }
        let o = self.trace_offset(t) + self.header_len;
        let raw = &self.map[o..o + self.samples * 4];
        let be = self.big_endian;
        for (v, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
            let w = [b[0], b[1], b[2], b[3]];
            let bits = if be {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            };
            *v = if self.format == SampleFormat::Ibm {
                ibm_to_f32(bits)
            } else {
                f32::from_bits(bits)
            };
        }
        true
    }

    /// The 8 bytes of a 64-bit integer sample (formats 9 and 12), big-endian.
    pub fn sample_u64_bits(&self, t: usize, k: usize) -> u64 {
        let o = self.trace_offset(t) + self.header_len + k * 8;
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.map[o..o + 8]);
        if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    }

    /// Sample `k` of trace `t`, exactly for every format but 64-bit
    /// integers beyond 2^53 (see [`Segy::sample_u64_bits`]).
    pub fn sample_f64(&self, t: usize, k: usize) -> f64 {
        let size = self.format.size();
        let o = self.trace_offset(t) + self.header_len + k * size;
        let raw = &self.map[o..o + size];
        let mut b = [0u8; 8];
        // normalise to big-endian in the low `size` bytes of an 8-byte word
        if self.big_endian {
            b[8 - size..].copy_from_slice(raw);
        } else {
            for i in 0..size {
                b[7 - i] = raw[i];
            }
        }
        self.format.decode(b)
    }

    /// Drop the mapped pages of traces `first..=last` from this process:
    /// the map is read-only, so a later touch re-reads them from the file.
    /// Converting a slab at a time this keeps resident memory at the slabs
    /// in flight instead of growing to the whole file.
    pub fn release(&self, first: usize, last: usize) {
        let a = self.trace_offset(first);
        let b = self.trace_offset(last + 1).min(self.map.len());
        if b > a {
            // SAFETY: DONTNEED on a read-only file mapping discards nothing
            // that cannot be read back; no reference into these pages outlives
            // the caller's use of the traces.
            #[cfg(unix)]
            unsafe {
                let _ =
                    self.map
                        .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, a, b - a);
            }
        }
    }

    /// The 3200-byte textual header, as stored.
    pub fn textual_header(&self) -> &[u8] {
        if self.su {
            &[]
        } else {
            &self.map[..TEXT]
        }
    }

    /// The 400-byte binary header, as stored.
    /// The extended textual headers (3200 bytes each), as stored.
    pub fn extended_headers(&self) -> &[u8] {
        if self.su {
            &[]
        } else {
            &self.map[TEXT + BINARY..self.data_start]
        }
    }

    pub fn binary_header(&self) -> &[u8] {
        if self.su {
            &[]
        } else {
            &self.map[TEXT..TEXT + BINARY]
        }
    }

    /// The 240-byte header of trace `t`, as stored.
    pub fn trace_header(&self, t: usize) -> &[u8] {
        let o = self.trace_offset(t);
        &self.map[o..o + TRACE_HEADER]
    }

    /// The file's native sample type.
    pub fn native_dtype(&self) -> crate::store::Dtype {
        self.format.native_dtype()
    }

    /// The trace at (inline index, crossline index), if present.
    pub fn trace_at(&self, i: usize, j: usize) -> Option<usize> {
        self.grid.trace_at(i, j, 0)
    }

    /// The trace at (inline, crossline, offset) indices, if present.
    pub fn trace_at_offset(&self, i: usize, j: usize, o: usize) -> Option<usize> {
        self.grid.trace_at(i, j, o)
    }

    /// Times of the samples, ms.
    pub fn times(&self) -> Vec<f64> {
        (0..self.samples)
            .map(|k| self.t0_ms + k as f64 * self.dt_us / 1000.0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f3_geometry_and_values() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/segy");
        for name in ["f3.sgy", "f3-lsb.sgy"] {
            let s = Segy::open_keys(&dir.join(name), &Keys::bytes(189, 193)).unwrap();
            assert_eq!(
                (s.inlines.len(), s.crosslines.len(), s.samples),
                (23, 18, 75)
            );
            assert_eq!(
                (s.inlines[0], s.crosslines[0], s.t0_ms, s.dt_us),
                (111, 875, 4.0, 4000.0)
            );
            assert_eq!(s.format, SampleFormat::Int16);
            // f3 is inline-sorted with every trace present: trace i·18 + j
            // holds int16 samples after its 240-byte header
            let raw = std::fs::read(dir.join(name)).unwrap();
            let expected = |i: usize, j: usize, k: usize| {
                let at = 3600 + (i * 18 + j) * (240 + 75 * 2) + 240 + 2 * k;
                let b = [raw[at], raw[at + 1]];
                if name == "f3.sgy" {
                    i16::from_be_bytes(b)
                } else {
                    i16::from_le_bytes(b)
                }
            };
            let mut nonzero = 0;
            for i in [0, 7, 22] {
                for j in [0, 9, 17] {
                    let t = s.trace_at(i, j).unwrap();
                    let mut whole = vec![0f64; 75];
                    s.trace_f64(t, &mut whole);
                    for k in [0, 30, 74] {
                        assert_eq!(s.sample(t, k), expected(i, j, k) as f32);
                        assert_eq!(whole[k], expected(i, j, k) as f64);
                        nonzero += usize::from(expected(i, j, k) != 0);
                    }
                }
            }
            assert!(nonzero > 10, "the samples compared are not all zero");
        }
    }

    /// A property test of the header parser: every test file truncated,
    /// bit-flipped in its headers and given random headers must give a
    /// result or an error, never a panic; whatever opens must read every
    /// sample of every trace in bounds.
    #[test]
    fn header_parser_survives_mangled_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/segy");
        let tmp = tempfile::tempdir().unwrap();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let (mut opened, mut refused) = (0, 0);
        for f in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sgy" || e == "su"))
        {
            let orig = std::fs::read(f).unwrap();
            for round in 0..64 {
                let mut b = orig.clone();
                match round % 8 {
                    0 => b.truncate((rand() as usize) % (b.len() + 1)),
                    1 => {
                        for _ in 0..8 {
                            let i = (rand() as usize) % b.len().clamp(1, 4000);
                            if i < b.len() {
                                b[i] ^= 1 << (rand() % 8);
                            }
                        }
                    }
                    2 => {
                        for i in 3200..b.len().min(3600) {
                            b[i] = rand() as u8;
                        }
                    }
                    // the extended textual headers (XML layouts) and the
                    // first trace headers
                    3 | 7 if b.len() > 3700 => {
                        for _ in 0..24 {
                            let i = 3600 + (rand() as usize) % (b.len() - 3600).min(7000);
                            b[i] = match rand() % 3 {
                                0 => rand() as u8,
                                1 => b"<>=\"/ 0123456789"[(rand() % 16) as usize],
                                _ => b[i] ^ (1 << (rand() % 8)),
                            };
                        }
                    }
                    _ => {
                        let extra = (rand() % 500) as usize;
                        b.extend((0..extra).map(|_| rand() as u8));
                    }
                }
                let ext = f.extension().unwrap().to_str().unwrap();
                let p = tmp.path().join(format!("m.{ext}"));
                std::fs::write(&p, &b).unwrap();
                // half the time the geometry comes from a layout if present
                let keys = if round % 2 == 0 {
                    Keys::bytes(189, 193)
                } else {
                    Keys::default()
                };
                match Segy::open_keys(&p, &keys) {
                    Ok(s) => {
                        opened += 1;
                        let mut buf = vec![0f64; s.samples];
                        for i in 0..s.inlines.len() {
                            for j in 0..s.crosslines.len() {
                                if let Some(t) = s.trace_at(i, j) {
                                    s.trace_f64(t, &mut buf);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        refused += 1;
                        assert!(e.to_string().contains("m."), "errors name the file: {e}");
                    }
                }
            }
        }
        assert!(
            opened > 100 && refused > 100,
            "opened {opened}, refused {refused}"
        );
    }

    #[test]
    fn broken_and_text_files_are_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/segy");
        let e = Segy::open_keys(&dir.join("broken.sgy"), &Keys::bytes(189, 193))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("broken.sgy"), "{e}");
        let e = Segy::open_keys(&dir.join("text.sgy"), &Keys::bytes(189, 193))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("text.sgy"), "{e}");
    }
}
