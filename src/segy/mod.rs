//! Reading SEG-Y files in place (memory-mapped): headers, sample formats,
//! byte order, and the inline/crossline geometry from trace headers.

use anyhow::{bail, Context, Result};
use memmap2::Mmap;
use std::collections::BTreeMap;
use std::path::Path;

pub mod layout;
pub use layout::{Field, Kind, Layout};

const TEXT: usize = 3200;
const BINARY: usize = 400;
const TRACE_HEADER: usize = 240;

/// A SEG-Y file, its layout and post-stack geometry.
pub struct Segy {
    map: Mmap,
    pub big_endian: bool,
    pub format: u16,
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
    /// A 2-D line: `inlines` holds the trace keys (e.g. cdp), `crosslines` is [0].
    pub line: bool,
    /// Where the geometry was read: the inline (or a line's trace key) and
    /// crossline fields, as resolved from the flags, the layout or the standard.
    pub iline_field: Field,
    pub xline_field: Option<Field>,
    pub inlines: Vec<i32>,
    pub crosslines: Vec<i32>,
    /// (inline index, crossline index) -> trace number.
    /// Offsets of a pre-stack file (one 0 for post-stack).
    pub offsets: Vec<i32>,
    /// (inline index, crossline index, offset index) -> trace number.
    cells: BTreeMap<(usize, usize, usize), usize>,
}

/// EBCDIC (code page 037) to ASCII for the printable range; the textual
/// header is EBCDIC unless it reads as ASCII.
const EBCDIC: &str = concat!(
    "                                                                ",
    "           .<(+|&         !$*); -/         ,%_>?         `:#@'=\"",
    " abcdefghi       jklmnopqr       ~stuvwxyz   [               ]  ",
    "{ABCDEFGHI      }JKLMNOPQR      \\ STUVWXYZ      0123456789      "
);

/// EBCDIC bytes as ASCII, whatever they look like (header names are EBCDIC).
pub fn ebcdic_to_ascii(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| EBCDIC.chars().nth(b as usize).unwrap_or(' '))
        .collect()
}

pub fn decode_text(raw: &[u8]) -> String {
    let table: Vec<char> = EBCDIC.chars().collect();
    let ascii_like = raw
        .iter()
        .filter(|&&b| b == b' ' || b.is_ascii_alphanumeric())
        .count();
    let ebcdic_like = raw
        .iter()
        .filter(|&&b| b == 0x40 || (0xC1..=0xF9).contains(&b))
        .count();
    let text: String = if ascii_like >= ebcdic_like {
        raw.iter()
            .map(|&b| {
                if b == 0 {
                    ' '
                } else if b.is_ascii() && !b.is_ascii_control() || b == b'\n' {
                    b as char
                } else {
                    ' '
                }
            })
            .collect()
    } else {
        raw.iter()
            .map(|&b| table.get(b as usize).copied().unwrap_or(' '))
            .collect()
    };
    // 40 cards of 80 columns, unless the file already has line breaks
    if text.contains('\n') {
        text
    } else {
        text.as_bytes()
            .chunks(80)
            .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

fn sample_size(format: u16) -> Option<usize> {
    Some(match format {
        // 4 (fixed point with gain) is obsolete; files that carry it hold
        // IEEE float32 samples, and they are read as such
        1 | 2 | 4 | 5 | 10 => 4,
        3 | 11 => 2,
        6 | 9 | 12 => 8,
        7 | 15 => 3,
        8 | 16 => 1,
        _ => return None,
    })
}

pub fn ibm_to_f32(b: u32) -> f32 {
    // mantissa × 16^(e − 64) / 2^24, exact in f64 (a power of two scale
    // built from its bits), rounded once to f32
    let sign = if b >> 31 == 1 { -1.0 } else { 1.0 };
    let exponent = ((b >> 24) & 0x7f) as i64 - 64;
    let mantissa = (b & 0x00ff_ffff) as f64;
    let scale = f64::from_bits(((4 * exponent - 24 + 1023) as u64) << 52);
    (sign * mantissa * scale) as f32
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

/// Which header fields hold the geometry. `None` means: from the file's XML
/// layout when it has one, else the standard bytes (189, 193).
#[derive(Clone, Debug, Default)]
pub struct Keys {
    pub iline: Option<Field>,
    pub xline: Option<Field>,
    /// Pre-stack gathers: an offset axis.
    pub offset: Option<Field>,
    /// A 2-D line: one key (`iline` names it, e.g. cdp at byte 21), no crossline.
    pub line: bool,
    /// Byte order forced (true: big-endian) instead of detected.
    pub big_endian: Option<bool>,
}

impl Keys {
    pub fn bytes(iline: usize, xline: usize) -> Keys {
        Keys {
            iline: Some(Field::int4(iline)),
            xline: Some(Field::int4(xline)),
            ..Keys::default()
        }
    }
}

/// Standard (rev 1) positions of the fields the converter reads by name.
fn standard_field(name: &str) -> Field {
    let (byte, kind) = match name {
        "iline" => (189, Kind::I4),
        "xline" => (193, Kind::I4),
        "offset" => (37, Kind::I4),
        "cdp" => (21, Kind::I4),
        "co_scal" => (71, Kind::I2),
        "delay" => (109, Kind::I2),
        "dt" => (117, Kind::U2),
        "tm_scal" => (215, Kind::I2),
        "cdp_x" => (181, Kind::I4),
        "cdp_y" => (185, Kind::I4),
        other => unreachable!("no standard field {other}"),
    };
    Field {
        header: 0,
        byte,
        kind,
    }
}

impl Segy {
    /// Open `path` and read its geometry from the trace headers at
    /// `iline_byte` / `xline_byte` (1-based, 4-byte integers).
    pub fn open(path: &Path, iline_byte: usize, xline_byte: usize) -> Result<Segy> {
        Self::open_keys(path, &Keys::bytes(iline_byte, xline_byte))
    }

    /// Open `path` with the geometry in the header fields `keys`.
    pub fn open_keys(path: &Path, keys: &Keys) -> Result<Segy> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open '{}'", path.display()))?;
        // SAFETY: the file is only read; a concurrent writer could change
        // the bytes under us, which at worst gives wrong values, as any read would.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("cannot map '{}'", path.display()))?;
        let name = path.display();
        let su = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("su"));
        let (big_endian, format, samples, dt_us, data_start, header_len) = if su {
            Self::su_layout(&map, &name.to_string(), keys.big_endian)?
        } else {
            Self::segy_layout(&map, &name.to_string(), keys.big_endian)?
        };
        let size = sample_size(format).expect("checked format");
        let trace_len = header_len + samples * size;
        if samples == 0
            || map.len() < data_start
            || !(map.len() - data_start).is_multiple_of(trace_len)
        {
            bail!(
                "'{name}' is truncated or inconsistent: {} bytes of traces is not a whole number of {trace_len}-byte traces ({samples} samples of format {format})",
                map.len().saturating_sub(data_start)
            );
        }
        let traces = (map.len() - data_start) / trace_len;
        let mut seg = Segy {
            map,
            big_endian,
            format,
            samples,
            dt_us,
            t0_ms: 0.0,
            data_start,
            header_len,
            su,
            layout: None,
            line: keys.line,
            iline_field: Field::int4(189),
            xline_field: None,
            inlines: Vec::new(),
            crosslines: Vec::new(),
            offsets: Vec::new(),
            cells: BTreeMap::new(),
        };
        if traces == 0 {
            bail!("'{name}' holds no traces");
        }
        if let Some(xml) = layout::find_stanza(seg.extended_headers()) {
            let at = format!("'{name}'");
            let mut l = Layout::parse(&xml, &at)?;
            let names: Vec<[u8; 8]> = (1..header_len / TRACE_HEADER)
                .map(|k| {
                    let o = seg.trace_offset(0) + k * TRACE_HEADER + 232;
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&seg.map[o..o + 8]);
                    n
                })
                .collect();
            l.bind(&names, &at)?;
            seg.layout = Some(l);
        }
        seg.t0_ms = scaled(seg.value(0, "delay"), seg.value(0, "tm_scal"));
        if seg.dt_us == 0.0 {
            seg.dt_us = seg.value(0, "dt");
        }
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
        let iline = keys.iline.unwrap_or_else(|| seg.field("iline").0);
        let xline = if keys.line {
            None
        } else {
            Some(keys.xline.unwrap_or_else(|| seg.field("xline").0))
        };
        let key = |t: usize, f: &Field| -> Result<i32> {
            let v = seg.read(t, f);
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
        let mut keys3: Vec<(i32, i32, i32)> = Vec::with_capacity(traces);
        for t in 0..traces {
            keys3.push((
                key(t, &iline)?,
                xline.as_ref().map_or(Ok(0), |f| key(t, f))?,
                keys.offset.as_ref().map_or(Ok(0), |f| key(t, f))?,
            ));
            if t % 4096 == 4095 {
                seg.release(t - 4095, t);
            }
        }
        let mut offsets: Vec<i32> = keys3.iter().map(|k| k.2).collect();
        offsets.sort_unstable();
        offsets.dedup();
        // each axis is a regular progression from the smallest value by the
        // common step of the values present; absent lines are missing traces
        let axis = |vals: Vec<i32>| -> (i64, i64, usize) {
            let mut v = vals;
            v.sort_unstable();
            v.dedup();
            let step = v
                .windows(2)
                .map(|w| w[1] as i64 - w[0] as i64)
                .fold(0, gcd)
                .max(1);
            let len = ((v[v.len() - 1] as i64 - v[0] as i64) / step + 1) as usize;
            (v[0] as i64, step, len)
        };
        let (il0, ils, nil) = axis(keys3.iter().map(|k| k.0).collect());
        let (xl0, xls, nxl) = axis(keys3.iter().map(|k| k.1).collect());
        let cells = nil as f64 * nxl as f64 * offsets.len() as f64;
        let where_ = match &xline {
            Some(x) => format!(
                "inline at {} / crossline at {}",
                iline.describe(),
                x.describe()
            ),
            None => format!("the line's trace key at {}", iline.describe()),
        };
        let ratio = cells / traces as f64;
        if cells > 20.0 * traces as f64 + 100.0 {
            bail!(
                "'{name}': inline {il0}.. step {ils} × crossline {xl0}.. step {xls} makes a {nil} × {nxl} grid, {ratio:.0}× more cells than the {traces} traces: the geometry is not at {where_}, or the survey is too sparse for a cube"
            );
        }
        if cells > 2.0 * traces as f64 + 100.0 {
            crate::noteln!(
                "attr: warning: '{name}' is sparse: a {nil} × {nxl} grid holds {traces} traces ({ratio:.1} cells per trace); the rest are filled as missing"
            );
        }
        for (t, (a, b, c)) in keys3.iter().enumerate() {
            let cell = (
                ((*a as i64 - il0) / ils) as usize,
                ((*b as i64 - xl0) / xls) as usize,
                offsets.binary_search(c).expect("own key"),
            );
            if seg.cells.insert(cell, t).is_some() {
                let hint = if keys.offset.is_some() {
                    "check --iline-byte, --xline-byte and --offset-byte".to_string()
                } else if nil == 1 && nxl == 1 {
                    format!("every trace has the same inline and crossline ({where_}): a 2-D line? give --preset cdp")
                } else if keys.line {
                    format!(
                        "is the trace key at {}? (--preset cdp reads byte 21)",
                        iline.describe()
                    )
                } else {
                    format!("pre-stack gathers? give --offset-byte (usually 37); or check the geometry ({where_})")
                };
                let what = if keys.line {
                    format!("trace key {a}")
                } else {
                    format!("inline {a} crossline {b}")
                };
                bail!("'{name}': {what} offset {c} occurs twice (trace {t}): {hint}");
            }
        }
        let done = traces / 4096 * 4096;
        if done < traces {
            seg.release(done, traces - 1);
        }
        seg.iline_field = iline;
        seg.xline_field = xline;
        seg.offsets = offsets;
        seg.inlines = (0..nil).map(|i| (il0 + i as i64 * ils) as i32).collect();
        seg.crosslines = (0..nxl).map(|i| (xl0 + i as i64 * xls) as i32).collect();
        Ok(seg)
    }

    /// The field `name` (from the XML layout when the file has one, else its
    /// standard place), with the extension fields that replace it when non-zero.
    pub fn field(&self, name: &str) -> (Field, Vec<Field>) {
        self.layout
            .as_ref()
            .and_then(|l| l.lookup(name))
            .unwrap_or_else(|| (standard_field(name), Vec::new()))
    }

    /// The value of the named field in trace `t`'s headers.
    pub fn value(&self, t: usize, name: &str) -> f64 {
        self.value_of(t, &self.field(name))
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

    /// Byte order, format, samples, dt (µs), start of the traces and trace
    /// header length of a SEG-Y file, from its binary header.
    fn segy_layout(
        map: &[u8],
        name: &str,
        forced: Option<bool>,
    ) -> Result<(bool, u16, usize, f64, usize, usize)> {
        if map.len() < TEXT + BINARY {
            bail!(
                "'{name}' is too short to be SEG-Y ({} bytes; the headers alone take 3600)",
                map.len()
            );
        }
        let bin = &map[TEXT..TEXT + BINARY];
        let u16_at = |be: bool, o: usize| {
            let b = [bin[o], bin[o + 1]];
            if be {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let known = |f: u16| sample_size(f).is_some();
        let big_endian = match u32::from_be_bytes([bin[296], bin[297], bin[298], bin[299]]) {
            _ if forced.is_some() => forced.expect("checked"),
            0x0102_0304 => true,
            0x0403_0201 => false,
            _ if known(u16_at(true, 24)) => true,
            _ if known(u16_at(false, 24)) => false,
            _ => bail!(
                "'{name}': sample format code {} is not a SEG-Y format in either byte order (binary header bytes 3225-3226)",
                u16_at(true, 24)
            ),
        };
        let format = u16_at(big_endian, 24);
        if !known(format) {
            let hint = if forced.is_some() {
                ": is --byte-order right?"
            } else {
                ""
            };
            bail!("'{name}': unknown sample format code {format} (binary header bytes 3225-3226){hint}");
        }
        let mut samples = u16_at(big_endian, 20) as usize;
        let mut dt_us = u16_at(big_endian, 16) as f64;
        // rev 2: a non-zero extended sample count (bytes 3269-3272) and
        // interval (3273-3280, IEEE double) override the 16-bit fields
        if bin[300] >= 2 {
            let mut w4 = [bin[68], bin[69], bin[70], bin[71]];
            let mut w8 = [0u8; 8];
            w8.copy_from_slice(&bin[72..80]);
            if !big_endian {
                w4.reverse();
                w8.reverse();
            }
            let ext_ns = u32::from_be_bytes(w4) as usize;
            let ext_dt = f64::from_be_bytes(w8);
            if ext_ns > 0 {
                samples = ext_ns;
            }
            if ext_dt.is_finite() && ext_dt > 0.0 {
                dt_us = ext_dt;
            }
        }
        // extended textual headers: a count, or -1 for "until ((SEG: EndText))"
        let ext = u16_at(big_endian, 304) as i16;
        let ext = if ext >= 0 {
            ext as usize
        } else {
            // stanza names are case- and space-insensitive
            let ends = |block: &[u8]| {
                let t: String = decode_text(block)
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                t.to_ascii_lowercase().contains("((seg:endtext))")
            };
            let mut n = 0;
            loop {
                let start = TEXT + BINARY + n * TEXT;
                if start + TEXT > map.len() {
                    bail!("'{name}': the extended textual headers never end with ((SEG: EndText))");
                }
                n += 1;
                let block = &map[start..start + TEXT];
                if ends(block) {
                    break n;
                }
            }
        };
        // rev 2: additional 240-byte trace headers (bytes 3507-3508)
        let additional = if bin[300] >= 2 {
            u16_at(big_endian, 306) as usize
        } else {
            0
        };
        Ok((
            big_endian,
            format,
            samples,
            dt_us,
            TEXT + BINARY + ext * TEXT,
            TRACE_HEADER * (1 + additional),
        ))
    }

    /// The same for a Seismic Unix file: IEEE float traces with 240-byte
    /// headers, in whichever byte order makes the sample count fit the file.
    fn su_layout(
        map: &[u8],
        name: &str,
        forced: Option<bool>,
    ) -> Result<(bool, u16, usize, f64, usize, usize)> {
        if map.len() < TRACE_HEADER {
            bail!("'{name}' is too short to be a Seismic Unix file");
        }
        let orders: Vec<bool> = match forced {
            Some(b) => vec![b],
            None => vec![true, false],
        };
        for be in orders {
            let rd = |o: usize| {
                let b = [map[o], map[o + 1]];
                if be {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            };
            let ns = rd(114) as usize;
            if ns > 0 && map.len().is_multiple_of(TRACE_HEADER + 4 * ns) {
                return Ok((be, 5, ns, rd(116) as f64, 0, TRACE_HEADER));
            }
        }
        bail!("'{name}': the sample count (trace header bytes 115-116) does not fit the file size in either byte order")
    }

    fn trace_offset(&self, t: usize) -> usize {
        self.data_start
            + t * (self.header_len
                + self.samples * sample_size(self.format).expect("checked format"))
    }

    /// Sample `k` of trace `t` as f32.
    pub fn sample(&self, t: usize, k: usize) -> f32 {
        self.sample_f64(t, k) as f32
    }

    /// All samples of trace `t` as f64 (exact but for 64-bit integers beyond
    /// 2^53), decoded with the format test outside the loop.
    pub fn trace_f64(&self, t: usize, out: &mut [f64]) {
        let size = sample_size(self.format).expect("checked format");
        let o = self.trace_offset(t) + self.header_len;
        let raw = &self.map[o..o + self.samples * size];
        let be = self.big_endian;
        macro_rules! decode {
            ($n:literal, $conv:expr) => {
                for (v, b) in out.iter_mut().zip(raw.chunks_exact($n)) {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(b);
                    if !be {
                        a.reverse();
                    }
                    *v = $conv(a);
                }
            };
        }
        match self.format {
            1 => decode!(4, |a| ibm_to_f32(u32::from_be_bytes(a)) as f64),
            4 => decode!(4, |a| f32::from_be_bytes(a) as f64),
            2 => decode!(4, |a| i32::from_be_bytes(a) as f64),
            3 => decode!(2, |a| i16::from_be_bytes(a) as f64),
            5 => decode!(4, |a| f32::from_be_bytes(a) as f64),
            6 => decode!(8, f64::from_be_bytes),
            7 => decode!(
                3,
                |a: [u8; 3]| ((u32::from_be_bytes([a[0], a[1], a[2], 0]) as i32) >> 8) as f64
            ),
            8 => decode!(1, |a: [u8; 1]| a[0] as i8 as f64),
            9 => decode!(8, |a| i64::from_be_bytes(a) as f64),
            10 => decode!(4, |a| u32::from_be_bytes(a) as f64),
            11 => decode!(2, |a| u16::from_be_bytes(a) as f64),
            12 => decode!(8, |a| u64::from_be_bytes(a) as f64),
            15 => decode!(3, |a: [u8; 3]| u32::from_be_bytes([0, a[0], a[1], a[2]])
                as f64),
            16 => decode!(1, |a: [u8; 1]| a[0] as f64),
            _ => unreachable!("format checked at open"),
        }
    }

    /// Trace `t` decoded straight to f32 for the float formats (1, 4, 5);
    /// false, leaving `out` alone, for the others.
    pub fn trace_f32(&self, t: usize, out: &mut [f32]) -> bool {
        if !matches!(self.format, 1 | 4 | 5) {
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
            *v = if self.format == 1 {
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
        let size = sample_size(self.format).expect("checked format");
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
        let be4 = [b[4], b[5], b[6], b[7]];
        match self.format {
            1 => ibm_to_f32(u32::from_be_bytes(be4)) as f64,
            2 => i32::from_be_bytes(be4) as f64,
            3 => i16::from_be_bytes([b[6], b[7]]) as f64,
            4 | 5 => f32::from_be_bytes(be4) as f64,
            6 => f64::from_be_bytes(b),
            7 => ((u32::from_be_bytes(be4) << 8) as i32 >> 8) as f64,
            8 => b[7] as i8 as f64,
            9 => i64::from_be_bytes(b) as f64,
            10 => u32::from_be_bytes(be4) as f64,
            11 => u16::from_be_bytes([b[6], b[7]]) as f64,
            12 => u64::from_be_bytes(b) as f64,
            15 => u32::from_be_bytes(be4) as f64,
            16 => b[7] as f64,
            _ => unreachable!("format checked at open"),
        }
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
        use crate::store::Dtype;
        match self.format {
            2 | 7 => Dtype::Int32,
            3 => Dtype::Int16,
            8 => Dtype::Int8,
            10 | 15 => Dtype::Uint32,
            11 => Dtype::Uint16,
            16 => Dtype::Uint8,
            6 => Dtype::Float64,
            9 => Dtype::Int64,
            12 => Dtype::Uint64,
            _ => Dtype::Float32,
        }
    }

    /// The trace at (inline index, crossline index), if present.
    pub fn trace_at(&self, i: usize, j: usize) -> Option<usize> {
        self.cells.get(&(i, j, 0)).copied()
    }

    /// The trace at (inline, crossline, offset) indices, if present.
    pub fn trace_at_offset(&self, i: usize, j: usize, o: usize) -> Option<usize> {
        self.cells.get(&(i, j, o)).copied()
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
    fn ibm_floats() {
        assert_eq!(ibm_to_f32(0x4110_0000), 1.0);
        assert_eq!(ibm_to_f32(0xC276_A000), -118.625);
        assert_eq!(ibm_to_f32(0), 0.0);
    }

    #[test]
    fn f3_geometry_and_values() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/segy");
        for name in ["f3.sgy", "f3-lsb.sgy"] {
            let s = Segy::open(&dir.join(name), 189, 193).unwrap();
            assert_eq!(
                (s.inlines.len(), s.crosslines.len(), s.samples),
                (23, 18, 75)
            );
            assert_eq!(
                (s.inlines[0], s.crosslines[0], s.t0_ms, s.dt_us),
                (111, 875, 4.0, 4000.0)
            );
            assert_eq!(s.format, 3);
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
        let e = Segy::open(&dir.join("broken.sgy"), 189, 193)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("broken.sgy"), "{e}");
        let e = Segy::open(&dir.join("text.sgy"), 189, 193)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("text.sgy"), "{e}");
    }
}
